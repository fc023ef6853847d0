// The runtime test cases, written once and run in Node (runtime.test.ts) and in headless
// Chromium (browser.test.ts). Browser-safe: no node: imports; assertions are local.
//
// Method descriptors are written by hand against the transport contract, with messages
// from protoc-gen-es (@bufbuild/protobuf).

import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  RpcError,
  bidiStreamCall,
  clientStreamCall,
  createGrpcWebTransport,
  decodeBinaryHeader,
  type CallOptions,
  type Interceptor,
  type MethodDescriptor,
  type MethodKind,
  type Transport,
} from "grpcweb-client";

import { check, equal } from "./check.js";
import { EmptySchema } from "../../gen/grpc/testing/empty_pb.js";
import {
  EchoStatusSchema,
  PayloadType,
  SimpleRequestSchema,
  SimpleResponseSchema,
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
} from "../../gen/grpc/testing/messages_pb.js";

export type Format = "binary" | "text";

/** Where the servers are, and which format to speak. */
export interface CaseContext {
  /** grpcweb-proxy in front of interop-server. */
  readonly proxyUrl: string;
  /** The scripted server (scripted-server.ts). */
  readonly scriptedUrl: string;
  /** A loopback address nothing listens on. */
  readonly closedUrl: string;
  readonly format: Format;
}

export interface Case {
  readonly name: string;
  run(ctx: CaseContext): Promise<void>;
}

// ---- assertions (browser-safe) ----

