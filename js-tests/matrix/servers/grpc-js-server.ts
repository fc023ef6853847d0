// grpc.testing.TestService on @grpc/grpc-js, a peer server for the interop matrix.
//
// Run as its own process (`node dist/matrix/servers/grpc-js-server.js [--port N]`) so its
// event loop is not the runner's: binds 127.0.0.1 (port 0, the default, picks a free
// port) over cleartext HTTP/2, prints exactly one stdout line `listening on
// 127.0.0.1:PORT`, and serves until SIGTERM or SIGINT. The service is loaded at start-up
// from protos/grpc/testing/test.proto with @grpc/proto-loader.
//
// Behaviour (docs/protocol.md, I1-I3): EmptyCall returns Empty; UnaryCall and
// CacheableUnaryCall return `response_size` zero bytes or fail with `response_status`;
// StreamingOutputCall sends one response per `response_parameters` entry (sleeping
// `interval_us` first) then fails with `response_status` if set; StreamingInputCall sums
// the payload sizes; FullDuplexCall answers each request as it arrives, HalfDuplexCall
// once the client has finished; UnimplementedCall fails with UNIMPLEMENTED, and
// UnimplementedService is not registered. Every method echoes `x-grpc-test-echo-initial`
// as a response header and `x-grpc-test-echo-trailing-bin` as a trailer, on success and
// on failure. grpc-js itself ends a call whose deadline passes with DEADLINE_EXCEEDED; the
// handlers then stop at their next sleep or send.

import { once } from "node:events";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";
/** How long calls in flight may go on after SIGTERM before they are cut off. */
const STOP_GRACE_MS = 1_000;

/** The repository root (this file is compiled to js-tests/dist/matrix/servers/). */
const REPO_DIR = fileURLToPath(new URL("../../../../", import.meta.url));

// The messages as @grpc/proto-loader hands them over (camelCase fields, defaults filled).
interface EchoStatus {
  code: number;
  message: string;
}
interface Payload {
  type?: number;
  body: Buffer;
}
interface SimpleRequest {
  responseSize: number;
  responseStatus: EchoStatus | null;
}
interface ResponseParameters {
  size: number;
  intervalUs: number;
}
interface StreamingOutputCallRequest {
  responseParameters: ResponseParameters[];
  responseStatus: EchoStatus | null;
}
interface StreamingInputCallRequest {
  payload: Payload | null;
}
interface StreamingOutputCallResponse {
  payload: Payload;
}

type AnyCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerReadableStream<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;
type OutCall =
  | grpc.ServerWritableStream<unknown, StreamingOutputCallResponse>
  | grpc.ServerDuplexStream<unknown, StreamingOutputCallResponse>;

/** A call's failure, carrying the trailers it must echo. */
function failure(code: grpc.status, details: string, trailers: grpc.Metadata): Partial<grpc.StatusObject> {
  return { code, details, metadata: trailers };
}

/** Sends the echoed headers now and returns the echoed trailers. */
function echo(call: AnyCall): grpc.Metadata {
  const headers = new grpc.Metadata();
  for (const value of call.metadata.get(ECHO_INITIAL)) {
    headers.add(ECHO_INITIAL, value);
  }
  if (headers.getMap()[ECHO_INITIAL] !== undefined) {
    call.sendMetadata(headers);
  }
  const trailers = new grpc.Metadata();
  for (const value of call.metadata.get(ECHO_TRAILING)) {
    trailers.add(ECHO_TRAILING, value);
  }
  return trailers;
}

/** The failure an EchoStatus asks for, if any. */
function requested(status: EchoStatus | null, trailers: grpc.Metadata): Partial<grpc.StatusObject> | undefined {
  return status !== null && status.code !== 0 ? failure(status.code, status.message, trailers) : undefined;
}

function payload(size: number): Payload {
  if (size < 0) {
    throw new RangeError(`negative response size ${size}`);
  }
  return { body: Buffer.alloc(size) }; // type COMPRESSABLE (0) is the default: not sent
}

function unary(call: grpc.ServerUnaryCall<SimpleRequest, unknown>, callback: grpc.sendUnaryData<unknown>): void {
  const trailers = echo(call);
  const failed = requested(call.request.responseStatus, trailers);
  if (failed !== undefined) {
    callback(failed, null);
    return;
  }
  if (call.request.responseSize < 0) {
    callback(
      failure(grpc.status.INVALID_ARGUMENT, `negative response size ${call.request.responseSize}`, trailers),
      null,
    );
    return;
  }
  callback(null, { payload: payload(call.request.responseSize) }, trailers);
}

