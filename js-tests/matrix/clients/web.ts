// The clients that run in a browser (and, where they can, in Node), each behind the
// matrix's Client interface: ours and connect-web here, protobuf-ts and the official
// grpc-web runtime in their own files; `webClients` names them all for the page.
// Browser-safe: no node: imports.

import {
  ConnectError,
  createClient,
  decodeBinaryHeader as connectDecodeBinary,
  type CallOptions as ConnectCallOptions,
  type Transport as ConnectTransport,
} from "@connectrpc/connect";
import { createGrpcWebTransport as createConnectWebTransport } from "@connectrpc/connect-web";
import { RpcError, createGrpcWebTransport, decodeBinaryHeader, type CallOptions } from "grpcweb-client";

import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import { TestServiceClient, UnimplementedServiceClient } from "../../gen/ours/grpc/testing/test_grpcweb.js";
import {
  ECHO_HEADERS,
  ECHO_INITIAL,
  ECHO_TRAILING,
  ECHO_TRAILING_VALUE,
  NotApplicable,
  PeerError,
  pingPongOver,
  type CallArgs,
  type Client,
  type Reply,
} from "../cases.js";
import { grpcWebClient } from "./grpc-web.js";
import { protobufTsClient } from "./protobuf-ts.js";
import { simpleRequest, streamingRequest, type Format } from "./requests.js";

// ---- clients shaped like a generated TestService client (ours, connect's) ----

type WithPayload = { readonly payload?: { readonly body: Uint8Array } | undefined };

/** The methods of a generated TestService client the cases use, with options `O`. */
interface TestServiceStub<O> {
  emptyCall(request: object, options: O): Promise<unknown>;
  unaryCall(request: ReturnType<typeof simpleRequest>, options: O): Promise<WithPayload>;
  streamingOutputCall(request: ReturnType<typeof streamingRequest>, options: O): AsyncIterable<WithPayload>;
  unimplementedCall(request: object, options: O): Promise<unknown>;
  streamingInputCall(
    requests: AsyncIterable<{ payload: { body: Uint8Array } }>,
    options: O,
  ): Promise<{ readonly aggregatedPayloadSize: number }>;
  fullDuplexCall(requests: AsyncIterable<ReturnType<typeof streamingRequest>>, options: O): AsyncIterable<WithPayload>;
}

/** Runs `run` with options for `args`, and returns its value with the echoed metadata. */
type CallWith<O> = <T>(
  args: CallArgs,
  run: (options: O) => Promise<T>,
) => Promise<{ value: T; reply: Omit<Reply, "payloads"> }>;

/** `noRequestStreams`: why the client cannot stream requests (the cases are then n/a). */
function stubClient<O>(
  client: TestServiceStub<O>,
  unimplemented: Pick<TestServiceStub<O>, "unimplementedCall">,
  call: CallWith<O>,
  noRequestStreams?: string,
): Client {
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
    async clientStream(sizes) {
      if (noRequestStreams !== undefined) {
        throw new NotApplicable(noRequestStreams);
      }
      const requests = async function* () {
        for (const size of sizes) yield { payload: { body: new Uint8Array(size) } };
      };
      const { value } = await call({}, (o) => client.streamingInputCall(requests(), o));
      return value.aggregatedPayloadSize;
    },
    async pingPong(requestSizes, responseSizes) {
      if (noRequestStreams !== undefined) {
        throw new NotApplicable(noRequestStreams);
      }
      // A server that answers only once the request ends would hang it: a deadline.
      const { value } = await call({ timeoutMs: 10_000 }, (o) =>
        pingPongOver(
          (requests) => client.fullDuplexCall(requests as AsyncIterable<ReturnType<typeof streamingRequest>>, o),
          (m) => body(m).length,
          requestSizes,
          responseSizes,
        ),
      );
      return value;
    },
  };
}

// ---- ours: generated TypeScript on the grpcweb-client (wasm) runtime ----

/** Our generated TestServiceClient over the wasm runtime's gRPC-Web transport. */
export function oursClient(baseUrl: string, format: Format): Client {
  const transport = createGrpcWebTransport({ baseUrl, format });
  const client = new TestServiceClient(transport);
  const unimplemented = new UnimplementedServiceClient(transport);
  const call = async <T>(
    args: CallArgs,
    run: (options: CallOptions) => Promise<T>,
  ): Promise<{ value: T; reply: Omit<Reply, "payloads"> }> => {
    let initial: string | undefined;
    let trailing: Uint8Array | undefined;
    const options: CallOptions = {
      ...(args.timeoutMs !== undefined ? { timeoutMs: args.timeoutMs } : {}),
      ...(args.echo === true
        ? {
            metadata: {
              [ECHO_INITIAL]: ECHO_HEADERS[ECHO_INITIAL]!,
              [ECHO_TRAILING]: Uint8Array.from(ECHO_TRAILING_VALUE),
            },
          }
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
      if (e instanceof RpcError && e.code === 12 && /refused to stream the request body/.test(e.rawMessage)) {
        // A browser over HTTP/1.1 (the matrix is cleartext): streams need HTTP/2.
        throw new NotApplicable(
          `the browser does not stream request bodies over HTTP/1.1 (our UNIMPLEMENTED: ${e.rawMessage})`,
        );
      }
      throw e instanceof RpcError ? new PeerError(e.code, e.rawMessage) : e;
    }
  };
  return stubClient(client, unimplemented, call);
}

// ---- connect: @connectrpc/connect-web (fetch), and any other connect transport ----

/**
 * A TestService client on a connect transport (connect-web's, or connect-node's);
 * `noRequestStreams` says why the transport cannot stream requests.
 */
export function connectClient(transport: ConnectTransport, noRequestStreams?: string): Client {
  const client = createClient(TestService, transport);
  const unimplemented = createClient(UnimplementedService, transport);
  const call = async <T>(
    args: CallArgs,
    run: (options: ConnectCallOptions) => Promise<T>,
  ): Promise<{ value: T; reply: Omit<Reply, "payloads"> }> => {
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
  return stubClient(client, unimplemented, call, noRequestStreams);
}

/** connect-web's gRPC-Web transport (fetch; binary only: connect has no grpc-web-text). */
export function connectWebClient(baseUrl: string): Client {
  return connectClient(
    createConnectWebTransport({ baseUrl, useBinaryFormat: true }),
    "connect-web's fetch transport runs unary and server-streaming calls only",
  );
}

/** The clients a browser page can make, by id. */
export const webClients: Readonly<Record<string, (baseUrl: string, format: Format) => Client>> = {
  ours: oursClient,
  "connect-web": (baseUrl) => connectWebClient(baseUrl),
  "protobuf-ts": protobufTsClient,
  "grpc-web": grpcWebClient,
};
