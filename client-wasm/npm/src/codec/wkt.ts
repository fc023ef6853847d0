// Well-known types: their special proto3 JSON forms, and helpers for Timestamp and
// Duration. The types themselves are generated from google/protobuf/*.proto like any
// other message; the codec recognizes them by type name. The JSON forms of Struct,
// ListValue, Value and Any hold other messages: the message mapping (./json.ts) passes
// its toJson/fromJson in, so imports run one way (json.ts -> wkt.ts).

import type {
  JsonObject,
  JsonReadOptions,
  JsonValue,
  JsonWriteOptions,
  MessageType,
  ScalarTypeId,
} from "../message.js";
import { describe, scalarFromJson, scalarToJson } from "./json-scalar.js";
import { fromBinary, toBinary } from "./binary.js";
import { setMapEntry } from "./fields.js";
import { ProtobufError } from "./wire.js";

type Obj = Record<string, any>;
type ToJson = (type: MessageType<any>, message: any, opts: JsonWriteOptions) => JsonValue;
type FromJson = (type: MessageType<any>, json: JsonValue, opts: JsonReadOptions) => any;

const WRAPPERS: Record<string, ScalarTypeId> = {
  "google.protobuf.DoubleValue": 1,
  "google.protobuf.FloatValue": 2,
  "google.protobuf.Int64Value": 3,
  "google.protobuf.UInt64Value": 4,
  "google.protobuf.Int32Value": 5,
  "google.protobuf.BoolValue": 8,
  "google.protobuf.StringValue": 9,
  "google.protobuf.BytesValue": 12,
  "google.protobuf.UInt32Value": 13,
};

const MAX_SECONDS = /*@__PURE__*/ BigInt(253402300799); // 9999-12-31T23:59:59Z
const MIN_SECONDS = /*@__PURE__*/ BigInt(-62135596800); // 0001-01-01T00:00:00Z
const MAX_DURATION = /*@__PURE__*/ BigInt(315576000000);

/** A Timestamp-shaped value (generated google.protobuf.Timestamp fits). */
export interface TimestampLike {
  seconds: bigint | string | number;
  nanos: number;
}

/** Converts a Date to Timestamp fields. */
export function timestampFromDate(date: Date): { seconds: bigint; nanos: number } {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1000000 };
}

/** Converts Timestamp fields to a Date (millisecond precision). */
export function timestampToDate(ts: TimestampLike): Date {
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1000000));
}

/** Converts milliseconds to Duration fields. */
export function durationFromMs(ms: number): { seconds: bigint; nanos: number } {
  const seconds = Math.trunc(ms / 1000);
  return { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1000000) };
}

/** Converts Duration fields to milliseconds. */
export function durationToMs(d: TimestampLike): number {
  return Number(d.seconds) * 1000 + d.nanos / 1000000;
}

function fraction(nanos: number): string {
  if (nanos === 0) return "";
  let s = String(nanos).padStart(9, "0");
  if (s.endsWith("000000")) s = s.slice(0, 3);
  else if (s.endsWith("000")) s = s.slice(0, 6);
  return "." + s;
}

