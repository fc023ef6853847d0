// The options of `createGrpcWebTransport` (types only).

import type { Interceptor } from "./interceptor.js";

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
  /** Largest response message accepted; larger ones fail with RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxResponseMessageBytes?: number;
}
