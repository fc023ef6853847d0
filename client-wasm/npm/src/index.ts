// grpcweb-client: the gRPC-Web runtime (a sans-IO wasm core + this TypeScript layer). Generated code
// imports from this entry point only.

export { createGrpcWebTransport, type GrpcWebTransport } from "./grpc-web.js";
export type { FetchLike, GrpcWebTransportOptions } from "./options.js";
export { Code } from "./code.js";
export { RpcError, type ErrorDetail } from "./error.js";
export {
  applyInterceptors,
  type CallRequest,
  type CallResponse,
  type Interceptor,
  type Next,
  type StreamResponse,
  type UnaryResponse,
} from "./interceptor.js";
export { encodeBinaryHeader, decodeBinaryHeader } from "./base64.js";
export { loadWasm, type WasmSource } from "./wasm.js";
export { clientStreamCall, bidiStreamCall } from "./streaming.js";
export * from "./transport.js";
export * from "./message.js";
// The codec (./codec, the codegen work) when present: the build writes this module.
export * from "./codec-exports.js";
// The JSON message format (imported last: the modules of apps without it keep their order).
export { withJsonFormat, type JsonFormatOptions } from "./json-format.js";
