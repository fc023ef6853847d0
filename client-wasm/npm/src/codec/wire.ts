// The protobuf binary wire format: a small reader and writer used by generated code.
// Every malformed input throws a ProtobufError whose message says what and where.

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

const encoder = /*@__PURE__*/ new TextEncoder();
const strictDecoder = /*@__PURE__*/ new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = /*@__PURE__*/ new TextDecoder("utf-8", { ignoreBOM: true });
const U64 = /*@__PURE__*/ BigInt("0xffffffffffffffff");
const U32 = /*@__PURE__*/ BigInt(0xffffffff);
const B32 = /*@__PURE__*/ BigInt(32);

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

/** Appends protobuf-encoded values to a growing buffer. */
export class BinaryWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  /** The bytes written so far (a copy-free view of the buffer). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes a field key. */
  tag(fieldNo: number, wireType: WireType): this {
    return this.uint32(((fieldNo << 3) | wireType) >>> 0);
  }

  /** Writes an unsigned 32-bit varint. */
  uint32(value: number): this {
    this.ensure(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** Writes a signed 32-bit varint (negative values take ten bytes). */
  int32(value: number): this {
    if (value >= 0) return this.uint32(value);
    return this.varint64(value | 0, -1);
  }

  /** Writes a zigzag-encoded signed 32-bit varint. */
  sint32(value: number): this {
    return this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Writes a 64-bit varint from its low and high 32 bits. */
  varint64(lo: number, hi: number): this {
    this.ensure(10);
    let l = lo >>> 0;
    let h = hi >>> 0;
    while (h !== 0 || l > 0x7f) {
      this.buf[this.pos++] = (l & 0x7f) | 0x80;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>>= 7;
    }
    this.buf[this.pos++] = l;
    return this;
  }

  /** Writes an int64/uint64 varint (two's complement for negative values). */
  int64(value: bigint): this {
    const v = BigInt.asUintN(64, value);
    return this.varint64(Number(v & U32), Number(v >> B32));
  }

  /** Same encoding as int64. */
  uint64(value: bigint): this {
    return this.int64(value);
  }

  /** Writes a zigzag-encoded signed 64-bit varint. */
  sint64(value: bigint): this {
    const v = BigInt.asIntN(64, value);
    return this.int64((v << BigInt(1)) ^ (v >> BigInt(63)));
  }

  /** Writes a bool as a one-byte varint. */
  bool(value: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  /** Writes a little-endian unsigned 32-bit integer. */
  fixed32(value: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
    return this;
  }

  /** Writes a little-endian signed 32-bit integer. */
  sfixed32(value: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, value | 0, true);
    this.pos += 4;
    return this;
  }

  /** Writes a little-endian unsigned 64-bit integer. */
  fixed64(value: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, value), true);
    this.pos += 8;
    return this;
  }

  /** Writes a little-endian signed 64-bit integer. */
  sfixed64(value: bigint): this {
    return this.fixed64(value);
  }

  /** Writes an IEEE 754 single. */
  float(value: number): this {
    this.ensure(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  /** Writes an IEEE 754 double. */
  double(value: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
    return this;
  }

  /** Writes length-prefixed bytes. */
  bytes(value: Uint8Array): this {
    this.uint32(value.length);
    return this.raw(value);
  }

  /** Writes a length-prefixed UTF-8 string. */
  string(value: string): this {
    return this.bytes(encoder.encode(value));
  }

  /** Writes bytes as they are, without a length prefix. */
  raw(value: Uint8Array): this {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }
}

/** Reads protobuf-encoded values; every read checks bounds. */
export class BinaryReader {
  /** Offset of the next byte to read. */
  pos = 0;
  /** Offset one past the last readable byte. */
  readonly end: number;
  private readonly buf: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.buf = bytes;
    this.end = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.end - this.pos < n) {
      throw new ProtobufError(`premature end of input at offset ${this.pos}: need ${n} more bytes`);
    }
  }

  /** Reads a field key; throws on field number 0 or wire types 6 and 7. */
  tag(): [fieldNo: number, wireType: WireType] {
    const at = this.pos;
    const key = this.uint32();
    const fieldNo = key >>> 3;
    const wireType = key & 7;
    if (fieldNo === 0) throw new ProtobufError(`invalid field number 0 at offset ${at}`);
    if (wireType > 5) throw new ProtobufError(`invalid wire type ${wireType} at offset ${at}`);
    return [fieldNo, wireType as WireType];
  }

  /** Reads a varint as [low 32 bits, high 32 bits]; throws when longer than ten bytes. */
  varint64(): [lo: number, hi: number] {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      this.need(1);
      const b = this.buf[this.pos++] as number;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw new ProtobufError(`varint longer than 10 bytes at offset ${this.pos - 10}`);
  }

  /** Reads a varint, keeping the low 32 bits unsigned. */
  uint32(): number {
    // Fast path for the common one-byte case.
    if (this.pos < this.end) {
      const b = this.buf[this.pos] as number;
      if (b < 0x80) {
        this.pos++;
        return b;
      }
    }
    return this.varint64()[0];
  }

  /** Reads a varint as a signed 32-bit integer. */
  int32(): number {
    return this.uint32() | 0;
  }

  /** Reads a zigzag-encoded 32-bit varint. */
  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  /** Reads a varint as a signed 64-bit integer. */
  int64(): bigint {
    return BigInt.asIntN(64, this.uint64());
  }

  /** Reads a varint as an unsigned 64-bit integer. */
  uint64(): bigint {
    const [lo, hi] = this.varint64();
    return (BigInt(hi) << B32) | BigInt(lo);
  }

  /** Reads a zigzag-encoded 64-bit varint. */
  sint64(): bigint {
    const v = this.uint64();
    return (v >> BigInt(1)) ^ -(v & BigInt(1));
  }

  /** Reads a bool varint (any non-zero value is true). */
  bool(): boolean {
    const [lo, hi] = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  /** Reads a little-endian unsigned 32-bit integer. */
  fixed32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads a little-endian signed 32-bit integer. */
  sfixed32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads a little-endian unsigned 64-bit integer. */
  fixed64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a little-endian signed 64-bit integer. */
  sfixed64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads an IEEE 754 single. */
  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads an IEEE 754 double. */
  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and checks that many bytes remain. */
  length(): number {
    const at = this.pos;
    const [lo, hi] = this.varint64();
    if (hi !== 0 || lo > this.end - this.pos) {
      throw new ProtobufError(`premature end of input at offset ${at}: length ${hi !== 0 ? "> 2^32" : lo} exceeds the ${this.end - this.pos} bytes left`);
    }
    return lo;
  }

  /** Reads length-prefixed bytes (a copy, safe to keep). */
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a length-prefixed string; throws on invalid UTF-8 when `validate` is true. */
  string(validate = true): string {
    const n = this.length();
    const at = this.pos;
    this.pos += n;
    try {
      return decodeUtf8(this.buf.subarray(at, at + n), validate);
    } catch {
      throw new ProtobufError(`invalid UTF-8 in string at offset ${at}`);
    }
  }

  /** A view of bytes already read, from `start` to the current position. */
  span(start: number): Uint8Array {
    return this.buf.subarray(start, this.pos);
  }

  /**
   * Skips the value of a field whose key was just read; for a group, skips up to and
   * including its end-group key. Throws on a stray end-group or an unterminated group.
   */
  skip(wireType: WireType, fieldNo: number, depth = 0): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint64();
        return;
      case WireType.Fixed64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LengthDelimited: {
        const n = this.length();
        this.pos += n;
        return;
      }
      case WireType.Fixed32:
        this.need(4);
        this.pos += 4;
        return;
      case WireType.StartGroup: {
        if (depth > 100) throw new ProtobufError("groups nested more than 100 deep");
        for (;;) {
          if (this.pos >= this.end) throw new ProtobufError(`unterminated group for field ${fieldNo}`);
          const [no, wt] = this.tag();
          if (wt === WireType.EndGroup) {
            if (no !== fieldNo) throw new ProtobufError(`end-group for field ${no} inside group ${fieldNo}`);
            return;
          }
          this.skip(wt, no, depth + 1);
        }
      }
      case WireType.EndGroup:
        throw new ProtobufError(`unexpected end-group for field ${fieldNo} at offset ${this.pos}`);
    }
  }
}

/** Masks a bigint into the unsigned 64-bit range. */
export function toUint64(value: bigint): bigint {
  return value & U64;
}
