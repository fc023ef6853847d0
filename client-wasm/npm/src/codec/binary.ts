// Binary encoding and decoding of messages, driven by each type's plan (./plan.ts): the
// loops below do no lookups beyond it.
//
// What only some messages need is not here, so that apps without it do not bundle it:
// generated code passes it in. Map fields carry the codec of ./map.ts (`X: mapField`),
// groups (delimited message fields) that of ./group.ts (`X: groupField`), fields of
// closed enums the reader of ./closed.ts (`X: closedEnum`), unwrapped wrapper fields that
// of ./wrapper.ts (`X: wrapperField`); fields of 64-bit integer, fixed32, sfixed32, float
// or double type (or maps with such keys or values) the codec of ./wide.ts
// (`W: wideScalar`); messages with
// proto2 `required` fields pass ./required.ts's check to `messageType`, which runs before
// the message is written. Those modules import this one, never the reverse.

import type { MessageType, ScalarTypeId } from "../message.js";
import { create } from "./fields.js";
import {
  type Obj,
  WT_LEN,
  WT_END_GROUP,
  OP_SCALAR,
  OP_ONEOF,
  OP_LIST,
  OP_MESSAGE,
  OP_ONEOF_MESSAGE,
  OP_MESSAGE_LIST,
  OP_CODEC,
  type FieldCodec,
  type Field,
  type WideScalar,
  type Planned,
  plan,
} from "./plan.js";
import { Reader } from "./reader.js";
import { ProtobufError, WireType } from "./wire.js";
import { Writer } from "./writer.js";

/** Writes one scalar value (without its key); `W` writes the types it is for. */
export function writeScalar(w: Writer, t: ScalarTypeId, v: any, W: WideScalar | undefined): void {
  switch (t) {
    case 5:
      w.int32(v);
      break;
    case 8:
      w.bool(v);
      break;
    case 9:
      w.string(v);
      break;
    case 12:
      w.bytes(v);
      break;
    case 13:
      w.uint32(v);
      break;
    case 17:
      w.sint32(v);
      break;
    default:
      (W as WideScalar).w(w, t, v);
  }
}

/** Reads one scalar value (after its key); `W` reads the types it is for, 64-bit integers in representation `L`. */
export function readScalar(
  r: Reader,
  t: ScalarTypeId,
  L: number | undefined,
  utf8Check: boolean,
  W: WideScalar | undefined,
): any {
  switch (t) {
    case 5:
      return r.int32();
    case 8:
      return r.bool();
    case 9:
      return r.string(utf8Check);
    case 12:
      return r.bytes();
    case 13:
      return r.uint32();
    case 17:
      return r.sint32();
    default:
      return (W as WideScalar).r(r, t, L);
  }
}

/** Whether an implicit-presence value is the zero value, which is not written; `W` tells for the types it is for. */
export function isZero(v: any, W: WideScalar | undefined): boolean {
  if (W !== undefined) return W.e(v);
  // A number (-0 is written), a bool, or a string or bytes (empty).
  return typeof v === "number" ? v === 0 && 1 / v > 0 : typeof v === "boolean" ? !v : v.length === 0;
}

// toBinary writes into one reused buffer and returns an exact-size copy of the result.
let spare: Writer | undefined;

/** Serializes a message. */
export function toBinary(type: MessageType<any>, msg: Obj): Uint8Array {
  const w = spare ?? new Writer(1024);
  spare = undefined;
  w.pos = 0;
  try {
    writeMessage(type, msg, w);
    return w.buf.slice(0, w.pos);
  } finally {
    // A buffer grown past 1 MiB for one large message is not kept.
    if (w.buf.length <= 1 << 20) spare = w;
  }
}

/** Writes the fields of `msg` (without a key or length). */
export function writeMessage(type: MessageType<any>, msg: Obj, w: Writer): void {
  const p = plan(type);
  // The required-field check, for messages that have some.
  (type as Planned).$r?.(type, msg);
  for (const f of p.sorted) {
    let v: any;
    if (f.oneof !== undefined) {
      const o = msg[f.oneof];
      if (o === undefined || o.case !== f.name) continue;
      v = o.value;
    } else {
      v = msg[f.name];
      if (v === undefined) continue;
    }
    switch (f.op) {
      case OP_SCALAR:
      case OP_ONEOF:
        if (f.implicit && isZero(v, f.W)) continue;
        w.uint32(f.key);
        writeScalar(w, f.t, v, f.W);
        continue;
      case OP_LIST: {
        const list = v as any[];
        if (list.length === 0) continue;
        if (f.packed) {
          w.uint32(((f.no << 3) | WT_LEN) >>> 0);
          const at = w.fork();
          for (let i = 0; i < list.length; i++) writeScalar(w, f.t, list[i], f.W);
          w.join(at);
        } else {
          for (let i = 0; i < list.length; i++) {
            w.uint32(f.key);
            writeScalar(w, f.t, list[i], f.W);
          }
        }
        continue;
      }
      case OP_CODEC:
        (f.x as Required<FieldCodec>).write(w, f, v);
        continue;
      case OP_MESSAGE_LIST:
        for (let i = 0; i < (v as Obj[]).length; i++) writeSubMessage(w, f, v[i]);
        continue;
      default:
        writeSubMessage(w, f, v);
    }
  }
  const unknown = msg["$unknown"];
  if (unknown !== undefined) w.raw(unknown);
}

