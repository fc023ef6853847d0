// The peer clients that run in a browser (and, where they can, in Node): ours, connect-web,
// protobuf-ts and the official grpc-web runtime, each behind the matrix's Client
// interface. Browser-safe: no node: imports.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ConnectError,
  createClient,
  decodeBinaryHeader as connectDecodeBinary,
  type CallOptions as ConnectCallOptions,
  type Transport as ConnectTransport,
} from "@connectrpc/connect";
import { createGrpcWebTransport as createConnectWebTransport } from "@connectrpc/connect-web";
import { GrpcWebFetchTransport } from "@protobuf-ts/grpcweb-transport";
import { RpcError as PbtsRpcError, type MethodInfo, type RpcOptions } from "@protobuf-ts/runtime-rpc";
import { GrpcWebClientBase, MethodDescriptor, MethodType, type Metadata as GrpcWebMetadata } from "grpc-web";
import { RpcError, createGrpcWebTransport, decodeBinaryHeader, type CallOptions } from "grpcweb-client";

import { EmptySchema } from "../../gen/grpc/testing/empty_pb.js";
import {
  SimpleRequestSchema,
  SimpleResponseSchema,
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
} from "../../gen/grpc/testing/messages_pb.js";
import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import { TestServiceClient, UnimplementedServiceClient } from "../../gen/ours/grpc/testing/test_grpcweb.js";
import {
  ECHO_HEADERS,
  ECHO_INITIAL,
  ECHO_TRAILING,
  ECHO_TRAILING_VALUE,
  PeerError,
  fromBase64,
  type CallArgs,
  type Client,
  type Reply,
  type StreamArgs,
  type UnaryArgs,
} from "../cases.js";

export type Format = "binary" | "text";

/** The request messages every client sends, as plain field values. */
function simpleRequest(a: UnaryArgs) {
  return {
    responseSize: a.responseSize,
    payload: { body: new Uint8Array(a.requestSize ?? 0) },
    ...(a.status !== undefined ? { responseStatus: { code: a.status.code, message: a.status.message } } : {}),
  };
}

function streamingRequest(a: StreamArgs) {
  return {
    responseParameters: a.sizes.map((size) => ({ size, intervalUs: a.intervalUs ?? 0 })),
    payload: { body: new Uint8Array(a.requestSize ?? 0) },
    ...(a.status !== undefined ? { responseStatus: { code: a.status.code, message: a.status.message } } : {}),
  };
}

/** The text value of a -bin header or trailer, decoded (absent: undefined). */
const binValue = (value: string | null | undefined): Uint8Array | undefined =>
  value === null || value === undefined ? undefined : fromBase64(value.split(",")[0]!.trim());

// ---- clients shaped like a generated TestService client (ours, connect's) ----

type WithPayload = { readonly payload?: { readonly body: Uint8Array } | undefined };

/** The methods of a generated TestService client the cases use, with options `O`. */
interface TestServiceStub<O> {
  emptyCall(request: object, options: O): Promise<unknown>;
  unaryCall(request: ReturnType<typeof simpleRequest>, options: O): Promise<WithPayload>;
  streamingOutputCall(request: ReturnType<typeof streamingRequest>, options: O): AsyncIterable<WithPayload>;
  unimplementedCall(request: object, options: O): Promise<unknown>;
}

/** Runs `run` with options for `args`, and returns its value with the echoed metadata. */
type CallWith<O> = <T>(args: CallArgs, run: (options: O) => Promise<T>) => Promise<{ value: T; reply: Omit<Reply, "payloads"> }>;

function stubClient<O>(client: TestServiceStub<O>, unimplemented: Pick<TestServiceStub<O>, "unimplementedCall">, call: CallWith<O>): Client {
  const body = (m: WithPayload): Uint8Array => m.payload?.body ?? new Uint8Array();
  return {
    async empty() {
      await call({}, (o) => client.emptyCall({}, o));
    },
    async unary(a) {
      const { value, reply } = await call(a, (o) => client.unaryCall(simpleRequest(a), o));
      return { ...reply, payloads: [body(value)] };
    },
    async stream(a) {
      const { value, reply } = await call(a, async (o) => {
        const payloads: Uint8Array[] = [];
        for await (const m of client.streamingOutputCall(streamingRequest(a), o)) {
          payloads.push(body(m));
        }
        return payloads;
      });
      return { ...reply, payloads: value };
    },
    async unimplementedMethod() {
      await call({}, (o) => client.unimplementedCall({}, o));
    },
    async unimplementedService() {
      await call({}, (o) => unimplemented.unimplementedCall({}, o));
    },
  };
}

