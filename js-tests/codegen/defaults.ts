// proto2 defaults read as properties through withDefaults: checked against
// @bufbuild/protobuf, whose messages read unset proto2 fields as their defaults, on random
// messages of protos/codegen/proto2.proto; types, read-only view, unwrapped wrappers.

import assert from "node:assert/strict";
import * as es from "@bufbuild/protobuf";
import { withDefaults, type FieldInfo } from "grpcweb-client";
import { Kind, Proto2Types } from "./out/ours/codegen/proto2_pb.js";
import * as esP2 from "./out/es/codegen/proto2_pb.js";
import { Wrapped } from "./out/ours-unwrap/codegen/wrappers_pb.js";
import { Gen, random, rng } from "./random.js";

type Obj = Record<string, any>;

/** The fields withDefaults fills: scalars and enums outside oneofs, not lists or maps. */
const plain = (f: FieldInfo): boolean =>
  f.oneof === undefined && !f.repeated && f.kind !== "map" && f.kind !== "message";

export const cases: Array<[string, () => void]> = [
  [
    "withDefaults: unset proto2 fields read as their defaults, as @bufbuild/protobuf's messages read them (1000 random messages)",
    () => {
      const g = new Gen(rng(41));
      const fields = Proto2Types.fields.filter(plain);
      assert.deepEqual(
        fields.map((f) => f.name),
        ["oInt32", "oInt64", "oString", "oBytes", "oKind", "oFloat", "oBool", "rUint32", "s"],
      );
      let unset = 0;
      for (let i = 0; i < 1000; i++) {
        const m = random(g, Proto2Types, 0) as Proto2Types;
        m.rUint32 ??= 1;
        const bytes = Proto2Types.toBinary(m);
        const mine = Proto2Types.fromBinary(bytes);
        const theirs = es.fromBinary(esP2.Proto2TypesSchema, bytes) as unknown as Obj;
        const view = withDefaults(Proto2Types, mine) as unknown as Obj;
        for (const f of fields) {
          if ((mine as Obj)[f.name] === undefined) unset++;
          assert.deepEqual(view[f.name], theirs[f.name], f.name);
        }
        // Reading through the view changes nothing: presence and bytes are the message's.
        assert.deepEqual(Proto2Types.toBinary(mine), bytes);
      }
      assert.ok(unset > 1000, `${unset}`);
      console.log(`withDefaults: ${unset} unset fields of 1000 random messages read as protobuf-es reads them`);
    },
  ],
  [
    "withDefaults: typed values, a live read-only view, unwrapped wrappers read as their zero",
    () => {
      const m = Proto2Types.create();
      const v = withDefaults(Proto2Types, m);
      const n: number = v.oInt32;
      const k: Kind = v.oKind;
      assert.deepEqual(
        [n, v.oInt64, v.oString, v.oBytes, k, v.oFloat, v.oBool],
        [42, -7n, 'hello "world"', new Uint8Array([97, 0, 98]), Kind.KIND_TWO, Infinity, true],
      );
      // @ts-expect-error message fields stay optional
      const child: Proto2Types = v.child;
      assert.equal(child, undefined);
      m.oInt32 = 7;
      assert.equal(v.oInt32, 7);
      assert.throws(() => {
        (v as Obj)["oInt32"] = 1;
      }, /withDefaults\(codegen\.proto2\.Proto2Types\) is read-only/);
      // The view filled nothing in: the message still has only what was set.
      assert.deepEqual([m.oString, m.oBool, m.oInt32], [undefined, undefined, 7]);
      const w = withDefaults(Wrapped, Wrapped.create());
      const s: string = w.stringValue;
      assert.deepEqual([s, w.int32Value, w.optionalString], ["", 0, ""]);
      assert.equal(withDefaults(Wrapped, Wrapped.create({ stringValue: "x" })).stringValue, "x");
    },
  ],
];
