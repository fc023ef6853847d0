// Reads protobuf-encoded values; every read checks bounds. `Reader` has what every message
// needs; 64-bit, fixed32 and floating-point values are free functions (for ./wide.ts) and methods
// of the public `BinaryReader`.

import { B32, TWO32, ProtobufError, decodeUtf8, scratch, WireType } from "./wire.js";

/**
 * Joins the halves of a 64-bit integer into the representation `L` (0 bigint, 1 decimal
 * string, 2 number), signed or not; safe integers never go through bigint arithmetic.
 */
function join64(lo: number, hi: number, signed: boolean, L: number | undefined): bigint | string | number {
  // Exact whenever the result is a safe integer.
  const n = (signed ? hi | 0 : hi) * TWO32 + lo;
  if (Number.isSafeInteger(n)) return L === 2 ? n : L === 1 ? String(n) : BigInt(n);
  let b = (BigInt(hi) << B32) | BigInt(lo);
  if (signed) b = BigInt.asIntN(64, b);
  return L === 2 ? Number(b) : L === 1 ? b.toString() : b;
}

/** The error for input that ends before a value it has begun (or a length it announced). */
function prematureEnd(at: number): ProtobufError {
  return new ProtobufError(`premature end of input at offset ${at}`);
}

/**
 * The reads every message needs (varints, 32-bit values, lengths, strings, skipping); the
 * codec uses this class, so apps whose messages have no 64-bit, fixed32 or floating-point fields
 * do not bundle those reads (free functions below, and the methods of BinaryReader).
 */
export class Reader {
  /** Offset of the next byte to read. */
  pos = 0;
  // `declare`d fields are set by the constructor (no class-field definition is emitted).
  /** Offset one past the last readable byte. */
  declare readonly end: number;
  /** High 32 bits of the last varint read by `lo64` or `uint32`. */
  hi = 0;
  /** The input. Internal to the codec. */
  declare readonly buf: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.buf = bytes;
    this.end = bytes.length;
  }

  /** Throws unless `n` more bytes remain. Internal to the codec. */
  need(n: number): void {
    if (this.end - this.pos < n) {
      throw prematureEnd(this.pos);
    }
  }

  /** Reads a field key as one number (`no << 3 | wireType`); throws on field number 0 or wire types 6 and 7. */
  key(): number {
    const at = this.pos;
    const key = this.uint32();
    if (key >>> 3 === 0) throw new ProtobufError(`invalid field number 0 at offset ${at}`);
    if ((key & 7) > 5) throw new ProtobufError(`invalid wire type ${key & 7} at offset ${at}`);
    return key;
  }

  /** Reads a varint; returns its low 32 bits (unsigned) and leaves the high 32 bits in `hi`. */
  lo64(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (p >= end) {
        this.pos = p;
        this.need(1);
      }
      const x = b[p++] as number;
      if (shift < 28) lo |= (x & 0x7f) << shift;
      else if (shift === 28) {
        lo |= x << 28;
        hi = (x & 0x7f) >> 4;
      } else hi |= (x & 0x7f) << (shift - 32);
      if (x < 0x80) {
        this.pos = p;
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    throw new ProtobufError(`varint longer than 10 bytes at offset ${p - 10}`);
  }

  /** Reads a varint, keeping the low 32 bits unsigned. */
  uint32(): number {
    // Fast path for the common one-byte case.
    const p = this.pos;
    if (p < this.end) {
      const b = this.buf[p] as number;
      if (b < 0x80) {
        this.pos = p + 1;
        this.hi = 0;
        return b;
      }
    }
    return this.lo64();
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

  /** Reads a bool varint (any non-zero value is true). */
  bool(): boolean {
    return this.uint32() !== 0 || this.hi !== 0;
  }

  /** Reads a length prefix and checks that many bytes remain. */
  length(): number {
    const at = this.pos;
    const n = this.uint32();
    if (this.hi !== 0 || n > this.end - this.pos) {
      throw prematureEnd(at);
    }
    return n;
  }

  /**
   * Reads length-prefixed bytes: a view into the input, not a copy (as in
   * @bufbuild/protobuf and protobuf-ts); copy the input first to reuse its buffer.
   */
  bytes(): Uint8Array {
    const n = this.length();
    const at = this.pos;
    this.pos = at + n;
    return this.buf.subarray(at, at + n);
  }

  /** Reads a length-prefixed string; throws on invalid UTF-8 when `validate` is true. */
  string(validate = true): string {
    const n = this.length();
    const b = this.buf;
    const at = this.pos;
    const end = at + n;
    this.pos = end;
    // Short ASCII strings are built here: TextDecoder costs more per call than they take.
    if (n < 16) {
      let s = "";
      let i = at;
      for (; i < end; i++) {
        const c = b[i] as number;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    return decodeUtf8(b.subarray(at, end), validate);
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
      case 0: // varint
        this.lo64();
        return;
      case 1: // fixed64
        this.need(8);
        this.pos += 8;
        return;
      case 2: {
        // length-delimited
        const n = this.length();
        this.pos += n;
        return;
      }
      case 5: // fixed32
        this.need(4);
        this.pos += 4;
        return;
      case 3: {
        // start group
        if (depth > 100) throw new ProtobufError("groups nested more than 100 deep");
        for (;;) {
          if (this.pos >= this.end) throw new ProtobufError(`unterminated group for field ${fieldNo}`);
          const key = this.key();
          const no = key >>> 3;
          const wt = (key & 7) as WireType;
          if (wt === 4) {
            if (no !== fieldNo) throw new ProtobufError(`end-group for field ${no} inside group ${fieldNo}`);
            return;
          }
          this.skip(wt, no, depth + 1);
        }
      }
      case 4: // end group
        throw new ProtobufError(`unexpected end-group for field ${fieldNo} at offset ${this.pos}`);
    }
  }
}

/** Reads a little-endian unsigned 32-bit integer. */
export function readFixed32(r: Reader): number {
  r.need(4);
  const b = r.buf;
  const p = r.pos;
  r.pos = p + 4;
  return (
    ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16) | ((b[p + 3] as number) << 24)) >>> 0
  );
}

