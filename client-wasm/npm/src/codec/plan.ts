// A message type's plan: its generated field table turned once, on first use, into what
// the binary codec's loops need (fields sorted for writing, an array indexed by field
// number for reading, keys and wire types worked out), kept on the type object. Also the
// types and constants the codecs of ./binary.ts and of the field kinds outside it share.

import type { FieldInfo, MessageType, ScalarTypeId } from "../message.js";
import type { Reader } from "./reader.js";
import { ProtobufError, type WireType } from "./wire.js";
import type { Writer } from "./writer.js";

// Messages are plain objects; the codec reads and writes them by property name.
export type Obj = Record<string, any>;

// Wire types and field operations as top-level constants, which bundlers inline (WireType
// is an object at runtime). Not `const enum`s: the package is compiled with
// isolatedModules, under which tsc emits those as objects and does not inline them.
export const WT_VARINT = 0;
export const WT_LEN = 2;
export const WT_START_GROUP = 3;
export const WT_END_GROUP = 4;

/** How a field is read and written. */
export type Op = 0 | 1 | 2 | 3 | 4 | 5 | 6;
export const OP_SCALAR = 0;
export const OP_ONEOF = 1;
export const OP_LIST = 2;
export const OP_MESSAGE = 3;
export const OP_ONEOF_MESSAGE = 4;
export const OP_MESSAGE_LIST = 5;
/** A map field (or a scalar written by its codec), whose codec (`FieldInfo.X`) reads and writes it. */
export const OP_CODEC = 6;

/**
 * The binary codec of a kind of field that lives outside this module: maps (./map.ts),
 * groups (./group.ts) and closed enums (./closed.ts, which only reads differently).
 */
export interface FieldCodec {
  /**
   * Reads one occurrence of `f` into `msg`; its key (wire type `wt`, at `start`) was just
   * read. `end` is where the enclosing message ends, `depth` its nesting depth.
   */
  read(msg: Obj, f: Field, r: Reader, wt: WireType, start: number, end: number, depth: number): void;
  /**
   * Writes the value `v` of `f` (one element of a repeated group), keys included; without
   * it, `f` is written as its kind is.
   */
  write?(w: Writer, f: Field, v: any): void;
  /** Copies the value `v` of `f` for `create` (a map: its entries, message values created). */
  c?(f: FieldInfo, v: Obj): Obj;
}

/** One field, ready for the loops. */
export interface Field {
  readonly f: FieldInfo;
  readonly no: number;
  readonly name: string;
  readonly oneof: string | undefined;
  readonly op: Op;
  /** Scalar type of the value (enums are int32), or of a map value. */
  readonly t: ScalarTypeId;
  /** The key the value is written with (for a list: of one element, unpacked). */
  readonly key: number;
  /** Written packed (a list of numbers). */
  readonly packed: boolean;
  /** Proto3 implicit presence: the zero value is not written. */
  readonly implicit: boolean;
  /** `key` for a singular scalar that takes no special care when read, else -1. */
  readonly simple: number;
  /** Strings are UTF-8 validated. */
  readonly utf8: boolean;
  readonly L: number | undefined;
  /** The message type of a message field or map value. */
  readonly m: MessageType<any> | undefined;
  /** The field's own codec, which reads it (and writes a map, op OP_CODEC, or a group). */
  readonly x: FieldCodec | undefined;
  /** The codec of 64-bit, fixed32, sfixed32, float and double values, for fields (or map keys) of those types. */
  readonly W: WideScalar | undefined;
}

/**
 * Reads and writes the scalar types that `readScalar` and `writeScalar` leave to it: double
 * (1), float (2), int64 (3), uint64 (4), fixed64 (6), fixed32 (7), sfixed32 (15), sfixed64
 * (16) and sint64 (18).
 */
export interface WideScalar {
  /** Reads a value. */
  r(r: Reader, t: ScalarTypeId, L: number | undefined): any;
  /** Writes a value. */
  w(w: Writer, t: ScalarTypeId, v: any): void;
  /** Whether a value is the zero value. */
  e(v: any): boolean;
  /** The zero value (in representation `L`). */
  z(t: ScalarTypeId, L: number | undefined): any;
}

/** Whether values of scalar type `t` are read and written by a WideScalar (a bit per type id). */
export function isWide(t: ScalarTypeId | undefined): boolean {
  return ((0x580de >> (t ?? 0)) & 1) === 1;
}

interface Plan {
  /** Fields in field-number order (the order they are written in). */
  readonly sorted: readonly Field[];
  /** Fields by number (a sparse array when numbers are large, which V8 handles as a dictionary). */
  readonly byNo: ReadonlyArray<Field | undefined>;
}

/** The type object as `messageType` makes it: the plan cache and the check run before writing. */
export type Planned = MessageType<any> & { $b?: Plan; $r?: (type: MessageType<any>, msg: Obj) => void };

// Wire type by scalar type id: fixed64 for double, fixed64, sfixed64; fixed32 for float,
// fixed32, sfixed32; length-delimited for string and bytes; varint for the rest.
const WIRE = [0, 1, 5, 0, 0, 0, 1, 5, 0, 2, 0, 0, 2, 0, 0, 5, 1, 0, 0] as const;

/** The wire type a scalar is written with. */
export function scalarWireType(t: ScalarTypeId): WireType {
  return WIRE[t];
}

export function plan(type: MessageType<any>): Plan {
  const t = type as Planned;
  if (t.$b !== undefined) return t.$b;
  const sorted = [...type.fields]
    .sort((a, b) => a.no - b.no)
    .map((f): Field => {
      const message = f.kind === "message";
      const st: ScalarTypeId = message ? 12 : (f.T ?? 5);
      const x = f.X as FieldCodec | undefined;
      if ((f.kind === "map" || (message && f.delimited)) && x === undefined) {
        throw new ProtobufError(`${type.typeName}.${f.name}: a map or group field needs its codec (X)`);
      }
      const W = f.W as WideScalar | undefined;
      if ((isWide(f.T) || isWide(f.K)) && W === undefined) {
        throw new ProtobufError(
          `${type.typeName}.${f.name}: a 64-bit, fixed32 or floating-point field needs its codec (W)`,
        );
      }
      // Maps, and scalars whose codec writes them (unwrapped wrappers, ./wrapper.ts).
      const op =
        f.kind === "map" || (!message && x?.write !== undefined)
          ? OP_CODEC
          : message
            ? f.repeated
              ? OP_MESSAGE_LIST
              : f.oneof !== undefined
                ? OP_ONEOF_MESSAGE
                : OP_MESSAGE
            : f.repeated
              ? OP_LIST
              : f.oneof !== undefined
                ? OP_ONEOF
                : OP_SCALAR;
      const wt = message && f.delimited ? WT_START_GROUP : f.kind === "map" ? WT_LEN : scalarWireType(st);
      const key = ((f.no << 3) | wt) >>> 0;
      return {
        f,
        no: f.no,
        name: f.name,
        oneof: f.oneof,
        op,
        t: st,
        key,
        packed: f.packed === true && wt !== WT_LEN,
        implicit: op === OP_SCALAR && !f.opt && !f.req,
        simple: op === OP_SCALAR && x === undefined ? key : -1,
        utf8: !f.noUtf8Check,
        L: f.L,
        m: f.M?.(),
        x,
        W,
      };
    });
  const byNo: Field[] = [];
  for (const f of sorted) byNo[f.no] = f;
  return (t.$b = { sorted, byNo });
}
