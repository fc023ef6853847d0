// The proto3 JSON forms of scalar values (numbers, 64-bit integers as strings, bytes as
// base64), shared by the message mapping (./json.ts) and the well-known types (./wkt.ts).

import type { JsonValue, ScalarTypeId } from "../message.js";
import { base64Decode, base64Encode } from "./base64.js";
import { longFrom } from "./fields.js";
import { ProtobufError } from "./wire.js";

/** A scalar as JSON: 64-bit integers as strings, bytes as base64, NaN and infinities as strings. */
export function scalarToJson(t: ScalarTypeId, v: any): JsonValue {
  switch (t) {
    case 1:
    case 2:
      if (Number.isNaN(v)) return "NaN";
      if (v === Infinity) return "Infinity";
      if (v === -Infinity) return "-Infinity";
      return v;
    case 3:
    case 4:
    case 6:
    case 16:
    case 18:
      return String(v);
    case 12:
      return base64Encode(v);
    default:
      return v;
  }
}

const INT_RE = /^-?[0-9]+$/;
/** A lone UTF-16 surrogate, which has no UTF-8 form (in unicode mode a valid pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

function parseInteger(v: JsonValue): bigint {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new ProtobufError(`not an integer: ${v}`);
    return BigInt(v);
  }
  if (typeof v === "string") {
    const s = v.trim() === v ? v : "";
    if (INT_RE.test(s)) return BigInt(s);
    // Exponent or fraction notation for integral values ("1e3", "5.0").
    const n = s === "" ? NaN : Number(s);
    if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return BigInt(n);
    throw new ProtobufError(`not an integer: ${JSON.stringify(v)}`);
  }
  throw new ProtobufError(`expected an integer, got ${describe(v)}`);
}

function checkRange(n: bigint, min: bigint, max: bigint, what: string): bigint {
  if (n < min || n > max) throw new ProtobufError(`${n} is out of range for ${what}`);
  return n;
}

const ZERO = /*@__PURE__*/ BigInt(0);
const ONE = /*@__PURE__*/ BigInt(1);
const I32 = /*@__PURE__*/ BigInt(0x80000000);
const I64 = /*@__PURE__*/ BigInt("0x8000000000000000");

/** Parses a scalar from proto3 JSON (numbers or strings for numeric types). */
export function scalarFromJson(t: ScalarTypeId, v: JsonValue, L: 0 | 1 | 2 | undefined): any {
  switch (t) {
    case 1:
    case 2: {
      let n: number;
      if (typeof v === "number") n = v;
      else if (v === "NaN") return NaN;
      else if (v === "Infinity") return Infinity;
      else if (v === "-Infinity") return -Infinity;
      else if (typeof v === "string" && v.trim() !== "" && v.trim() === v) n = Number(v);
      else throw new ProtobufError(`expected a number, got ${describe(v)}`);
      if (Number.isNaN(n)) throw new ProtobufError(`not a number: ${JSON.stringify(v)}`);
      if (!Number.isFinite(n)) throw new ProtobufError(`number out of range: ${JSON.stringify(v)}`);
      if (t === 2 && Math.abs(n) > 3.4028234663852886e38) throw new ProtobufError(`${n} is out of range for float`);
      return t === 2 ? Math.fround(n) : n;
    }
    case 5:
    case 15:
    case 17:
      return Number(checkRange(parseInteger(v), -I32, I32 - ONE, "int32"));
    case 7:
    case 13:
      return Number(checkRange(parseInteger(v), ZERO, I32 + I32 - ONE, "uint32"));
    case 3:
    case 16:
    case 18:
      return longFrom(checkRange(parseInteger(v), -I64, I64 - ONE, "int64"), L);
    case 4:
    case 6:
      return longFrom(checkRange(parseInteger(v), ZERO, I64 + I64 - ONE, "uint64"), L);
    case 8:
      if (typeof v === "boolean") return v;
      throw new ProtobufError(`expected a boolean, got ${describe(v)}`);
    case 9:
      if (typeof v !== "string") throw new ProtobufError(`expected a string, got ${describe(v)}`);
      if (LONE_SURROGATE.test(v)) throw new ProtobufError(`lone surrogate in string ${JSON.stringify(v)}`);
      return v;
    case 12:
      if (typeof v === "string") return base64Decode(v);
      throw new ProtobufError(`expected a base64 string, got ${describe(v)}`);
  }
}

/** A short description of a JSON value for error messages. */
export function describe(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}
