// Field-table helpers shared by the binary and JSON codecs: defaults, 64-bit integer
// representations, create; and the free functions equals and clone.

import type { EnumType, FieldInfo, LongRepr, MessageType, ScalarTypeId } from "../message.js";
import { ProtobufError } from "./wire.js";

type Obj = Record<string, any>;

/** The error for a proto2 `required` field that is unset when encoding (binary or JSON). */
export function requiredNotSet(type: MessageType<any>, f: FieldInfo, to: string): ProtobufError {
  return new ProtobufError(`cannot encode ${type.typeName} to ${to}: required field ${f.proto} is not set`);
}

function isLong(t: ScalarTypeId): boolean {
  return t === 3 || t === 4 || t === 6 || t === 16 || t === 18;
}

/** The zero value of a scalar type in the given 64-bit representation. */
export function scalarZero(t: ScalarTypeId, L: LongRepr | undefined): any {
  return isLong(t) ? (L === 1 ? "0" : L === 2 ? 0 : BigInt(0)) : coreZero(t);
}

/** The zero value of a scalar type other than the 64-bit integers. */
function coreZero(t: ScalarTypeId | undefined): any {
  return t === 8 ? false : t === 9 ? "" : t === 12 ? new Uint8Array(0) : 0;
}

/** Converts a decoded 64-bit value to the field's representation. */
export function longFrom(v: bigint, L: LongRepr | undefined): bigint | string | number {
  return L === 1 ? v.toString() : L === 2 ? Number(v) : v;
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
  // 64-bit, fixed32 and floating-point zeros come from the field's codec (./wide.ts), which only
  // apps with such fields bundle.
  const W = f.W as { z(t: ScalarTypeId | undefined, L: LongRepr | undefined): any } | undefined;
  return W !== undefined ? W.z(f.T, f.L) : coreZero(f.T);
}

/** The codec's per-type cache, kept on the type object (see `messageType`). */
export interface Cached {
  /**
   * Defaults of a new message: a fast-properties object to copy, whether to copy it by
   * spreading, and the properties that need a new [] (0), {} (1) or oneof (2) each time.
   */
  $c?: readonly [template: Obj, spread: boolean, names: readonly string[], kinds: ReadonlyArray<0 | 1 | 2>];
}

/** A message with its defaults: a copy of a per-type template, with new arrays, maps and oneofs. */
function blank(type: MessageType<any>): Obj {
  const t = type as MessageType<any> & Cached;
  let c = t.$c;
  if (c === undefined) {
    const template: Obj = {};
    const names: string[] = [];
    const kinds: Array<0 | 1 | 2> = [];
    let absent = false;
    for (const f of type.fields) {
      const name = f.oneof ?? f.name;
      if (f.oneof !== undefined || f.kind === "map" || f.repeated) {
        if (!names.includes(name)) {
          names.push(name);
          kinds.push(f.oneof !== undefined ? 2 : f.kind === "map" ? 1 : 0);
        }
        template[name] = undefined;
        continue;
      }
      const d = defaultValue(f);
      if (d !== undefined) template[name] = d;
      else absent = true;
    }
    // V8: copying an object with fast properties by spreading is quickest, but adding a
    // property to such a copy later (a message or optional field the decoder sets) is
    // far slower than adding one to a copy made by Object.assign. The template is spread
    // once itself, as one filled by keyed stores is a dictionary.
    c = t.$c = [{ ...template }, !absent, names, kinds];
  }
  const msg: Obj = c[1] ? { ...c[0] } : Object.assign({}, c[0]);
  const names = c[2];
  const kinds = c[3];
  for (let i = 0; i < names.length; i++) {
    const k = kinds[i];
    msg[names[i] as string] = k === 0 ? [] : k === 1 ? {} : { case: undefined };
  }
  return msg;
}

/** Creates a message with defaults, then copies `init` (a partial message) over them. */
export function create(type: MessageType<any>, init?: Obj): Obj {
  const msg = blank(type);
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
      // Copied by the map codec (./map.ts, `X`), which only apps with map fields bundle.
      msg[f.name] = (f.X as { c(f: FieldInfo, v: Obj): Obj }).c(f, v);
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
export function equals<T>(type: MessageType<T>, x: T, y: T): boolean {
  const a = x as Obj;
  const b = y as Obj;
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
export function clone<T>(type: MessageType<T>, message: T): T {
  const msg = message as Obj;
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
  return out as T;
}
