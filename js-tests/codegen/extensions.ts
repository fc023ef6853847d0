// Extensions: getExtension, setExtension, hasExtension and clearExtension over the unknown
// fields, and "[pkg.ext]" JSON keys through the registry, checked on their own and on
// randomized messages against @bufbuild/protobuf (protos/codegen/extensions*.proto).

import assert from "node:assert/strict";
import * as es from "@bufbuild/protobuf";
import type { DescExtension, DescMessage } from "@bufbuild/protobuf";
import { WireType as EsWireType } from "@bufbuild/protobuf/wire";
import {
  BinaryWriter,
  ProtobufError,
  WireType,
  clearExtension,
  createRegistry,
  equals,
  fromJson,
  getExtension,
  hasExtension,
  setExtension,
  toJson,
  type Extension,
  type JsonValue,
  type MessageType,
} from "grpcweb-client";
import * as ours from "./out/ours/codegen/extensions_pb.js";
import * as oursOther from "./out/ours/codegen/extensions_other_pb.js";
import * as oursEd from "./out/ours/codegen/extensions_editions_pb.js";
import * as esExt from "./out/es/codegen/extensions_pb.js";
import * as esOther from "./out/es/codegen/extensions_other_pb.js";
import * as esEd from "./out/es/codegen/extensions_editions_pb.js";
import { Gen, random, rng } from "./random.js";

type Obj = Record<string, any>;
type Pair = [Extension<any, any>, DescExtension];

/** Our extension descriptors of Account and protobuf-es's, paired by name. */
const accountExtensions: Pair[] = [
  [ours.Account_owner, esExt.Account_owner],
  [ours.extInt32, esExt.ext_int32],
  [ours.extSint64, esExt.ext_sint64],
  [ours.extBytes, esExt.ext_bytes],
  [ours.extLevel, esExt.ext_level],
  [ours.extNote, esExt.ext_note],
  [ours.extPacked, esExt.ext_packed],
  [ours.extUnpacked, esExt.ext_unpacked],
  [ours.extNotes, esExt.ext_notes],
  [ours.extgroup, esExt.extgroup],
  [ours.extDouble, esExt.ext_double],
  [ours.extStrings, esExt.ext_strings],
  [ours.extBool, esExt.ext_bool],
  [ours.Note_tag$1, esExt.Note_tag$],
  [ours.extension$, esExt.extension],
  [oursOther.Holder_ids, esOther.Holder_ids],
  [oursOther.flagBits, esOther.flag_bits],
  [oursOther.otherNote, esOther.other_note],
];

const baseExtensions: Pair[] = [
  [oursEd.nums, esEd.nums],
  [oursEd.expandedNums, esEd.expanded_nums],
  [oursEd.item, esEd.item],
  [oursEd.shade, esEd.shade],
  [oursEd.label, esEd.label],
];

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function sameValue(x: Extension<any, any>, a: unknown, b: unknown): boolean {
  return equals(x.$t, { value: a }, { value: b });
}

/**
 * Random messages with random extensions (and unknown fields): binary both ways (equal
 * bytes), JSON with the extensions in the registry both ways. Returns the number of
 * extension values set.
 */
