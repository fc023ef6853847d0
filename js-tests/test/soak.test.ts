// A soak of the client itself in Node: 100,000 calls of the generated client on
// grpcweb-client through grpcweb-proxy (in front of interop-server), mixing unary calls
// (OK and error status), server streams, and aborts mid-stream and before any answer, in
// binary and text (support/soak-client.ts, run in a child `node --expose-gc`). Every call must end as
// expected, and after the run the JS heap and the wasm core's memory must be where they
// were after a warm-up.
//
// Tolerances. The wasm memory (linear memory only grows) may gain at most 256 KiB (four
// pages) over the 90,000 calls after the warm-up: room for the allocator to reach a new
// high-water mark under a different mix of calls in flight, while a leak of 3 bytes per
// call would exceed it. The JS heap, sampled after repeated full collections, may gain at
// most 3 MiB: V8's heap after a GC moves by about a megabyte run to run (code, inline
// caches, the HTTP client's pools), while a leak of one small object per call (32 bytes
// and up, e.g. a listener or a promise kept by an AbortSignal) would add 2.9 MB or more.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { startServer, type Server } from "./support/processes.js";

/** 100,000, or $GRPCWEB_SOAK_CALLS (at least 1,000); the warm-up is the first tenth. */
const CALLS = Math.max(1_000, Number(process.env["GRPCWEB_SOAK_CALLS"] ?? "") || 100_000);
const WARMUP = Math.floor(CALLS / 10);
const CONCURRENCY = 32;
const WASM_TOLERANCE_BYTES = 256 * 1024;
const HEAP_TOLERANCE_BYTES = 3 * 1024 * 1024;

interface Sample {
  heapUsed: number;
  wasmBytes: number;
}
interface SoakResult {
  seconds: number;
  memories: number;
  warm: Sample;
  end: Sample;
  counts: Record<string, number>;
  unexpected: string[];
}

describe(`client soak in Node: ${CALLS} calls, heap and wasm memory flat`, () => {
  let backend: Server | undefined;
  let proxy: Server | undefined;

  before(async () => {
    backend = await startServer("interop-server", ["--port", "0"]);
    proxy = await startServer("grpcweb-proxy", ["--listen", "127.0.0.1:0", "--backend", `http://${backend.addr}`]);
  });

  after(async () => {
    await proxy?.stop();
    await backend?.stop();
  });

  it(`${CALLS} calls (unary, errors, streams, aborts), binary and text in turn`, { timeout: 600_000 }, async (t) => {
    assert.ok(proxy !== undefined, "proxy not started");
    const script = fileURLToPath(new URL("./support/soak-client.js", import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--expose-gc", script, `http://${proxy.addr}`, String(CALLS), String(WARMUP), String(CONCURRENCY), "both"],
      { cwd: fileURLToPath(new URL("../../", import.meta.url)), maxBuffer: 1 << 20 },
    );
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as SoakResult;
    const mib = (n: number): string => `${(n / 1048576).toFixed(2)} MiB`;
    t.diagnostic(
      `${CALLS} calls in ${result.seconds.toFixed(1)} s (${JSON.stringify(result.counts)}); ` +
        `heap ${mib(result.warm.heapUsed)} -> ${mib(result.end.heapUsed)}, ` +
        `wasm memory ${mib(result.warm.wasmBytes)} -> ${mib(result.end.wasmBytes)}`,
    );
    assert.deepEqual(result.unexpected, []);
    assert.equal(
      Object.values(result.counts).reduce((a, b) => a + b, 0),
      CALLS,
      "every call ended as expected",
    );
    assert.ok(result.memories >= 1, "the wasm core's memory was not found");
    assert.ok(
      result.end.wasmBytes - result.warm.wasmBytes <= WASM_TOLERANCE_BYTES,
      `wasm memory grew from ${result.warm.wasmBytes} to ${result.end.wasmBytes} bytes`,
    );
    assert.ok(
      result.end.heapUsed - result.warm.heapUsed <= HEAP_TOLERANCE_BYTES,
      `JS heap grew from ${mib(result.warm.heapUsed)} to ${mib(result.end.heapUsed)}`,
    );
  });
});
