// Readable access to fields: proto2 defaults for unset fields, and one oneof member.

import type { EnumType, FieldInfo, MessageType, ScalarTypeId } from "../message.js";
import { longFrom, scalarZero } from "./fields.js";
import { ProtobufError } from "./wire.js";

/** Unescapes a protoc C-escaped `bytes` default (`\000`, `\n`, `\x41`, `\"`...). */
function unescapeBytes(s: string): Uint8Array {
  const out: number[] = [];
  const simple: Record<string, number> = {
    n: 10,
    r: 13,
    t: 9,
    '"': 34,
    "'": 39,
    "\\": 92,
    a: 7,
    b: 8,
    f: 12,
    v: 11,
    "?": 63,
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== "\\") {
      for (const b of new TextEncoder().encode(c)) out.push(b);
      continue;
    }
    const n = s[++i] ?? "";
    if (/[0-7]/.test(n)) {
      let oct = n;
      while (oct.length < 3 && /[0-7]/.test(s[i + 1] ?? "")) oct += s[++i];
      out.push(parseInt(oct, 8) & 0xff);
    } else if (n === "x") {
      let hex = "";
      while (hex.length < 2 && /[0-9a-fA-F]/.test(s[i + 1] ?? "")) hex += s[++i];
      out.push(parseInt(hex, 16));
    } else if (n in simple) {
      out.push(simple[n] as number);
    } else {
      throw new ProtobufError(`bad escape \\${n} in a bytes default`);
    }
  }
  return new Uint8Array(out);
}

/** The default of a field (its proto2 `[default = ...]`, else the zero value). */
export function fieldDefault(f: FieldInfo): unknown {
  if (f.kind === "map") return {};
  if (f.repeated) return [];
  if (f.M !== undefined) return f.M().create();
  if (f.E !== undefined) {
    const e: EnumType = f.E();
    if (f.def !== undefined) return e.numbers.get(String(f.def)) ?? 0;
    return e.closed ? (e.names.keys().next().value ?? 0) : 0;
  }
  const t = f.T as ScalarTypeId;
  const d = f.def;
  if (d === undefined) return scalarZero(t, f.L);
  const s = String(d);
  switch (t) {
    case 1:
    case 2:
      return s === "inf" ? Infinity : s === "-inf" ? -Infinity : s === "nan" ? NaN : Number(s);
    case 3:
    case 4:
    case 6:
    case 16:
    case 18:
      return longFrom(BigInt(s), f.L);
    case 8:
      return s === "true";
    case 9:
      return s;
    case 12:
      return unescapeBytes(s);
    default:
      return Number(s);
  }
}

/**
 * A field's value, or its default when unset: for proto2 `optional x = 1 [default = 5]`
 * an unset `x` reads as 5. `name` is the property name.
 */
export function getField<T extends object, K extends keyof T & string>(
  type: MessageType<T>,
  message: T,
  name: K,
): Exclude<T[K], undefined> {
  const v = message[name];
  if (v !== undefined) return v as Exclude<T[K], undefined>;
  const f = type.fields.find((x) => x.name === name && x.oneof === undefined);
  if (f === undefined) throw new ProtobufError(`${type.typeName} has no field ${JSON.stringify(name)} outside a oneof`);
  return fieldDefault(f) as Exclude<T[K], undefined>;
}

/** The value of one member of a oneof, or undefined when another member (or none) is set. */
export function oneofValue<
  O extends { case: string | undefined; value?: unknown },
  C extends Exclude<O["case"], undefined>,
>(oneof: O, member: C): Extract<O, { case: C }>["value"] | undefined {
  return oneof.case === member ? (oneof.value as Extract<O, { case: C }>["value"]) : undefined;
}
