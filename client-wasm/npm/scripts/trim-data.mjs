// Drops the data only `alloc`'s panics used. The build turns those panics into a trap
// (build.mjs, step 2) and wasm-opt then removes their code, but it cannot tell which bytes
// of the data segment that code read: the source paths, the "memory allocation of ...
// bytes failed" and "capacity overflow" messages and core::fmt's digit table stay, about
// 450 bytes at the end of the segment. rustc lays them out after our own data, from the
// first panic location's path ("/rustc/<hash>/library/...") on. This cuts the segment
// there, after checking that nothing left points at or past the cut: no address in the
// code (an `i32.const` or a load/store offset, read from wasm-dis's text) and no
// pointer-sized value in the data kept. Memory past the cut then reads as zeros, which
// nothing reads.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const MARKER = Buffer.from("/rustc/");

/** LEB128 reader over `b` from `p`: returns [value, next position]. */
function leb(b, p) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = b[p++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, p];
}

function uleb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return Buffer.from(out);
}

/**
 * The module in `wasmFile` with its data segment cut before the panic data, or unchanged (with a note)
 * when the module does not have the expected shape. Throws when the panic data is still
 * referenced: then the trap pass missed a panic path.
 */
export function trimPanicData(wasmFile, wasmDis) {
  const wasm = readFileSync(wasmFile);
  // The module's sections; the data section must hold one active segment at an
  // `i32.const` offset (rustc's layout).
  let p = 8;
  let data;
  while (p < wasm.length) {
    const id = wasm[p];
    const [len, body] = leb(wasm, p + 1);
    if (id === 11) data = { start: p, body, end: body + len };
    p = body + len;
  }
  if (!data) return note(wasm, "no data section");
  let [count, q] = leb(wasm, data.body);
  const [flags, q1] = leb(wasm, q);
  if (count !== 1 || flags !== 0 || wasm[q1] !== 0x41) return note(wasm, "not one active segment");
  // The offset: a signed LEB128 `i32.const`, positive here.
  const [base, q2] = leb(wasm, q1 + 1);
  if (wasm[q2] !== 0x0b) return note(wasm, "unexpected segment offset");
  const [size, bytesAt] = leb(wasm, q2 + 1);
  const segment = wasm.subarray(bytesAt, bytesAt + size);
  const cut = segment.indexOf(MARKER);
  if (cut < 0) return note(wasm, "no panic location in the data");

  // Every address the code names, and every u32 the kept data holds.
  const text = execFileSync(wasmDis, [wasmFile], { maxBuffer: 64 << 20, encoding: "utf8" });
  const refs = [...text.matchAll(/i32\.const (-?\d+)|offset=(\d+)/g)].map((m) => Number(m[1] ?? m[2]));
  for (let i = 0; i + 4 <= cut; i++) refs.push(segment.readUInt32LE(i));
  const bad = refs.filter((a) => a >= base + cut && a < base + size);
  if (bad.length > 0) {
    throw new Error(`trim-data: addresses ${bad.join(", ")} point into the panic data (from offset ${cut})`);
  }

  const kept = segment.subarray(0, cut);
  const body = Buffer.concat([uleb(1), uleb(0), Buffer.from([0x41]), sleb(base), Buffer.from([0x0b]), uleb(cut), kept]);
  return Buffer.concat([
    wasm.subarray(0, data.start),
    Buffer.from([11]),
    uleb(body.length),
    body,
    wasm.subarray(data.end),
  ]);
}

/** Signed LEB128 of a non-negative `n`. */
function sleb(n) {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n === 0 && (byte & 0x40) === 0) {
      out.push(byte);
      return Buffer.from(out);
    }
    out.push(byte | 0x80);
  }
}

function note(wasm, why) {
  console.log(`trim-data: kept the data segment as it is (${why})`);
  return wasm;
}
