// The interop cases (docs/protocol.md) against grpcweb-proxy in front of interop-server.

import { Code, decodeBinaryHeader, type CallOptions } from "grpcweb-client";

import { check, equal } from "../check.js";
import { PayloadType } from "../../../gen/grpc/testing/messages_pb.js";
import {
  type Case,
  expectError,
  collect,
  assertZeros,
  emptyCall,
  unaryCall,
  streamingOutputCall,
  unimplementedCall,
  unimplementedService,
  empty,
  simple,
  streaming,
  proxy,
  ECHO_INITIAL,
  ECHO_INITIAL_VALUE,
  ECHO_TRAILING,
  ECHO_TRAILING_VALUE,
} from "./shared.js";

const LARGE_REQUEST_SIZE = 271_828;
const LARGE_RESPONSE_SIZE = 314_159;
const STREAMING_SIZES = [31_415, 9, 2_653, 58_979];
const SPECIAL_MESSAGE = "\t\ttest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n";

function echoMetadata(): { options: CallOptions; check(): void } {
  let header: Headers | undefined;
  let trailer: Headers | undefined;
  return {
    options: {
      metadata: { [ECHO_INITIAL]: ECHO_INITIAL_VALUE, [ECHO_TRAILING]: new Uint8Array(ECHO_TRAILING_VALUE) },
      onHeader: (h) => (header = h),
      onTrailer: (t) => (trailer = t),
    },
    check() {
      check(header !== undefined, "onHeader was not called");
      check(trailer !== undefined, "onTrailer was not called");
      equal(header.get(ECHO_INITIAL), ECHO_INITIAL_VALUE, ECHO_INITIAL);
      const trailing = trailer.get(ECHO_TRAILING);
      check(trailing !== null, `trailer ${ECHO_TRAILING} is missing`);
      equal(Array.from(decodeBinaryHeader(trailing)), ECHO_TRAILING_VALUE, ECHO_TRAILING);
    },
  };
}

export const interopCases: Case[] = [
  {
    name: "empty_unary",
    async run(ctx) {
      const res = await proxy(ctx).unary(emptyCall, empty());
      equal(res.$typeName, "grpc.testing.Empty", "type");
    },
  },
  {
    name: "large_unary",
    async run(ctx) {
      const res = await proxy(ctx).unary(
        unaryCall,
        simple({
          responseType: PayloadType.COMPRESSABLE,
          responseSize: LARGE_RESPONSE_SIZE,
          payload: { body: new Uint8Array(LARGE_REQUEST_SIZE) },
        }),
      );
      assertZeros(res.payload?.body, LARGE_RESPONSE_SIZE);
    },
  },
  {
    name: "server_streaming",
    async run(ctx) {
      const stream = proxy(ctx).serverStream(
        streamingOutputCall,
        streaming({ responseParameters: STREAMING_SIZES.map((size) => ({ size })) }),
      );
      const sizes = (await collect(stream)).map((m) => {
        assertZeros(m.payload?.body, m.payload?.body.length ?? -1);
        return m.payload?.body.length;
      });
      equal(sizes, STREAMING_SIZES, "sizes");
    },
  },
  {
    name: "custom_metadata unary",
    async run(ctx) {
      const echo = echoMetadata();
      const res = await proxy(ctx).unary(
        unaryCall,
        simple({ responseSize: LARGE_RESPONSE_SIZE, payload: { body: new Uint8Array(LARGE_REQUEST_SIZE) } }),
        echo.options,
      );
      assertZeros(res.payload?.body, LARGE_RESPONSE_SIZE);
      echo.check();
    },
  },
  {
    name: "custom_metadata server streaming",
    async run(ctx) {
      const echo = echoMetadata();
      const stream = proxy(ctx).serverStream(
        streamingOutputCall,
        streaming({ responseParameters: [{ size: 31_415 }], payload: { body: new Uint8Array(LARGE_REQUEST_SIZE) } }),
        echo.options,
      );
      equal((await collect(stream)).length, 1, "messages");
      echo.check();
    },
  },
  {
    name: "status_code_and_message unary",
    async run(ctx) {
      const responseStatus = { code: Code.UNKNOWN, message: "test status message" };
      await expectError(proxy(ctx).unary(unaryCall, simple({ responseStatus })), Code.UNKNOWN, "test status message");
    },
  },
  {
    name: "status_code_and_message server streaming",
    async run(ctx) {
      const responseStatus = { code: Code.UNKNOWN, message: "test status message" };
      const stream = proxy(ctx).serverStream(streamingOutputCall, streaming({ responseStatus }));
      await expectError(collect(stream), Code.UNKNOWN, "test status message");
    },
  },
  {
    name: "special_status_message",
    async run(ctx) {
      const responseStatus = { code: Code.UNKNOWN, message: SPECIAL_MESSAGE };
      await expectError(proxy(ctx).unary(unaryCall, simple({ responseStatus })), Code.UNKNOWN, SPECIAL_MESSAGE);
    },
  },
  {
    name: "unimplemented_method",
    async run(ctx) {
      await expectError(proxy(ctx).unary(unimplementedCall, empty()), Code.UNIMPLEMENTED);
    },
  },
  {
    name: "unimplemented_service",
    async run(ctx) {
      await expectError(proxy(ctx).unary(unimplementedService, empty()), Code.UNIMPLEMENTED);
    },
  },
  {
    name: "timeout_on_sleeping_server",
    async run(ctx) {
      const started = performance.now();
      const stream = proxy(ctx).serverStream(
        streamingOutputCall,
        streaming({ responseParameters: [{ size: 1, intervalUs: 5_000_000 }] }),
        { timeoutMs: 100 },
      );
      await expectError(collect(stream), Code.DEADLINE_EXCEEDED);
      const elapsed = performance.now() - started;
      check(elapsed < 2_000, `call took ${Math.round(elapsed)} ms to fail`);
    },
  },
];
