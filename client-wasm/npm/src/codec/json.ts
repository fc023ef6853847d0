// The proto3 JSON mapping of messages, driven by the generated field tables. Scalars are
// in ./json-scalar.ts; well-known types with a special JSON form are in ./wkt.ts, which
// gets this module's toJson/fromJson as arguments for the types that nest messages.

import type {
  EnumType,
  FieldInfo,
  JsonObject,
  JsonReadOptions,
  JsonValue,
  JsonWriteOptions,
  MessageType,
  ScalarTypeId,
} from "../message.js";
import { requiredNotSet, setMapEntry } from "./fields.js";
import { describe, scalarFromJson, scalarToJson } from "./json-scalar.js";
import { wktFromJson, wktToJson } from "./wkt.js";
import { ProtobufError } from "./wire.js";

type Obj = Record<string, any>;

const byName = /*@__PURE__*/ new WeakMap<MessageType<any>, ReadonlyMap<string, FieldInfo>>();

/** Fields by JSON name and by .proto name. */
function fieldsByJsonName(type: MessageType<any>): ReadonlyMap<string, FieldInfo> {
  let m = byName.get(type);
  if (m === undefined) {
    const map = new Map<string, FieldInfo>();
    // JSON names win over .proto names (proto2 allows `fooBar` next to `foo_bar`).
    for (const f of type.fields) map.set(f.proto, f);
    for (const f of type.fields) map.set(f.json, f);
    byName.set(type, (m = map));
  }
  return m;
}

/**
 * Writes a message as proto3 JSON. Throws ProtobufError when a proto2 `required` field is
 * unset, or a well-known type holds a value JSON cannot represent.
 */
export function toJson<T>(type: MessageType<T>, message: T, opts: JsonWriteOptions = {}): JsonValue {
  const msg = message as Obj;
  const wkt = wktToJson(type, msg, opts, toJson);
  if (wkt !== undefined) return wkt;
  const out: JsonObject = {};
  for (const f of type.fields) {
    const key = opts.useProtoFieldName ? f.proto : f.json;
    if (f.oneof !== undefined) {
      const o = msg[f.oneof];
      if (o?.case === f.name) out[key] = valueToJson(f, o.value, opts);
      continue;
    }
    const v = msg[f.name];
    if (v === undefined) {
      if (f.req) throw requiredNotSet(type, f, "JSON");
      continue;
    }
    if (f.kind === "map") {
      const keys = Object.keys(v);
      if (keys.length === 0 && !opts.emitDefaults) continue;
      const m: JsonObject = {};
      for (const k of keys) setMapEntry(m, k, valueToJson(f, v[k], opts));
      out[key] = m;
    } else if (f.repeated) {
      if (v.length === 0 && !opts.emitDefaults) continue;
      out[key] = (v as any[]).map((x) => valueToJson(f, x, opts));
    } else {
      const implicit = !f.opt && !f.req && f.kind !== "message";
      if (implicit && !opts.emitDefaults && isDefault(f, v)) continue;
      out[key] = valueToJson(f, v, opts);
    }
  }
  // Extensions the registry knows, read from the unknown fields: `"[pkg.ext]": value`.
  if (msg["$unknown"] !== undefined) {
    for (const e of opts.registry?.extensionsOf?.(type.typeName) ?? []) {
      const holder = e.$read(msg);
      if (holder !== undefined) Object.assign(out, toJson(e.$t, holder, opts));
    }
  }
  return out;
}

function isDefault(f: FieldInfo, v: any): boolean {
  if (v instanceof Uint8Array) return v.length === 0;
  if (typeof v === "bigint") return v === ZERO;
  if (f.T !== undefined && typeof v === "string" && f.T !== 9) return v === "0";
  // -0 is not the default: it is written, like protobuf-es and protoc's C++ runtime do.
  return (v === 0 && !Object.is(v, -0)) || v === "" || v === false;
}

/** One value (a singular field, a list element or a map value) as JSON. */
export function valueToJson(f: FieldInfo, v: any, opts: JsonWriteOptions): JsonValue {
  if (f.M !== undefined) return toJson(f.M(), v, opts);
  if (f.E !== undefined) return enumToJson(f.E(), v);
  return scalarToJson(f.T as ScalarTypeId, v);
}

const ZERO = /*@__PURE__*/ BigInt(0);

/** An enum value as JSON: its name, or its number when unknown; NullValue is null. */
export function enumToJson(e: EnumType, v: number): JsonValue {
  if (e.typeName === "google.protobuf.NullValue") return null;
  return e.names.get(v) ?? v;
}

/**
 * Parses proto3 JSON into a message; throws ProtobufError naming the field on bad input.
 * Unset proto2 `required` fields are not an error (as in @bufbuild/protobuf).
 */
