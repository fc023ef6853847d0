// Appends protobuf-encoded values to a growing buffer (the codec reuses one for all
// messages; generated code and tests may make their own). `Writer` has what every message
// needs; 64-bit, fixed32 and floating-point values are free functions (for ./wide.ts) and methods
// of the public `BinaryWriter`.

import { B32, TWO32, U32, encoder, ProtobufError, scratch, type WireType } from "./wire.js";

/** High 32 bits of the last value split by `split64`. */
let HI = 0;

/**
 * Splits a 64-bit integer (bigint, decimal string or integral number) into 32-bit halves,
 * two's complement, without bigint arithmetic when it is a safe integer: returns the low
 * half and leaves the high half in `HI`.
 */
function split64(v: bigint | string | number): number {
  let n = v as number;
  if (!Number.isSafeInteger(v)) {
    let b: bigint;
    try {
      b = BigInt(v);
    } catch {
      throw new ProtobufError(`not an integer: ${String(v)}`);
    }
    n = Number(b);
    if (!Number.isSafeInteger(n)) {
      b = BigInt.asUintN(64, b);
      HI = Number(b >> B32);
      return Number(b & U32);
    }
  }
  HI = Math.floor(n / TWO32) >>> 0;
  return n >>> 0;
}

/**
 * The writes every message needs (varints, 32-bit values, strings, bytes); the codec uses
 * this class, so apps whose messages have no 64-bit, fixed32 or floating-point fields do not bundle
 * those writes (free functions below, and the methods of BinaryWriter).
 */
export class Writer {
  /** The buffer; bytes [0, pos) are written (set by the constructor). Internal to the codec. */
  declare buf: Uint8Array;
  /** Offset of the next byte to write. Internal to the codec. */
  pos = 0;

  constructor(size = 64) {
    this.buf = new Uint8Array(size);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n + 64));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
    }
  }

  /**
   * Starts a length-delimited value whose length is not known yet: reserves one byte for
   * the length and returns where it is, for `join`.
   */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends a `fork`: writes the length of what follows `at`, moving it when it needs more than one byte. */
  join(at: number): this {
    const n = this.pos - at - 1;
    if (n < 0x80) {
      this.buf[at] = n;
      return this;
    }
    let extra = 1;
    for (let v = n >>> 14; v > 0; v >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.uint32(n);
    this.pos = end;
    return this;
  }

  /** Writes an unsigned 32-bit varint. */
  uint32(value: number): this {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    let v = value >>> 0;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
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
    const b = this.buf;
    let p = this.pos;
    let l = lo >>> 0;
    let h = hi >>> 0;
    while (h !== 0 || l > 0x7f) {
      b[p++] = (l & 0x7f) | 0x80;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>>= 7;
    }
    b[p++] = l;
    this.pos = p;
    return this;
  }

  /** Writes a bool as a one-byte varint. */
  bool(value: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  /** Writes length-prefixed bytes. */
  bytes(value: Uint8Array): this {
    this.uint32(value.length);
    return this.raw(value);
  }

  /**
   * Writes a length-prefixed UTF-8 string (lone surrogates become U+FFFD). ASCII strings
   * shorter than 128 units (most) are copied here; others are encoded by
   * TextEncoder.encodeInto straight into the buffer, five bytes on (room for any length),
   * then moved back behind their length.
   */
  string(value: string): this {
    const n = value.length;
    // At most three bytes per UTF-16 unit.
    this.ensure(5 + n * 3);
    const b = this.buf;
    const at = this.pos;
    if (n < 0x80) {
      let i = 0;
      for (let c; i < n && (c = value.charCodeAt(i)) < 0x80; i++) b[at + 1 + i] = c;
      if (i === n) {
        b[at] = n;
        this.pos = at + 1 + n;
        return this;
      }
    }
    const written = encoder.encodeInto(value, b.subarray(at + 5)).written;
    this.uint32(written);
    b.copyWithin(this.pos, at + 5, at + 5 + written);
    this.pos += written;
    return this;
  }

  /** Writes bytes as they are, without a length prefix. */
  raw(value: Uint8Array): this {
    const n = value.length;
    this.ensure(n);
    const b = this.buf;
    const p = this.pos;
    b.set(value, p);
    this.pos = p + n;
    return this;
  }
}

/** Writes a little-endian 32-bit integer. */
export function writeFixed32(w: Writer, v: number): void {
  w.ensure(4);
  const b = w.buf;
  const p = w.pos;
  b[p] = v;
  b[p + 1] = v >>> 8;
  b[p + 2] = v >>> 16;
  b[p + 3] = v >>> 24;
  w.pos = p + 4;
}

/** Writes an int64/uint64 varint (two's complement for negative values). */
export function writeInt64(w: Writer, v: bigint | string | number): void {
  w.varint64(split64(v), HI);
}

/** Writes a zigzag-encoded signed 64-bit varint. */
export function writeSint64(w: Writer, v: bigint | string | number): void {
  const lo = split64(v);
  const sign = HI >> 31;
  w.varint64((lo << 1) ^ sign, ((HI << 1) | (lo >>> 31)) ^ sign);
}

/** Writes a little-endian 64-bit integer. */
export function writeFixed64(w: Writer, v: bigint | string | number): void {
  writeFixed32(w, split64(v));
  writeFixed32(w, HI);
}

/** Writes an IEEE 754 single. */
export function writeFloat(w: Writer, v: number): void {
  scratch.setFloat32(0, v, true);
  writeFixed32(w, scratch.getUint32(0, true));
}

/** Writes an IEEE 754 double. */
export function writeDouble(w: Writer, v: number): void {
  scratch.setFloat64(0, v, true);
  writeFixed32(w, scratch.getUint32(0, true));
  writeFixed32(w, scratch.getUint32(4, true));
}

/** Appends protobuf-encoded values to a growing buffer. */
export class BinaryWriter extends Writer {
  /** The bytes written so far (a copy-free view of the buffer). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Writes a field key. */
  tag(fieldNo: number, wireType: WireType): this {
    return this.uint32(((fieldNo << 3) | wireType) >>> 0);
  }

  /** Writes an int64/uint64 varint (two's complement for negative values). */
  int64(value: bigint | string | number): this {
    writeInt64(this, value);
    return this;
  }

  /** Same encoding as int64. */
  uint64(value: bigint | string | number): this {
    return this.int64(value);
  }

  /** Writes a zigzag-encoded signed 64-bit varint. */
  sint64(value: bigint | string | number): this {
    writeSint64(this, value);
    return this;
  }

  /** Writes a little-endian unsigned 32-bit integer. */
  fixed32(value: number): this {
    writeFixed32(this, value);
    return this;
  }

  /** Writes a little-endian signed 32-bit integer. */
  sfixed32(value: number): this {
    return this.fixed32(value);
  }

  /** Writes a little-endian 64-bit integer. */
  fixed64(value: bigint | string | number): this {
    writeFixed64(this, value);
    return this;
  }

  /** Writes a little-endian signed 64-bit integer. */
  sfixed64(value: bigint | string | number): this {
    return this.fixed64(value);
  }

  /** Writes an IEEE 754 single. */
  float(value: number): this {
    writeFloat(this, value);
    return this;
  }

  /** Writes an IEEE 754 double. */
  double(value: number): this {
    writeDouble(this, value);
    return this;
  }
}
