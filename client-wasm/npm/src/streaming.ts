// Client-streaming and bidi calls on any Transport: they go to the transport's
// `clientStream`/`bidiStream` when it has them, and fail with an RpcError UNIMPLEMENTED
// when it does not (a Transport written by hand may have neither).

import { RpcError } from "./error.js";
import type { CallOptions, MethodDescriptor, Transport } from "./transport.js";

/** Calls a client-streaming method, or rejects with UNIMPLEMENTED. */
export function clientStreamCall<I, O>(
  transport: Transport,
  method: MethodDescriptor<I, O>,
  inputs: AsyncIterable<I>,
  options?: CallOptions,
): Promise<O> {
  if (transport.clientStream === undefined) {
    return Promise.reject(cannotStream(method));
  }
  return transport.clientStream(method, inputs, options);
}

/** Calls a bidi-streaming method; without transport support, iterating fails with UNIMPLEMENTED. */
export function bidiStreamCall<I, O>(
  transport: Transport,
  method: MethodDescriptor<I, O>,
  inputs: AsyncIterable<I>,
  options?: CallOptions,
): AsyncIterable<O> {
  if (transport.bidiStream === undefined) {
    return {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(cannotStream(method)) }),
    };
  }
  return transport.bidiStream(method, inputs, options);
}

function cannotStream(method: Pick<MethodDescriptor<unknown, unknown>, "path" | "kind">): RpcError {
  const kind = method.kind === "client_streaming" ? "client-streaming" : "bidi-streaming";
  return new RpcError(12 /* UNIMPLEMENTED */, `${method.path} is ${kind}: this transport cannot stream requests`);
}
