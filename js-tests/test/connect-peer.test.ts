// Interop cases with a peer client from npm: connect-node's gRPC-Web transport talks to
// grpcweb-proxy, which forwards to interop-server (grpc.testing.TestService over h2c).
// Every case runs over HTTP/1.1 and over HTTP/2 (h2c prior knowledge) on the proxy's one
// port. connect speaks binary gRPC-Web only; text mode is covered by our own client.

import assert from "node:assert/strict";
import { Agent } from "node:http";
import { after, before, describe, it } from "node:test";

import {
  Code,
  ConnectError,
  createClient,
  decodeBinaryHeader,
  encodeBinaryHeader,
  type Client,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";

import { PayloadType } from "../gen/grpc/testing/messages_pb.js";
import { TestService, UnimplementedService } from "../gen/grpc/testing/test_pb.js";
import { startServer, type Server } from "./support/processes.js";

/** Per-test limit, so a hung call fails instead of stalling the run. */
const TEST_TIMEOUT_MS = 30_000;
const HTTP_VERSIONS = ["1.1", "2"] as const;
type HttpVersion = (typeof HTTP_VERSIONS)[number];

const LARGE_REQUEST_SIZE = 271_828;
const LARGE_RESPONSE_SIZE = 314_159;
const STREAMING_SIZES = [31_415, 9, 2_653, 58_979];
const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_INITIAL_VALUE = "test_initial_metadata_value";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";
const ECHO_TRAILING_VALUE = [0xab, 0xab, 0xab];
const SPECIAL_MESSAGE = "\t\ttest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n";

interface Peer {
  readonly client: Client<typeof TestService>;
  readonly unimplemented: Client<typeof UnimplementedService>;
  close(): void;
}

/** A connect-node gRPC-Web client with its own connection(s), closed by `close()`. */
function connectPeer(baseUrl: string, httpVersion: HttpVersion): Peer {
  let transport: Transport;
  let close: () => void;
  if (httpVersion === "2") {
    const sessionManager = new Http2SessionManager(baseUrl);
    transport = createGrpcWebTransport({ baseUrl, httpVersion, sessionManager, useBinaryFormat: true });
    close = () => sessionManager.abort();
  } else {
    const agent = new Agent({ keepAlive: true });
    transport = createGrpcWebTransport({ baseUrl, httpVersion, nodeOptions: { agent }, useBinaryFormat: true });
    close = () => agent.destroy();
  }
  return {
    client: createClient(TestService, transport),
    unimplemented: createClient(UnimplementedService, transport),
    close,
  };
}

/** Awaits `call`, which must fail with a ConnectError of `code` (and `rawMessage`, if given). */
async function expectError(call: Promise<unknown>, code: Code, rawMessage?: string): Promise<void> {
  const err = await call.then(
    () => assert.fail(`expected the call to fail with ${Code[code]}, but it succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectError, `expected a ConnectError, got ${String(err)}`);
  assert.equal(Code[err.code], Code[code], `expected code ${Code[code]}, got ${Code[err.code]}: ${err.rawMessage}`);
  if (rawMessage !== undefined) {
    assert.equal(err.rawMessage, rawMessage);
  }
}

/** Reads a stream to the end. */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // discard
  }
}

function assertZeros(body: Uint8Array | undefined, size: number): void {
  assert.ok(body !== undefined, "response has no payload");
  assert.equal(body.length, size);
  assert.ok(
    body.every((b) => b === 0),
    "payload body is not all zeros",
  );
}

describe("connect-node gRPC-Web -> grpcweb-proxy -> interop-server", () => {
  let backend: Server | undefined;
  let proxy: Server | undefined;

  before(async () => {
    backend = await startServer("interop-server", ["--port", "0"]);
    proxy = await startServer("grpcweb-proxy", ["--listen", "127.0.0.1:0", "--backend", `http://${backend.addr}`]);
  });

  after(async () => {
    await proxy?.stop();
    await backend?.stop();
  });

  for (const httpVersion of HTTP_VERSIONS) {
    describe(`HTTP/${httpVersion}`, { timeout: TEST_TIMEOUT_MS * 20 }, () => {
      let peer: Peer | undefined;
      const the = (): Peer => {
        assert.ok(peer !== undefined, "client not set up (did the servers start?)");
        return peer;
      };

      before(() => {
        assert.ok(proxy !== undefined, "proxy not started");
        peer = connectPeer(`http://${proxy.addr}`, httpVersion);
      });

      after(() => {
        peer?.close();
      });

      it("empty_unary", { timeout: TEST_TIMEOUT_MS }, async () => {
        const res = await the().client.emptyCall({});
        assert.equal(res.$typeName, "grpc.testing.Empty");
      });

      it("large_unary", { timeout: TEST_TIMEOUT_MS }, async () => {
        const res = await the().client.unaryCall({
          responseType: PayloadType.COMPRESSABLE,
          responseSize: LARGE_RESPONSE_SIZE,
          payload: { body: new Uint8Array(LARGE_REQUEST_SIZE) },
        });
        assertZeros(res.payload?.body, LARGE_RESPONSE_SIZE);
      });

      it("server_streaming", { timeout: TEST_TIMEOUT_MS }, async () => {
        const sizes: number[] = [];
        const stream = the().client.streamingOutputCall({
          responseType: PayloadType.COMPRESSABLE,
          responseParameters: STREAMING_SIZES.map((size) => ({ size })),
        });
        for await (const res of stream) {
          assertZeros(res.payload?.body, res.payload?.body.length ?? -1);
          sizes.push(res.payload?.body.length ?? -1);
        }
        assert.deepEqual(sizes, STREAMING_SIZES);
      });

      describe("custom_metadata", () => {
        const headers = {
          [ECHO_INITIAL]: ECHO_INITIAL_VALUE,
          [ECHO_TRAILING]: encodeBinaryHeader(new Uint8Array(ECHO_TRAILING_VALUE)),
        };
        const check = (header: Headers | undefined, trailer: Headers | undefined): void => {
          assert.ok(header !== undefined, "onHeader was not called");
          assert.ok(trailer !== undefined, "onTrailer was not called");
          assert.equal(header.get(ECHO_INITIAL), ECHO_INITIAL_VALUE);
          const trailing = trailer.get(ECHO_TRAILING);
          assert.ok(trailing !== null, `trailer ${ECHO_TRAILING} is missing`);
          assert.deepEqual(Array.from(decodeBinaryHeader(trailing)), ECHO_TRAILING_VALUE);
        };

        it("unary", { timeout: TEST_TIMEOUT_MS }, async () => {
          let header: Headers | undefined;
          let trailer: Headers | undefined;
          const res = await the().client.unaryCall(
            {
              responseType: PayloadType.COMPRESSABLE,
              responseSize: LARGE_RESPONSE_SIZE,
              payload: { body: new Uint8Array(LARGE_REQUEST_SIZE) },
            },
            { headers, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
          );
          assertZeros(res.payload?.body, LARGE_RESPONSE_SIZE);
          check(header, trailer);
        });

        it("server streaming", { timeout: TEST_TIMEOUT_MS }, async () => {
          let header: Headers | undefined;
          let trailer: Headers | undefined;
          const sizes: number[] = [];
          const stream = the().client.streamingOutputCall(
            {
              responseType: PayloadType.COMPRESSABLE,
              responseParameters: [{ size: 31_415 }],
              payload: { body: new Uint8Array(LARGE_REQUEST_SIZE) },
            },
            { headers, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
          );
          for await (const res of stream) {
            sizes.push(res.payload?.body.length ?? -1);
          }
          assert.deepEqual(sizes, [31_415]);
          check(header, trailer);
        });
      });

      describe("status_code_and_message", () => {
        const responseStatus = { code: Code.Unknown, message: "test status message" };

        it("unary", { timeout: TEST_TIMEOUT_MS }, async () => {
          await expectError(the().client.unaryCall({ responseStatus }), Code.Unknown, "test status message");
        });

        it("server streaming", { timeout: TEST_TIMEOUT_MS }, async () => {
          await expectError(
            drain(the().client.streamingOutputCall({ responseStatus })),
            Code.Unknown,
            "test status message",
          );
        });
      });

      it("special_status_message", { timeout: TEST_TIMEOUT_MS }, async () => {
        await expectError(
          the().client.unaryCall({ responseStatus: { code: Code.Unknown, message: SPECIAL_MESSAGE } }),
          Code.Unknown,
          SPECIAL_MESSAGE,
        );
      });

      it("unimplemented_method", { timeout: TEST_TIMEOUT_MS }, async () => {
        await expectError(the().client.unimplementedCall({}), Code.Unimplemented);
      });

      it("unimplemented_service", { timeout: TEST_TIMEOUT_MS }, async () => {
        await expectError(the().unimplemented.unimplementedCall({}), Code.Unimplemented);
      });

      it("timeout_on_sleeping_server", { timeout: TEST_TIMEOUT_MS }, async () => {
        const started = performance.now();
        const stream = the().client.streamingOutputCall(
          {
            responseType: PayloadType.COMPRESSABLE,
            responseParameters: [{ size: 1, intervalUs: 5_000_000 }],
          },
          { timeoutMs: 100 },
        );
        await expectError(drain(stream), Code.DeadlineExceeded);
        const elapsedMs = performance.now() - started;
        // Far below the server's 5 s sleep: the deadline, not the server, ended the call.
        assert.ok(elapsedMs < 2_000, `call took ${Math.round(elapsedMs)} ms to fail`);
      });
    });
  }
});
