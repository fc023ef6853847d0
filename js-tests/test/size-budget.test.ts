// The runtime's size aims as byte budgets (client-wasm/README.md, "Size"): the size
// benchmark's apps (bench/apps), built and loaded in headless Chromium the benchmark's way,
// every file the page downloads counted gzip -9. Byte counts of a pinned bundler and zlib
// are stable, so a change that gives the bytes back fails here rather than in the next
// benchmark run.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

/** The whole one-RPC app (script and wasm), gzip -9. */
const ONE_RPC_APP = 12_000;
/** What calling a second method of a service adds to an app, gzip -9. */
const EXTRA_RPC = 100;
/** The wasm protocol core, gzip -9. */
const WASM = 4_096;

const jsTests = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const binDir = process.env["GRPCWEB_BIN_DIR"] ?? join(jsTests, "..", "target", "debug");

interface Stack {
  gen: string;
  test(calls: string[]): string;
  wide(calls: number, service: string): string;
}
interface Served {
  bytes: Uint8Array;
}
// The benchmark's modules are plain JavaScript: loaded by URL, untyped.
const benchModule = async <T>(file: string): Promise<T> =>
  (await import(pathToFileURL(join(jsTests, "bench", "apps", file)).href)) as T;
const { stacks } = await benchModule<{ stacks: Stack[] }>("apps.mjs");
const { createWorkspace, packageDist } = await benchModule<{
  createWorkspace(plugin: string): { bundle(source: string): Promise<string>; remove(): void };
  packageDist: string;
}>("build.mjs");
const { startSizeSite } = await benchModule<{
  startSizeSite(dist: string): Promise<{ load(outDir: string): Promise<Served[]>; stop(): Promise<void> }>;
}>("page.mjs");

const gzip = (bytes: Uint8Array): number => gzipSync(bytes, { level: 9 }).length;
const ours = stacks.find((s) => s.gen === "ours");
assert.ok(ours, "the size benchmark has no app of ours");

let workspace: ReturnType<typeof createWorkspace>;
let site: Awaited<ReturnType<typeof startSizeSite>>;
before(async () => {
  workspace = createWorkspace(join(binDir, "protoc-gen-grpcweb-ts"));
  site = await startSizeSite(packageDist);
});
after(async () => {
  await site?.stop();
  workspace?.remove();
});

/** gzip -9 bytes of everything the page of the app `source` downloads. */
async function downloaded(source: string): Promise<number> {
  const files = await site.load(await workspace.bundle(source));
  assert.ok(files.length > 0, "the page downloaded nothing");
  return files.reduce((n, f) => n + gzip(f.bytes), 0);
}

test(`the one-RPC app is at most ${ONE_RPC_APP} B gzip, wasm included`, async (t) => {
  const bytes = await downloaded(ours.test(["UnaryCall"]));
  t.diagnostic(`one-RPC app: ${bytes} B gzip`);
  assert.ok(bytes <= ONE_RPC_APP, `the one-RPC app is ${bytes} B gzip, over its ${ONE_RPC_APP} B`);
});

test(`a second method called adds at most ${EXTRA_RPC} B gzip`, async (t) => {
  const one = await downloaded(ours.wide(1, "WideService"));
  const two = await downloaded(ours.wide(2, "WideService"));
  t.diagnostic(`a second method of WideService adds ${two - one} B gzip`);
  assert.ok(two - one <= EXTRA_RPC, `a second method adds ${two - one} B gzip, over ${EXTRA_RPC} B`);
});

test(`the wasm protocol core is at most ${WASM} B gzip`, (t) => {
  const wasm = readdirSync(packageDist, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `the package holds one wasm: ${wasm.join(", ")}`);
  const bytes = gzip(readFileSync(join(packageDist, wasm[0] ?? "")));
  t.diagnostic(`${wasm[0]}: ${bytes} B gzip`);
  assert.ok(bytes <= WASM, `the wasm core is ${bytes} B gzip, over its ${WASM} B`);
});