// ---- ours: generated TypeScript on the grpcweb-client (wasm) runtime ----

/** Our generated TestServiceClient over the wasm runtime's gRPC-Web transport. */
export function oursClient(baseUrl: string, format: Format): Client {
  const transport = createGrpcWebTransport({ baseUrl, format });
  const client = new TestServiceClient(transport);
  const unimplemented = new UnimplementedServiceClient(transport);
  const call = async <T>(args: CallArgs, run: (options: CallOptions) => Promise<T>): Promise<{ value: T; reply: Omit<Reply, "payloads"> }> => {
    let initial: string | undefined;
    let trailing: Uint8Array | undefined;
    const options: CallOptions = {
      ...(args.timeoutMs !== undefined ? { timeoutMs: args.timeoutMs } : {}),
      ...(args.echo === true
        ? { metadata: { [ECHO_INITIAL]: ECHO_HEADERS[ECHO_INITIAL]!, [ECHO_TRAILING]: Uint8Array.from(ECHO_TRAILING_VALUE) } }
        : {}),
      onHeader: (h) => (initial = h.get(ECHO_INITIAL) ?? undefined),
      onTrailer: (t) => {
        const raw = t.get(ECHO_TRAILING);
        trailing = raw === null ? undefined : decodeBinaryHeader(raw);
      },
    };
    try {
      const value = await run(options);
      return { value, reply: { initial, trailing } };
    } catch (e) {
      throw e instanceof RpcError ? new PeerError(e.code, e.rawMessage) : e;
    }
  };
  return stubClient(client, unimplemented, call);
}

// ---- connect: @connectrpc/connect-web (fetch), and any other connect transport ----

/** A TestService client on a connect transport (connect-web's, or connect-node's). */
export function connectClient(transport: ConnectTransport): Client {
  const client = createClient(TestService, transport);
  const unimplemented = createClient(UnimplementedService, transport);
  const call = async <T>(args: CallArgs, run: (options: ConnectCallOptions) => Promise<T>): Promise<{ value: T; reply: Omit<Reply, "payloads"> }> => {
    let initial: string | undefined;
    let trailing: Uint8Array | undefined;
    const options: ConnectCallOptions = {
      ...(args.timeoutMs !== undefined ? { timeoutMs: args.timeoutMs } : {}),
      ...(args.echo === true ? { headers: { ...ECHO_HEADERS } } : {}),
      onHeader: (h) => (initial = h.get(ECHO_INITIAL) ?? undefined),
      onTrailer: (t) => {
        const raw = t.get(ECHO_TRAILING);
        trailing = raw === null ? undefined : connectDecodeBinary(raw);
      },
    };
    try {
      const value = await run(options);
      return { value, reply: { initial, trailing } };
    } catch (e) {
      if (e instanceof ConnectError) {
        throw new PeerError(e.code, e.rawMessage);
      }
      throw e;
    }
  };
  return stubClient(client, unimplemented, call);
}

/** connect-web's gRPC-Web transport (fetch; binary only: connect has no grpc-web-text). */
export function connectWebClient(baseUrl: string): Client {
  return connectClient(createConnectWebTransport({ baseUrl, useBinaryFormat: true }));
}

// ---- protobuf-ts: GrpcWebFetchTransport, driven with method infos over protobuf-es codecs ----

type AnySchema = Parameters<typeof toBinary>[0];

/** A protobuf-ts message type backed by a protobuf-es schema (only what the transport uses). */
function pbtsType(schema: AnySchema) {
  return {
    typeName: schema.typeName,
    toBinary: (message: unknown) => toBinary(schema, message as never),
    fromBinary: (bytes: Uint8Array) => fromBinary(schema, bytes),
    create: (value?: object) => create(schema, value as never),
  };
}

function pbtsMethod(service: string, name: string, input: AnySchema, output: AnySchema, serverStreaming: boolean): MethodInfo {
  const info = {
    service: { typeName: service, methods: [] as unknown[], options: {} },
    name,
    localName: name,
    I: pbtsType(input),
    O: pbtsType(output),
    serverStreaming,
    clientStreaming: false,
    options: {},
  };
  info.service.methods.push(info);
  return info as unknown as MethodInfo;
}

