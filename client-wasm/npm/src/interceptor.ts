// Interceptors: one kind for unary and server-streaming calls, wrapping the step that
// sends a request and returns the response (tower-style `(next) => next`).

import type { MethodDescriptor } from "./transport.js";

/** A call about to be sent; interceptors may change `header`, `message` and `timeoutMs`. */
export interface CallRequest<I = unknown, O = unknown> {
  readonly method: MethodDescriptor<I, O>;
  /** The full URL: base URL + method path. */
  readonly url: string;
  /** False for unary calls, true for server streaming. */
  readonly stream: boolean;
  /** Request metadata; `-bin` values are base64 (see `encodeBinaryHeader`). */
  readonly header: Headers;
  message: I;
  timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

/** The result of a unary call. */
export interface UnaryResponse<O = unknown> {
  readonly stream: false;
  readonly header: Headers;
  readonly message: O;
  readonly trailer: Headers;
}

/** The result of a server-streaming call: `trailer` fills in when `message` ends. */
export interface StreamResponse<O = unknown> {
  readonly stream: true;
  readonly header: Headers;
  readonly message: AsyncIterable<O>;
  readonly trailer: Headers;
}

export type CallResponse<O = unknown> = UnaryResponse<O> | StreamResponse<O>;

/** Sends a request; rejects with `RpcError`. */
export type Next = (request: CallRequest) => Promise<CallResponse>;

/**
 * Wraps `next`: change the request before calling it, observe or replace the response
 * (or the error) after. Interceptors run in array order, the first one outermost.
 */
export type Interceptor = (next: Next) => Next;

/** Composes `interceptors` around `last`. */
export function applyInterceptors(interceptors: readonly Interceptor[], last: Next): Next {
  return interceptors.reduceRight<Next>((next, interceptor) => interceptor(next), last);
}