/**
 * Sends what one StreamingOutputCallRequest asks for. Returns false when the call is over
 * (failed as asked, or cancelled).
 */
async function respond(call: OutCall, request: StreamingOutputCallRequest, trailers: grpc.Metadata): Promise<boolean> {
  for (const params of request.responseParameters) {
    if (params.intervalUs > 0) {
      await sleep(params.intervalUs / 1000);
    }
    if (call.cancelled) {
      return false;
    }
    if (params.size < 0) {
      call.emit("error", failure(grpc.status.INVALID_ARGUMENT, `negative response size ${params.size}`, trailers));
      return false;
    }
    if (!call.write({ payload: payload(params.size) })) {
      await Promise.race([once(call, "drain"), once(call, "close")]);
    }
  }
  const failed = requested(request.responseStatus, trailers);
  if (failed !== undefined) {
    call.emit("error", failed);
    return false;
  }
  return true;
}

async function streamOut(
  call: OutCall,
  requests: Iterable<StreamingOutputCallRequest> | AsyncIterable<StreamingOutputCallRequest>,
  trailers: grpc.Metadata,
): Promise<void> {
  for await (const request of requests) {
    if (!(await respond(call, request, trailers))) {
      return;
    }
  }
  call.end(trailers);
}

/**
 * The requests of a client-streaming call. Plain `for await` over the call would destroy
 * it once the client finishes sending, before the responses and status are out.
 */
function requests<T>(
  call: grpc.ServerReadableStream<T, unknown> | grpc.ServerDuplexStream<T, unknown>,
): AsyncIterable<T> {
  return call.iterator({ destroyOnReturn: false }) as AsyncIterable<T>;
}

/** Reports a handler's unexpected exception as the call's status instead of crashing. */
function guard(call: OutCall, work: Promise<void>): void {
  work.catch((err: unknown) => {
    call.emit("error", { code: grpc.status.INTERNAL, details: String(err) });
  });
}

const implementation: grpc.UntypedServiceImplementation = {
  EmptyCall(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    callback(null, {}, echo(call));
  },
  UnaryCall: unary,
  CacheableUnaryCall: unary,
  StreamingOutputCall(call: grpc.ServerWritableStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) {
    const trailers = echo(call);
    guard(call, streamOut(call, [call.request], trailers));
  },
  StreamingInputCall(
    call: grpc.ServerReadableStream<StreamingInputCallRequest, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) {
    const trailers = echo(call);
    const sum = async (): Promise<void> => {
      let total = 0;
      for await (const request of requests(call)) {
        total += request.payload?.body.length ?? 0;
      }
      callback(null, { aggregatedPayloadSize: total }, trailers);
    };
    sum().catch((err: unknown) => callback({ code: grpc.status.INTERNAL, details: String(err) }, null));
  },
  FullDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) {
    const trailers = echo(call);
    guard(call, streamOut(call, requests(call), trailers));
  },
  HalfDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) {
    const trailers = echo(call);
    const collect = async (): Promise<void> => {
      const collected: StreamingOutputCallRequest[] = [];
      for await (const request of requests(call)) {
        collected.push(request);
      }
      await streamOut(call, collected, trailers);
    };
    guard(call, collect());
  },
  UnimplementedCall(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const trailers = echo(call);
    callback(
      failure(grpc.status.UNIMPLEMENTED, "grpc.testing.TestService/UnimplementedCall is never implemented", trailers),
      null,
    );
  },
};

function testService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync("grpc/testing/test.proto", {
    includeDirs: [resolve(REPO_DIR, "protos")],
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition);
  const testing = (loaded["grpc"] as grpc.GrpcObject)["testing"] as grpc.GrpcObject;
  const service = testing["TestService"] as grpc.ServiceClientConstructor;
  return service.service;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
  const server = new grpc.Server();
  server.addService(testService(), implementation);
  const port = await new Promise<number>((done, fail) => {
    server.bindAsync(`127.0.0.1:${values.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err !== null) {
        fail(err);
      } else {
        done(bound);
      }
    });
  });
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);

  const stop = (): void => {
    const force = setTimeout(() => {
      server.forceShutdown();
      process.exit(0);
    }, STOP_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(force);
      process.exit(0);
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`grpc-js-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
