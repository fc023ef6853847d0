// Field-table helpers shared by the binary and JSON codecs: defaults, 64-bit integer
// representations, create, equals and clone.

import type { EnumType, FieldInfo, LongRepr, MessageType, ScalarTypeId } from "../message.js";
import { ProtobufError } from "./wire.js";

type Obj = Record<string, any>;

const sorted = new WeakMap<MessageType<any>, readonly FieldInfo[]>();
const byNumber = new WeakMap<MessageType<any>, ReadonlyMap<number, FieldInfo>>();
const byName = new WeakMap<MessageType<any>, ReadonlyMap<string, FieldInfo>>();

/** Fields ordered by number (the order they are written in). */
export function sortedFields(type: MessageType<any>): readonly FieldInfo[] {
  let s = sorted.get(type);
  if (s === undefined) {
    s = [...type.fields].sort((a, b) => a.no - b.no);
    sorted.set(type, s);
  }
  return s;
}

/** Fields by number. */
export function fieldsByNumber(type: MessageType<any>): ReadonlyMap<number, FieldInfo> {
  let m = byNumber.get(type);
  if (m === undefined) {
    m = new Map(type.fields.map((f) => [f.no, f]));
    byNumber.set(type, m);
  }
  return m;
}

/** Fields by JSON name and by .proto name. */
export function fieldsByJsonName(type: MessageType<any>): ReadonlyMap<string, FieldInfo> {
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

function isLong(t: ScalarTypeId): boolean {
  return t === 3 || t === 4 || t === 6 || t === 16 || t === 18;
}

/** The zero value of a scalar type in the given 64-bit representation. */
export function scalarZero(t: ScalarTypeId, L: LongRepr | undefined): any {
  if (isLong(t)) return L === 1 ? "0" : L === 2 ? 0 : BigInt(0);
  switch (t) {
    case 8: return false;
    case 9: return "";
    case 12: return new Uint8Array(0);
    default: return 0;
  }
}

/** Converts a decoded 64-bit value to the field's representation. */
export function longFrom(v: bigint, L: LongRepr | undefined): bigint | string | number {
  return L === 1 ? v.toString() : L === 2 ? Number(v) : v;
}

/** Converts any 64-bit representation to bigint for writing. */
export function longTo(v: bigint | string | number): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new ProtobufError(`not an integer: ${v}`);
    return BigInt(v);
  }
  try {
    return BigInt(v);
  } catch {
    throw new ProtobufError(`not an integer: ${JSON.stringify(v)}`);
  }
}

/** Sets a map entry; a "__proto__" key becomes an own property, never the prototype. */
export function setMapEntry(map: Obj, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    map[key] = value;
  }
}

/** Builds an EnumType from [number, name] pairs (generated code calls this). */
export function enumType(typeName: string, values: ReadonlyArray<readonly [number, string]>, closed = false): EnumType {
  const names = new Map<number, string>();
  const numbers = new Map<string, number>();
  for (const [n, s] of values) {
    if (!names.has(n)) names.set(n, s);
    numbers.set(s, n);
  }
  return { typeName, names, numbers, closed };
}

function defaultValue(f: FieldInfo): any {
  if (f.kind === "map") return {};
  if (f.repeated) return [];
  if (f.kind === "message" || f.opt || f.req) return undefined;
  if (f.kind === "enum") {
    const e = (f.E as () => EnumType)();
    // A closed enum's default is its first value; an open enum's is 0.
    return e.closed ? (e.names.keys().next().value ?? 0) : 0;
  }
  return scalarZero(f.T as ScalarTypeId, f.L);
}

/** Creates a message with defaults, then copies `init` (a partial message) over them. */
export function create(type: MessageType<any>, init?: Obj): Obj {
  const msg: Obj = {};
  for (const f of type.fields) {
    if (f.oneof !== undefined) {
      msg[f.oneof] ??= { case: undefined };
      continue;
    }
    const d = defaultValue(f);
    if (d !== undefined) msg[f.name] = d;
  }
  if (init === undefined) return msg;
  for (const f of type.fields) {
    if (f.oneof !== undefined) {
      const o = init[f.oneof];
      if (o !== undefined && o.case === f.name) {
        msg[f.oneof] = { case: f.name, value: f.kind === "message" ? initMessage(f, o.value) : o.value };
      }
      continue;
    }
    const v = init[f.name];
    if (v === undefined) continue;
    if (f.kind === "map") {
      const m: Obj = {};
      for (const k of Object.keys(v)) setMapEntry(m, k, f.M !== undefined ? initMessage(f, v[k]) : v[k]);
      msg[f.name] = m;
    } else if (f.repeated) {
      msg[f.name] = f.kind === "message" ? (v as Obj[]).map((x) => initMessage(f, x)) : [...v];
    } else {
      msg[f.name] = f.kind === "message" ? initMessage(f, v) : v;
    }
  }
  if (init["$unknown"] !== undefined) msg["$unknown"] = init["$unknown"];
  return msg;
}

function initMessage(f: FieldInfo, v: Obj): Obj {
  return create((f.M as () => MessageType<any>)(), v);
}

function valueEquals(f: FieldInfo, a: any, b: any): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (f.M !== undefined) return equals(f.M(), a, b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return bytesEqual(a, b);
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  return false;
}

/** Compares two byte arrays. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Deep equality of two messages of the same type (unknown fields included). */
export function equals(type: MessageType<any>, a: Obj, b: Obj): boolean {
  if (a === b) return true;
  for (const f of type.fields) {
    if (f.oneof !== undefined) {
      const x = a[f.oneof];
      const y = b[f.oneof];
      if (x?.case !== y?.case) return false;
      if (x?.case === f.name && !valueEquals(f, x.value, y.value)) return false;
      continue;
    }
    const x = a[f.name];
    const y = b[f.name];
    if (f.kind === "map") {
      const kx = Object.keys(x ?? {});
      if (kx.length !== Object.keys(y ?? {}).length) return false;
      for (const k of kx) if (!(k in y) || !valueEquals(f, x[k], y[k])) return false;
    } else if (f.repeated) {
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!valueEquals(f, x[i], y[i])) return false;
    } else if (!valueEquals(f, x, y)) return false;
  }
  const ux: Uint8Array | undefined = a["$unknown"];
  const uy: Uint8Array | undefined = b["$unknown"];
  return bytesEqual(ux ?? new Uint8Array(0), uy ?? new Uint8Array(0));
}

function cloneValue(f: FieldInfo, v: any): any {
  if (v === undefined) return v;
  if (f.M !== undefined) return clone(f.M(), v);
  if (v instanceof Uint8Array) return v.slice();
  return v;
}

/** Deep copy of a message. */
export function clone(type: MessageType<any>, msg: Obj): Obj {
  const out: Obj = {};
  for (const f of type.fields) {
    if (f.oneof !== undefined) {
      const o = msg[f.oneof];
      if (out[f.oneof] === undefined || o?.case === f.name) {
        out[f.oneof] = o?.case === f.name ? { case: f.name, value: cloneValue(f, o.value) } : { case: undefined };
      }
      continue;
    }
    const v = msg[f.name];
    if (v === undefined) continue;
    if (f.kind === "map") {
      const m: Obj = {};
      for (const k of Object.keys(v)) setMapEntry(m, k, cloneValue(f, v[k]));
      out[f.name] = m;
    } else if (f.repeated) out[f.name] = (v as any[]).map((x) => cloneValue(f, x));
    else out[f.name] = cloneValue(f, v);
  }
  if (msg["$unknown"] !== undefined) out["$unknown"] = (msg["$unknown"] as Uint8Array).slice();
  return out;
}