async function expectError(call: Promise<unknown>, code: Code, rawMessage?: string): Promise<RpcError> {
  let err: unknown;
  try {
    await call;
  } catch (e) {
    err = e;
  }
  check(err !== undefined, `expected ${Code[code]}, but the call succeeded`);
  check(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
  check(err.code === code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.rawMessage}`);
  if (rawMessage !== undefined) {
    equal(err.rawMessage, rawMessage, "rawMessage");
  }
  return err;
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of stream) {
    out.push(m);
  }
  return out;
}

function assertZeros(body: Uint8Array | undefined, size: number): void {
  check(body !== undefined, "response has no payload");
  equal(body.length, size, "payload size");
  check(
    body.every((b) => b === 0),
    "payload body is not all zeros",
  );
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

// ---- method descriptors ----

function method<I extends DescMessage, O extends DescMessage>(
  service: string,
  name: string,
  kind: MethodKind,
  input: I,
  output: O,
): MethodDescriptor<MessageShape<I>, MessageShape<O>> {
  return {
    service,
    name,
    path: `/${service}/${name}`,
    kind,
    encode: (m) => toBinary(input, m),
    decode: (bytes) => fromBinary(output, bytes),
  };
}

const TEST_SERVICE = "grpc.testing.TestService";
const emptyCall = method(TEST_SERVICE, "EmptyCall", "unary", EmptySchema, EmptySchema);
const unaryCall = method(TEST_SERVICE, "UnaryCall", "unary", SimpleRequestSchema, SimpleResponseSchema);
export const streamingOutputCall = method(
  TEST_SERVICE,
  "StreamingOutputCall",
  "server_streaming",
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
);
const unimplementedCall = method(TEST_SERVICE, "UnimplementedCall", "unary", EmptySchema, EmptySchema);
const unimplementedService = method(
  "grpc.testing.UnimplementedService",
  "UnimplementedCall",
  "unary",
  EmptySchema,
  EmptySchema,
);
const scriptedStream = (name: string) =>
  method("scripted.Canned", name, "server_streaming", EmptySchema, StreamingOutputCallResponseSchema);
export const scriptedUnary = (name: string) =>
  method("scripted.Canned", name, "unary", EmptySchema, StreamingOutputCallResponseSchema);

const empty = () => create(EmptySchema);
const simple = (init: Parameters<typeof create<typeof SimpleRequestSchema>>[1]) => create(SimpleRequestSchema, init);
const streaming = (init: Parameters<typeof create<typeof StreamingOutputCallRequestSchema>>[1]) =>
  create(StreamingOutputCallRequestSchema, init);

const proxy = (ctx: CaseContext, extra: { interceptors?: Interceptor[] } = {}): Transport =>
  createGrpcWebTransport({ baseUrl: ctx.proxyUrl, format: ctx.format, ...extra });
const scripted = (ctx: CaseContext): Transport =>
  createGrpcWebTransport({ baseUrl: ctx.scriptedUrl, format: ctx.format });

// ---- interop cases (docs/protocol.md) ----

const LARGE_REQUEST_SIZE = 271_828;
const LARGE_RESPONSE_SIZE = 314_159;
const STREAMING_SIZES = [31_415, 9, 2_653, 58_979];
const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_INITIAL_VALUE = "test_initial_metadata_value";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";
const ECHO_TRAILING_VALUE = [0xab, 0xab, 0xab];
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

// ---- runtime behaviour beyond the interop cases ----

export const runtimeCases: Case[] = [
  {
    name: "incremental streaming: each message arrives when sent",
    async run(ctx) {
      const started = performance.now();
      const arrivals: number[] = [];
      const stream = proxy(ctx).serverStream(
        streamingOutputCall,
        streaming({ responseParameters: [1, 2, 3, 4].map((size) => ({ size, intervalUs: 300_000 })) }),
      );
      for await (const _ of stream) {
        arrivals.push(performance.now() - started);
      }
      equal(arrivals.length, 4, "messages");
      for (let i = 1; i < arrivals.length; i++) {
        const gap = arrivals[i]! - arrivals[i - 1]!;
        check(gap > 200, `message ${i} came ${Math.round(gap)} ms after the previous one (buffered?)`);
      }
      check(arrivals[0]! < 900, `first message took ${Math.round(arrivals[0]!)} ms`);
    },
  },
  {
    name: "deadline enforced locally (server never answers) and grpc-timeout sent",
    async run(ctx) {
      let sentTimeout: string | null = null;
      const transport = createGrpcWebTransport({
        baseUrl: ctx.scriptedUrl,
        format: ctx.format,
        defaultTimeoutMs: 300,
        fetch: (url, init) => {
          sentTimeout = new Headers(init.headers).get("grpc-timeout");
          return fetch(url, init);
        },
      });
      const started = performance.now();
      await expectError(collect(transport.serverStream(scriptedStream("Hang"), empty())), Code.DEADLINE_EXCEEDED);
      const elapsed = performance.now() - started;
      check(elapsed > 250 && elapsed < 2_000, `deadline fired after ${Math.round(elapsed)} ms`);
      check(sentTimeout !== null && /^\d{1,8}[HMSmun]$/.test(sentTimeout), `grpc-timeout sent: ${sentTimeout}`);
    },
  },
  {
    name: "abort mid-stream: CANCELLED at once and the server sees the request go away",
    async run(ctx) {
      const id = `abort-${ctx.format}-${Math.random().toString(36).slice(2)}`;
      const controller = new AbortController();
      const stream = scripted(ctx).serverStream(scriptedStream("SlowStream"), empty(), {
        signal: controller.signal,
        metadata: { "x-case-id": id },
      });
      let received = 0;
      let abortedAt = 0;
      const err = await expectError(
        (async () => {
          for await (const _ of stream) {
            received++;
            if (received === 2) {
              abortedAt = performance.now();
              controller.abort();
            }
          }
        })(),
        Code.CANCELLED,
      );
      const delay = performance.now() - abortedAt;
      check(delay < 500, `CANCELLED ${Math.round(delay)} ms after abort`);
      check(err.rawMessage !== "", "message");
      type Stats = { sent: number; closedAfterMs?: number } | null;
      const poll = async (): Promise<Stats> =>
        (await (await fetch(`${ctx.scriptedUrl}/stats?id=${id}`)).json()) as Stats;
      let stats = await poll();
      for (let i = 0; i < 40 && stats?.closedAfterMs === undefined; i++) {
        await sleep(50);
        stats = await poll();
      }
      check(stats !== null && stats.closedAfterMs !== undefined, "the server never saw the request close");
      check(stats.sent < 10, `server kept sending: ${stats.sent} messages`);
    },
  },
  {
    name: "abort mid-stream through the proxy",
    async run(ctx) {
      const controller = new AbortController();
      const stream = proxy(ctx).serverStream(
        streamingOutputCall,
        streaming({ responseParameters: Array.from({ length: 20 }, () => ({ size: 1, intervalUs: 100_000 })) }),
        { signal: controller.signal },
      );
      let received = 0;
      const started = performance.now();
      await expectError(
        (async () => {
          for await (const _ of stream) {
            if (++received === 1) {
              controller.abort();
            }
          }
        })(),
        Code.CANCELLED,
      );
      equal(received, 1, "messages after abort");
      check(performance.now() - started < 1_000, "stream was not cut short");
    },
  },
  {
    name: "abort during a unary call",
    async run(ctx) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = performance.now();
      await expectError(
        scripted(ctx).unary(scriptedUnary("Hang"), empty(), { signal: controller.signal }),
        Code.CANCELLED,
      );
      const elapsed = performance.now() - started;
      check(elapsed < 1_000, `CANCELLED after ${Math.round(elapsed)} ms`);
    },
  },
  {
    name: "unary rules: no message or two messages is UNIMPLEMENTED (K2)",
    async run(ctx) {
      await expectError(scripted(ctx).unary(scriptedUnary("EmptyOk"), empty()), Code.UNIMPLEMENTED);
      await expectError(scripted(ctx).unary(scriptedUnary("Dribble"), empty()), Code.UNIMPLEMENTED);
      // A stream may end OK without messages.
      equal((await collect(scripted(ctx).serverStream(scriptedStream("EmptyOk"), empty()))).length, 0, "messages");
    },
  },
  {
    name: "many calls in a row and at once: connections are released",
    async run(ctx) {
      const transport = proxy(ctx);
      for (let i = 0; i < 100; i++) {
        await transport.unary(emptyCall, empty());
        equal(
          (await collect(transport.serverStream(streamingOutputCall, streaming({ responseParameters: [{ size: 3 }] }))))
            .length,
          1,
          "messages",
        );
        await expectError(transport.unary(unimplementedCall, empty()), Code.UNIMPLEMENTED);
      }
      const parallel = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          transport.unary(unaryCall, simple({ responseSize: i, payload: { body: new Uint8Array(i) } })),
        ),
      );
      equal(
        parallel.map((r) => r.payload?.body.length),
        Array.from({ length: 50 }, (_, i) => i),
        "sizes",
      );
    },
  },
  {
    name: "invalid metadata is INVALID_ARGUMENT, never a TypeError",
    async run(ctx) {
      const transport = proxy(ctx);
      await expectError(transport.unary(emptyCall, empty(), { metadata: { "bad name": "x" } }), Code.INVALID_ARGUMENT);
      await expectError(
        transport.unary(emptyCall, empty(), { metadata: { "x-a": "line\nbreak" } }),
        Code.INVALID_ARGUMENT,
      );
      await expectError(
        collect(
          transport.serverStream(streamingOutputCall, streaming({}), {
            metadata: { "x-binary-value": new Uint8Array([1]) },
          }),
        ),
        Code.INVALID_ARGUMENT,
      );
    },
  },
  {
    name: "already aborted signal: CANCELLED without a request",
    async run(ctx) {
      let fetched = 0;
      const transport = createGrpcWebTransport({
        baseUrl: ctx.proxyUrl,
        format: ctx.format,
        fetch: (url, init) => {
          fetched++;
          return fetch(url, init);
        },
      });
      await expectError(transport.unary(emptyCall, empty(), { signal: AbortSignal.abort() }), Code.CANCELLED);
      equal(fetched, 0, "fetch calls");
    },
  },
  {
    name: "network error is UNAVAILABLE, never a TypeError",
    async run(ctx) {
      const transport = createGrpcWebTransport({ baseUrl: ctx.closedUrl, format: ctx.format });
      await expectError(transport.unary(emptyCall, empty()), Code.UNAVAILABLE);
      await expectError(collect(transport.serverStream(streamingOutputCall, streaming({}))), Code.UNAVAILABLE);
    },
  },
  {
    name: "custom fetch that throws is UNAVAILABLE",
    async run(ctx) {
      const transport = createGrpcWebTransport({
        baseUrl: ctx.proxyUrl,
        format: ctx.format,
        fetch: () => {
          throw new TypeError("Failed to fetch");
        },
      });
      const err = await expectError(transport.unary(emptyCall, empty()), Code.UNAVAILABLE);
      check(err.rawMessage.includes("Failed to fetch"), `the cause is kept: ${err.rawMessage}`);
      check(err.rawMessage.includes("locally"), `says it is local: ${err.rawMessage}`);
    },
  },
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
  {
    name: "interceptors change metadata and observe results, first one outermost",
    async run(ctx) {
      const seen: string[] = [];
      const interceptors: Interceptor[] = [
        (next) => async (req) => {
          seen.push(`outer ${req.method.name} stream=${req.stream}`);
          req.header.set(ECHO_INITIAL, "from-interceptor");
          try {
            const res = await next(req);
            seen.push(`outer header ${res.header.get(ECHO_INITIAL)}`);
            return res;
          } catch (e) {
            seen.push(`outer error ${e instanceof RpcError ? Code[e.code] : String(e)}`);
            throw e;
          }
        },
        (next) => async (req) => {
          seen.push(`inner sees ${req.header.get(ECHO_INITIAL)}`);
          const res = await next(req);
          if (!res.stream) {
            seen.push(`inner message ${(res.message as { $typeName: string }).$typeName}`);
          }
          return res;
        },
      ];
      const transport = proxy(ctx, { interceptors });
      await transport.unary(emptyCall, empty());
      await expectError(transport.unary(unimplementedCall, empty()), Code.UNIMPLEMENTED);
      const messages = await collect(
        transport.serverStream(streamingOutputCall, streaming({ responseParameters: [{ size: 2 }] })),
      );
      equal(messages.length, 1, "stream messages");
      equal(
        seen,
        [
          "outer EmptyCall stream=false",
          "inner sees from-interceptor",
          "inner message grpc.testing.Empty",
          "outer header from-interceptor",
          "outer UnimplementedCall stream=false",
          "inner sees from-interceptor",
          "outer error UNIMPLEMENTED",
          "outer StreamingOutputCall stream=true",
          "inner sees from-interceptor",
          "outer header from-interceptor",
        ],
        "interceptor log",
      );
    },
  },
  {
    name: "a transport without clientStream/bidiStream: the helpers fail with UNIMPLEMENTED",
    async run(ctx) {
      const full = proxy(ctx);
      // A Transport written by hand may have neither method (createGrpcWebTransport has both).
      const transport: Transport = { unary: full.unary, serverStream: full.serverStream };
      equal([typeof full.clientStream, typeof full.bidiStream], ["function", "function"], "methods");
      const inputs = (async function* () {
        yield streaming({});
      })();
      const fullDuplex = method(
        TEST_SERVICE,
        "FullDuplexCall",
        "bidi_streaming",
        StreamingOutputCallRequestSchema,
        StreamingOutputCallResponseSchema,
      );
      const streamingInput = method(
        TEST_SERVICE,
        "StreamingInputCall",
        "client_streaming",
        StreamingOutputCallRequestSchema,
        EmptySchema,
      );
      await expectError(clientStreamCall(transport, streamingInput, inputs), Code.UNIMPLEMENTED);
      await expectError(collect(bidiStreamCall(transport, fullDuplex, inputs)), Code.UNIMPLEMENTED);
    },
  },
];

/** Every case, by name. */
export const allCases: Case[] = [...interopCases, ...runtimeCases];