const PBTS = {
  emptyCall: pbtsMethod("grpc.testing.TestService", "EmptyCall", EmptySchema, EmptySchema, false),
  unaryCall: pbtsMethod("grpc.testing.TestService", "UnaryCall", SimpleRequestSchema, SimpleResponseSchema, false),
  streamingOutputCall: pbtsMethod(
    "grpc.testing.TestService",
    "StreamingOutputCall",
    StreamingOutputCallRequestSchema,
    StreamingOutputCallResponseSchema,
    true,
  ),
  unimplementedCall: pbtsMethod("grpc.testing.TestService", "UnimplementedCall", EmptySchema, EmptySchema, false),
  unimplementedService: pbtsMethod("grpc.testing.UnimplementedService", "UnimplementedCall", EmptySchema, EmptySchema, false),
};

/** protobuf-ts's numeric code of its error's code name (it reports names). */
const GRPC_CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

function pbtsError(e: unknown): unknown {
  if (e instanceof PbtsRpcError) {
    const code = GRPC_CODE_NAMES.indexOf(e.code);
    return new PeerError(code < 0 ? 2 : code, e.message);
  }
  return e;
}

const firstValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** protobuf-ts's GrpcWebFetchTransport (fetch; binary and text). */
export function protobufTsClient(baseUrl: string, format: Format): Client {
  const transport = new GrpcWebFetchTransport({ baseUrl, format });
  const options = (a: CallArgs): RpcOptions =>
    transport.mergeOptions({
      ...(a.timeoutMs !== undefined ? { timeout: a.timeoutMs } : {}),
      ...(a.echo === true ? { meta: { ...ECHO_HEADERS } } : {}),
    });
  const unary = async (method: MethodInfo, input: unknown, a: CallArgs): Promise<{ output: unknown; reply: Omit<Reply, "payloads"> }> => {
    try {
      const call = transport.unary(method as MethodInfo<object, object>, input as object, options(a));
      const [headers, output, trailers] = await Promise.all([call.headers, call.response, call.trailers]);
      await call.status;
      return {
        output,
        reply: { initial: firstValue(headers[ECHO_INITIAL]), trailing: binValue(firstValue(trailers[ECHO_TRAILING])) },
      };
    } catch (e) {
      throw pbtsError(e);
    }
  };
  return {
    async empty() {
      await unary(PBTS.emptyCall, create(EmptySchema), {});
    },
    async unary(a) {
      const { output, reply } = await unary(PBTS.unaryCall, create(SimpleRequestSchema, simpleRequest(a)), a);
      const res = output as ReturnType<typeof create<typeof SimpleResponseSchema>>;
      return { ...reply, payloads: [res.payload?.body ?? new Uint8Array()] };
    },
    async stream(a) {
      try {
        const call = transport.serverStreaming(
          PBTS.streamingOutputCall as MethodInfo<object, object>,
          create(StreamingOutputCallRequestSchema, streamingRequest(a)),
          options(a),
        );
        const payloads: Uint8Array[] = [];
        for await (const m of call.responses) {
          const res = m as ReturnType<typeof create<typeof StreamingOutputCallResponseSchema>>;
          payloads.push(res.payload?.body ?? new Uint8Array());
        }
        const [headers, trailers] = await Promise.all([call.headers, call.trailers]);
        await call.status;
        return { payloads, initial: firstValue(headers[ECHO_INITIAL]), trailing: binValue(firstValue(trailers[ECHO_TRAILING])) };
      } catch (e) {
        throw pbtsError(e);
      }
    },
    async unimplementedMethod() {
      await unary(PBTS.unimplementedCall, create(EmptySchema), {});
    },
    async unimplementedService() {
      await unary(PBTS.unimplementedService, create(EmptySchema), {});
    },
  };
}

// ---- the official grpc-web runtime (XMLHttpRequest: browsers only) ----

type AnyMessage = ReturnType<typeof create>;

function grpcWebMethod(path: string, type: string, input: AnySchema, output: AnySchema): MethodDescriptor<AnyMessage, AnyMessage> {
  // The runtime only calls the two functions; the "types" are never constructed.
  const NoType = function () {} as unknown as new (...args: unknown[]) => AnyMessage;
  return new MethodDescriptor(
    path,
    type,
    NoType,
    NoType,
    (m: AnyMessage) => toBinary(input, m as never),
    (bytes: Uint8Array) => fromBinary(output, bytes),
  );
}

