// What the runtime cases share: their types, browser-safe assertions, the method
// descriptors (written by hand against the transport contract, with messages from
// protoc-gen-es) and the transports they call through.

import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  RpcError,
  createGrpcWebTransport,
  type Interceptor,
  type MethodDescriptor,
  type MethodKind,
  type Transport,
} from "grpcweb-client";

import { check, equal } from "../check.js";
import { EmptySchema } from "../../../gen/grpc/testing/empty_pb.js";
import {
  SimpleRequestSchema,
  SimpleResponseSchema,
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
} from "../../../gen/grpc/testing/messages_pb.js";

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

// ---- the interop server's echo metadata ----

export const ECHO_INITIAL = "x-grpc-test-echo-initial";
export const ECHO_INITIAL_VALUE = "test_initial_metadata_value";
export const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";
export const ECHO_TRAILING_VALUE = [0xab, 0xab, 0xab];

// ---- assertions (browser-safe) ----

export async function expectError(call: Promise<unknown>, code: Code, rawMessage?: string): Promise<RpcError> {
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

export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of stream) {
    out.push(m);
  }
  return out;
}

export function assertZeros(body: Uint8Array | undefined, size: number): void {
  check(body !== undefined, "response has no payload");
  equal(body.length, size, "payload size");
  check(
    body.every((b) => b === 0),
    "payload body is not all zeros",
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Waits up to 2 s for the scripted server's slow stream `id` to see its client go, and
 * checks it stopped sending (it sends 100 messages 100 ms apart unless the client leaves).
 */
export async function slowStreamLeft(ctx: CaseContext, id: string): Promise<void> {
  type Stats = { sent: number; closedAfterMs?: number } | null;
  const poll = async (): Promise<Stats> => (await (await fetch(`${ctx.scriptedUrl}/stats?id=${id}`)).json()) as Stats;
  let stats = await poll();
  for (let i = 0; i < 40 && stats?.closedAfterMs === undefined; i++) {
    await sleep(50);
    stats = await poll();
  }
  check(stats !== null && stats.closedAfterMs !== undefined, "the server never saw the request close");
  check(stats.sent < 10, `server kept sending: ${stats.sent} messages`);
}

// ---- method descriptors ----

export function method<I extends DescMessage, O extends DescMessage>(
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

export const TEST_SERVICE = "grpc.testing.TestService";
export const emptyCall = method(TEST_SERVICE, "EmptyCall", "unary", EmptySchema, EmptySchema);
export const unaryCall = method(TEST_SERVICE, "UnaryCall", "unary", SimpleRequestSchema, SimpleResponseSchema);
export const streamingOutputCall = method(
  TEST_SERVICE,
  "StreamingOutputCall",
  "server_streaming",
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
);
export const unimplementedCall = method(TEST_SERVICE, "UnimplementedCall", "unary", EmptySchema, EmptySchema);
export const unimplementedService = method(
  "grpc.testing.UnimplementedService",
  "UnimplementedCall",
  "unary",
  EmptySchema,
  EmptySchema,
);
export const scriptedStream = (name: string) =>
  method("scripted.Canned", name, "server_streaming", EmptySchema, StreamingOutputCallResponseSchema);
export const scriptedUnary = (name: string) =>
  method("scripted.Canned", name, "unary", EmptySchema, StreamingOutputCallResponseSchema);

export const empty = () => create(EmptySchema);
export const simple = (init: Parameters<typeof create<typeof SimpleRequestSchema>>[1]) =>
  create(SimpleRequestSchema, init);
export const streaming = (init: Parameters<typeof create<typeof StreamingOutputCallRequestSchema>>[1]) =>
  create(StreamingOutputCallRequestSchema, init);

export const proxy = (ctx: CaseContext, extra: { interceptors?: Interceptor[] } = {}): Transport =>
  createGrpcWebTransport({ baseUrl: ctx.proxyUrl, format: ctx.format, ...extra });
export const scripted = (ctx: CaseContext): Transport =>
  createGrpcWebTransport({ baseUrl: ctx.scriptedUrl, format: ctx.format });