function crossCheck(type: MessageType<any>, schema: DescMessage, pairs: Pair[], seed: number, n: number): number {
  const registry = createRegistry(...pairs.map((p) => p[0]));
  const esRegistry = es.createRegistry(...pairs.map((p) => p[1]));
  const g = new Gen(rng(seed));
  let set = 0;
  for (let i = 0; i < n; i++) {
    const m = random(g, type, 0, 300);
    for (const [x] of pairs) {
      if (!g.chance(0.4)) continue;
      const v = random(g, x.$t, 1)["value"];
      if (v === undefined) continue;
      setExtension(m, x, v);
      set++;
    }
    const where = `${type.typeName} #${i} (seed ${seed})`;
    const b1 = type.toBinary(m);
    const e = es.fromBinary(schema, b1);
    assert.equal(hex(es.toBinary(schema, e)), hex(b1), `@bufbuild/protobuf re-encoded different bytes: ${where}`);
    const back = type.fromBinary(b1);
    for (const [x, ex] of pairs) {
      assert.equal(hasExtension(back, x), es.hasExtension(e, ex), `hasExtension ${x.typeName}: ${where}`);
      assert.ok(
        sameValue(x, getExtension(m, x), getExtension(back, x)),
        `binary round trip of ${x.typeName}: ${where}`,
      );
    }
    const j1 = toJson(type, m, { registry });
    assert.deepEqual(es.toJson(schema, e, { registry: esRegistry }), j1, `JSON (es vs ours): ${where}`);
    const e2 = es.fromJson(schema, j1 as es.JsonValue, { registry: esRegistry });
    const fromEs = fromJson(type, es.toJson(schema, e2, { registry: esRegistry }) as JsonValue, { registry });
    for (const [x] of pairs) {
      assert.ok(
        sameValue(x, getExtension(m, x), getExtension(fromEs, x)),
        `JSON round trip of ${x.typeName}: ${where}`,
      );
    }
    const j3 = toJson(type, m, { registry, emitDefaults: true, useProtoFieldName: true });
    assert.deepEqual(toJson(type, fromJson(type, j3, { registry }), { registry }), j1, `JSON with defaults: ${where}`);
  }
  return set;
}

