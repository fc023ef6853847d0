// createGrpcWebTransport: the Transport that generated clients call. TypeScript does the
// I/O (fetch, streaming reads, deadline, abort; ./call.ts); the wasm core decodes the
// response.

import { encodeBinaryHeader } from "./base64.js";
import { Call } from "./call.js";
import { RpcError } from "./error.js";
import { applyInterceptors, type CallRequest, type CallResponse, type Interceptor } from "./interceptor.js";
import type { CallOptions, MetadataInit, MethodDescriptor, Transport } from "./transport.js";
import type { GrpcWebTransportOptions } from "./options.js";
import { core } from "./wasm.js";

/** The transport `createGrpcWebTransport` returns: every kind of call. */
export interface GrpcWebTransport extends Transport {
  clientStream<I, O>(method: MethodDescriptor<I, O>, inputs: AsyncIterable<I>, options?: CallOptions): Promise<O>;
  bidiStream<I, O>(method: MethodDescriptor<I, O>, inputs: AsyncIterable<I>, options?: CallOptions): AsyncIterable<O>;
  /**
   * Whether this platform's fetch can stream a request body (a `ReadableStream` body with
   * `duplex: "half"`), which client-streaming and bidi calls need; where it cannot, they
   * fail with UNIMPLEMENTED before sending anything. It checks the global `Request`, and
   * cannot know the HTTP version: browsers stream request bodies over HTTP/2 and HTTP/3
   * only, so over HTTP/1.1 such a call still fails, with UNIMPLEMENTED, when it is made.
   */
  supportsRequestStreaming(): Promise<boolean>;
}

/** Loads the request-stream code (its own chunk in bundled apps: unary apps never load it). */
const requestStreams = (): Promise<typeof import("./request-stream.js")> => import("./request-stream.js");

/**
 * A gRPC-Web transport over `fetch`, in binary or text format, with deadlines enforced
 * locally and cancellation by `AbortSignal`: unary and server-streaming calls everywhere;
 * client-streaming and bidi calls where fetch can stream a request body (see
 * `supportsRequestStreaming`) and the server accepts request streams.
 */
export function createGrpcWebTransport(options: GrpcWebTransportOptions): GrpcWebTransport {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const start = async (
    method: MethodDescriptor<unknown, unknown>,
    message: unknown,
    callOptions: CallOptions | undefined,
    stream: boolean,
    requests?: AsyncIterable<unknown>,
    opened?: Call[],
  ): Promise<CallResponse> => {
    // Compiled while the request is on its way; needed once response bytes arrive.
    core().catch(() => undefined);
    let header: Headers;
    try {
      header = toHeaders(callOptions?.metadata);
    } catch (e) {
      throw RpcError.from(e, 3 /* INVALID_ARGUMENT */);
    }
    const request: CallRequest = {
      method,
      url: baseUrl + method.path,
      stream,
      header,
      message,
      requests,
      timeoutMs: callOptions?.timeoutMs ?? options.defaultTimeoutMs,
      signal: callOptions?.signal,
    };
    const next = applyInterceptors(options.interceptors ?? [], (req) => send(options, req, callOptions, opened));
    return next(request).catch((e: unknown) => {
      throw RpcError.from(e);
    });
  };

  const single = async (response: Promise<CallResponse>): Promise<any> => {
    const r = await response;
    if (r.stream) {
      throw new RpcError(13 /* INTERNAL */, "an interceptor returned a stream for a unary call");
    }
    return r.message;
  };

  // The call starts when the stream is first iterated.
  async function* many(response: (opened: Call[]) => Promise<CallResponse>): AsyncGenerator<any> {
    // The calls sent for this stream: an interceptor may fail after `next`, or retry, and
    // leave a response stream nobody reads; each is ended here, whatever became of it.
    const opened: Call[] = [];
    try {
      const r = await response(opened);
      if (!r.stream) {
        throw new RpcError(13 /* INTERNAL */, "an interceptor returned a unary response for a stream");
      }
      yield* r.message;
    } catch (e) {
      throw RpcError.from(e);
    } finally {
      for (const call of opened) {
        call.close(new RpcError(1 /* CANCELLED */, "call cancelled locally: the stream was left"));
      }
    }
  }

  return {
    unary: (method, input, callOptions) => single(start(method as never, input, callOptions, false)),
    serverStream: (method, input, callOptions) =>
      many((opened) => start(method as never, input, callOptions, true, undefined, opened)),
    clientStream: (method, inputs, callOptions) =>
      single(start(method as never, undefined, callOptions, false, inputs)),
    bidiStream: (method, inputs, callOptions) =>
      many((opened) => start(method as never, undefined, callOptions, true, inputs, opened)),
    supportsRequestStreaming: () => requestStreams().then((m) => m.canStreamRequests()),
  };
}

/** The innermost step: sends the request and reads the response up to the first message. */
async function send(
  options: GrpcWebTransportOptions,
  req: CallRequest,
  callOptions: CallOptions | undefined,
  opened: Call[] | undefined,
): Promise<CallResponse> {
  const call = new (req.requests === undefined ? Call : (await requestStreams()).streamingCall(Call, RpcError))(
    options,
    req,
    callOptions,
  );
  opened?.push(call);
  try {
    await call.open();
    const first = await call.pull();
    let message: unknown;
    if (req.stream) {
      message = call.messages(first);
    } else {
      if (first === undefined) {
        throw new RpcError(12 /* UNIMPLEMENTED */, "unary response has no message");
      }
      // The status first: a message that does not decode is the server's error to report.
      if ((await call.pull()) !== undefined) {
        throw new RpcError(12 /* UNIMPLEMENTED */, "unary response has more than one message");
      }
      message = call.decode(first);
    }
    return { stream: req.stream, header: call.header, message, trailer: call.trailer } as CallResponse;
  } catch (e) {
    // Interceptors see an RpcError from `next`, whatever failed.
    const error = RpcError.from(e);
    call.close(error);
    throw error;
  } finally {
    if (!req.stream) {
      call.close();
    }
  }
}

/** Request metadata as Headers; `Uint8Array` values become unpadded base64. */
function toHeaders(init: MetadataInit | undefined): Headers {
  const out = new Headers();
  const entries: Iterable<readonly [string, string | Uint8Array]> =
    init === undefined ? [] : init instanceof Headers ? init : Array.isArray(init) ? init : Object.entries(init);
  for (const [key, value] of entries) {
    if (typeof value !== "string" && !key.toLowerCase().endsWith("-bin")) {
      throw new RpcError(3 /* INVALID_ARGUMENT */, `metadata "${key}" has a binary value but does not end in "-bin"`);
    }
    out.append(key, typeof value === "string" ? value : encodeBinaryHeader(value));
  }
  return out;
}
