// Map fields in the binary encoding: each entry is a nested message with the key as field
// 1 and the value as field 2. Generated code gives a map field this codec (`X: mapField`),
// so only apps with map fields bundle it.

import type { ScalarTypeId } from "../message.js";
import { addUnknown, readMessage, readScalar, wrongWireType, writeMessage, writeScalar } from "./binary.js";
import { scalarWireType, WT_LEN, type Field, type FieldCodec, type Obj } from "./plan.js";
import { create, scalarZero, setMapEntry } from "./fields.js";
import type { Reader } from "./reader.js";
import { ProtobufError, type WireType } from "./wire.js";
import type { Writer } from "./writer.js";

/** The codec of map fields, for generated field tables. */
export const mapField: FieldCodec = {
  read(msg, f, r, wt, start, _end, depth) {
    if (wt !== WT_LEN) throw wrongWireType(f, wt);
    readMapEntry(msg, f, r, depth, start);
  },
  write(w, f, v) {
    for (const key of Object.keys(v)) writeMapEntry(w, f, key, v[key]);
  },
  c(f, v) {
    const m: Obj = {};
    for (const k of Object.keys(v)) setMapEntry(m, k, f.M !== undefined ? create(f.M(), v[k]) : v[k]);
    return m;
  },
};

function writeMapEntry(w: Writer, f: Field, key: string, value: any): void {
  const k = f.f.K as ScalarTypeId;
  w.uint32(f.key);
  const at = w.fork();
  w.uint32((8 | scalarWireType(k)) >>> 0);
  // Keys are property names: integers as decimal strings, which the 64-bit writers
  // parse and the 32-bit ones coerce with their integer operators.
  writeScalar(w, k, k === 8 ? key === "true" : key, f.W);
  if (f.m !== undefined) {
    w.uint32(18);
    const inner = w.fork();
    writeMessage(f.m, value, w);
    w.join(inner);
  } else {
    w.uint32(16 | scalarWireType(f.t));
    writeScalar(w, f.t, value, f.W);
  }
  w.join(at);
}

function badEntry(f: Field, wt: WireType, what: string): ProtobufError {
  return new ProtobufError(`map entry of field ${f.no}: bad wire type ${wt} for the ${what}`);
}

/** Reads one map entry; an unknown closed-enum value sends the whole entry to `$unknown`. */
function readMapEntry(msg: Obj, f: Field, r: Reader, depth: number, start: number): void {
  const n = r.length();
  const end = r.pos + n;
  const k = f.f.K as ScalarTypeId;
  let key: any = scalarZero(k, 1);
  let value: any;
  while (r.pos < end) {
    const tag = r.key();
    const no = tag >>> 3;
    const wt = (tag & 7) as WireType;
    if (no === 1) {
      if (wt !== scalarWireType(k)) throw badEntry(f, wt, "key");
      key = readScalar(r, k, 1, f.utf8, f.W);
    } else if (no === 2) {
      if (f.m !== undefined) {
        if (wt !== WT_LEN) throw badEntry(f, wt, "value");
        value ??= create(f.m);
        const n = r.length();
        readMessage(f.m, value, r, r.pos + n, undefined, depth + 1);
      } else {
        if (wt !== scalarWireType(f.t)) throw badEntry(f, wt, "value");
        value = readScalar(r, f.t, f.L, f.utf8, f.W);
      }
    } else {
      r.skip(wt, no);
    }
  }
  if (r.pos !== end) throw new ProtobufError(`map entry of field ${f.no} overruns its length`);
  const en = f.f.E?.();
  const e = en?.closed ? en : undefined;
  if (value === undefined) {
    if (f.m !== undefined) value = create(f.m);
    else if (f.f.E !== undefined) value = e !== undefined ? (e.names.keys().next().value ?? 0) : 0;
    else value = scalarZero(f.t, f.L as 0 | 1 | 2 | undefined);
  }
  if (e !== undefined && !e.names.has(value)) {
    addUnknown(msg, r.span(start));
    return;
  }
  setMapEntry(msg[f.name], String(key), value);
}
