// Client-streaming and bidi cases for our runtime, through the generated TestServiceClient
// (protoc-gen-grpcweb-ts, gen/ours), written once: run in Node by stream.test.ts against
// grpcweb-proxy --allow-request-streaming in front of each backend. Browser-safe: no node:
// imports; assertions are local.

import {
  Code,
  RpcError,
  createGrpcWebTransport,
  type FetchLike,
  type Interceptor,
  type PartialMessage,
} from "grpcweb-client";

import { check, equal } from "./check.js";
import { TestServiceClient } from "../../gen/ours/grpc/testing/test_grpcweb.js";
import type { StreamingOutputCallRequest } from "../../gen/ours/grpc/testing/messages_pb.js";

export interface StreamContext {
  /** Base URL of a gRPC-Web server that accepts request streams. */
  readonly url: string;
  readonly format: "binary" | "text";
  /** The fetch to use (default the global one). */
  readonly fetch?: FetchLike;
}

export interface StreamCase {
  readonly name: string;
  run(ctx: StreamContext): Promise<void>;
}

type Request = PartialMessage<StreamingOutputCallRequest>;

const REQUEST_SIZES = [27_182, 8, 1_828, 45_904];
const RESPONSE_SIZES = [31_415, 9, 2_653, 58_979];

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

const client = (ctx: StreamContext, interceptors: Interceptor[] = []): TestServiceClient =>
  new TestServiceClient(
    createGrpcWebTransport({
      baseUrl: ctx.url,
      format: ctx.format,
      interceptors,
      ...(ctx.fetch === undefined ? {} : { fetch: ctx.fetch }),
    }),
  );

/** A request iterator that records how it ended (`finally` ran: returned, thrown or done). */
class Requests<T = Request> {
  sent = 0;
  ended = false;
  constructor(private readonly source: () => AsyncIterable<T>) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for await (const r of this.source()) {
        this.sent++;
        yield r;
      }
    } finally {
      this.ended = true;
    }
  }
  /** Waits (a little) for the iterator to be ended by the runtime. */
  async waitEnded(what: string): Promise<void> {
    for (let i = 0; i < 100 && !this.ended; i++) {
      await sleep(20);
    }
    check(this.ended, `${what}: the request iterator was not ended`);
  }
}

/** Requests one response of `size` bytes each, forever, `ms` apart. */
const endless = (ms: number, size = 1): Requests =>
  new Requests(async function* () {
    for (;;) {
      yield { responseParameters: [{ size }] };
      await sleep(ms);
    }
  });

async function expectError(p: Promise<unknown>, code: Code, what: string): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    check(e instanceof RpcError, `${what}: expected an RpcError, got ${String(e)}`);
    check(e.code === code, `${what}: expected ${Code[code]}, got ${String(e)}`);
    return e;
  }
  throw new Error(`${what}: expected ${Code[code]}, the call succeeded`);
}

