// A call's life beyond the interop cases: streaming as it arrives, deadlines, aborts,
// connections released, failures made locally, interceptors and the streaming helpers.

import {
  Code,
  RpcError,
  bidiStreamCall,
  clientStreamCall,
  createGrpcWebTransport,
  type Interceptor,
  type Transport,
} from "grpcweb-client";

import { check, equal } from "../check.js";
import { EmptySchema } from "../../../gen/grpc/testing/empty_pb.js";
import {
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
} from "../../../gen/grpc/testing/messages_pb.js";
import {
  type Case,
  expectError,
  collect,
  slowStreamLeft,
  method,
  TEST_SERVICE,
  emptyCall,
  unaryCall,
  streamingOutputCall,
  unimplementedCall,
  scriptedStream,
  scriptedUnary,
  empty,
  simple,
  streaming,
  proxy,
  scripted,
  ECHO_INITIAL,
} from "./shared.js";

export const callCases: Case[] = [
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
      await slowStreamLeft(ctx, id);
    },
  },
  {
    name: "an interceptor that fails after next() on a stream: the call is ended, the server sees it go",
    async run(ctx) {
      const id = `dropped-${ctx.format}-${Math.random().toString(36).slice(2)}`;
      const refuse: Interceptor = (next) => async (req) => {
        await next(req);
        throw new Error("refused by the interceptor");
      };
      const transport = createGrpcWebTransport({
        baseUrl: ctx.scriptedUrl,
        format: ctx.format,
        interceptors: [refuse],
      });
      const err = await expectError(
        collect(transport.serverStream(scriptedStream("SlowStream"), empty(), { metadata: { "x-case-id": id } })),
        Code.UNKNOWN,
        "refused by the interceptor",
      );
      check(err instanceof RpcError, "an RpcError");
      // The slow stream runs 10 s unless the client goes away.
      await slowStreamLeft(ctx, id);
    },
  },
  {
    name: "a deadline while a request stream is sent (or, in a browser over HTTP/1.1, refused and checked) is DEADLINE_EXCEEDED",
    async run(ctx) {
      const slow = method("scripted.Canned", "SlowHeaders", "client_streaming", EmptySchema, EmptySchema);
      const inputs = (async function* () {
        yield empty();
      })();
      const started = performance.now();
      await expectError(clientStreamCall(scripted(ctx), slow, inputs, { timeoutMs: 300 }), Code.DEADLINE_EXCEEDED);
      const took = performance.now() - started;
      check(took < 1_500, `failed ${Math.round(took)} ms after the start (the server answers at 2 s)`);
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
    name: "a custom fetch that ignores its signal: the deadline still ends a call waiting for its body",
    async run(ctx) {
      const transport = createGrpcWebTransport({
        baseUrl: ctx.scriptedUrl,
        format: ctx.format,
        fetch: (input, init) => globalThis.fetch(input, { ...init, signal: null }),
      });
      const started = performance.now();
      await expectError(transport.unary(scriptedUnary("Hang"), empty(), { timeoutMs: 300 }), Code.DEADLINE_EXCEEDED);
      const took = performance.now() - started;
      check(took < 1_500, `ended ${Math.round(took)} ms after the start`);
    },
  },
  {
    name: "a custom fetch that never settles: the deadline and an abort still end the call",
    async run(ctx) {
      const transport = createGrpcWebTransport({
        baseUrl: ctx.proxyUrl,
        format: ctx.format,
        fetch: () => new Promise<Response>(() => undefined),
      });
      let started = performance.now();
      await expectError(transport.unary(emptyCall, empty(), { timeoutMs: 300 }), Code.DEADLINE_EXCEEDED);
      check(performance.now() - started < 1_500, "the deadline ended the wait");
      const controller = new AbortController();
      started = performance.now();
      setTimeout(() => controller.abort(), 100);
      await expectError(transport.unary(emptyCall, empty(), { signal: controller.signal }), Code.CANCELLED);
      check(performance.now() - started < 1_500, "the abort ended the wait");
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
