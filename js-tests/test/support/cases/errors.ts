// How failures reach the caller: local errors, metadata of failed calls, trailers-only
// and chunked responses, error details, and HTTP statuses without grpc-status.

import { fromBinary } from "@bufbuild/protobuf";
import { Code, createGrpcWebTransport, decodeBinaryHeader } from "grpcweb-client";

import { check, equal } from "../check.js";
import { EchoStatusSchema } from "../../../gen/grpc/testing/messages_pb.js";
import {
  type Case,
  expectError,
  collect,
  unaryCall,
  scriptedStream,
  scriptedUnary,
  empty,
  simple,
  proxy,
  scripted,
  ECHO_INITIAL,
  ECHO_INITIAL_VALUE,
  ECHO_TRAILING,
  ECHO_TRAILING_VALUE,
} from "./shared.js";

export const errorCases: Case[] = [
  {
    name: "errors made locally say so: deadline, cancel, decode",
    async run(ctx) {
      const deadline = await expectError(
        // Long enough for the response headers to come first on a loaded machine.
        scripted(ctx).unary(scriptedUnary("Hang"), empty(), { timeoutMs: 500 }),
        Code.DEADLINE_EXCEEDED,
      );
      equal(deadline.rawMessage, "deadline exceeded locally after 500 ms", "deadline message");
      check(deadline.metadata.get("content-type") !== null, "the response headers that came are in the metadata");
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      const cancelled = await expectError(
        scripted(ctx).unary(scriptedUnary("Hang"), empty(), { signal: controller.signal }),
        Code.CANCELLED,
      );
      check(cancelled.rawMessage.includes("locally"), `cancel message: ${cancelled.rawMessage}`);
      const broken = {
        ...unaryCall,
        decode: () => {
          throw new Error("no such field");
        },
      };
      const decode = await expectError(proxy(ctx).unary(broken, simple({ responseSize: 3 })), Code.INTERNAL);
      check(
        decode.rawMessage.includes("locally") && decode.rawMessage.includes("no such field"),
        `decode message: ${decode.rawMessage}`,
      );
      // A status the server sent is not marked local.
      const remote = await expectError(
        proxy(ctx).unary(unaryCall, simple({ responseStatus: { code: Code.ABORTED, message: "from the server" } })),
        Code.ABORTED,
      );
      equal(remote.rawMessage, "from the server", "server message");
    },
  },
  {
    name: "a failed call's metadata holds the response headers and the trailers",
    async run(ctx) {
      const err = await expectError(
        proxy(ctx).unary(unaryCall, simple({ responseStatus: { code: Code.FAILED_PRECONDITION, message: "no" } }), {
          metadata: { [ECHO_INITIAL]: ECHO_INITIAL_VALUE, [ECHO_TRAILING]: new Uint8Array(ECHO_TRAILING_VALUE) },
        }),
        Code.FAILED_PRECONDITION,
      );
      equal(err.metadata.get(ECHO_INITIAL), ECHO_INITIAL_VALUE, "response header in metadata");
      const trailing = err.metadata.get(ECHO_TRAILING);
      check(trailing !== null, "trailer in metadata");
      equal(Array.from(decodeBinaryHeader(trailing)), ECHO_TRAILING_VALUE, "trailer value");
      equal(err.metadata.get("grpc-status"), "9", "grpc-status in metadata");
    },
  },
  {
    name: "onTrailer fires on a non-200 answer, with its headers",
    async run(ctx) {
      let trailer: Headers | undefined;
      const err = await expectError(
        scripted(ctx).unary(scriptedUnary("Http503"), empty(), { onTrailer: (t) => (trailer = t) }),
        Code.UNAVAILABLE,
      );
      check(trailer !== undefined, "onTrailer was not called");
      equal(trailer.get("content-type"), "text/plain", "onTrailer headers");
      equal(err.metadata.get("content-type"), "text/plain", "error metadata");
    },
  },
  {
    name: "largest response message is a transport option (maxResponseMessageBytes)",
    async run(ctx) {
      const small = createGrpcWebTransport({ baseUrl: ctx.proxyUrl, format: ctx.format, maxResponseMessageBytes: 100 });
      const err = await expectError(small.unary(unaryCall, simple({ responseSize: 200 })), Code.RESOURCE_EXHAUSTED);
      check(err.rawMessage.includes("locally"), `message: ${err.rawMessage}`);
      equal((await small.unary(unaryCall, simple({ responseSize: 50 }))).payload?.body.length, 50, "small message");
      // The default is 4 MiB.
      const big = 4 * 1024 * 1024 - 64;
      equal((await proxy(ctx).unary(unaryCall, simple({ responseSize: big }))).payload?.body.length, big, "4 MiB");
    },
  },
  {
    name: "a largest message over what the core holds (Infinity, 2^32) is no limit, not zero",
    async run(ctx) {
      for (const max of [Infinity, 2 ** 32, 5 * 2 ** 30]) {
        const t = createGrpcWebTransport({ baseUrl: ctx.proxyUrl, format: ctx.format, maxResponseMessageBytes: max });
        equal((await t.unary(unaryCall, simple({ responseSize: 10 }))).payload?.body.length, 10, `limit ${max}`);
      }
    },
  },
  {
    name: "a trailer value that is not UTF-8 text keeps the status and reads byte for byte",
    async run(ctx) {
      let trailer: Headers | undefined;
      const err = await expectError(
        scripted(ctx).unary(scriptedUnary("OddTrailers"), empty(), { onTrailer: (t) => (trailer = t) }),
        Code.NOT_FOUND,
        "gone",
      );
      check(trailer !== undefined, "onTrailer was not called");
      // One character per byte, as fetch gives header values.
      equal(trailer.get("x-note"), "\u00e6\u0097\u00a5 \u00ff", "onTrailer x-note");
      equal(err.metadata.get("x-note"), "\u00e6\u0097\u00a5 \u00ff", "error metadata x-note");
    },
  },
  {
    name: "a unary message that does not decode, then an error status: the status is the answer",
    async run(ctx) {
      await expectError(
        scripted(ctx).unary(scriptedUnary("Undecodable"), empty()),
        Code.FAILED_PRECONDITION,
        "not yet",
      );
    },
  },
  {
    name: "trailers-only response: status and metadata from headers",
    async run(ctx) {
      let trailer: Headers | undefined;
      const err = await expectError(
        scripted(ctx).unary(scriptedUnary("TrailersOnly"), empty(), { onTrailer: (t) => (trailer = t) }),
        Code.PERMISSION_DENIED,
        "denied!",
      );
      equal(err.metadata.get("x-why"), "policy", "error metadata");
      equal(trailer?.get("x-why"), "policy", "onTrailer");
    },
  },
  {
    name: "response in 1-byte chunks",
    async run(ctx) {
      let trailer: Headers | undefined;
      // The server writes one byte at a time; the fetch wrapper also re-chunks whatever
      // the network coalesced, so the decoder sees 1-byte reads on every platform.
      let reads = 0;
      const transport = createGrpcWebTransport({
        baseUrl: ctx.scriptedUrl,
        format: ctx.format,
        fetch: async (url, init) => {
          const res = await fetch(url, init);
          const reader = res.body!.getReader();
          let pending = new Uint8Array(0);
          const body = new ReadableStream<Uint8Array>({
            async pull(controller) {
              while (pending.length === 0) {
                const { done, value } = await reader.read();
                if (done) {
                  controller.close();
                  return;
                }
                pending = value;
              }
              reads++;
              controller.enqueue(pending.slice(0, 1));
              pending = pending.subarray(1);
            },
          });
          return new Response(body, { status: res.status, headers: res.headers });
        },
      });
      const stream = transport.serverStream(scriptedStream("Dribble"), empty(), {
        onTrailer: (t) => (trailer = t),
      });
      const bodies = (await collect(stream)).map((m) => Array.from(m.payload?.body ?? []));
      equal(
        bodies,
        [
          [1, 2, 3],
          [4, 5],
        ],
        "messages",
      );
      equal(trailer?.get("x-dribbled"), "yes", "trailer");
      check(reads > 40, `only ${reads} reads`);
    },
  },
  {
    name: "error details decoded from grpc-status-details-bin",
    async run(ctx) {
      const err = await expectError(
        scripted(ctx).unary(scriptedUnary("Details"), empty()),
        Code.INVALID_ARGUMENT,
        "bad field",
      );
      equal(err.details.length, 1, "details");
      equal(err.details[0]?.typeUrl, "type.googleapis.com/grpc.testing.EchoStatus", "typeUrl");
      equal(Array.from(err.details[0]?.value ?? []), [0x08, 0x05, 0x12, 0x02, 0x68, 0x69], "value");
      const typed = err.findDetails({
        typeName: "grpc.testing.EchoStatus",
        fromBinary: (bytes: Uint8Array) => fromBinary(EchoStatusSchema, bytes),
      });
      equal(
        typed.map((d) => [d.code, d.message]),
        [[5, "hi"]],
        "typed details",
      );
      equal(err.findDetails({ typeName: "other.Type", fromBinary: (b: Uint8Array) => b }).length, 0, "other type");
    },
  },
  {
    name: "error details: other fields skipped, the last type_url and value of an Any count",
    async run(ctx) {
      const err = await expectError(scripted(ctx).unary(scriptedUnary("DetailsEdge"), empty()), Code.NOT_FOUND);
      equal(
        err.details.map((d) => [d.typeUrl, Array.from(d.value)]),
        [
          ["a/One", []],
          ["b/Two", [9]],
        ],
        "details",
      );
    },
  },
  {
    name: "error details: a malformed google.rpc.Status has none",
    async run(ctx) {
      const err = await expectError(scripted(ctx).unary(scriptedUnary("DetailsBad"), empty()), Code.NOT_FOUND);
      equal(err.details.length, 0, "details");
    },
  },
  {
    name: "HTTP 503 without grpc-status is UNAVAILABLE",
    async run(ctx) {
      await expectError(scripted(ctx).unary(scriptedUnary("Http503"), empty()), Code.UNAVAILABLE, "HTTP status 503");
    },
  },
  {
    name: "HTTP 404 without grpc-status is UNIMPLEMENTED",
    async run(ctx) {
      await expectError(scripted(ctx).unary(scriptedUnary("NoSuchMethod"), empty()), Code.UNIMPLEMENTED);
    },
  },
];
