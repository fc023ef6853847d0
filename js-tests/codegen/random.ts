// Random messages of any generated type, filled through its field table. Seeded, so a
// failure reproduces from the seed that the failing check prints.

import { BinaryWriter, WireType, type FieldInfo, type MessageType, type ScalarTypeId } from "grpcweb-client";
import * as oursAll from "./out/ours/codegen/all_types_pb.js";

type Obj = Record<string, any>;

/** A small deterministic PRNG (mulberry32), so failures reproduce from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  u32(): number {
    const pick = this.int(4);
    if (pick === 0) return this.int(128);
    if (pick === 1) return 0xffffffff - this.int(3);
    return (this.r() * 0x100000000) >>> 0;
  }
  i32(): number {
    return this.u32() | 0;
  }
  u64(): bigint {
    const pick = this.int(4);
    if (pick === 0) return BigInt(this.int(300));
    if (pick === 1) return BigInt("0xffffffffffffffff") - BigInt(this.int(3));
    return (BigInt(this.u32()) << BigInt(32)) | BigInt(this.u32());
  }
  i64(): bigint {
    return BigInt.asIntN(64, this.u64());
  }
  string(): string {
    const alphabet = ["a", "Z", "0", " ", "é", "ß", "中", "😀", "\n", '"', "\\", "\u0000", "\u{10ffff}"];
    let s = "";
    const n = this.int(8);
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  bytes(): Uint8Array {
    const b = new Uint8Array(this.int(12));
    for (let i = 0; i < b.length; i++) b[i] = this.int(256);
    return b;
  }
  double(): number {
    const specials = [0, 1.5, -2.25, 1e300, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN];
    return this.chance(0.3) ? (specials[this.int(specials.length)] as number) : (this.r() - 0.5) * 10 ** this.int(20);
  }
}

function scalar(g: Gen, t: ScalarTypeId, L: 0 | 1 | 2 | undefined): any {
  const long = (v: bigint): any => (L === 1 ? v.toString() : L === 2 ? Number(BigInt.asIntN(52, v)) : v);
  switch (t) {
    case 1:
      return g.double();
    case 2:
      return Math.fround(g.double());
    case 3:
    case 16:
    case 18:
      return long(g.i64());
    case 4:
    case 6:
      return L === 2 ? g.int(2 ** 52) : long(g.u64());
    case 5:
    case 15:
    case 17:
      return g.i32();
    case 7:
    case 13:
      return g.u32();
    case 8:
      return g.chance(0.5);
    case 9:
      return g.string();
    case 12:
      return g.bytes();
  }
}

function mapKey(g: Gen, k: ScalarTypeId): string {
  if (k === 9) return g.string();
  if (k === 8) return String(g.chance(0.5));
  return String(scalar(g, k, 1));
}

function enumValue(g: Gen, f: FieldInfo): number {
  const e = (f.E as NonNullable<FieldInfo["E"]>)();
  const known = [...e.names.keys()];
  // An unknown number of an open enum; not for NullValue, whose JSON form is only `null`.
  if (!e.closed && e.typeName !== "google.protobuf.NullValue" && g.chance(0.1)) return 17 + g.int(5);
  return known[g.int(known.length)] as number;
}

/** Well-known types whose JSON form constrains their values. */
function randomWkt(g: Gen, type: MessageType<any>, depth: number): Obj | undefined {
  switch (type.typeName) {
    case "google.protobuf.Timestamp":
      return type.create({ seconds: BigInt(g.int(2 ** 31) - 2 ** 30), nanos: g.chance(0.5) ? 0 : g.int(1e9) });
    case "google.protobuf.Duration": {
      const s = g.int(1e6);
      const n = g.int(1e9);
      return type.create(
        g.chance(0.5) ? { seconds: BigInt(s), nanos: n } : { seconds: BigInt(-s), nanos: s === 0 ? -n : -n },
      );
    }
    case "google.protobuf.FieldMask":
      return type.create({ paths: ["a", "foo_bar", "x.y_z"].slice(0, g.int(4)) });
    case "google.protobuf.Value": {
      const pick = depth > 2 ? g.int(4) : g.int(6);
      const sub = (n: string): MessageType<any> => type.fields.find((f) => f.name === n)?.M?.() as MessageType<any>;
      const kinds = [
        { case: "nullValue", value: 0 },
        { case: "numberValue", value: g.int(1000) / 8 },
        { case: "stringValue", value: g.string() },
        { case: "boolValue", value: g.chance(0.5) },
        { case: "structValue", value: random(g, sub("structValue"), depth + 1) },
        { case: "listValue", value: random(g, sub("listValue"), depth + 1) },
      ];
      return type.create({ kind: kinds[pick] });
    }
    case "google.protobuf.Any": {
      if (g.chance(0.3)) return type.create();
      const inner = random(g, oursAll.AllTypes_Nested, depth + 1);
      return type.create({
        typeUrl: "type.googleapis.com/codegen.alltypes.AllTypes.Nested",
        value: oursAll.AllTypes_Nested.toBinary(inner as oursAll.AllTypes_Nested),
      });
    }
    default:
      return undefined;
  }
}

/** A random message of `type`, filled through its field table. */
/** The depth below which required message fields are left unset (see `random`). */
export const REQUIRED_DEPTH = 6;

export function random(g: Gen, type: MessageType<any>, depth = 0, unknownFrom?: number): Obj {
  const special = randomWkt(g, type, depth);
  if (special !== undefined) return special;
  const init: Obj = {};
  const value = (f: FieldInfo): any => {
    if (f.M !== undefined) return random(g, f.M(), depth + 1);
    if (f.E !== undefined) return enumValue(g, f);
    return scalar(g, f.T as ScalarTypeId, f.L);
  };
  const oneofs = new Map<string, FieldInfo[]>();
  for (const f of type.fields) {
    if (f.oneof !== undefined) {
      oneofs.set(f.oneof, [...(oneofs.get(f.oneof) ?? []), f]);
      continue;
    }
    // Deep enough: no more message fields, except required ones (which must be set) down
    // to REQUIRED_DEPTH; below it a cycle of required message fields is cut (no finite
    // message sets every field of such a cycle).
    const recursive = f.M !== undefined && (depth >= REQUIRED_DEPTH || (depth >= 3 && !f.req));
    if (recursive || (!f.req && g.chance(0.35))) continue;
    if (f.kind === "map") {
      const m: Obj = {};
      for (let i = g.int(4); i > 0; i--) m[mapKey(g, f.K as ScalarTypeId)] = value(f);
      init[f.name] = m;
    } else if (f.repeated) {
      init[f.name] = Array.from({ length: g.int(4) }, () => value(f));
    } else {
      init[f.name] = value(f);
    }
  }
  for (const [name, members] of oneofs) {
    const f = members[g.int(members.length + 1)];
    if (f !== undefined && !(f.M !== undefined && depth >= 3)) init[name] = { case: f.name, value: value(f) };
  }
  const msg = type.create(init);
  if (unknownFrom !== undefined && g.chance(0.3)) {
    msg["$unknown"] = new BinaryWriter()
      .tag(unknownFrom + g.int(50), WireType.Varint)
      .uint32(g.u32())
      .tag(unknownFrom + 60, WireType.LengthDelimited)
      .bytes(g.bytes())
      .finish();
  }
  return msg;
}
