// Interceptors: one kind for every kind of call, wrapping the step that sends a request
// and returns the response (tower-style `(next) => next`).

import type { MethodDescriptor } from "./transport.js";

/**
 * A call about to be sent; interceptors may change `header`, `message` (or `requests`)
 * and `timeoutMs`.
 */
export interface CallRequest<I = unknown, O = unknown> {
  readonly method: MethodDescriptor<I, O>;
  /** The full URL: base URL + method path. */
  readonly url: string;
  /**
   * Whether the response is a stream: false for unary and client-streaming calls (a
   * `UnaryResponse`), true for server-streaming and bidi calls (a `StreamResponse`).
   */
  readonly stream: boolean;
  /** Request metadata; `-bin` values are base64 (see `encodeBinaryHeader`). */
  readonly header: Headers;
  /** The request of a unary or server-streaming call; `undefined` when `requests` is set. */
  message: I;
  /**
   * The request messages of a client-streaming or bidi call (`undefined` for the other
   * kinds): read one at a time as the request body is sent. An interceptor may replace it
   * with a wrapper that sees or changes each message as it goes.
   */
  requests: AsyncIterable<I> | undefined;
  timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

/** The result of a unary or client-streaming call. */
export interface UnaryResponse<O = unknown> {
  readonly stream: false;
  readonly header: Headers;
  readonly message: O;
  readonly trailer: Headers;
}

/** The result of a server-streaming or bidi call: `trailer` fills in when `message` ends. */
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
