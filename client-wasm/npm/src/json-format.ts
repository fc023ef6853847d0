// The JSON message format: `createGrpcWebTransport(withJsonFormat({ baseUrl }))` sends
// `application/grpc-web+json` (`application/grpc-web-text+json` with `format: "text"`),
// each message in the proto3 JSON mapping, readable in the browser's network panel, for a
// server that transcodes JSON (grpcweb-proxy with the service's descriptors).
//
// The transport itself knows protobuf only: this module gives it JSON through the options
// it already has, an interceptor (innermost, so the app's interceptors see the method as
// generated) that hands each call the method with JSON `encode` and `decode`, and a fetch
// that sends the JSON content type. An app that does not call `withJsonFormat` bundles
// none of it, and the transport is not a byte larger for it.

import { fromJson, toJson } from "./codec/json.js";
import type { Method } from "./codec/method.js";
import { RpcError } from "./error.js";
import type { Interceptor } from "./interceptor.js";
import type { JsonReadOptions, JsonWriteOptions } from "./message.js";
import type { FetchLike, GrpcWebTransportOptions } from "./options.js";
import type { MethodDescriptor } from "./transport.js";

/** Options of the JSON format. */
export interface JsonFormatOptions {
  /** How request messages are written (field names, defaults, the registry for `Any`). */
  write?: JsonWriteOptions;
  /**
   * How response messages are read. Unknown fields are skipped unless
   * `ignoreUnknownFields` is `false`, as the binary format skips them: a newer server may
   * send fields this client does not know.
   */
  read?: JsonReadOptions;
}

const utf8Encoder = /*@__PURE__*/ new TextEncoder();
const utf8Decoder = /*@__PURE__*/ new TextDecoder("utf-8", { fatal: true });

/**
 * `options` for `createGrpcWebTransport` with JSON messages instead of protobuf ones. Needs
 * the method descriptors generated code exports (they carry the message types): a
 * hand-written descriptor without them fails the call with INTERNAL before it is sent.
 */
export function withJsonFormat(
  options: GrpcWebTransportOptions,
  json: JsonFormatOptions = {},
): GrpcWebTransportOptions {
  const read: JsonReadOptions = { ignoreUnknownFields: true, ...json.read };
  const methods = new WeakMap<MethodDescriptor<any, any>, MethodDescriptor<any, any>>();
  const jsonMethod = <I, O>(method: MethodDescriptor<I, O>): MethodDescriptor<I, O> => {
    let out = methods.get(method);
    if (out === undefined) {
      const { input, output } = method as Partial<Method<I, O>>;
      if (input === undefined || output === undefined) {
        throw new RpcError(
          13 /* INTERNAL */,
          `the JSON format needs the message types of ${method.path}: use the method descriptor generated code exports`,
        );
      }
      out = {
        ...method,
        encode: (message: I) => utf8Encoder.encode(JSON.stringify(toJson(input, message, json.write))),
        decode: (bytes: Uint8Array) => fromJson(output, JSON.parse(utf8Decoder.decode(bytes)), read),
      };
      methods.set(method, out);
    }
    return out;
  };
  const interceptor: Interceptor = (next) => (req) => next({ ...req, method: jsonMethod(req.method) });
  const contentType = options.format === "text" ? "application/grpc-web-text+json" : "application/grpc-web+json";
  const fetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return {
    ...options,
    interceptors: [...(options.interceptors ?? []), interceptor],
    fetch: (input, init) => {
      // Calls are POSTs; the runtime's other requests (a reachability probe) pass as they are.
      if (init.method !== "POST") return fetch(input, init);
      const headers = new Headers(init.headers);
      headers.set("content-type", contentType);
      return fetch(input, { ...init, headers });
    },
  };
}
