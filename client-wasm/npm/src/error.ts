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
   * Any thrown value as an RpcError: RpcErrors as they are, the runtime's error values
   * with their fields, other errors as `fallback` with their message.
   */
  static from(reason: unknown, fallback: Code = Code.UNKNOWN): RpcError {
    if (reason instanceof RpcError) {
      return reason;
    }
    if (isWasmError(reason)) {
      const [code, message, metadata, flat] = reason;
      const details: ErrorDetail[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        details.push({ typeUrl: flat[i] as string, value: flat[i + 1] as Uint8Array });
      }
      return new RpcError(code, message, metadata, details);
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new RpcError(fallback, message);
  }
}

/**
 * What the wasm side throws (see `bindings.rs`): `[code, message, metadata, details]`,
 * details flat as `[typeUrl, value, ...]`.
 */
type WasmError = [Code, string, Headers, (string | Uint8Array)[]];

function isWasmError(value: unknown): value is WasmError {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    typeof value[0] === "number" &&
    typeof value[1] === "string" &&
    value[2] instanceof Headers
  );
}