const GRPC_WEB = {
  emptyCall: grpcWebMethod("/grpc.testing.TestService/EmptyCall", MethodType.UNARY, EmptySchema, EmptySchema),
  unaryCall: grpcWebMethod("/grpc.testing.TestService/UnaryCall", MethodType.UNARY, SimpleRequestSchema, SimpleResponseSchema),
  streamingOutputCall: grpcWebMethod(
    "/grpc.testing.TestService/StreamingOutputCall",
    MethodType.SERVER_STREAMING,
    StreamingOutputCallRequestSchema,
    StreamingOutputCallResponseSchema,
  ),
  unimplementedCall: grpcWebMethod("/grpc.testing.TestService/UnimplementedCall", MethodType.UNARY, EmptySchema, EmptySchema),
  unimplementedService: grpcWebMethod("/grpc.testing.UnimplementedService/UnimplementedCall", MethodType.UNARY, EmptySchema, EmptySchema),
};

/** The official `grpc-web` runtime's GrpcWebClientBase (format "text" or "binary"). */
export function grpcWebClient(baseUrl: string, format: Format): Client {
  const client = new GrpcWebClientBase({ format });
  const metadata = (a: CallArgs): GrpcWebMetadata => ({
    ...(a.echo === true ? ECHO_HEADERS : {}),
    // grpc-web turns a `deadline` (ms since the epoch) into grpc-timeout.
    ...(a.timeoutMs !== undefined ? { deadline: String(Date.now() + a.timeoutMs) } : {}),
  });
  // Both call kinds as one: collect messages, headers and the status (with trailers).
  const run = (
    method: MethodDescriptor<AnyMessage, AnyMessage>,
    input: AnyMessage,
    a: CallArgs,
    streaming: boolean,
  ): Promise<{ messages: AnyMessage[]; reply: Omit<Reply, "payloads"> }> =>
    new Promise((resolve, reject) => {
      const messages: AnyMessage[] = [];
      let initial: string | undefined;
      let trailersSeen: GrpcWebMetadata | undefined;
      let done = false;
      const finish = (err: { code: number; message: string } | null, trailers?: GrpcWebMetadata): void => {
        if (done) {
          return;
        }
        done = true;
        if (err !== null && err.code !== 0) {
          // connect's and grpc-web's codes are gRPC's numbers.
          reject(new PeerError(err.code, err.message));
          return;
        }
        resolve({ messages, reply: { initial, trailing: binValue(trailers?.[ECHO_TRAILING]) } });
      };
      const url = baseUrl + method.getName();
      const stream = streaming
        ? client.serverStreaming(url, input, metadata(a), method)
        : client.rpcCall(url, input, metadata(a), method, (err, response) => {
            if (err !== null && err !== undefined) {
              finish({ code: err.code, message: err.message }, err.metadata);
            } else {
              messages.push(response);
            }
          });
      stream.on("metadata", (h) => (initial = h[ECHO_INITIAL]));
      if (streaming) {
        stream.on("data", (m) => messages.push(m));
        stream.on("error", (err) => finish({ code: err.code, message: err.message }, err.metadata));
      }
      // The runtime emits "status" (with the trailers) before "metadata", the message and
      // "end": keep the trailers, and finish on "end" (or on an error).
      stream.on("status", (s) => {
        trailersSeen = s.metadata;
        if (s.code !== 0) {
          finish({ code: s.code, message: s.details }, s.metadata);
        }
      });
      stream.on("end", () => finish(null, trailersSeen));
    });
  const payload = (m: AnyMessage | undefined): Uint8Array =>
    ((m as { payload?: { body: Uint8Array } } | undefined)?.payload?.body ?? new Uint8Array());
  return {
    async empty() {
      await run(GRPC_WEB.emptyCall, create(EmptySchema), {}, false);
    },
    async unary(a) {
      const { messages, reply } = await run(GRPC_WEB.unaryCall, create(SimpleRequestSchema, simpleRequest(a)), a, false);
      return { ...reply, payloads: messages.map(payload) };
    },
    async stream(a) {
      const { messages, reply } = await run(
        GRPC_WEB.streamingOutputCall,
        create(StreamingOutputCallRequestSchema, streamingRequest(a)),
        a,
        true,
      );
      return { ...reply, payloads: messages.map(payload) };
    },
    async unimplementedMethod() {
      await run(GRPC_WEB.unimplementedCall, create(EmptySchema), {}, false);
    },
    async unimplementedService() {
      await run(GRPC_WEB.unimplementedService, create(EmptySchema), {}, false);
    },
  };
}

/** The clients a browser page can make, by id. */
export const webClients: Readonly<Record<string, (baseUrl: string, format: Format) => Client>> = {
  ours: oursClient,
  "connect-web": (baseUrl) => connectWebClient(baseUrl),
  "protobuf-ts": protobufTsClient,
  "grpc-web": grpcWebClient,
};
