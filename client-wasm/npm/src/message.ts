// The contract between generated message code (`*_pb.ts`) and its users.
// Filled in by the codegen work; generated code imports from the package entry point only.

/** JSON as produced by `toJson` (proto3 JSON mapping). */
export type JsonValue = number | string | boolean | null | JsonObject | JsonValue[];
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A message where every field may be left out (it then takes its default). */
export type PartialMessage<T> = {
  [K in keyof T]?: PartialField<T[K]>;
};
type PartialField<F> = F extends Uint8Array | bigint | string | number | boolean
  ? F
  : F extends ReadonlyArray<infer U>
    ? ReadonlyArray<PartialField<U>>
    : F extends { case: infer C; value: infer V }
      ? { case: C; value: PartialField<V> }
      : F extends object
        ? PartialMessage<F>
        : F;

/** Per-message codec object, generated next to each message type (`export const Foo: MessageType<Foo>`). */
export interface MessageType<T> {
  /** Fully-qualified name, e.g. "grpc.testing.SimpleRequest". */
  readonly typeName: string;
  create(init?: PartialMessage<T>): T;
  toBinary(message: T): Uint8Array;
  /** Throws on malformed input (truncated, bad wire type, field 0, invalid UTF-8). */
  fromBinary(bytes: Uint8Array): T;
  toJson(message: T, options?: JsonWriteOptions): JsonValue;
  fromJson(json: JsonValue, options?: JsonReadOptions): T;
  equals(a: T, b: T): boolean;
  clone(message: T): T;
}

export interface JsonWriteOptions {
  /** Emit fields with default values (proto3 JSON "always print primitive fields"). */
  emitDefaults?: boolean;
  /** Use the .proto field names instead of lowerCamelCase JSON names. */
  useProtoFieldName?: boolean;
  /** Resolves `google.protobuf.Any` type URLs. */
  registry?: TypeRegistry;
}

export interface JsonReadOptions {
  /** Skip unknown fields instead of throwing. */
  ignoreUnknownFields?: boolean;
  registry?: TypeRegistry;
}

/** Looks up message types by fully-qualified name (for Any). */
export interface TypeRegistry {
  findMessage(typeName: string): MessageType<unknown> | undefined;
}
