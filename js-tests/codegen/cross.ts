// Cross-implementation checks between our generated code (out/ours, grpcweb-client codec)
// and @bufbuild/protobuf (out/es, protoc-gen-es) on randomized messages of the fixtures.
// test/codegen.test.ts compiles this file with the generated code and runs `cases`;
// the codec's own checks are in cases.ts.

import assert from "node:assert/strict";
import * as es from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import {
  ProtobufError,
  clone,
  createRegistry,
  equals,
  fromJson,
  toJson,
  type JsonValue,
  type MessageType,
} from "grpcweb-client";
import * as oursAll from "./out/ours/codegen/all_types_pb.js";
import * as oursP2 from "./out/ours/codegen/proto2_pb.js";
import * as oursEd from "./out/ours/codegen/editions_pb.js";
import * as oursEd24 from "./out/ours/codegen/editions2024_pb.js";
import * as oursString from "./out/ours-int64-string/codegen/all_types_pb.js";
import * as oursNumber from "./out/ours-int64-number/codegen/all_types_pb.js";
import * as esAll from "./out/es/codegen/all_types_pb.js";
import * as esP2 from "./out/es/codegen/proto2_pb.js";
import * as esEd from "./out/es/codegen/editions_pb.js";
import * as esEd24 from "./out/es/codegen/editions2024_pb.js";
import * as esWrappers from "./out/es/codegen/wrappers_pb.js";
import * as unwrapAll from "./out/ours-unwrap/codegen/all_types_pb.js";
import * as unwrapWrappers from "./out/ours-unwrap/codegen/wrappers_pb.js";
import { Gen, random, rng } from "./random.js";

type Obj = Record<string, any>;

const registry = createRegistry(oursAll.AllTypes_Nested);
const esRegistry = es.createRegistry(esAll.AllTypes_NestedSchema);

function withoutUnknown(type: MessageType<any>, msg: Obj): Obj {
  const c = clone(type, msg);
  delete c["$unknown"];
  return c;
}

