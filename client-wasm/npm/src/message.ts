// The contract between generated message code (`*_pb.ts`) and its users.
// Generated code imports from the package entry point only; the codec in ./codec
// implements these interfaces from the field tables that generated code declares.

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

/**
 * Per-message codec object, generated next to each message type (`export const Foo:
 * MessageType<Foo>`): what every app needs, i.e. creating messages and the binary
 * encoding. The proto3 JSON mapping, `equals` and `clone` are free functions of the
 * runtime (`toJson(Foo, msg)`), so that an app that never calls them does not bundle them.
 */
export interface MessageType<T> {
  /** Fully-qualified name, e.g. "grpc.testing.SimpleRequest". */
  readonly typeName: string;
  create(init?: PartialMessage<T>): T;
  /** Throws ProtobufError when a proto2 `required` field is unset. */
  toBinary(message: T): Uint8Array;
  /**
   * Throws on malformed input (truncated, bad wire type, field 0, invalid UTF-8). Unset
   * proto2 `required` fields are not an error (as in @bufbuild/protobuf). Decoded `bytes`
   * fields are views into `bytes`, not copies (as in @bufbuild/protobuf and protobuf-ts):
   * copy them, or do not reuse `bytes`, when they must outlive a later change to it.
   */
  fromBinary(bytes: Uint8Array): T;
  /** The field table, in declaration order (reflection; used by the codec). */
  readonly fields: readonly FieldInfo[];
}

/** Scalar field types, numbered as in descriptor.proto's FieldDescriptorProto.Type. */
export type ScalarTypeId = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 12 | 13 | 15 | 16 | 17 | 18;

/** How a 64-bit integer field is represented in TS: 0 bigint, 1 string, 2 number. */
export type LongRepr = 0 | 1 | 2;

/** One field of a message, as generated code declares it. */
export interface FieldInfo {
  /** Field number. */
  readonly no: number;
  /** Property name in the TS type. */
  readonly name: string;
  /** The name in the .proto file. */
  readonly proto: string;
  /** The proto3 JSON name. */
  readonly json: string;
  /** Scalar, enum, message, or map (the value kind is then given by T, E or M). */
  readonly kind: "scalar" | "enum" | "message" | "map";
  /** Scalar type of a scalar field or of a map value. */
  readonly T?: ScalarTypeId;
  /** 64-bit integer representation of T. */
  readonly L?: LongRepr;
  /** The enum of an enum field or map value. */
  readonly E?: () => EnumType;
  /** The message of a message field or map value. */
  readonly M?: () => MessageType<any>;
  /** Map key scalar type. */
  readonly K?: ScalarTypeId;
  /** Repeated field. */
  readonly repeated?: boolean;
  /** Repeated scalars are written packed. */
  readonly packed?: boolean;
  /** Explicit presence: the property is absent when the field is unset. */
  readonly opt?: boolean;
  /** Property name of the oneof this field belongs to. */
  readonly oneof?: string;
  /** Group (delimited) encoding of a message field. */
  readonly delimited?: boolean;
  /**
   * proto2 `required` (editions LEGACY_REQUIRED): explicit presence; `toBinary` and
   * `toJson` throw when it is unset.
   */
  readonly req?: boolean;
  /** Strings are not UTF-8 validated when decoding (proto2, or editions utf8_validation NONE). */
  readonly noUtf8Check?: boolean;
  /** proto2 `[default = ...]` as protoc spells it (C-escaped bytes, enum value names, inf/nan); read by `getField`. */
  readonly def?: string;
  /**
   * The binary codec of a map field (the runtime's `mapField`) or a group (`groupField`),
   * or the reader of a closed-enum field (`closedEnum`), which generated code passes so
   * that apps without such fields do not bundle them. Opaque outside the codec.
   */
  readonly X?: object;
  /**
   * The binary codec of 64-bit integer, fixed32, sfixed32, float and double values (the runtime's
   * `wideScalar`), on fields of those types and maps with such keys or values, which
   * generated code passes so that apps without such fields do not bundle it. Opaque
   * outside the codec.
   */
  readonly W?: object;
}

/**
 * A field as generated code declares it: a FieldInfo where `messageType` fills in what is
 * left out: `proto` is `name` in snake_case (each capital becomes `_` and its lowercase),
 * `json` is `name`, and `kind` follows from K (map), M (message) and E (enum), else scalar.
 */
export type FieldDecl = Omit<FieldInfo, "proto" | "json" | "kind"> & {
  readonly proto?: string;
  readonly json?: string;
  readonly kind?: FieldInfo["kind"];
};

/** An enum: its fully-qualified name, its values, and whether it is closed. */
export interface EnumType {
  readonly typeName: string;
  /** Number -> name; the first name wins for aliases. */
  readonly names: ReadonlyMap<number, string>;
  /** Name -> number, aliases included. */
  readonly numbers: ReadonlyMap<string, number>;
  /** Closed enums (proto2) keep unknown numbers in the unknown fields instead. */
  readonly closed: boolean;
}

export interface JsonWriteOptions {
  /** Emit fields with default values (proto3 JSON "always print primitive fields"). */
  emitDefaults?: boolean;
  /** Use the .proto field names instead of lowerCamelCase JSON names. */
  useProtoFieldName?: boolean;
  /** Resolves `google.protobuf.Any` type URLs; its extensions are written as `"[pkg.ext]"` keys. */
  registry?: TypeRegistry;
}

export interface JsonReadOptions {
  /** Skip unknown fields instead of throwing. */
  ignoreUnknownFields?: boolean;
  /** Resolves `google.protobuf.Any` type URLs and `"[pkg.ext]"` keys (extensions). */
  registry?: TypeRegistry;
}

/**
 * Looks up message types by fully-qualified name (for Any) and, when made with
 * extensions, extensions (for their `"[pkg.ext]"` JSON keys).
 */
export interface TypeRegistry {
  findMessage(typeName: string): MessageType<unknown> | undefined;
  /** An extension by its fully-qualified name. */
  findExtension?(typeName: string): Extension | undefined;
  /** The extensions of a message, by the message's fully-qualified name. */
  extensionsOf?(extendee: string): readonly Extension[];
}

/**
 * An extension (proto2 `extend`, editions), generated as `export const fooBar:
 * Extension<Foo, V>` and used with `getExtension`, `setExtension`, `hasExtension` and
 * `clearExtension`. Its value lives in the extendee's unknown fields (`$unknown`), so it
 * survives binary round trips whether or not the code that decodes knows it.
 */
export interface Extension<E = any, V = any> {
  /** Fully-qualified name (`pkg.foo_bar`, `pkg.Account.owner`); in JSON the key `"[pkg.foo_bar]"`. */
  readonly typeName: string;
  /** The message it extends. */
  readonly extendee: MessageType<E>;
  /** The field: number and type (`name` is "value"; `proto` and `json` are the JSON key). */
  readonly field: FieldInfo;
  /** Codec internals: a message of the one field, which values are read and written as. */
  readonly $t: MessageType<{ value?: V }>;
  /** Codec internals: the value read from `message`'s unknown fields, or undefined when absent. */
  $read(message: E): { value?: V } | undefined;
  /** Codec internals: replaces the value in `message`'s unknown fields (none when `value` is unset). */
  $write(message: E, holder: { value?: V }): void;
}