/** Reads a 64-bit varint: int64 (`signed`), uint64, or zigzag sint64 (`zigzag`), in representation `L`. */
export function readLong(r: Reader, signed: boolean, zigzag: boolean, L?: number): bigint | string | number {
  let lo = r.lo64();
  let hi = r.hi;
  if (zigzag) {
    const neg = -(lo & 1);
    lo = (((lo >>> 1) | (hi << 31)) ^ neg) >>> 0;
    hi = ((hi >>> 1) ^ neg) >>> 0;
  }
  return join64(lo, hi, signed, L);
}

/** Reads a little-endian 64-bit integer, signed or not, in representation `L`. */
export function readFixed64(r: Reader, signed: boolean, L?: number): bigint | string | number {
  const lo = readFixed32(r);
  return join64(lo, readFixed32(r), signed, L);
}

/** Reads an IEEE 754 single. */
export function readFloat(r: Reader): number {
  scratch.setUint32(0, readFixed32(r), true);
  return scratch.getFloat32(0, true);
}

/** Reads an IEEE 754 double. */
export function readDouble(r: Reader): number {
  scratch.setUint32(0, readFixed32(r), true);
  scratch.setUint32(4, readFixed32(r), true);
  return scratch.getFloat64(0, true);
}

/** Reads protobuf-encoded values; every read checks bounds. */
export class BinaryReader extends Reader {
  /** Reads a field key; throws on field number 0 or wire types 6 and 7. */
  tag(): [fieldNo: number, wireType: WireType] {
    const key = this.key();
    return [key >>> 3, (key & 7) as WireType];
  }

  /** Reads a varint as [low 32 bits, high 32 bits]; throws when longer than ten bytes. */
  varint64(): [lo: number, hi: number] {
    const lo = this.lo64();
    return [lo, this.hi];
  }

  /** Reads a little-endian unsigned 32-bit integer. */
  fixed32(): number {
    return readFixed32(this);
  }

  /** Reads a little-endian signed 32-bit integer. */
  sfixed32(): number {
    return readFixed32(this) | 0;
  }

  /** Reads a 64-bit varint: int64 (`signed`), uint64, or zigzag sint64 (`zigzag`), in representation `L`. */
  long(signed: boolean, zigzag: boolean, L?: number): bigint | string | number {
    return readLong(this, signed, zigzag, L);
  }

  /** Reads a varint as a signed 64-bit integer. */
  int64(): bigint {
    return readLong(this, true, false) as bigint;
  }

  /** Reads a varint as an unsigned 64-bit integer. */
  uint64(): bigint {
    return readLong(this, false, false) as bigint;
  }

  /** Reads a zigzag-encoded 64-bit varint. */
  sint64(): bigint {
    return readLong(this, true, true) as bigint;
  }

  /** Reads a little-endian 64-bit integer, signed or not, in representation `L`. */
  fixed(signed: boolean, L?: number): bigint | string | number {
    return readFixed64(this, signed, L);
  }

  /** Reads a little-endian unsigned 64-bit integer. */
  fixed64(): bigint {
    return readFixed64(this, false) as bigint;
  }

  /** Reads a little-endian signed 64-bit integer. */
  sfixed64(): bigint {
    return readFixed64(this, true) as bigint;
  }

  /** Reads an IEEE 754 single. */
  float(): number {
    return readFloat(this);
  }

  /** Reads an IEEE 754 double. */
  double(): number {
    return readDouble(this);
  }
}