function writeSubMessage(w: Writer, f: Field, v: Obj): void {
  if (f.x?.write !== undefined) {
    f.x.write(w, f, v);
    return;
  }
  w.uint32(f.key);
  const at = w.fork();
  writeMessage(f.m as MessageType<any>, v, w);
  w.join(at);
}

/** Parses a message; throws ProtobufError on malformed input. */
export function fromBinary<T>(type: MessageType<T>, bytes: Uint8Array): T {
  const msg = create(type);
  const r = new Reader(bytes);
  readMessage(type, msg, r, r.end, undefined, 0);
  return msg as T;
}

/** Appends raw bytes to the unknown fields of `msg`. */
export function addUnknown(msg: Obj, bytes: Uint8Array): void {
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

/** Nesting deeper than this is rejected (protobuf's default recursion limit). */
const MAX_DEPTH = 100;

/** Reads fields into `msg` until `end`, or until the end-group key of `group`. */
export function readMessage(
  type: MessageType<any>,
  msg: Obj,
  r: Reader,
  end: number,
  group: number | undefined,
  depth: number,
): void {
  if (depth > MAX_DEPTH) throw new ProtobufError(`${type.typeName}: messages nested more than ${MAX_DEPTH} deep`);
  const { byNo } = plan(type);
  let f: Field | undefined;
  try {
    while (r.pos < end) {
      f = undefined;
      const start = r.pos;
      const key = r.key();
      const no = key >>> 3;
      const wt = (key & 7) as WireType;
      if (wt === WT_END_GROUP) {
        if (group === no) return;
        throw new ProtobufError(`${type.typeName}: unexpected end-group for field ${no} at offset ${start}`);
      }
      f = byNo[no];
      if (f === undefined) {
        r.skip(wt, no);
        addUnknown(msg, r.span(start));
        continue;
      }
      // The common case first: a singular scalar with its expected wire type.
      if (key === f.simple) {
        msg[f.name] = readScalar(r, f.t, f.L, f.utf8, f.W);
        continue;
      }
      readField(msg, f, r, wt, start, end, depth);
    }
  } catch (e) {
    if (f !== undefined && e instanceof ProtobufError && !e.message.startsWith(type.typeName)) {
      throw new ProtobufError(`${type.typeName}.${f.f.proto}: ${e.message}`);
    }
    throw e;
  }
  if (r.pos > end) throw new ProtobufError(`${type.typeName}: field overruns its enclosing message`);
  if (group !== undefined) throw new ProtobufError(`${type.typeName}: group for field ${group} is not terminated`);
}

export function wrongWireType(f: Field, wt: WireType): ProtobufError {
  return new ProtobufError(`wire type ${wt} does not match the field type (field ${f.no})`);
}

function readField(msg: Obj, f: Field, r: Reader, wt: WireType, start: number, end: number, depth: number): void {
  if (f.x !== undefined) {
    f.x.read(msg, f, r, wt, start, end, depth);
    return;
  }
  const op = f.op;
  if (op >= OP_MESSAGE) {
    if (wt !== WT_LEN) throw wrongWireType(f, wt);
    const n = r.length();
    readMessage(f.m as MessageType<any>, messageTarget(msg, f), r, r.pos + n, undefined, depth + 1);
    return;
  }
  const utf8 = f.utf8;
  if (op === OP_LIST && wt === WT_LEN && (f.key & 7) !== WT_LEN) {
    const n = r.length();
    const stop = r.pos + n;
    const list = msg[f.name] as any[];
    while (r.pos < stop) list.push(readScalar(r, f.t, f.L, utf8, f.W));
    if (r.pos !== stop) throw packedOverrun(f);
    return;
  }
  if (wt !== (f.key & 7)) throw wrongWireType(f, wt);
  setScalar(msg, f, readScalar(r, f.t, f.L, utf8, f.W));
}

/**
 * The message a message field's value is read into: a new list element, the oneof
 * member's (new, or the one already there, to merge into), or the field's.
 */
export function messageTarget(msg: Obj, f: Field): Obj {
  const type = f.m as MessageType<any>;
  let target: Obj;
  if (f.op === OP_MESSAGE_LIST) {
    (msg[f.name] as Obj[]).push((target = create(type)));
  } else if (f.op === OP_ONEOF_MESSAGE) {
    const o = msg[f.oneof as string];
    if (o.case === f.name) target = o.value;
    else msg[f.oneof as string] = { case: f.name, value: (target = create(type)) };
  } else {
    target = msg[f.name] ?? (msg[f.name] = create(type));
  }
  return target;
}

/** Stores a value read for a scalar or enum field: appended to a list, as a oneof member, or set. */
export function setScalar(msg: Obj, f: Field, v: unknown): void {
  if (f.op === OP_LIST) (msg[f.name] as unknown[]).push(v);
  else if (f.op === OP_ONEOF) msg[f.oneof as string] = { case: f.name, value: v };
  else msg[f.name] = v;
}

export function packedOverrun(f: Field): ProtobufError {
  return new ProtobufError(`packed field ${f.no} overruns its length`);
}
