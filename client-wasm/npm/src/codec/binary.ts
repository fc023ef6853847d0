// Binary encoding and decoding of messages, driven by the generated field tables.

import type { FieldInfo, MessageType, ScalarTypeId } from "../message.js";
import { BinaryReader, BinaryWriter, ProtobufError, WireType } from "./wire.js";
import { fieldsByNumber, longFrom, longTo, scalarZero, setMapEntry, sortedFields } from "./fields.js";

// Messages are plain objects; the codec reads and writes them by property name.
type Obj = Record<string, any>;

/** The wire type a scalar is written with. */
export function scalarWireType(t: ScalarTypeId): WireType {
  switch (t) {
    case 1: case 6: case 16: // double, fixed64, sfixed64
      return WireType.Fixed64;
    case 2: case 7: case 15: // float, fixed32, sfixed32
      return WireType.Fixed32;
    case 9: case 12: // string, bytes
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

/** Writes one scalar value (without its key). */
export function writeScalar(w: BinaryWriter, t: ScalarTypeId, v: any): void {
  switch (t) {
    case 1: w.double(v); break;
    case 2: w.float(v); break;
    case 3: w.int64(longTo(v)); break;
    case 4: w.uint64(longTo(v)); break;
    case 5: w.int32(v); break;
    case 6: w.fixed64(longTo(v)); break;
    case 7: w.fixed32(v); break;
    case 8: w.bool(v); break;
    case 9: w.string(v); break;
    case 12: w.bytes(v); break;
    case 13: w.uint32(v); break;
    case 15: w.sfixed32(v); break;
    case 16: w.sfixed64(longTo(v)); break;
    case 17: w.sint32(v); break;
    case 18: w.sint64(longTo(v)); break;
  }
}

/** Reads one scalar value (after its key). */
export function readScalar(r: BinaryReader, f: FieldInfo, t: ScalarTypeId): any {
  switch (t) {
    case 1: return r.double();
    case 2: return r.float();
    case 3: return longFrom(r.int64(), f.L);
    case 4: return longFrom(r.uint64(), f.L);
    case 5: return r.int32();
    case 6: return longFrom(r.fixed64(), f.L);
    case 7: return r.fixed32();
    case 8: return r.bool();
    case 9: return r.string(!f.noUtf8Check);
    case 12: return r.bytes();
    case 13: return r.uint32();
    case 15: return r.sfixed32();
    case 16: return longFrom(r.sfixed64(), f.L);
    case 17: return r.sint32();
    case 18: return longFrom(r.sint64(), f.L);
  }
}

function isZero(t: ScalarTypeId, v: any): boolean {
  if (t === 12) return (v as Uint8Array).length === 0;
  if (t === 9) return v === "";
  if (t === 8) return v === false;
  if (typeof v === "bigint") return v === BigInt(0);
  if (typeof v === "string") return v === "0" || v === "";
  return v === 0 && !Object.is(v, -0);
}

/** Serializes a message. */
export function toBinary(type: MessageType<any>, msg: Obj): Uint8Array {
  const w = new BinaryWriter();
  writeMessage(type, msg, w);
  return w.finish();
}

function writeMessage(type: MessageType<any>, msg: Obj, w: BinaryWriter): void {
  for (const f of sortedFields(type)) {
    let v: any;
    if (f.oneof !== undefined) {
      const o = msg[f.oneof];
      if (o === undefined || o.case !== f.name) continue;
      v = o.value;
    } else {
      v = msg[f.name];
      if (v === undefined) continue;
    }
    if (f.kind === "map") {
      for (const key of Object.keys(v)) writeMapEntry(w, f, key, v[key]);
    } else if (f.repeated) {
      const list = v as any[];
      if (list.length === 0) continue;
      if (f.packed && f.kind !== "message" && f.T !== 9 && f.T !== 12) {
        const inner = new BinaryWriter();
        for (const item of list) writeValue(inner, f, item);
        w.tag(f.no, WireType.LengthDelimited).bytes(inner.finish());
      } else {
        for (const item of list) writeField(w, f, item);
      }
    } else {
      const implicit = f.oneof === undefined && !f.opt && !f.req && f.kind !== "message";
      if (implicit && isZero(f.kind === "enum" ? 5 : (f.T as ScalarTypeId), v)) continue;
      writeField(w, f, v);
    }
  }
  const unknown = msg["$unknown"];
  if (unknown !== undefined) w.raw(unknown);
}

function writeValue(w: BinaryWriter, f: FieldInfo, v: any): void {
  if (f.kind === "enum") w.int32(v);
  else writeScalar(w, f.T as ScalarTypeId, v);
}

function writeField(w: BinaryWriter, f: FieldInfo, v: any): void {
  if (f.kind === "message") {
    const type = (f.M as () => MessageType<any>)();
    if (f.delimited) {
      w.tag(f.no, WireType.StartGroup);
      writeMessage(type, v, w);
      w.tag(f.no, WireType.EndGroup);
    } else {
      w.tag(f.no, WireType.LengthDelimited).bytes(toBinary(type, v));
    }
    return;
  }
  const t: ScalarTypeId = f.kind === "enum" ? 5 : (f.T as ScalarTypeId);
  w.tag(f.no, scalarWireType(t));
  writeValue(w, f, v);
}

function mapKeyToWire(k: ScalarTypeId, key: string): any {
  switch (k) {
    case 9: return key;
    case 8: return key === "true";
    case 3: case 4: case 6: case 16: case 18: return BigInt(key);
    default: return Number(key);
  }
}

function writeMapEntry(w: BinaryWriter, f: FieldInfo, key: string, value: any): void {
  const k = f.K as ScalarTypeId;
  const e = new BinaryWriter();
  e.tag(1, scalarWireType(k));
  writeScalar(e, k, mapKeyToWire(k, key));
  if (f.M !== undefined) {
    e.tag(2, WireType.LengthDelimited).bytes(toBinary(f.M(), value));
  } else if (f.E !== undefined) {
    e.tag(2, WireType.Varint).int32(value);
  } else {
    const t = f.T as ScalarTypeId;
    e.tag(2, scalarWireType(t));
    writeScalar(e, t, value);
  }
  w.tag(f.no, WireType.LengthDelimited).bytes(e.finish());
}

/** Parses a message; throws ProtobufError on malformed input. */
export function fromBinary<T>(type: MessageType<T>, bytes: Uint8Array): T {
  const msg = type.create() as Obj;
  const r = new BinaryReader(bytes);
  readMessage(type, msg, r, r.end, undefined, 0);
  return msg as T;
}

function addUnknown(msg: Obj, bytes: Uint8Array): void {
  const prev: Uint8Array | undefined = msg["$unknown"];
  if (prev === undefined) {
    msg["$unknown"] = bytes.slice();
    return;
  }
  const next = new Uint8Array(prev.length + bytes.length);
  next.set(prev);
  next.set(bytes, prev.length);
  msg["$unknown"] = next;
}

function unknownVarint(no: number, value: number): Uint8Array {
  return new BinaryWriter().tag(no, WireType.Varint).int32(value).finish();
}

/** Nesting deeper than this is rejected (protobuf's default recursion limit). */
const MAX_DEPTH = 100;

/** Reads fields into `msg` until `end`, or until the end-group key of `group`. */
function readMessage(type: MessageType<any>, msg: Obj, r: BinaryReader, end: number, group: number | undefined, depth: number): void {
  if (depth > MAX_DEPTH) throw new ProtobufError(`${type.typeName}: messages nested more than ${MAX_DEPTH} deep`);
  const byNo = fieldsByNumber(type);
  while (r.pos < end) {
    const start = r.pos;
    const [no, wt] = r.tag();
    if (wt === WireType.EndGroup) {
      if (group === no) return;
      throw new ProtobufError(`${type.typeName}: unexpected end-group for field ${no} at offset ${start}`);
    }
    const f = byNo.get(no);
    if (f === undefined) {
      r.skip(wt, no);
      addUnknown(msg, r.span(start));
      continue;
    }
    try {
      readField(msg, f, r, wt, start, end, depth);
    } catch (e) {
      if (e instanceof ProtobufError && !e.message.startsWith(type.typeName)) {
        throw new ProtobufError(`${type.typeName}.${f.proto}: ${e.message}`);
      }
      throw e;
    }
  }
  if (r.pos > end) throw new ProtobufError(`${type.typeName}: field overruns its enclosing message`);
  if (group !== undefined) throw new ProtobufError(`${type.typeName}: group for field ${group} is not terminated`);
}

function wrongWireType(f: FieldInfo, wt: WireType): ProtobufError {
  return new ProtobufError(`wire type ${wt} does not match the field type (field ${f.no})`);
}

function readField(msg: Obj, f: FieldInfo, r: BinaryReader, wt: WireType, start: number, end: number, depth: number): void {
  if (f.kind === "map") {
    if (wt !== WireType.LengthDelimited) throw wrongWireType(f, wt);
    readMapEntry(msg, f, r, depth, start);
    return;
  }
  if (f.kind === "message") {
    const type = (f.M as () => MessageType<any>)();
    const expected = f.delimited ? WireType.StartGroup : WireType.LengthDelimited;
    if (wt !== expected) throw wrongWireType(f, wt);
    let target: Obj;
    if (f.repeated) {
      target = type.create();
      (msg[f.name] as Obj[]).push(target);
    } else if (f.oneof !== undefined) {
      const o = msg[f.oneof];
      if (o.case === f.name) target = o.value;
      else msg[f.oneof] = { case: f.name, value: (target = type.create()) };
    } else {
      target = msg[f.name] ?? (msg[f.name] = type.create());
    }
    if (f.delimited) readMessage(type, target, r, end, f.no, depth + 1);
    else {
      const n = r.length();
      readMessage(type, target, r, r.pos + n, undefined, depth + 1);
    }
    return;
  }
  const t: ScalarTypeId = f.kind === "enum" ? 5 : (f.T as ScalarTypeId);
  const swt = scalarWireType(t);
  if (f.repeated && wt === WireType.LengthDelimited && swt !== WireType.LengthDelimited) {
    const n = r.length();
    const stop = r.pos + n;
    const list = msg[f.name] as any[];
    while (r.pos < stop) {
      const v = readValue(r, f, t);
      if (f.kind === "enum" && f.E !== undefined && f.E().closed && !f.E().names.has(v)) {
        addUnknown(msg, unknownVarint(f.no, v));
      } else list.push(v);
    }
    if (r.pos !== stop) throw new ProtobufError(`packed field ${f.no} overruns its length`);
    return;
  }
  if (wt !== swt) throw wrongWireType(f, wt);
  const v = readValue(r, f, t);
  if (f.kind === "enum" && f.E !== undefined && f.E().closed && !f.E().names.has(v)) {
    addUnknown(msg, r.span(start));
    return;
  }
  if (f.repeated) (msg[f.name] as any[]).push(v);
  else if (f.oneof !== undefined) msg[f.oneof] = { case: f.name, value: v };
  else msg[f.name] = v;
}

function readValue(r: BinaryReader, f: FieldInfo, t: ScalarTypeId): any {
  return f.kind === "enum" ? r.int32() : readScalar(r, f, t);
}

/** Reads one map entry; an unknown closed-enum value sends the whole entry to `$unknown`. */
function readMapEntry(msg: Obj, f: FieldInfo, r: BinaryReader, depth: number, start: number): void {
  const n = r.length();
  const end = r.pos + n;
  const k = f.K as ScalarTypeId;
  let key: any = scalarZero(k, 1);
  let value: any;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1) {
      if (wt !== scalarWireType(k)) throw new ProtobufError(`map entry of field ${f.no}: bad wire type ${wt} for the key`);
      key = readScalar(r, { ...f, L: 1 }, k);
    } else if (no === 2) {
      if (f.M !== undefined) {
        if (wt !== WireType.LengthDelimited) throw new ProtobufError(`map entry of field ${f.no}: bad wire type ${wt} for the value`);
        const type = f.M();
        value ??= type.create();
        const n = r.length();
        readMessage(type, value, r, r.pos + n, undefined, depth + 1);
      } else {
        const t: ScalarTypeId = f.E !== undefined ? 5 : (f.T as ScalarTypeId);
        if (wt !== scalarWireType(t)) throw new ProtobufError(`map entry of field ${f.no}: bad wire type ${wt} for the value`);
        value = readValue(r, f, t);
      }
    } else {
      r.skip(wt, no);
    }
  }
  if (r.pos !== end) throw new ProtobufError(`map entry of field ${f.no} overruns its length`);
  if (value === undefined) {
    const e = f.E?.();
    if (f.M !== undefined) value = f.M().create();
    else if (e !== undefined) value = e.closed ? (e.names.keys().next().value ?? 0) : 0;
    else value = scalarZero(f.T as ScalarTypeId, f.L);
  }
  const e = f.E?.();
  if (e !== undefined && e.closed && !e.names.has(value)) {
    addUnknown(msg, r.span(start));
    return;
  }
  setMapEntry(msg[f.name], String(key), value);
}