export function fromJson<T>(type: MessageType<T>, json: JsonValue, opts: JsonReadOptions = {}): T {
  const msg = type.create() as Obj;
  mergeJson(type, msg, json, opts);
  return msg as T;
}

function mergeJson(type: MessageType<any>, msg: Obj, json: JsonValue, opts: JsonReadOptions): void {
  if (wktFromJson(type, msg, json, opts, fromJson)) return;
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ProtobufError(`${type.typeName}: expected a JSON object, got ${describe(json)}`);
  }
  const byName = fieldsByJsonName(type);
  const seenOneofs = new Set<string>();
  const seen = new Set<number>();
  for (const key of Object.keys(json)) {
    const f = byName.get(key);
    const v = json[key] as JsonValue;
    if (f === undefined) {
      // `"[pkg.ext]"`: an extension of this message that the registry knows.
      const e = /^\[.*\]$/.test(key) ? opts.registry?.findExtension?.(key.slice(1, -1)) : undefined;
      if (e !== undefined && e.extendee.typeName === type.typeName) {
        e.$write(msg, fromJson(e.$t, { [key]: v }, opts));
        continue;
      }
      if (opts.ignoreUnknownFields) continue;
      throw new ProtobufError(`${type.typeName}: unknown field ${JSON.stringify(key)}`);
    }
    if (seen.has(f.no))
      throw new ProtobufError(`${type.typeName}.${f.proto}: given twice (as JSON name and .proto name)`);
    seen.add(f.no);
    try {
      readJsonField(msg, f, v, opts, seenOneofs);
    } catch (e) {
      if (e instanceof ProtobufError && !e.message.startsWith(type.typeName)) {
        throw new ProtobufError(`${type.typeName}.${f.proto}: ${e.message}`);
      }
      throw e;
    }
  }
}

function readJsonField(msg: Obj, f: FieldInfo, v: JsonValue, opts: JsonReadOptions, seenOneofs: Set<string>): void {
  const nullable = f.M?.().typeName === "google.protobuf.Value" || f.E?.().typeName === "google.protobuf.NullValue";
  if (v === null && !(nullable && !f.repeated && f.kind !== "map")) {
    // null means "default": leave the field as create() made it.
    return;
  }
  if (f.kind === "map") {
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw new ProtobufError(`expected an object, got ${describe(v)}`);
    const m = msg[f.name] as Obj;
    for (const k of Object.keys(v)) {
      const mk = parseMapKey(f.K as ScalarTypeId, k);
      const value = valueFromJson(f, v[k] as JsonValue, opts);
      if (value !== undefined) setMapEntry(m, mk, value);
    }
    return;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) throw new ProtobufError(`expected an array, got ${describe(v)}`);
    const list = msg[f.name] as any[];
    for (const item of v) {
      const value = valueFromJson(f, item, opts);
      if (value !== undefined) list.push(value);
    }
    return;
  }
  const value = valueFromJson(f, v, opts);
  if (value === undefined) return;
  if (f.oneof !== undefined) {
    if (seenOneofs.has(f.oneof)) throw new ProtobufError(`more than one field set in oneof ${f.oneof}`);
    seenOneofs.add(f.oneof);
    msg[f.oneof] = { case: f.name, value };
  } else {
    msg[f.name] = value;
  }
}

function parseMapKey(k: ScalarTypeId, key: string): string {
  if (k === 8) {
    if (key !== "true" && key !== "false") throw new ProtobufError(`invalid bool map key ${JSON.stringify(key)}`);
    return key;
  }
  return String(scalarFromJson(k, key, 1));
}

/** Parses one value; `undefined` means "skip it" (an unknown enum name when ignoring unknowns). */
export function valueFromJson(f: FieldInfo, v: JsonValue, opts: JsonReadOptions): any {
  if (f.M !== undefined) {
    const type = f.M();
    const msg = type.create() as Obj;
    mergeJson(type, msg, v, opts);
    return msg;
  }
  if (f.E !== undefined) {
    const e = f.E();
    if (e.typeName === "google.protobuf.NullValue" && v === null) return 0;
    if (typeof v === "string") {
      const n = e.numbers.get(v);
      if (n !== undefined) return n;
      if (opts.ignoreUnknownFields) return undefined;
      throw new ProtobufError(`unknown value ${JSON.stringify(v)} for enum ${e.typeName}`);
    }
    if (typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
      if (e.closed && !e.names.has(v)) {
        if (opts.ignoreUnknownFields) return undefined;
        throw new ProtobufError(`unknown value ${v} for closed enum ${e.typeName}`);
      }
      return v;
    }
    throw new ProtobufError(`invalid enum value ${describe(v)}`);
  }
  return scalarFromJson(f.T as ScalarTypeId, v, f.L);
}
