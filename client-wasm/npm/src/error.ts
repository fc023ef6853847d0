// The one error type of the runtime.

import { Code } from "./code.js";

/** One `google.protobuf.Any` from `grpc-status-details-bin` (a `google.rpc.Status`). */
export interface ErrorDetail {
  /** E.g. "type.googleapis.com/google.rpc.ErrorInfo". */
  readonly typeUrl: string;
  /** The serialized message; decode it with the generated type for `typeUrl`. */
  readonly value: Uint8Array;
}

/**
 * A failed call. `message` is "[CODE] rawMessage"; `metadata` holds the response headers
 * and trailers. Errors made by the client itself (deadline, cancellation, network,
 * decoding) say "locally" in their message; `cause` is what the caller's code threw when
 * that ended the call (a request iterator of a client-streaming or bidi call).
 */
export class RpcError extends Error {
  override name = "RpcError";
  // `declare`: set by the constructor, so no class-field definitions are emitted for them.
  /** The gRPC status code. */
  declare readonly code: Code;
  /** The status message as the server sent it (percent-decoded). */
  declare readonly rawMessage: string;
  /** Response headers and trailers of the failed call (empty when no response came). */
  declare readonly metadata: Headers;
  /** The typed details decoded from `grpc-status-details-bin`. */
  declare readonly details: readonly ErrorDetail[];

  constructor(
    code: Code,
    rawMessage: string,
    metadata: Headers = new Headers(),
    details: readonly ErrorDetail[] = [],
    cause?: unknown,
  ) {
    super(
      rawMessage === "" ? `[${Code[code] ?? code}]` : `[${Code[code] ?? code}] ${rawMessage}`,
      cause === undefined ? undefined : { cause },
    );
    this.code = code;
    this.rawMessage = rawMessage;
    this.metadata = metadata;
    this.details = details;
  }

  /**
   * The details of one message type, decoded: those whose `typeUrl` ends in
   * `/${type.typeName}`. Pass a generated message type (or any object with `typeName`
   * and `fromBinary`).
   */
  findDetails<T>(type: { readonly typeName: string; fromBinary(bytes: Uint8Array): T }): T[] {
    return this.details
      .filter((d) => d.typeUrl.slice(d.typeUrl.lastIndexOf("/") + 1) === type.typeName)
      .map((d) => type.fromBinary(d.value));
  }

  /** Any thrown value as an RpcError: RpcErrors as they are, others as `fallback` with their message. */
  static from(reason: unknown, fallback: Code = 2 /* UNKNOWN */): RpcError {
    if (reason instanceof RpcError) {
      return reason;
    }
    return new RpcError(fallback, reason instanceof Error ? reason.message : String(reason));
  }
}
