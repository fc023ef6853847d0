// Hand-written field tables (what generated code passes to messageType): the codec of
// 64-bit integer, fixed32, sfixed32, float and double values is given per field (`W: wideScalar`), so that
// apps without such fields do not bundle it; a table that leaves it out is refused with a
// clear error, and with it every such type reads and writes as the public BinaryWriter
// and BinaryReader do.

import assert from "node:assert/strict";
import { test } from "node:test";

import { BinaryReader, BinaryWriter, mapField, messageType, ProtobufError, wideScalar } from "grpcweb-client";

test("a 64-bit, fixed32 or floating-point field without its codec (W) is refused, naming the field", () => {
  for (const T of [1, 2, 3, 4, 6, 7, 15, 16, 18] as const) {
    const M = messageType<{ v: unknown }>("t.M", () => [{ no: 1, name: "v", T }]);
    assert.throws(
      () => M.toBinary(M.create()),
      (e: unknown) =>
        e instanceof ProtobufError &&
        /t\.M\.v: a 64-bit, fixed32 or floating-point field needs its codec \(W\)/.test(e.message),
      `T: ${T}`,
    );
    assert.throws(() => M.fromBinary(new Uint8Array(0)), ProtobufError, `T: ${T}`);
  }
  // A map with a 64-bit key needs it too.
  const Map64 = messageType<{ m: Record<string, string> }>("t.Map64", () => [
    { no: 1, name: "m", K: 3, T: 9, X: mapField },
  ]);
  assert.throws(
    () => Map64.toBinary(Map64.create()),
    /t\.Map64\.m: a 64-bit, fixed32 or floating-point field needs its codec/,
  );
  // The core types need no codec.
  const Core = messageType<{ v: number }>("t.Core", () => [{ no: 1, name: "v", T: 5 }]);
  assert.deepEqual(Core.toBinary({ v: 1 }), new Uint8Array([8, 1]));
});

test("with wideScalar, every 64-bit, fixed32 and floating-point type (singular, packed, map key) matches BinaryWriter and BinaryReader", () => {
  type W = {
    d: number;
    f: number;
    i: bigint;
    u: bigint;
    x: bigint;
    u32: number;
    s32: number;
    sx: bigint;
    s: bigint;
    list: bigint[];
    m: Record<string, number>;
  };
  const M = messageType<W>("t.Wide", () => [
    { no: 1, name: "d", T: 1, W: wideScalar },
    { no: 2, name: "f", T: 2, W: wideScalar },
    { no: 3, name: "i", T: 3, W: wideScalar },
    { no: 4, name: "u", T: 4, W: wideScalar },
    { no: 6, name: "x", T: 6, W: wideScalar },
    { no: 7, name: "u32", T: 7, W: wideScalar },
    { no: 15, name: "s32", T: 15, W: wideScalar },
    { no: 16, name: "sx", T: 16, W: wideScalar },
    { no: 18, name: "s", T: 18, W: wideScalar },
    { no: 19, name: "list", T: 18, W: wideScalar, repeated: true, packed: true },
    { no: 20, name: "m", K: 18, T: 2, W: wideScalar, X: mapField },
  ]);
  const msg: W = {
    d: -1.5,
    f: 0.25,
    i: -2n,
    u: 2n ** 64n - 1n,
    x: 7n,
    u32: 0xffffffff,
    s32: -9,
    sx: -7n,
    s: -3n,
    list: [1n, -1n],
    m: { "-5": 0.5 },
  };
  const w = new BinaryWriter();
  w.tag(1, 1)
    .double(-1.5)
    .tag(2, 5)
    .float(0.25)
    .tag(3, 0)
    .int64(-2n)
    .tag(4, 0)
    .uint64(2n ** 64n - 1n);
  w.tag(6, 1).fixed64(7n).tag(7, 5).fixed32(0xffffffff).tag(15, 5).sfixed32(-9);
  w.tag(16, 1).sfixed64(-7n).tag(18, 0).sint64(-3n);
  const packed = new BinaryWriter().sint64(1n).sint64(-1n).finish();
  w.tag(19, 2).bytes(packed);
  const entry = new BinaryWriter().tag(1, 0).sint64(-5n).tag(2, 5).float(0.5).finish();
  w.tag(20, 2).bytes(entry);
  const bytes = M.toBinary(msg);
  assert.deepEqual(bytes, w.finish());
  assert.deepEqual(M.fromBinary(bytes), msg);
  const r = new BinaryReader(bytes);
  assert.deepEqual(r.tag(), [1, 1]);
  assert.equal(r.double(), -1.5);
  assert.deepEqual(r.tag(), [2, 5]);
  assert.equal(r.float(), 0.25);
  r.key();
  assert.equal(r.int64(), -2n);
  r.key();
  assert.equal(r.uint64(), 2n ** 64n - 1n);
  r.key();
  assert.equal(r.fixed64(), 7n);
  r.key();
  assert.equal(r.fixed32(), 0xffffffff);
  r.key();
  assert.equal(r.sfixed32(), -9);
  r.key();
  assert.equal(r.sfixed64(), -7n);
  r.key();
  assert.equal(r.sint64(), -3n);
});