function jsonDiff(a: unknown, b: unknown): string {
  const x = (a ?? {}) as Obj;
  const y = (b ?? {}) as Obj;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  const out: string[] = [];
  for (const k of keys) {
    const l = JSON.stringify(x[k]);
    const r = JSON.stringify(y[k]);
    if (l !== r) out.push(`${k}: ${l?.slice(0, 300)} vs ${r?.slice(0, 300)}`);
  }
  return out.join("; ");
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** ours -> bytes -> es -> bytes -> ours, and JSON both ways, for `n` random messages. */
function crossCheck(type: MessageType<any>, schema: DescMessage, seed: number, n: number, unknownFrom: number): void {
  const g = new Gen(rng(seed));
  for (let i = 0; i < n; i++) {
    const m = random(g, type, 0, unknownFrom);
    const b1 = type.toBinary(m);
    const e = es.fromBinary(schema, b1);
    const b2 = es.toBinary(schema, e);
    const back = type.fromBinary(b2);
    const where = `${type.typeName} #${i} (seed ${seed}) bytes ${hex(b1)}`;
    assert.ok(equals(type, m, back), `binary round trip through @bufbuild/protobuf changed the message: ${where}`);
    assert.equal(hex(b2), hex(b1), `@bufbuild/protobuf re-encoded different bytes: ${where}`);
    // Field-by-field: the values es decoded, seen through JSON, equal ours.
    const j1 = toJson(type, m, { registry });
    const esJson = es.toJson(schema, e, { registry: esRegistry });
    assert.deepEqual(esJson, j1, `JSON of the decoded message differs (es vs ours): ${jsonDiff(esJson, j1)}: ${where}`);
    // JSON both ways.
    const e2 = es.fromJson(schema, j1 as es.JsonValue, { registry: esRegistry });
    const fromEsJson = fromJson(type, es.toJson(schema, e2, { registry: esRegistry }) as JsonValue, { registry });
    assert.ok(
      equals(type, withoutUnknown(type, m), fromEsJson),
      `JSON round trip through @bufbuild/protobuf changed the message: ${where}`,
    );
    // And with defaults emitted and proto names.
    const j3 = toJson(type, m, { registry, emitDefaults: true, useProtoFieldName: true });
    assert.ok(equals(type, withoutUnknown(type, m), fromJson(type, j3, { registry })), `JSON with defaults: ${where}`);
  }
}

/** Named checks; the test file registers each as a node:test case. */
export const cases: Array<[string, () => void | Promise<void>]> = [
  [
    "proto3 all types: binary and JSON agree with @bufbuild/protobuf (2000 random messages)",
    () => crossCheck(oursAll.AllTypes, esAll.AllTypesSchema, 1, 2000, 500),
  ],
  [
    "well-known types: binary and JSON agree with @bufbuild/protobuf (1000 random messages)",
    () => crossCheck(oursAll.WellKnown, esAll.WellKnownSchema, 2, 1000, 500),
  ],
  [
    "proto2 (groups, closed enums, required, extensions as unknown fields) agrees with @bufbuild/protobuf (1000 random messages)",
    () => crossCheck(oursP2.Proto2Types, esP2.Proto2TypesSchema, 3, 1000, 100),
  ],
  [
    "editions 2023 (presence, delimited, expanded, closed enums, utf8) agrees with @bufbuild/protobuf (1000 random messages each)",
    () => {
      crossCheck(oursEd.EditionsTypes, esEd.EditionsTypesSchema, 4, 1000, 100);
      crossCheck(oursEd.ImplicitMessage, esEd.ImplicitMessageSchema, 5, 1000, 100);
      // Delimited fields use group wire types; expanded lists are not packed.
      const bytes = oursEd.EditionsTypes.toBinary(
        oursEd.EditionsTypes.create({ delimitedChild: { a: 1 }, expandedInt32: [1, 2], requiredInt64: BigInt(0) }),
      );
      assert.equal(hex(bytes), "2000300130023b08013c");
    },
  ],
  [
    "editions 2024 (features, local and exported types) agrees with @bufbuild/protobuf (1000 random messages)",
    () => crossCheck(oursEd24.Record2024, esEd24.Record2024Schema, 6, 1000, 100),
  ],
  [
    "proto2 required and editions LEGACY_REQUIRED: encoding an unset one throws like @bufbuild/protobuf; decoding does not check",
    () => {
      const throwsBoth = (what: string, ours: () => unknown, theirs: () => unknown, field: RegExp): void => {
        assert.throws(theirs, /required field not set/, `@bufbuild/protobuf: ${what}`);
        assert.throws(ours, (e: unknown) => e instanceof ProtobufError && field.test(e.message), `ours: ${what}`);
      };
      const P2 = oursP2.Proto2Types;
      const p2Schema = esP2.Proto2TypesSchema;
      const unset = /^cannot encode codegen\.proto2\.Proto2Types to (binary|JSON): required field r_uint32 is not set$/;
      throwsBoth(
        "toBinary, unset",
        () => P2.toBinary(P2.create()),
        () => es.toBinary(p2Schema, es.create(p2Schema)),
        unset,
      );
      throwsBoth(
        "toJson, unset",
        () => toJson(P2, P2.create()),
        () => es.toJson(p2Schema, es.create(p2Schema)),
        unset,
      );
      // In a nested message too, and a required message field.
      const ok = { rUint32: 1, requiredInner: { x: 1 } };
      throwsBoth(
        "toBinary, unset in a child",
        () => P2.toBinary(P2.create({ ...ok, child: {} })),
        () => es.toBinary(p2Schema, es.create(p2Schema, { ...ok, child: {} })),
        unset,
      );
      throwsBoth(
        "toBinary, unset in another type",
        () => P2.toBinary(P2.create({ ...ok, inner: { y: "y" } })),
        () => es.toBinary(p2Schema, es.create(p2Schema, { ...ok, inner: { y: "y" } })),
        /^cannot encode codegen\.proto2\.Proto2Types\.Inner to binary: required field x is not set$/,
      );
      throwsBoth(
        "toJson, required message field unset",
        () => toJson(P2, P2.create({ rUint32: 1 })),
        () => es.toJson(p2Schema, es.create(p2Schema, { rUint32: 1 })),
        /^cannot encode codegen\.proto2\.Proto2Types to JSON: required field required_inner is not set$/,
      );
      const Ed = oursEd.EditionsTypes;
      throwsBoth(
        "editions LEGACY_REQUIRED",
        () => Ed.toBinary(Ed.create()),
        () => es.toBinary(esEd.EditionsTypesSchema, es.create(esEd.EditionsTypesSchema)),
        /^cannot encode codegen\.editions\.EditionsTypes to binary: required field required_int64 is not set$/,
      );
      // Set to zero values, they are written (explicit presence): the same bytes as es.
      const zeros = { rUint32: 0, requiredInner: { x: 0 } };
      const zero = P2.toBinary(P2.create(zeros));
      assert.equal(hex(zero), hex(es.toBinary(p2Schema, es.create(p2Schema, zeros))));
      assert.equal(hex(zero), "4000ba01020800");
      // Decoding (binary and JSON) accepts a message without it, in both.
      const fromEmpty = P2.fromBinary(new Uint8Array(0));
      assert.equal(fromEmpty.rUint32, undefined);
      const esField = p2Schema.fields.find((f) => f.name === "r_uint32");
      assert.ok(esField !== undefined);
      assert.equal(es.isFieldSet(es.fromBinary(p2Schema, new Uint8Array(0)), esField), false);
      assert.equal(fromJson(P2, {}).rUint32, undefined);
      assert.equal(es.isFieldSet(es.fromJson(p2Schema, {}), esField), false);
    },
  ],
  [
    "int64=string and int64=number output agree with @bufbuild/protobuf (1000 random messages each)",
    () => {
      crossCheck(oursString.AllTypes, esAll.AllTypesSchema, 9, 1000, 500);
      crossCheck(oursNumber.AllTypes, esAll.AllTypesSchema, 10, 1000, 500);
      const s = oursString.AllTypes.fromBinary(
        oursAll.AllTypes.toBinary(oursAll.AllTypes.create({ fInt64: BigInt(-5), jNormal: BigInt(7) })),
      );
      assert.equal(s.fInt64, "-5");
      assert.equal(s.jNormal, BigInt(7), "jstype = JS_NORMAL stays bigint");
      const n = oursNumber.AllTypes.fromBinary(
        oursAll.AllTypes.toBinary(oursAll.AllTypes.create({ fInt64: BigInt(-5), jString: "6" })),
      );
      assert.equal(n.fInt64, -5);
      assert.equal(n.jString, "6", "jstype = JS_STRING stays string");
    },
  ],
  [
    "unwrap_wrappers=true: wrapper fields as plain values agree with @bufbuild/protobuf, which unwraps them (1000 random messages each)",
    () => {
      crossCheck(unwrapWrappers.Wrapped, esWrappers.WrappedSchema, 11, 1000, 100);
      crossCheck(unwrapAll.WellKnown, esAll.WellKnownSchema, 12, 1000, 500);
      const W = unwrapWrappers.Wrapped;
      const init = { int32Value: 0, stringValue: "0", doubleValue: -0, bytesValue: new Uint8Array([1]) };
      const bytes = W.toBinary(W.create(init));
      // Zero values are written as empty wrappers (the field is set), -0 is not zero.
      assert.equal(hex(bytes), "0a090900000000000000802a0042030a01304a030a0101");
      assert.equal(hex(bytes), hex(es.toBinary(esWrappers.WrappedSchema, es.create(esWrappers.WrappedSchema, init))));
      const back = W.fromBinary(bytes);
      assert.deepEqual([back.int32Value, back.stringValue, back.floatValue], [0, "0", undefined]);
      assert.ok(Object.is(back.doubleValue, -0));
      assert.deepEqual(toJson(W, back), { doubleValue: -0, int32Value: 0, stringValue: "0", bytesValue: "AQ==" });
      assert.equal(fromJson(W, { int64Value: "5", boolValue: null }).int64Value, BigInt(5));
      // Two occurrences merge like messages: an empty second one keeps the value.
      const twice = new Uint8Array([0x28 + 2, 2, 0x08, 7, 0x2a, 0]);
      assert.equal(W.fromBinary(twice).int32Value, 7);
    },
  ],
  [
    "bytes from @bufbuild/protobuf decode to equal values (es create -> ours)",
    () => {
      const e = es.create(esAll.AllTypesSchema, {
        fInt64: BigInt("-9223372036854775808"),
        fUint64: BigInt("18446744073709551615"),
        fString: "héllo",
        rInt32: [1, -1, 300],
        mInt64String: { "-5": "x" },
        choice: { case: "cMessage", value: { a: 7 } },
        jString: "12345678901234567",
        jNumber: BigInt(9),
      });
      const m = oursAll.AllTypes.fromBinary(es.toBinary(esAll.AllTypesSchema, e));
      assert.equal(m.fInt64, BigInt("-9223372036854775808"));
      assert.equal(m.fUint64, BigInt("18446744073709551615"));
      assert.equal(m.fString, "héllo");
      assert.deepEqual(m.rInt32, [1, -1, 300]);
      assert.deepEqual(m.mInt64String, { "-5": "x" });
      assert.equal(m.choice.case, "cMessage");
      assert.equal(m.choice.case === "cMessage" ? m.choice.value.a : 0, 7);
      assert.equal(m.jString, "12345678901234567");
      assert.equal(m.jNumber, 9);
      assert.equal(typeof m.jNormal, "bigint");
    },
  ],
];
