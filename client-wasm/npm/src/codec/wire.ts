// The protobuf binary wire format: what the reader (./reader.ts) and the writer
// (./writer.ts) share. Every malformed input throws a ProtobufError whose message says
// what and where.

/** Thrown for malformed protobuf input (binary or JSON) and invalid messages. */
export class ProtobufError extends Error {
  override name = "ProtobufError";
}

/** Wire types of the protobuf binary encoding. */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;
/** One of the six wire types. */
export type WireType = (typeof WireType)[keyof typeof WireType];

export const encoder = /*@__PURE__*/ new TextEncoder();
const strictDecoder = /*@__PURE__*/ new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = /*@__PURE__*/ new TextDecoder("utf-8", { ignoreBOM: true });
export const U32 = /*@__PURE__*/ BigInt(0xffffffff);
export const B32 = /*@__PURE__*/ BigInt(32);
export const TWO32 = 4294967296;
// Floats go through this scratch view: one DataView per process, not per buffer.
export const scratch = /*@__PURE__*/ new DataView(/*@__PURE__*/ new ArrayBuffer(8));

/** Decodes UTF-8; throws on invalid sequences unless `validate` is false (then U+FFFD). */
export function decodeUtf8(bytes: Uint8Array, validate = true): string {
  if (!validate) return lenientDecoder.decode(bytes);
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new ProtobufError("invalid UTF-8 in string");
  }
}

/** Encodes a string as UTF-8. Lone surrogates become U+FFFD. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
