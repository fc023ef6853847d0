// protobuf-ts's GrpcWebFetchTransport behind the matrix's Client interface, driven with
// method infos over protobuf-es codecs (only what the transport uses). Browser-safe.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GrpcWebFetchTransport } from "@protobuf-ts/grpcweb-transport";
import { RpcError as PbtsRpcError, type MethodInfo, type RpcOptions } from "@protobuf-ts/runtime-rpc";

import { EmptySchema } from "../../gen/grpc/testing/empty_pb.js";
import {
  SimpleRequestSchema,
  SimpleResponseSchema,
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
} from "../../gen/grpc/testing/messages_pb.js";
import {
  ECHO_HEADERS,
  ECHO_INITIAL,
  ECHO_TRAILING,
  NotApplicable,
  PeerError,
  type CallArgs,
  type Client,
  type Reply,
} from "../cases.js";
import { binValue, simpleRequest, streamingRequest, type Format } from "./requests.js";

export type AnySchema = Parameters<typeof toBinary>[0];

/** A protobuf-ts message type backed by a protobuf-es schema (only what the transport uses). */
function pbtsType(schema: AnySchema) {
  return {
    typeName: schema.typeName,
    toBinary: (message: unknown) => toBinary(schema, message as never),
    fromBinary: (bytes: Uint8Array) => fromBinary(schema, bytes),
    create: (value?: object) => create(schema, value as never),
  };
}

function pbtsMethod(
  service: string,
  name: string,
  input: AnySchema,
  output: AnySchema,
  serverStreaming: boolean,
): MethodInfo {
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
  unimplementedService: pbtsMethod(
    "grpc.testing.UnimplementedService",
    "UnimplementedCall",
    EmptySchema,
    EmptySchema,
    false,
  ),
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
  const unary = async (
    method: MethodInfo,
    input: unknown,
    a: CallArgs,
  ): Promise<{ output: unknown; reply: Omit<Reply, "payloads"> }> => {
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
        return {
          payloads,
          initial: firstValue(headers[ECHO_INITIAL]),
          trailing: binValue(firstValue(trailers[ECHO_TRAILING])),
        };
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
    clientStream() {
      throw new NotApplicable("protobuf-ts's GrpcWebFetchTransport has unary and server-streaming calls only");
    },
    pingPong() {
      throw new NotApplicable("protobuf-ts's GrpcWebFetchTransport has unary and server-streaming calls only");
    },
  };
}