export const cases: Array<[string, () => void]> = [
  [
    "extensions: random messages with extensions and unknown fields agree with @bufbuild/protobuf, binary and JSON (1000 proto2, 1000 editions)",
    () => {
      const a = crossCheck(ours.Account, esExt.AccountSchema, accountExtensions, 21, 1000);
      const b = crossCheck(oursEd.Base, esEd.BaseSchema, baseExtensions, 22, 1000);
      console.log(`extensions: 2000 random messages, ${a + b} extension values, 0 mismatches`);
    },
  ],
  [
    "extensions: unset ones read as their default; set, has, clear; values live in $unknown next to other unknown fields",
    () => {
      const m = ours.Account.create({ id: "x" });
      assert.equal(getExtension(m, ours.extInt32), 7, "proto2 [default = 7]");
      assert.equal(getExtension(m, ours.extSint64), BigInt(0));
      assert.deepEqual(getExtension(m, ours.extPacked), []);
      assert.deepEqual(getExtension(m, ours.extNote), ours.Note.create());
      assert.equal(getExtension(m, ours.extLevel), ours.Level.LEVEL_LOW, "a closed enum's first value");
      assert.equal(hasExtension(m, ours.extInt32), false);
      m.$unknown = new BinaryWriter().tag(500, WireType.Varint).uint32(1).finish();
      setExtension(m, ours.extInt32, 0);
      setExtension(m, ours.extPacked, [1, 2, 300]);
      setExtension(m, ours.Account_owner, "me");
      setExtension(m, oursOther.otherNote, { text: "n" });
      assert.equal(hasExtension(m, ours.extInt32), true, "zero is set (explicit presence)");
      // The same bytes as protobuf-es writes for these extensions.
      const e = es.create(esExt.AccountSchema, { id: "x" });
      e.$unknown = [{ no: 500, wireType: EsWireType.Varint, data: new Uint8Array([1]) }];
      es.setExtension(e, esExt.ext_int32, 0);
      es.setExtension(e, esExt.ext_packed, [1, 2, 300]);
      es.setExtension(e, esExt.Account_owner, "me");
      es.setExtension(e, esOther.other_note, es.create(esExt.NoteSchema, { text: "n" }));
      const bytes = ours.Account.toBinary(m);
      assert.equal(hex(bytes), hex(es.toBinary(esExt.AccountSchema, e)));
      const back = ours.Account.fromBinary(bytes);
      assert.deepEqual(getExtension(back, ours.extPacked), [1, 2, 300]);
      assert.equal(getExtension(back, ours.Account_owner), "me");
      assert.equal(getExtension(back, oursOther.otherNote).text, "n");
      // Setting again replaces; clearing removes only that extension.
      setExtension(back, ours.extInt32, 5);
      setExtension(back, ours.extInt32, 6);
      assert.equal(getExtension(back, ours.extInt32), 6);
      clearExtension(back, ours.extPacked);
      assert.equal(hasExtension(back, ours.extPacked), false);
      assert.deepEqual(getExtension(back, ours.extPacked), []);
      assert.equal(getExtension(back, ours.Account_owner), "me");
      clearExtension(back, ours.extInt32);
      clearExtension(back, ours.Account_owner);
      clearExtension(back, oursOther.otherNote);
      assert.equal(hex(back.$unknown ?? new Uint8Array(0)), "a01f01", "only the unknown field 500 is left");
      clearExtension(back, ours.extInt32);
      // A repeated extension set to [] is cleared; message extensions merge like fields.
      setExtension(back, ours.extStrings, []);
      assert.equal(hasExtension(back, ours.extStrings), false);
      const twice = new Uint8Array([
        ...ours.Account.toBinary(noteExt({ text: "a" })),
        ...ours.Account.toBinary(noteExt({})),
      ]);
      assert.equal(getExtension(ours.Account.fromBinary(twice), ours.extNote).text, "a");
      // A record of the extension's number with the wrong wire type is an error on read.
      const bad = ours.Account.create({
        $unknown: new BinaryWriter().tag(101, WireType.LengthDelimited).bytes(new Uint8Array(1)).finish(),
      });
      assert.throws(() => getExtension(bad, ours.extInt32), ProtobufError);
    },
  ],
  [
    'extensions in JSON: "[pkg.ext]" keys through the registry, like @bufbuild/protobuf',
    () => {
      const m = ours.Account.create({ id: "x" });
      setExtension(m, ours.extInt32, 3);
      setExtension(m, ours.Account_owner, "me");
      setExtension(m, oursOther.Holder_ids, [BigInt(1), BigInt("18446744073709551615")]);
      setExtension(m, ours.extgroup, { a: 1 });
      const registry = createRegistry(ours.extInt32, ours.Account_owner, oursOther.Holder_ids, ours.extgroup);
      const json = {
        id: "x",
        "[codegen.ext.ext_int32]": 3,
        "[codegen.ext.Account.owner]": "me",
        "[codegen.ext.other.Holder.ids]": ["1", "18446744073709551615"],
        "[codegen.ext.extgroup]": { a: 1 },
      };
      assert.deepEqual(toJson(ours.Account, m, { registry }), json);
      assert.deepEqual(toJson(ours.Account, m, { registry, useProtoFieldName: true }), json);
      assert.deepEqual(toJson(ours.Account, m), { id: "x" }, "without the registry, extensions are unknown fields");
      const back = fromJson(ours.Account, json, { registry });
      assert.equal(getExtension(back, ours.extInt32), 3);
      assert.deepEqual(getExtension(back, oursOther.Holder_ids), [BigInt(1), BigInt("18446744073709551615")]);
      assert.equal(getExtension(back, ours.extgroup).a, 1);
      assert.throws(() => fromJson(ours.Account, json), /unknown field "\[codegen\.ext\.ext_int32\]"/);
      assert.equal(hasExtension(fromJson(ours.Account, json, { ignoreUnknownFields: true }), ours.extInt32), false);
      // An extension of another message is not a key of this one; a bad value names it.
      const edRegistry = createRegistry(oursEd.label);
      assert.throws(
        () => fromJson(ours.Account, { "[codegen.ext.editions.label]": "a" }, { registry: edRegistry }),
        /unknown field/,
      );
      assert.throws(
        () => fromJson(ours.Account, { "[codegen.ext.ext_int32]": "x" }, { registry }),
        (e: unknown) => e instanceof ProtobufError && e.message.includes("[codegen.ext.ext_int32]"),
      );
      // The same as protobuf-es reads.
      const esRegistry = es.createRegistry(esExt.ext_int32, esExt.Account_owner, esOther.Holder_ids, esExt.extgroup);
      const e = es.fromJson(esExt.AccountSchema, json, { registry: esRegistry });
      assert.equal(hex(es.toBinary(esExt.AccountSchema, e)), hex(ours.Account.toBinary(back)));
    },
  ],
];

function noteExt(note: ours.Note): ours.Account {
  const m = ours.Account.create();
  setExtension(m, ours.extNote, note);
  return m;
}
