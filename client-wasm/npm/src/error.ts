// The one error type of the runtime.

import { Code } from "./code.js";

/** One `google.protobuf.Any` from `grpc-status-details-bin` (a `google.rpc.Status`). */
export interface ErrorDetail {
  /** E.g. "type.googleapis.com/google.rpc.ErrorInfo". */
  readonly typeUrl: string;
  /** The serialized message; decode it with the generated type for `typeUrl`. */
  readonly value: Uint8Array;
}

/** A failed call. `message` is "[CODE] rawMessage"; `metadata` holds the trailers. */
export class RpcError extends Error {
  override name = "RpcError";
  /** The gRPC status code. */
  readonly code: Code;
  /** The status message as the server sent it (percent-decoded). */
  readonly rawMessage: string;
  /** Trailers of the failed call (response headers for trailers-only and HTTP errors). */
  readonly metadata: Headers;
  /** The typed details decoded from `grpc-status-details-bin`. */
  readonly details: readonly ErrorDetail[];

  constructor(
    code: Code,
    rawMessage: string,
    metadata: Headers = new Headers(),
    details: readonly ErrorDetail[] = [],
  ) {
    super(rawMessage === "" ? `[${Code[code] ?? code}]` : `[${Code[code] ?? code}] ${rawMessage}`);
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

  /**
   * Any thrown value as an RpcError: RpcErrors as they are, the runtime's error objects
   * with their fields, other errors as `fallback` with their message.
   */
  static from(reason: unknown, fallback: Code = Code.UNKNOWN): RpcError {
    if (reason instanceof RpcError) {
      return reason;
    }
    if (isWasmError(reason)) {
      return new RpcError(reason.code, reason.message, reason.metadata, reason.details);
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new RpcError(fallback, message);
  }
}

/** What the wasm side throws (see `bindings.rs`). */
interface WasmError {
  code: Code;
  message: string;
  metadata: Headers;
  details: ErrorDetail[];
}

function isWasmError(value: unknown): value is WasmError {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as { code?: unknown }).code === "number" &&
    typeof (value as { message?: unknown }).message === "string" &&
    (value as { metadata?: unknown }).metadata instanceof Headers
  );
}
