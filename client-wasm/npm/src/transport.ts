// The contract between generated clients (`*_grpcweb.ts`) and the runtime.
// Generated code imports these names from the package entry point only ("grpcweb-client").

/** The four RPC shapes. */
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

/** Everything a transport needs to call one method; generated per method, exported for interceptors. */
export interface MethodDescriptor<I, O> {
  /** Fully-qualified service name, e.g. "grpc.testing.TestService". */
  readonly service: string;
  /** Method name as in the .proto, e.g. "UnaryCall". */
  readonly name: string;
  /** HTTP path, "/grpc.testing.TestService/UnaryCall". */
  readonly path: string;
  readonly kind: MethodKind;
  /** Serializes a request message. */
  readonly encode: (input: I) => Uint8Array;
  /** Parses a response message; throws on malformed input. */
  readonly decode: (bytes: Uint8Array) => O;
  /** Set when the method is marked deprecated in the .proto. */
  readonly deprecated?: boolean;
}

/** Request metadata: values ending in "-bin" keys may be bytes (sent base64, unpadded). */
export type MetadataInit =
  Headers | Record<string, string | Uint8Array> | ReadonlyArray<readonly [string, string | Uint8Array]>;

/** Per-call options, accepted by every generated method. */
export interface CallOptions {
  /** Request metadata (headers). */
  metadata?: MetadataInit;
  /** Deadline relative to the call start; sent as grpc-timeout and enforced locally. */
  timeoutMs?: number;
  /** Cancels the call: the fetch is aborted and the call fails with CANCELLED. */
  signal?: AbortSignal;
  /** Called once with the response headers. */
  onHeader?: (headers: Headers) => void;
  /** Called once with the trailers (from the trailer frame, or trailers-only headers). */
  onTrailer?: (trailers: Headers) => void;
}

/** What generated clients call. `createGrpcWebTransport` returns one. */
export interface Transport {
  unary<I, O>(method: MethodDescriptor<I, O>, input: I, options?: CallOptions): Promise<O>;
  serverStream<I, O>(method: MethodDescriptor<I, O>, input: I, options?: CallOptions): AsyncIterable<O>;
  /** Absent on transports that cannot stream requests. */
  clientStream?<I, O>(method: MethodDescriptor<I, O>, inputs: AsyncIterable<I>, options?: CallOptions): Promise<O>;
  /** Absent on transports that cannot stream requests. */
  bidiStream?<I, O>(method: MethodDescriptor<I, O>, inputs: AsyncIterable<I>, options?: CallOptions): AsyncIterable<O>;
}
