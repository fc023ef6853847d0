// The codec and generated code on their own: wire tables, malformed input, fuzzing,
// JSON spellings, helpers, names and service clients. test/codegen.test.ts runs `cases`.

import assert from "node:assert/strict";
import {
  BinaryReader,
  BinaryWriter,
  ProtobufError,
  WireType,
  callMethod,
  clone,
  createClient,
  createRegistry,
  durationFromMs,
  durationToMs,
  equals,
  fromJson,
  getField,
  oneofValue,
  timestampFromDate,
  timestampToDate,
  toJson,
  type FieldInfo,
  type JsonValue,
  type MessageType,
  type MethodDescriptor,
  type Transport,
} from "grpcweb-client";
import * as oursAll from "./out/ours/codegen/all_types_pb.js";
import * as oursP2 from "./out/ours/codegen/proto2_pb.js";
import * as oursEd from "./out/ours/codegen/editions_pb.js";
import * as oursNames from "./out/ours/codegen/names_pb.js";
import { Clash } from "./out/ours/codegen/clash_pb.js";
import { Any, Duration, Timestamp } from "grpcweb-client/wkt";
import * as oursWkts from "grpcweb-client/wkt";
import * as oursMsgs from "./out/ours/grpc/testing/messages_pb.js";
import * as oursTest from "./out/ours/grpc/testing/test_grpcweb.js";
import { Gen, random, rng } from "./random.js";

const registry = createRegistry(oursAll.AllTypes_Nested);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function throwsProtobufError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtobufError && pattern.test(e.message));
}

function fakeTransport(log: Array<[MethodDescriptor<any, any>, unknown]>): Transport {
  return {
    unary: async <I, O>(method: MethodDescriptor<I, O>, input: I): Promise<O> => {
      log.push([method, input]);
      return method.decode(new Uint8Array([0x12, 0x02, 0x68, 0x69]));
    },
    serverStream: <I, O>(method: MethodDescriptor<I, O>, input: I): AsyncIterable<O> => {
      log.push([method, input]);
      return (async function* () {
        yield method.decode(new Uint8Array([0x0a, 0x02, 0x12, 0x00]));
      })();
    },
  };
}

