// createGrpcWebTransport: the Transport that generated clients call, over the wasm core.

import { Code } from "./code.js";
import { RpcError } from "./error.js";
import {
  applyInterceptors,
  type CallRequest,
  type CallResponse,
  type Interceptor,
  type Next,
} from "./interceptor.js";
import type { CallOptions, MetadataInit, MethodDescriptor, Transport } from "./transport.js";
import { encodeBinaryHeader, loadWasm, WasmTransport, type WasmCall } from "./wasm.js";

/** A `fetch`-compatible function. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of `createGrpcWebTransport`. */
export interface GrpcWebTransportOptions {
  /** Where the gRPC-Web server (e.g. grpcweb-proxy) is, e.g. "https://api.example.com". */
  baseUrl: string;
  /** Wire format, chosen at run time: binary frames or base64 text. Default "binary". */
  format?: "binary" | "text";
  /** The fetch to use; default the global one. */
  fetch?: FetchLike;
  /** Run around every call, first one outermost. */
  interceptors?: readonly Interceptor[];
  /** Deadline for calls that do not set `timeoutMs`. */
  defaultTimeoutMs?: number;
  /** The fetch `credentials` mode (e.g. "include" to send cookies cross-origin). */
  credentials?: "omit" | "same-origin" | "include";
}

/**
 * A gRPC-Web transport: unary and server streaming over `fetch`, in binary or text
 * format, with deadlines enforced locally and cancellation by `AbortSignal`. It has no
 * `clientStream`/`bidiStream`: gRPC-Web cannot stream requests.
 */
export function createGrpcWebTransport(options: GrpcWebTransportOptions): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let core: WasmTransport | undefined;
  const getCore = async (): Promise<WasmTransport> => {
    await loadWasm();
    core ??= new WasmTransport(baseUrl, options.format ?? "binary", fetchFn, options.credentials);
    return core;
  };

  const prepare = async <I, O>(
    method: MethodDescriptor<I, O>,
    message: I,
    callOptions: CallOptions | undefined,
    stream: boolean,
  ): Promise<{ wasm: WasmTransport; next: Next; request: CallRequest }> => {
    const wasm = await getCore().catch((e: unknown) => {
      throw RpcError.from(e, Code.INTERNAL);
    });
    const request: CallRequest<I, O> = {
      method,
      url: baseUrl + method.path,
      stream,
      header: metadataHeaders(callOptions?.metadata),
      message,
      timeoutMs: callOptions?.timeoutMs ?? options.defaultTimeoutMs,
      signal: callOptions?.signal,
    };
    const last: Next = (req) => send(wasm, req, callOptions);
    const next = applyInterceptors(options.interceptors ?? [], last);
    return { wasm, next, request: request as CallRequest };
  };

  return {
    async unary<I, O>(method: MethodDescriptor<I, O>, input: I, callOptions?: CallOptions): Promise<O> {
      const { next, request } = await prepare(method, input, callOptions, false);
      const response = await next(request).catch((e: unknown) => {
        throw RpcError.from(e);
      });
      if (response.stream) {
        throw new RpcError(Code.INTERNAL, "an interceptor returned a stream for a unary call");
      }
      return response.message as O;
    },

    serverStream<I, O>(method: MethodDescriptor<I, O>, input: I, callOptions?: CallOptions): AsyncIterable<O> {
      return (async function* () {
        const { next, request } = await prepare(method, input, callOptions, true);
        const response = await next(request).catch((e: unknown) => {
          throw RpcError.from(e);
        });
        if (!response.stream) {
          throw new RpcError(Code.INTERNAL, "an interceptor returned a unary response for a stream");
        }
        try {
          yield* response.message as AsyncIterable<O>;
        } catch (e) {
          throw RpcError.from(e);
        }
      })();
    },
  };
}

/** The innermost step: starts the call in wasm and reads the first message. */
async function send(wasm: WasmTransport, req: CallRequest, options: CallOptions | undefined): Promise<CallResponse> {
  let header = new Headers();
  const trailer = new Headers();
  let call: WasmCall;
  try {
    call = wasm.start(
      req.method.path,
      req.method.encode(req.message),
      !req.stream,
      req.header,
      req.timeoutMs,
      req.signal,
      (h: Headers) => {
        header = h;
        options?.onHeader?.(h);
      },
      (t: Headers) => {
        t.forEach((value, key) => trailer.append(key, value));
        options?.onTrailer?.(trailer);
      },
    );
  } catch (e) {
    throw RpcError.from(e, Code.INTERNAL);
  }
  const decode = (bytes: Uint8Array): unknown => {
    try {
      return req.method.decode(bytes);
    } catch (e) {
      call.cancel();
      throw new RpcError(Code.INTERNAL, `failed to decode the response: ${String(e)}`);
    }
  };
  if (!req.stream) {
    try {
      const first = await pull(call);
      if (first === undefined) {
        throw new RpcError(Code.UNIMPLEMENTED, "unary response has no message");
      }
      const end = await pull(call);
      if (end !== undefined) {
        throw new RpcError(Code.UNIMPLEMENTED, "unary response has more than one message");
      }
      return { stream: false, header, message: decode(first), trailer };
    } finally {
      // Release the Rust side now rather than when the GC gets to it.
      call.free();
    }
  }
  let first: Uint8Array | undefined;
  try {
    first = await pull(call);
  } catch (e) {
    call.free();
    throw e;
  }
  return { stream: true, header, message: messages(call, first, decode), trailer };
}

async function* messages(
  call: WasmCall,
  first: Uint8Array | undefined,
  decode: (bytes: Uint8Array) => unknown,
): AsyncGenerator<unknown> {
  let finished = false;
  try {
    for (let bytes = first; bytes !== undefined; bytes = await pull(call)) {
      yield decode(bytes);
    }
    finished = true;
  } finally {
    if (!finished) {
      // The consumer stopped early (break/return) or we failed: abort the fetch.
      call.cancel();
    }
    call.free();
  }
}

/** The next message, `undefined` at a successful end. */
function pull(call: WasmCall): Promise<Uint8Array | undefined> {
  return new Promise<Uint8Array | undefined>((resolve, reject) => {
    call.next(resolve, (e: unknown) => reject(RpcError.from(e)));
  });
}

/** `toHeaders`, with invalid names or values reported as INVALID_ARGUMENT. */
function metadataHeaders(init: MetadataInit | undefined): Headers {
  try {
    return toHeaders(init);
  } catch (e) {
    throw RpcError.from(e, Code.INVALID_ARGUMENT);
  }
}

/** Request metadata as Headers; `Uint8Array` values become unpadded base64. */
function toHeaders(init: MetadataInit | undefined): Headers {
  const out = new Headers();
  if (init === undefined) {
    return out;
  }
  const entries: Iterable<readonly [string, string | Uint8Array]> =
    init instanceof Headers ? init : Array.isArray(init) ? init : Object.entries(init);
  for (const [key, value] of entries) {
    if (typeof value !== "string" && !key.toLowerCase().endsWith("-bin")) {
      throw new RpcError(Code.INVALID_ARGUMENT, `metadata "${key}" has a binary value but does not end in "-bin"`);
    }
    out.append(key, typeof value === "string" ? value : encodeBinaryHeader(value));
  }
  return out;
}