function camelPath(p: string): string {
  if (/[A-Z]/.test(p) || /_[^a-z]|_$/.test(p))
    throw new ProtobufError(`FieldMask path ${JSON.stringify(p)} cannot be written as JSON`);
  return p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function snakePath(p: string): string {
  if (p.includes("_")) throw new ProtobufError(`FieldMask JSON path ${JSON.stringify(p)} contains "_"`);
  return p.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

function typeNameOfUrl(url: string): string {
  const i = url.lastIndexOf("/");
  return url.slice(i + 1);
}

/** The special JSON form of a well-known type, or undefined for other messages. */
export function wktToJson(
  type: MessageType<any>,
  msg: Obj,
  opts: JsonWriteOptions,
  toJson: ToJson,
): JsonValue | undefined {
  const name = type.typeName;
  if (!name.startsWith("google.protobuf.")) return undefined;
  const wrapped = WRAPPERS[name];
  if (wrapped !== undefined) return scalarToJson(wrapped, msg["value"]);
  switch (name) {
    case "google.protobuf.Timestamp": {
      const s = BigInt(msg["seconds"]);
      const n = msg["nanos"] as number;
      if (s < MIN_SECONDS || s > MAX_SECONDS || n < 0 || n > 999999999)
        throw new ProtobufError(`Timestamp out of range`);
      const iso = new Date(Number(s) * 1000).toISOString();
      return iso.slice(0, 19) + fraction(n) + "Z";
    }
    case "google.protobuf.Duration": {
      const s = BigInt(msg["seconds"]);
      const n = msg["nanos"] as number;
      if (
        s > MAX_DURATION ||
        s < -MAX_DURATION ||
        n > 999999999 ||
        n < -999999999 ||
        (s > 0 && n < 0) ||
        (s < 0 && n > 0)
      ) {
        throw new ProtobufError(`Duration out of range`);
      }
      const neg = s < 0 || n < 0;
      const abs = s < 0 ? -s : s;
      return (neg ? "-" : "") + abs.toString() + fraction(Math.abs(n)) + "s";
    }
    case "google.protobuf.FieldMask":
      return (msg["paths"] as string[]).map(camelPath).join(",");
    case "google.protobuf.Struct": {
      const out: JsonObject = {};
      const valueType = type.fields[0]?.M?.();
      const fields = msg["fields"] as Obj;
      for (const k of Object.keys(fields)) setMapEntry(out, k, toJson(valueType as MessageType<any>, fields[k], opts));
      return out;
    }
    case "google.protobuf.ListValue": {
      const valueType = type.fields[0]?.M?.() as MessageType<any>;
      return (msg["values"] as Obj[]).map((v) => toJson(valueType, v, opts));
    }
    case "google.protobuf.Value": {
      const kind = msg["kind"] as { case: string | undefined; value?: any };
      const f = type.fields.find((x) => x.name === kind.case);
      if (f === undefined) throw new ProtobufError("google.protobuf.Value has no kind set");
      if (kind.case === "nullValue") return null;
      if (kind.case === "numberValue" && !Number.isFinite(kind.value))
        throw new ProtobufError("google.protobuf.Value cannot hold NaN or Infinity");
      if (f.M !== undefined) return toJson(f.M(), kind.value, opts);
      return kind.value;
    }
    case "google.protobuf.Any": {
      const url = msg["typeUrl"] as string;
      if (url === "") return {};
      const inner = opts.registry?.findMessage(typeNameOfUrl(url));
      if (inner === undefined)
        throw new ProtobufError(`cannot write Any as JSON: ${JSON.stringify(url)} is not in the registry`);
      const value = fromBinary(inner, msg["value"]);
      const json = toJson(inner as MessageType<any>, value as Obj, opts);
      if (wktHasSpecialJson(inner.typeName)) return { "@type": url, value: json };
      return { "@type": url, ...(json as JsonObject) };
    }
    default:
      return undefined;
  }
}

function wktHasSpecialJson(name: string): boolean {
  return (
    name in WRAPPERS ||
    [
      "google.protobuf.Timestamp",
      "google.protobuf.Duration",
      "google.protobuf.FieldMask",
      "google.protobuf.Struct",
      "google.protobuf.ListValue",
      "google.protobuf.Value",
      "google.protobuf.Any",
    ].includes(name)
  );
}

const TS_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;
const DUR_RE = /^(-)?([0-9]+)(\.[0-9]{1,9})?s$/;

/** Parses the special JSON form of a well-known type into `msg`; false for other messages. */
export function wktFromJson(
  type: MessageType<any>,
  msg: Obj,
  json: JsonValue,
  opts: JsonReadOptions,
  fromJson: FromJson,
): boolean {
  const name = type.typeName;
  if (!name.startsWith("google.protobuf.")) return false;
  const wrapped = WRAPPERS[name];
  if (wrapped !== undefined) {
    msg["value"] = scalarFromJson(wrapped, json, type.fields[0]?.L);
    return true;
  }
  switch (name) {
    case "google.protobuf.Timestamp": {
      const m = typeof json === "string" ? TS_RE.exec(json) : null;
      if (m === null) throw new ProtobufError(`invalid Timestamp ${describe(json)}`);
      const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]}`);
      if (Number.isNaN(ms)) throw new ProtobufError(`invalid Timestamp ${describe(json)}`);
      const seconds = BigInt(ms / 1000);
      if (seconds < MIN_SECONDS || seconds > MAX_SECONDS)
        throw new ProtobufError(`Timestamp out of range: ${describe(json)}`);
      msg["seconds"] = setLong(type, "seconds", seconds);
      msg["nanos"] = m[7] === undefined ? 0 : Number(m[7].slice(1).padEnd(9, "0"));
      return true;
    }
    case "google.protobuf.Duration": {
      const m = typeof json === "string" ? DUR_RE.exec(json) : null;
      if (m === null) throw new ProtobufError(`invalid Duration ${describe(json)}`);
      const seconds = BigInt(m[2] as string);
      if (seconds > MAX_DURATION) throw new ProtobufError(`Duration out of range: ${describe(json)}`);
      const nanos = m[3] === undefined ? 0 : Number(m[3].slice(1).padEnd(9, "0"));
      const neg = m[1] === "-";
      msg["seconds"] = setLong(type, "seconds", neg ? -seconds : seconds);
      msg["nanos"] = neg && nanos !== 0 ? -nanos : nanos;
      return true;
    }
    case "google.protobuf.FieldMask":
      if (typeof json !== "string") throw new ProtobufError(`invalid FieldMask ${describe(json)}`);
      msg["paths"] = json === "" ? [] : json.split(",").map(snakePath);
      return true;
    case "google.protobuf.Struct": {
      if (json === null || typeof json !== "object" || Array.isArray(json))
        throw new ProtobufError(`invalid Struct ${describe(json)}`);
      const valueType = type.fields[0]?.M?.() as MessageType<any>;
      const fields = msg["fields"] as Obj;
      for (const k of Object.keys(json))
        setMapEntry(fields, scalarFromJson(9, k, undefined), fromJson(valueType, json[k] as JsonValue, opts));
      return true;
    }
    case "google.protobuf.ListValue": {
      if (!Array.isArray(json)) throw new ProtobufError(`invalid ListValue ${describe(json)}`);
      const valueType = type.fields[0]?.M?.() as MessageType<any>;
      msg["values"] = json.map((v) => fromJson(valueType, v, opts));
      return true;
    }
    case "google.protobuf.Value": {
      const sub = (n: string): MessageType<any> => type.fields.find((f) => f.name === n)?.M?.() as MessageType<any>;
      if (json === null) msg["kind"] = { case: "nullValue", value: 0 };
      else if (typeof json === "number") msg["kind"] = { case: "numberValue", value: json };
      else if (typeof json === "string")
        msg["kind"] = { case: "stringValue", value: scalarFromJson(9, json, undefined) };
      else if (typeof json === "boolean") msg["kind"] = { case: "boolValue", value: json };
      else if (Array.isArray(json)) msg["kind"] = { case: "listValue", value: fromJson(sub("listValue"), json, opts) };
      else msg["kind"] = { case: "structValue", value: fromJson(sub("structValue"), json, opts) };
      return true;
    }
    case "google.protobuf.Any": {
      if (json === null || typeof json !== "object" || Array.isArray(json))
        throw new ProtobufError(`invalid Any ${describe(json)}`);
      if (Object.keys(json).length === 0) return true;
      const url = json["@type"];
      if (typeof url !== "string" || url === "") throw new ProtobufError(`Any JSON without "@type"`);
      const inner = opts.registry?.findMessage(typeNameOfUrl(url));
      if (inner === undefined)
        throw new ProtobufError(`cannot read Any from JSON: ${JSON.stringify(url)} is not in the registry`);
      let value: any;
      if (wktHasSpecialJson(inner.typeName)) {
        value = fromJson(inner, (json["value"] ?? null) as JsonValue, opts);
      } else {
        const rest: JsonObject = { ...json };
        delete rest["@type"];
        value = fromJson(inner, rest, opts);
      }
      msg["typeUrl"] = url;
      msg["value"] = toBinary(inner as MessageType<any>, value);
      return true;
    }
    default:
      return false;
  }
}

function setLong(type: MessageType<any>, field: string, v: bigint): bigint | string | number {
  const L = type.fields.find((f) => f.name === field)?.L;
  return L === 1 ? v.toString() : L === 2 ? Number(v) : v;
}

/** Packs a message into Any fields (`type.googleapis.com/` prefix). */
export function anyPack<T>(type: MessageType<T>, message: T): { typeUrl: string; value: Uint8Array } {
  return { typeUrl: `type.googleapis.com/${type.typeName}`, value: toBinary(type as MessageType<any>, message as Obj) };
}

/** Unpacks Any fields with the registry; undefined when the type is not registered. */
export function anyUnpack(
  any: { typeUrl: string; value: Uint8Array },
  registry: { findMessage(n: string): MessageType<unknown> | undefined },
): unknown {
  const type = registry.findMessage(typeNameOfUrl(any.typeUrl));
  return type === undefined ? undefined : fromBinary(type, any.value);
}
