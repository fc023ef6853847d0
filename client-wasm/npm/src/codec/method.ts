// RPC methods: the descriptor generated `*_grpcweb.ts` files export for each method, and
// the clients built from them. A generated service exports one const per method
// (`TestService_UnaryCall`), so `createClient({ unaryCall: TestService_UnaryCall }, t)`
// bundles that method and its messages only (as does `callMethod(t, TestService_UnaryCall,
// request)`); the generated `XClient` class and `createClient(TestService.methods, t)`
// bundle every method of the service. Each kind of
// method has its own factory (`unaryMethod`...), which gives the descriptor the way to
// call it: an app that makes no streaming call does not bundle the streaming calls.

import { RpcError } from "../error.js";
import type { CallOptions, MethodDescriptor, MethodKind, Transport } from "../transport.js";
import type { MessageType, PartialMessage } from "../message.js";

/** How `createClient` calls a method of a given kind. */
type Call = (transport: Transport, method: Method<any, any>, request: any, options?: CallOptions) => unknown;

/** A method descriptor with its message types (what generated code exports per method). */
export interface Method<I, O, K extends MethodKind = MethodKind> extends MethodDescriptor<I, O> {
  readonly kind: K;
  /** The request message. */
  readonly input: MessageType<I>;
  /** The response message. */
  readonly output: MessageType<O>;
  /** Calls the method on a transport (what `createClient`'s functions do). */
  readonly call: Call;
}

/** The call signature of a method, by its kind. */
export type MethodCall<M> =
  M extends Method<infer I, infer O, infer K>
    ? K extends "unary"
      ? (request: PartialMessage<I>, options?: CallOptions) => Promise<O>
      : K extends "server_streaming"
        ? (request: PartialMessage<I>, options?: CallOptions) => AsyncIterable<O>
        : K extends "client_streaming"
          ? (requests: AsyncIterable<PartialMessage<I>>, options?: CallOptions) => Promise<O>
          : (requests: AsyncIterable<PartialMessage<I>>, options?: CallOptions) => AsyncIterable<O>
    : never;

/** A client of the given methods: one function per key. */
export type Client<M extends Record<string, Method<any, any>>> = { readonly [K in keyof M]: MethodCall<M[K]> };

function describe<I, O, K extends MethodKind>(
  service: string,
  name: string,
  kind: K,
  input: MessageType<I>,
  output: MessageType<O>,
  call: Call,
  deprecated: boolean | undefined,
): Method<I, O, K> {
  const method: Method<I, O, K> = {
    service,
    name,
    path: `/${service}/${name}`,
    kind,
    input,
    output,
    call,
    encode: (message: I): Uint8Array => input.toBinary(message),
    decode: (bytes: Uint8Array): O => output.fromBinary(bytes),
  };
  return deprecated === true ? { ...method, deprecated } : method;
}

/**
 * The error generated client-streaming and bidi methods fail with when the transport has
 * no `clientStream`/`bidiStream`: an RpcError with UNIMPLEMENTED.
 */
export function unsupportedMethod(methodPath: string, kind: string): RpcError {
  return new RpcError(
    12 /* UNIMPLEMENTED */,
    `${kind} method ${methodPath} needs a transport that can stream requests; this one cannot`,
  );
}

/** Turns a stream of partial requests into complete messages (for streaming calls). */
export async function* createInputs<I>(
  type: MessageType<I>,
  inputs: AsyncIterable<PartialMessage<I>>,
): AsyncIterable<I> {
  for await (const input of inputs) yield type.create(input);
}

const callUnary: Call = (t, m, request, options) => t.unary(m, m.input.create(request), options);

const callServerStream: Call = (t, m, request, options) => t.serverStream(m, m.input.create(request), options);

const callClientStream: Call = (t, m, requests, options) =>
  t.clientStream === undefined
    ? Promise.reject(unsupportedMethod(m.path, m.kind))
    : t.clientStream(m, createInputs(m.input, requests), options);

const callBidiStream: Call = (t, m, requests, options) => {
  if (t.bidiStream === undefined) throw unsupportedMethod(m.path, m.kind);
  return t.bidiStream(m, createInputs(m.input, requests), options);
};

/** The descriptor of a unary method (generated `*_grpcweb.ts` files call this). */
export function unaryMethod<I, O>(
  service: string,
  name: string,
  input: MessageType<I>,
  output: MessageType<O>,
  deprecated?: boolean,
): Method<I, O, "unary"> {
  return describe(service, name, "unary", input, output, callUnary, deprecated);
}

/** The descriptor of a server-streaming method. */
export function serverStreamingMethod<I, O>(
  service: string,
  name: string,
  input: MessageType<I>,
  output: MessageType<O>,
  deprecated?: boolean,
): Method<I, O, "server_streaming"> {
  return describe(service, name, "server_streaming", input, output, callServerStream, deprecated);
}

/** The descriptor of a client-streaming method. */
export function clientStreamingMethod<I, O>(
  service: string,
  name: string,
  input: MessageType<I>,
  output: MessageType<O>,
  deprecated?: boolean,
): Method<I, O, "client_streaming"> {
  return describe(service, name, "client_streaming", input, output, callClientStream, deprecated);
}

/** The descriptor of a bidi-streaming method. */
export function bidiStreamingMethod<I, O>(
  service: string,
  name: string,
  input: MessageType<I>,
  output: MessageType<O>,
  deprecated?: boolean,
): Method<I, O, "bidi_streaming"> {
  return describe(service, name, "bidi_streaming", input, output, callBidiStream, deprecated);
}

/**
 * The descriptor of a method of any kind (for descriptors written by hand; generated code
 * calls the factory of the method's kind, which bundles that kind's call only).
 */
export function methodDescriptor<I, O, K extends MethodKind>(
  service: string,
  name: string,
  kind: K,
  input: MessageType<I>,
  output: MessageType<O>,
  deprecated?: boolean,
): Method<I, O, K> {
  const call =
    kind === "unary"
      ? callUnary
      : kind === "server_streaming"
        ? callServerStream
        : kind === "client_streaming"
          ? callClientStream
          : callBidiStream;
  return describe(service, name, kind, input, output, call, deprecated);
}

/**
 * Calls one method on `transport`, with a partial request (or a stream of them):
 * `callMethod(transport, TestService_UnaryCall, { responseSize: 1 }, { timeoutMs: 500 })`.
 * What the generated class's methods and `createClient`'s functions do.
 */
export function callMethod<M extends Method<any, any>>(
  transport: Transport,
  method: M,
  ...args: Parameters<MethodCall<M>>
): ReturnType<MethodCall<M>> {
  return method.call(transport, method, args[0], args[1]) as ReturnType<MethodCall<M>>;
}

/**
 * A client of the given methods over `transport`: `createClient({ unaryCall:
 * TestService_UnaryCall }, transport).unaryCall({ responseSize: 1 })`. Pass only the
 * methods the app calls, and a bundler leaves the others out; `TestService.methods` gives
 * them all. Requests are partial messages; calls behave as the generated class's methods.
 */
export function createClient<M extends Record<string, Method<any, any>>>(methods: M, transport: Transport): Client<M> {
  const client: Record<string, unknown> = {};
  for (const key of Object.keys(methods)) {
    const m = methods[key] as Method<any, any>;
    client[key] = (request: unknown, options?: CallOptions) => m.call(transport, m, request, options);
  }
  return client as Client<M>;
}