/** Named checks; the test file registers each as a node:test case. */
export const cases: Array<[string, () => void | Promise<void>]> = [
  [
    "packed and unpacked repeated fields are both accepted",
    () => {
      // Field 35 (packed int32) written unpacked, field 48 (unpacked int32) written packed.
      const w = new BinaryWriter().tag(35, WireType.Varint).int32(5).tag(35, WireType.Varint).int32(-1);
      w.tag(48, WireType.LengthDelimited).bytes(new BinaryWriter().int32(1).int32(2).finish());
      const m = oursAll.AllTypes.fromBinary(w.finish());
      assert.deepEqual(m.rInt32, [5, -1]);
      assert.deepEqual(m.rInt32Unpacked, [1, 2]);
    },
  ],
  [
    "unknown fields survive decode and encode",
    () => {
      const bytes = new BinaryWriter()
        .tag(999, WireType.LengthDelimited)
        .string("kept")
        .tag(5, WireType.Varint)
        .int32(3)
        .tag(1000, WireType.Fixed32)
        .fixed32(9)
        .finish();
      const m = oursAll.AllTypes.fromBinary(bytes);
      assert.equal(m.fInt32, 3);
      const again = oursAll.AllTypes.fromBinary(oursAll.AllTypes.toBinary(m));
      assert.deepEqual(again.$unknown, m.$unknown);
      assert.ok(m.$unknown !== undefined && m.$unknown.length === 13);
      // A closed enum value the schema does not know goes to the unknown fields.
      const p2 = oursP2.Proto2Types.fromBinary(new BinaryWriter().tag(5, WireType.Varint).int32(9).finish());
      assert.equal(p2.oKind, undefined);
      assert.deepEqual([...(p2.$unknown ?? [])], [0x28, 9]);
      // ... and so does a map entry whose value is such a number; a missing value is the first one.
      const entry = (value: number[]): number[] => [0xaa, 0x01, 2 + value.length, 0x08, 0x01, ...value];
      const p3 = oursP2.Proto2Types.fromBinary(new Uint8Array([...entry([0x10, 9]), ...entry([])]));
      assert.deepEqual(p3.mKind, { 1: oursP2.Kind.KIND_ONE });
      assert.deepEqual([...(p3.$unknown ?? [])], entry([0x10, 9]));
    },
  ],
  [
    "malformed input throws clear errors",
    () => {
      throwsProtobufError(() => oursAll.AllTypes.fromBinary(new Uint8Array([0x4a, 0x05, 0x61])), /premature end/);
      throwsProtobufError(() => oursAll.AllTypes.fromBinary(new Uint8Array([0x0f, 0x00])), /invalid wire type 7/);
      throwsProtobufError(() => oursAll.AllTypes.fromBinary(new Uint8Array([0x00, 0x00])), /field number 0/);
      throwsProtobufError(() => oursAll.AllTypes.fromBinary(new Uint8Array([0x4a, 0x02, 0xc3, 0x28])), /invalid UTF-8/);
      throwsProtobufError(() => oursAll.AllTypes.fromBinary(new Uint8Array([0x28, 0xff, 0xff])), /premature end/);
      throwsProtobufError(
        () =>
          oursAll.AllTypes.fromBinary(
            new Uint8Array([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
          ),
        /longer than 10 bytes/,
      );
      throwsProtobufError(
        () => oursAll.AllTypes.fromBinary(new Uint8Array([0x4d, 0, 0, 0, 0])),
        /AllTypes.f_string: wire type 5/,
      );
      throwsProtobufError(
        () => oursAll.AllTypes.fromBinary(new Uint8Array([0x9b, 0x01, 0x08, 0x01])),
        /unterminated group/,
      );
      // 101 nested AllTypes.Nested.recursive.f_message... levels: rejected, not a stack overflow.
      let deep: Uint8Array = new Uint8Array(0);
      for (let i = 0; i < 120; i++)
        deep = new BinaryWriter()
          .tag(i % 2 === 0 ? 2 : 18, WireType.LengthDelimited)
          .bytes(deep)
          .finish();
      throwsProtobufError(() => oursAll.AllTypes.fromBinary(deep), /nested more than 100 deep/);
      throwsProtobufError(() => fromJson(oursAll.AllTypes, { fInt32: 1.5 }), /f_int32: not an integer/);
      throwsProtobufError(() => fromJson(oursAll.AllTypes, { fInt32: "4294967296" }), /out of range/);
      throwsProtobufError(() => fromJson(oursAll.AllTypes, { nope: 1 }), /unknown field "nope"/);
      throwsProtobufError(() => fromJson(oursAll.AllTypes, { fInt32: 1, f_int32: 2 }), /f_int32: given twice/);
      throwsProtobufError(
        () => fromJson(oursAll.AllTypes, { cUint32: 1, cString: "x" }),
        /more than one field set in oneof/,
      );
      throwsProtobufError(() => fromJson(oursAll.AllTypes, { fBytes: "!!" }), /invalid base64/);
      // A lone UTF-16 surrogate has no UTF-8 form (protobuf conformance, StringFieldUnpaired*).
      throwsProtobufError(() => fromJson(oursAll.AllTypes, { fString: "\ud800" }), /f_string: lone surrogate/);
      throwsProtobufError(() => fromJson(oursAll.AllTypes, { rString: ["a\udc00"] }), /lone surrogate/);
      throwsProtobufError(
        () => fromJson(oursAll.AllTypes, { mStringString: { "\ude01\ud83d": "" } }),
        /lone surrogate/,
      );
      assert.equal(fromJson(oursAll.AllTypes, { fString: "\ud83d\ude01" }).fString, "\u{1f601}");
      throwsProtobufError(() => fromJson(oursAll.WellKnown, { stringValue: "\ud800" }), /lone surrogate/);
      throwsProtobufError(() => fromJson(oursAll.WellKnown, { value: ["\ud800"] }), /lone surrogate/);
      throwsProtobufError(() => fromJson(oursAll.WellKnown, { struct: { "\udc00": 1 } }), /lone surrogate/);
      throwsProtobufError(() => fromJson(oursAll.WellKnown, { timestamp: "yesterday" }), /invalid Timestamp/);
      assert.deepEqual(
        fromJson(oursAll.AllTypes, { nope: 1 }, { ignoreUnknownFields: true }),
        oursAll.AllTypes.create(),
      );
    },
  ],
  [
    "random and mutated bytes decode or throw ProtobufError, nothing else (20000 inputs)",
    () => {
      const g = new Gen(rng(7));
      const types: Array<MessageType<any>> = [
        oursAll.AllTypes,
        oursAll.WellKnown,
        oursP2.Proto2Types,
        oursEd.EditionsTypes,
      ];
      let decoded = 0;
      for (let i = 0; i < 20000; i++) {
        const type = types[i % types.length] as MessageType<any>;
        let bytes: Uint8Array;
        if (g.chance(0.3)) bytes = g.bytes();
        else {
          bytes = type.toBinary(random(g, type, 0, 300)).slice();
          const flips = 1 + g.int(3);
          for (let j = 0; j < flips && bytes.length > 0; j++) bytes[g.int(bytes.length)] = g.int(256);
          if (g.chance(0.3)) bytes = bytes.subarray(0, g.int(bytes.length + 1));
        }
        try {
          const m = type.fromBinary(bytes);
          // Whatever decoded must encode and decode again to an equal message.
          assert.ok(equals(type, m, type.fromBinary(type.toBinary(m))), `re-encode of ${hex(bytes)}`);
          decoded++;
        } catch (e) {
          if (!(e instanceof ProtobufError)) throw new Error(`${type.typeName}: ${hex(bytes)} threw ${String(e)}`);
        }
      }
      assert.ok(decoded > 1000 && decoded < 19000, `decoded ${decoded}`);
    },
  ],
  [
    "random JSON is parsed or rejected with ProtobufError",
    () => {
      const g = new Gen(rng(8));
      const values: JsonValue[] = [
        null,
        0,
        -1,
        1.5,
        "",
        "x",
        "NaN",
        "1e3",
        "-0",
        true,
        [],
        {},
        [1],
        { a: 1 },
        "AAA=",
        "2020-01-01T00:00:00Z",
        "1s",
      ];
      for (let i = 0; i < 5000; i++) {
        const type = [oursAll.AllTypes, oursAll.WellKnown, oursP2.Proto2Types][i % 3] as MessageType<any>;
        const f = type.fields[g.int(type.fields.length)] as FieldInfo;
        const json: JsonValue = { [g.chance(0.5) ? f.json : f.proto]: values[g.int(values.length)] as JsonValue };
        try {
          fromJson(type, json);
        } catch (e) {
          if (!(e instanceof ProtobufError))
            throw new Error(`${type.typeName}: ${JSON.stringify(json)} threw ${String(e)}`);
        }
      }
    },
  ],
  [
    "repeated occurrences merge messages and keep the last scalar; a __proto__ map key stays a key",
    () => {
      const sub = (b: BinaryWriter): Uint8Array => b.finish();
      const w = new BinaryWriter()
        .tag(5, WireType.Varint)
        .int32(1)
        .tag(5, WireType.Varint)
        .int32(2)
        .tag(18, WireType.LengthDelimited)
        .bytes(sub(new BinaryWriter().tag(1, WireType.Varint).int32(7)))
        .tag(18, WireType.LengthDelimited)
        .bytes(
          sub(
            new BinaryWriter()
              .tag(2, WireType.LengthDelimited)
              .bytes(sub(new BinaryWriter().tag(9, WireType.LengthDelimited).string("r"))),
          ),
        )
        .tag(73, WireType.LengthDelimited)
        .bytes(sub(new BinaryWriter().tag(1, WireType.Varint).int32(3)))
        .tag(72, WireType.LengthDelimited)
        .string("last")
        .tag(61, WireType.LengthDelimited)
        .bytes(
          sub(
            new BinaryWriter()
              .tag(1, WireType.LengthDelimited)
              .string("__proto__")
              .tag(2, WireType.LengthDelimited)
              .string("v"),
          ),
        )
        .tag(66, WireType.LengthDelimited)
        .bytes(sub(new BinaryWriter().tag(1, WireType.LengthDelimited).string("k")));
      const m = oursAll.AllTypes.fromBinary(w.finish());
      assert.equal(m.fInt32, 2);
      assert.equal(m.fMessage?.a, 7);
      assert.equal(m.fMessage?.recursive?.fString, "r");
      assert.deepEqual(m.choice, { case: "cString", value: "last" });
      assert.equal(Object.getPrototypeOf(m.mStringString), Object.prototype);
      assert.deepEqual(Object.keys(m.mStringString), ["__proto__"]);
      assert.equal(m.mStringMessage["k"]?.a, 0);
      assert.deepEqual(
        toJson(oursAll.AllTypes, m),
        JSON.parse(
          '{"fInt32":2,"fMessage":{"a":7,"recursive":{"fString":"r"}},"mStringString":{"__proto__":"v"},"mStringMessage":{"k":{}},"cString":"last"}',
        ),
      );
    },
  ],
  [
    "JSON accepts the proto3 spellings",
    () => {
      const m = fromJson(oursAll.AllTypes, {
        f_int32: "12",
        fInt64: 5,
        fUint32: 1e3,
        fFloat: "Infinity",
        fDouble: "-1.5",
        fBytes: "-_8",
        fEnum: 2,
        fNestedEnum: "LARGE",
        rEnum: ["COLOR_RED", 3],
        fBool: true,
        mBoolEnum: { true: "COLOR_RED" },
        mInt64String: { "-1": "a" },
        oInt64: null,
      });
      assert.equal(m.fInt32, 12);
      assert.equal(m.fInt64, BigInt(5));
      assert.equal(m.fUint32, 1000);
      assert.equal(m.fFloat, Infinity);
      assert.equal(m.fDouble, -1.5);
      assert.deepEqual([...m.fBytes], [0xfb, 0xff]);
      assert.equal(m.fEnum, oursAll.Color.COLOR_GREEN);
      assert.equal(m.fNestedEnum, oursAll.AllTypes_Size.LARGE);
      assert.deepEqual(m.rEnum, [1, 3]);
      assert.deepEqual(m.mBoolEnum, { true: 1 });
      assert.deepEqual(m.mInt64String, { "-1": "a" });
      assert.equal(m.oInt64, undefined);
    },
  ],
  [
    "wire format byte tables",
    () => {
      const enc = (f: (w: BinaryWriter) => void): string => {
        const w = new BinaryWriter();
        f(w);
        return hex(w.finish());
      };
      assert.equal(
        enc((w) => w.uint32(0)),
        "00",
      );
      assert.equal(
        enc((w) => w.uint32(300)),
        "ac02",
      );
      assert.equal(
        enc((w) => w.uint32(0xffffffff)),
        "ffffffff0f",
      );
      assert.equal(
        enc((w) => w.int32(-1)),
        "ffffffffffffffffff01",
      );
      assert.equal(
        enc((w) => w.sint32(-1)),
        "01",
      );
      assert.equal(
        enc((w) => w.sint32(-2147483648)),
        "ffffffff0f",
      );
      assert.equal(
        enc((w) => w.int64(BigInt("-9223372036854775808"))),
        "80808080808080808001",
      );
      assert.equal(
        enc((w) => w.uint64(BigInt("18446744073709551615"))),
        "ffffffffffffffffff01",
      );
      assert.equal(
        enc((w) => w.sint64(BigInt(-3))),
        "05",
      );
      assert.equal(
        enc((w) => w.fixed32(1)),
        "01000000",
      );
      assert.equal(
        enc((w) => w.sfixed64(BigInt(-2))),
        "feffffffffffffff",
      );
      assert.equal(
        enc((w) => w.float(1.5)),
        "0000c03f",
      );
      assert.equal(
        enc((w) => w.double(-2)),
        "00000000000000c0",
      );
      assert.equal(
        enc((w) => w.tag(1, WireType.LengthDelimited).string("é")),
        "0a02c3a9",
      );
      assert.equal(
        enc((w) => w.tag(536870911, WireType.Fixed32)),
        "fdffffff0f",
      );
      const r = (h: string): BinaryReader => new BinaryReader(new Uint8Array(Buffer.from(h, "hex")));
      assert.equal(r("ffffffffffffffffff01").int32(), -1);
      assert.equal(r("ffffffffffffffffff01").int64(), BigInt(-1));
      assert.equal(r("ffffffff0f").sint32(), -2147483648);
      assert.equal(r("05").sint64(), BigInt(-3));
      assert.equal(r("ac02").uint32(), 300);
      // A varint of more than 32 bits read as int32 keeps the low 32 bits (protobuf semantics).
      assert.equal(r("ffffffff1f").int32(), -1);
      assert.deepEqual(r("fdffffff0f").tag(), [536870911, WireType.Fixed32]);
    },
  ],
  [
    "create, equals and clone",
    () => {
      const m = oursAll.AllTypes.create({
        fMessage: { a: 1 },
        rMessage: [{ recursive: { fString: "x" } }],
        mStringMessage: { k: {} },
      });
      assert.equal(m.fInt64, BigInt(0));
      assert.equal(m.fString, "");
      assert.equal(m.oInt64, undefined);
      assert.equal(m.choice.case, undefined);
      assert.equal(m.rMessage[0]?.recursive?.fString, "x");
      assert.equal(m.mStringMessage["k"]?.a, 0);
      const c = clone(oursAll.AllTypes, m);
      assert.ok(equals(oursAll.AllTypes, m, c));
      c.rMessage[0]!.a = 2;
      assert.ok(!equals(oursAll.AllTypes, m, c));
      assert.equal(m.rMessage[0]?.a, 0);
    },
  ],
  [
    "well-known type helpers and JSON forms",
    () => {
      const d = new Date("2020-02-29T12:34:56.789Z");
      const ts = Timestamp.create(timestampFromDate(d));
      assert.equal(timestampToDate(ts).getTime(), d.getTime());
      assert.equal(toJson(Timestamp, ts), "2020-02-29T12:34:56.789Z");
      assert.deepEqual(fromJson(Timestamp, "2020-02-29T13:34:56.789+01:00"), ts);
      const dur = Duration.create(durationFromMs(-1500));
      assert.equal(toJson(Duration, dur), "-1.500s");
      assert.equal(durationToMs(fromJson(Duration, "3.000000001s")), 3000.000001);
      const v = fromJson(oursWkts.Value, { a: [1, "x", null, true, { b: {} }] });
      assert.deepEqual(toJson(oursWkts.Value, v), { a: [1, "x", null, true, { b: {} }] });
      const w = fromJson(
        oursAll.WellKnown,
        {
          int64Value: "-5",
          bytesValue: "AQI=",
          fieldMask: "fooBar,x.yZ",
          any: { "@type": "type.googleapis.com/codegen.alltypes.AllTypes.Nested", a: 3 },
        },
        { registry },
      );
      assert.equal(w.int64Value?.value, BigInt(-5));
      assert.deepEqual(w.fieldMask?.paths, ["foo_bar", "x.y_z"]);
      assert.deepEqual(toJson(oursAll.WellKnown, w, { registry }), {
        int64Value: "-5",
        bytesValue: "AQI=",
        fieldMask: "fooBar,x.yZ",
        any: { "@type": "type.googleapis.com/codegen.alltypes.AllTypes.Nested", a: 3 },
      });
      assert.deepEqual(toJson(Any, Any.create()), {});
    },
  ],
  [
    "proto2 defaults through getField; oneof members through oneofValue",
    () => {
      const m = oursP2.Proto2Types.create({ rUint32: 1 });
      assert.equal(m.oInt32, undefined);
      assert.equal(getField(oursP2.Proto2Types, m, "oInt32"), 42);
      assert.equal(getField(oursP2.Proto2Types, m, "oInt64"), BigInt(-7));
      assert.equal(getField(oursP2.Proto2Types, m, "oString"), 'hello "world"');
      assert.deepEqual([...getField(oursP2.Proto2Types, m, "oBytes")], [0x61, 0, 0x62]);
      assert.equal(getField(oursP2.Proto2Types, m, "oKind"), oursP2.Kind.KIND_TWO);
      assert.equal(getField(oursP2.Proto2Types, m, "oFloat"), Infinity);
      assert.equal(getField(oursP2.Proto2Types, m, "oBool"), true);
      assert.equal(getField(oursP2.Proto2Types, m, "s"), "");
      m.oInt32 = 0;
      assert.equal(getField(oursP2.Proto2Types, m, "oInt32"), 0);
      const a = oursAll.AllTypes.create({ choice: { case: "cString", value: "x" } });
      const s: string | undefined = oneofValue(a.choice, "cString");
      assert.equal(s, "x");
      assert.equal(oneofValue(a.choice, "cUint32"), undefined);
    },
  ],
  [
    "awkward names round-trip",
    () => {
      const o = oursNames.Object$.create({
        constructor$: 1,
        toString$: "s",
        default: true,
        class: { case: "function", value: "f" },
      });
      const back = oursNames.Object$.fromBinary(oursNames.Object$.toBinary(o));
      assert.ok(equals(oursNames.Object$, o, back));
      assert.deepEqual(toJson(oursNames.Object$, o), { constructor: 1, toString: "s", default: true, function: "f" });
      // Two fields with one camelCase name: the second property is `fooBar$`.
      const c = Clash.create({ fooBar: 1, fooBar$: 2, fooBaz: { case: "a", value: 3 }, fooBaz$: 4 });
      assert.deepEqual(toJson(Clash, c), { fooBar: 1, fooBarAlt: 2, a: 3, fooBazAlt: 4 });
      assert.deepEqual(fromJson(Clash, { fooBar: 1, fooBarAlt: 2, a: 3, fooBazAlt: 4 }), c);
      assert.deepEqual(Clash.fromBinary(Clash.toBinary(c)), c);
    },
  ],
  [
    "service client calls the transport with typed descriptors",
    async () => {
      const log: Array<[MethodDescriptor<any, any>, unknown]> = [];
      const client = new oursTest.TestServiceClient(fakeTransport(log));
      const res = await client.unaryCall({ responseSize: 3, payload: { body: new Uint8Array([1]) } }, { timeoutMs: 5 });
      assert.equal(res.username, "hi");
      const [method, input] = log[0] as [MethodDescriptor<any, any>, oursMsgs.SimpleRequest];
      assert.equal(method.path, "/grpc.testing.TestService/UnaryCall");
      assert.equal(method.kind, "unary");
      assert.equal(input.responseSize, 3);
      assert.deepEqual(oursMsgs.SimpleRequest.fromBinary(method.encode(input)), input);
      const got = [];
      for await (const m of client.streamingOutputCall({ responseParameters: [{ size: 3 }] })) got.push(m);
      assert.equal(got.length, 1);
      assert.equal(oursTest.TestService.methods.streamingOutputCall.kind, "server_streaming");
      assert.equal(oursTest.TestService.methods.fullDuplexCall.path, "/grpc.testing.TestService/FullDuplexCall");
      async function* none(): AsyncIterable<oursMsgs.StreamingInputCallRequest> {}
      await assert.rejects(client.streamingInputCall(none()), (e: unknown) => (e as { code?: number }).code === 12);
      assert.throws(
        () => client.fullDuplexCall(none()),
        (e: unknown) => (e as { code?: number }).code === 12,
      );
    },
  ],
  [
    "createClient calls the methods it is given, like the generated class",
    async () => {
      const log: Array<[MethodDescriptor<any, any>, unknown]> = [];
      assert.equal(oursTest.TestService.methods.unaryCall, oursTest.TestService_UnaryCall);
      assert.equal(oursTest.TestService_UnaryCall.input, oursMsgs.SimpleRequest);
      assert.equal(oursTest.TestService_UnaryCall.output, oursMsgs.SimpleResponse);
      const one = createClient({ unaryCall: oursTest.TestService_UnaryCall }, fakeTransport(log));
      assert.deepEqual(Object.keys(one), ["unaryCall"]);
      const res = await one.unaryCall({ responseSize: 3 }, { timeoutMs: 5 });
      assert.equal(res.username, "hi");
      const [method, input] = log[0] as [MethodDescriptor<any, any>, oursMsgs.SimpleRequest];
      assert.equal(method, oursTest.TestService_UnaryCall);
      // The request is a complete message: create() filled in the defaults.
      assert.deepEqual(input, oursMsgs.SimpleRequest.create({ responseSize: 3 }));
      const all = createClient(oursTest.TestService.methods, fakeTransport(log));
      const got = [];
      for await (const m of all.streamingOutputCall({ responseParameters: [{ size: 3 }] })) got.push(m);
      assert.equal(got.length, 1);
      assert.equal(log[1]?.[0], oursTest.TestService_StreamingOutputCall);
      async function* none(): AsyncIterable<oursMsgs.StreamingInputCallRequest> {}
      await assert.rejects(all.streamingInputCall(none()), (e: unknown) => (e as { code?: number }).code === 12);
      assert.throws(
        () => all.fullDuplexCall(none()),
        (e: unknown) => (e as { code?: number }).code === 12,
      );
      // The function-style call of one method.
      const direct = await callMethod(
        fakeTransport(log),
        oursTest.TestService_UnaryCall,
        { responseSize: 2 },
        { timeoutMs: 5 },
      );
      assert.equal(direct.username, "hi");
      assert.deepEqual(log.at(-1)?.[1], oursMsgs.SimpleRequest.create({ responseSize: 2 }));
      assert.equal(oursTest.TestService_FullDuplexCall.kind, "bidi_streaming");
    },
  ],
];
