// Extensions: the descriptor generated code makes for each (`extension`) and the free
// functions that read and write them, as @bufbuild/protobuf has them. A value lives in the
// extendee's unknown fields (`$unknown`, raw bytes): decoding keeps it there whether or not
// the extension is known, encoding writes it back, and the binary codec knows nothing of
// extensions. Reading parses the records of the extension's number with a message of one
// field (the extension's), so every field kind the codec has works for extensions too.
// Only apps that declare or import an extension bundle this module.

import type { Extension, FieldDecl, FieldInfo, MessageType } from "../message.js";
import { fieldDefault } from "./access.js";
import { addUnknown } from "./binary.js";
import { Reader } from "./reader.js";
import { messageType } from "./type.js";
import type { WireType } from "./wire.js";

type Obj = Record<string, any>;

/** An extension's field as generated code declares it: no name, presence or oneof. */
export type ExtensionDecl = Omit<FieldDecl, "name" | "proto" | "json" | "kind" | "opt" | "req" | "oneof">;

/**
 * Makes the descriptor of an extension (generated code calls this): its fully-qualified
 * name, the message it extends (a thunk, so that files may refer to each other in any
 * order) and its field.
 */
export function extension<E, V>(
  typeName: string,
  extendee: () => MessageType<E>,
  decl: ExtensionDecl,
): Extension<E, V> {
  const key = `[${typeName}]`;
  // Extensions always have explicit presence: a singular scalar is written even when zero.
  const presence = decl.repeated || decl.M !== undefined ? {} : { opt: true };
  const holder = messageType<{ value?: V }>(typeName, () => [
    { ...decl, ...presence, name: "value", proto: key, json: key },
  ]);
  return {
    typeName,
    get extendee(): MessageType<E> {
      return extendee();
    },
    get field(): FieldInfo {
      return holder.fields[0] as FieldInfo;
    },
    $t: holder,
    $read(message: E): { value?: V } | undefined {
      const mine = split((message as Obj)["$unknown"], decl.no)[0];
      return mine === undefined ? undefined : holder.fromBinary(mine);
    },
    $write(message: E, value: { value?: V }): void {
      const bytes = holder.toBinary(value);
      clear(message as Obj, decl.no);
      if (bytes.length > 0) addUnknown(message as Obj, bytes);
    },
  };
}

/**
 * The records of field `no` in unknown-field bytes and the other records, each joined
 * (undefined when there are none).
 */
function split(unknown: Uint8Array | undefined, no: number): [Uint8Array | undefined, Uint8Array | undefined] {
  if (unknown === undefined) return [undefined, undefined];
  const mine: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  const r = new Reader(unknown);
  while (r.pos < r.end) {
    const start = r.pos;
    const key = r.key();
    r.skip((key & 7) as WireType, key >>> 3);
    (key >>> 3 === no ? mine : rest).push(r.span(start));
  }
  return [join(mine), join(rest)];
}

function join(parts: Uint8Array[]): Uint8Array | undefined {
  if (parts.length === 0) return undefined;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Removes the records of field `no` from the unknown fields of `msg`. */
function clear(msg: Obj, no: number): void {
  if (msg["$unknown"] === undefined) return;
  const rest = split(msg["$unknown"], no)[1];
  if (rest === undefined) delete msg["$unknown"];
  else msg["$unknown"] = rest;
}

/**
 * The value of an extension: when unset, its default (proto2 `[default = ...]`, else the
 * zero value, `[]` for a repeated extension, an empty message for a message). Throws
 * ProtobufError when the unknown fields hold malformed records of its number.
 */
export function getExtension<E, V>(message: E, ext: Extension<E, V>): V {
  const v = ext.$read(message)?.value;
  return (v === undefined ? fieldDefault(ext.field) : v) as V;
}

/**
 * Sets an extension, replacing any value it had (a repeated one set to `[]` is cleared).
 * Throws ProtobufError when the message's unknown fields are malformed.
 */
export function setExtension<E, V>(message: E, ext: Extension<E, V>, value: V): void {
  ext.$write(message, { value });
}

/**
 * Whether the message's unknown fields hold a record of the extension's number. Throws
 * ProtobufError when they are malformed.
 */
export function hasExtension<E, V>(message: E, ext: Extension<E, V>): boolean {
  return split((message as Obj)["$unknown"], ext.field.no)[0] !== undefined;
}

/**
 * Removes an extension from the message. Throws ProtobufError when the message's unknown
 * fields are malformed.
 */
export function clearExtension<E, V>(message: E, ext: Extension<E, V>): void {
  clear(message as Obj, ext.field.no);
}
