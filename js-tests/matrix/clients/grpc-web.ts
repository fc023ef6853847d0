// The official `grpc-web` runtime (XMLHttpRequest: browsers only) behind the matrix's
// Client interface, driven with hand-written MethodDescriptors over protobuf-es codecs.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GrpcWebClientBase, MethodDescriptor, MethodType, type Metadata as GrpcWebMetadata } from "grpc-web";

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
import type { AnySchema } from "./protobuf-ts.js";
import { binValue, simpleRequest, streamingRequest, type Format } from "./requests.js";

type AnyMessage = ReturnType<typeof create>;

function grpcWebMethod(
  path: string,
  type: string,
  input: AnySchema,
  output: AnySchema,
): MethodDescriptor<AnyMessage, AnyMessage> {
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
  unaryCall: grpcWebMethod(
    "/grpc.testing.TestService/UnaryCall",
    MethodType.UNARY,
    SimpleRequestSchema,
    SimpleResponseSchema,
  ),
  streamingOutputCall: grpcWebMethod(
    "/grpc.testing.TestService/StreamingOutputCall",
    MethodType.SERVER_STREAMING,
    StreamingOutputCallRequestSchema,
    StreamingOutputCallResponseSchema,
  ),
  unimplementedCall: grpcWebMethod(
    "/grpc.testing.TestService/UnimplementedCall",
    MethodType.UNARY,
    EmptySchema,
    EmptySchema,
  ),
  unimplementedService: grpcWebMethod(
    "/grpc.testing.UnimplementedService/UnimplementedCall",
    MethodType.UNARY,
    EmptySchema,
    EmptySchema,
  ),
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
    (m as { payload?: { body: Uint8Array } } | undefined)?.payload?.body ?? new Uint8Array();
  return {
    async empty() {
      await run(GRPC_WEB.emptyCall, create(EmptySchema), {}, false);
    },
    async unary(a) {
      const { messages, reply } = await run(
        GRPC_WEB.unaryCall,
        create(SimpleRequestSchema, simpleRequest(a)),
        a,
        false,
      );
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
    clientStream() {
      throw new NotApplicable("the official grpc-web runtime has unary and server-streaming calls only");
    },
    pingPong() {
      throw new NotApplicable("the official grpc-web runtime has unary and server-streaming calls only");
    },
  };
}