export const streamCases: StreamCase[] = [
  {
    name: "client_streaming: StreamingInputCall sums the request sizes",
    async run(ctx) {
      const requests = new Requests(async function* () {
        for (const n of REQUEST_SIZES) yield { payload: { body: new Uint8Array(n) } };
      });
      const res = await client(ctx).streamingInputCall(requests);
      equal(res.aggregatedPayloadSize, 74_922, "aggregated size");
      equal(requests.sent, 4, "requests sent");
    },
  },
  {
    name: "client_streaming with no messages",
    async run(ctx) {
      const none = (async function* () {})();
      const res = await client(ctx).streamingInputCall(none);
      equal(res.aggregatedPayloadSize, 0, "aggregated size");
    },
  },
  {
    name: "ping_pong: FullDuplexCall, the next request only after the last response",
    async run(ctx) {
      let answered = 0;
      let wake: () => void = () => undefined;
      const requests = new Requests(async function* () {
        for (let i = 0; i < RESPONSE_SIZES.length; i++) {
          const next = new Promise<void>((done) => (wake = done));
          yield {
            responseParameters: [{ size: RESPONSE_SIZES[i]! }],
            payload: { body: new Uint8Array(REQUEST_SIZES[i]!) },
          };
          await next; // blocks until the response to this request is in: interleaving
          check(answered === i + 1, `request ${i + 1} answered before the next one was sent`);
        }
      });
      const got: number[] = [];
      for await (const r of client(ctx).fullDuplexCall(requests)) {
        got.push(r.payload?.body.length ?? -1);
        answered++;
        wake();
      }
      equal(got, RESPONSE_SIZES, "response sizes");
    },
  },
  {
    name: "half_duplex: HalfDuplexCall answers once the requests end",
    async run(ctx) {
      const requests = new Requests(async function* () {
        for (const size of RESPONSE_SIZES) yield { responseParameters: [{ size }] };
      });
      const got: number[] = [];
      for await (const r of client(ctx).halfDuplexCall(requests)) {
        check(requests.ended, "a response came before the requests ended");
        got.push(r.payload?.body.length ?? -1);
      }
      equal(got, RESPONSE_SIZES, "response sizes");
    },
  },
  {
    name: "empty_stream: FullDuplexCall with no requests",
    async run(ctx) {
      const got: unknown[] = [];
      for await (const r of client(ctx).fullDuplexCall((async function* () {})())) got.push(r);
      equal(got.length, 0, "responses");
    },
  },
  {
    name: "cancel by break: leaving the response loop ends both directions",
    async run(ctx) {
      const requests = endless(10);
      let n = 0;
      for await (const _ of client(ctx).fullDuplexCall(requests)) {
        if (++n === 3) break;
      }
      await requests.waitEnded("break");
    },
  },
  {
    name: "cancel by AbortSignal mid-stream: CANCELLED, the request iterator is returned",
    async run(ctx) {
      const requests = endless(10);
      const controller = new AbortController();
      const call = (async () => {
        let n = 0;
        for await (const _ of client(ctx).fullDuplexCall(requests, { signal: controller.signal })) {
          if (++n === 2) controller.abort();
        }
      })();
      await expectError(call, Code.CANCELLED, "abort");
      await requests.waitEnded("abort");
    },
  },
  {
    name: "cancel_after_begin: abort a client stream after its first message",
    async run(ctx) {
      const controller = new AbortController();
      const requests = new Requests(async function* () {
        yield { payload: { body: new Uint8Array(10) } };
        controller.abort();
        await sleep(300);
        yield { payload: { body: new Uint8Array(10) } };
      });
      const e = await expectError(
        client(ctx).streamingInputCall(requests, { signal: controller.signal }),
        Code.CANCELLED,
        "cancel_after_begin",
      );
      check(/AbortSignal/.test(e.message), `message: ${e.message}`);
      await requests.waitEnded("cancel_after_begin");
    },
  },
  {
    name: "status from the server mid-stream: the error after the first response",
    async run(ctx) {
      const requests = new Requests(async function* () {
        yield { responseParameters: [{ size: 1 }] };
        await sleep(30);
        yield { responseStatus: { code: Code.FAILED_PRECONDITION, message: "stop here" } };
        await sleep(300); // still open when the server ends the call
        yield { responseParameters: [{ size: 1 }] };
      });
      const got: number[] = [];
      const e = await expectError(
        (async () => {
          for await (const r of client(ctx).fullDuplexCall(requests)) got.push(r.payload?.body.length ?? -1);
        })(),
        Code.FAILED_PRECONDITION,
        "server status",
      );
      equal(e.rawMessage, "stop here", "status message");
      equal(got, [1], "responses before the status");
      await requests.waitEnded("server status");
    },
  },
  {
    name: "deadline mid-stream: DEADLINE_EXCEEDED, the request iterator is returned",
    async run(ctx) {
      const requests = endless(20);
      let n = 0;
      await expectError(
        (async () => {
          for await (const _ of client(ctx).fullDuplexCall(requests, { timeoutMs: 300 })) n++;
        })(),
        Code.DEADLINE_EXCEEDED,
        "deadline",
      );
      check(n > 0, "no response before the deadline");
      await requests.waitEnded("deadline");
    },
  },
  {
    name: "a request iterator that throws: CANCELLED with the cause",
    async run(ctx) {
      const boom = new Error("no more requests today");
      const requests = new Requests(async function* () {
        yield { responseParameters: [{ size: 1 }] };
        await sleep(30);
        throw boom;
      });
      const e = await expectError(
        (async () => {
          for await (const _ of client(ctx).fullDuplexCall(requests)) {
            // keep reading
          }
        })(),
        Code.CANCELLED,
        "iterator throws",
      );
      check(e.cause === boom, `cause: ${String(e.cause)}`);
      check(e.message.includes("no more requests today"), `message: ${e.message}`);
      // And for a client stream.
      const requests2 = new Requests(async function* () {
        yield { payload: { body: new Uint8Array(1) } };
        throw boom;
      });
      const e2 = await expectError(
        client(ctx).streamingInputCall(requests2),
        Code.CANCELLED,
        "client stream iterator throws",
      );
      check(e2.cause === boom, `cause: ${String(e2.cause)}`);
    },
  },
  {
    name: "interceptors see the request stream as req.requests and may wrap it",
    async run(ctx) {
      let seen = 0;
      const counting: Interceptor = (next) => async (req) => {
        check(req.requests !== undefined && req.message === undefined, "req.requests set, req.message not");
        const inner = req.requests!;
        req.requests = (async function* () {
          for await (const m of inner) {
            seen++;
            yield m;
          }
        })();
        return next(req);
      };
      const requests = new Requests(async function* () {
        for (const n of REQUEST_SIZES) yield { payload: { body: new Uint8Array(n) } };
      });
      const res = await client(ctx, [counting]).streamingInputCall(requests);
      equal([res.aggregatedPayloadSize, seen], [74_922, 4], "size and messages seen");
    },
  },
];
