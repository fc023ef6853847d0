// Size benchmark (not a test): what a browser page downloads to make its gRPC-Web calls,
// for the same small app on each stack:
//   - ours: code from protoc-gen-grpcweb-ts + the grpcweb-client package;
//   - connect-web: @connectrpc/connect-web + code from @bufbuild/protoc-gen-es;
//   - protobuf-ts: @protobuf-ts/grpcweb-transport + code from @protobuf-ts/plugin, with its
//     default options and with `optimize_code_size`;
//   - grpc-web: the official runtime (npm grpc-web) + a client written as
//     protoc-gen-grpc-web writes it (bench/apps/grpc-web-client.mjs says why and how).
// The apps (bench/apps/apps.mjs) call ONE RPC (UnaryCall) and FOUR RPCs (UnaryCall,
// EmptyCall, CacheableUnaryCall, StreamingOutputCall) of grpc.testing.TestService, and one
// or two methods of grpcweb.bench.WideService (20 methods, bench/protos/). Each app is
// bundled with esbuild (--bundle --minify --format=esm --splitting, .wasm imports as
// files), loaded in headless Chromium from a local site that answers the calls
// (bench/apps/page.mjs), and every file the page downloaded is counted: raw, gzip -9 and
// brotli (quality 11, Node's zlib), each file compressed on its own as a server would.
// The tables go to stdout and into BENCHMARKS.md at the repo root (between the size
// markers; the rest of the file is kept).
//
// Run: `npm run bench:size` in js-tests/ (builds the tests' support code and rebuilds
// client-wasm/npm first; pass `-- --no-runtime-build` to measure the package as it is).
// Needs protoc, cargo and Chromium (as the browser tests).

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

import { stacks, TEST_CALLS, WIDE_APPS } from "./apps/apps.mjs";
import { buildTools, createWorkspace, esbuildVersion, jsTests, packageDist, root, run } from "./apps/build.mjs";
import { startSizeSite } from "./apps/page.mjs";

const version = (pkg) => JSON.parse(readFileSync(join(jsTests, "node_modules", pkg, "package.json"), "utf8")).version;

// 1. The runtime, our plugin and every stack's generated code.
const workspace = createWorkspace(buildTools());

// 2. Build each app, load it, count what the page downloaded.
const gzip = (b) => gzipSync(b, { level: 9 }).length;
const brotli = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const site = await startSizeSite(packageDist);
const measure = async (source) => {
  const outDir = await workspace.bundle(source);
  const files = await site.load(outDir);
  if (files.length === 0) throw new Error(`${outDir}: the page downloaded nothing`);
  const sum = (f) => files.reduce((n, { bytes }) => n + f(bytes), 0);
  return { files: files.length, raw: sum((b) => b.length), gzip: sum(gzip), brotli: sum(brotli) };
};
const rows = [];
const wideRows = [];
try {
  for (const stack of stacks) {
    console.error(`measuring ${stack.name} ...`);
    const test = [];
    for (const n of [1, TEST_CALLS.length]) test.push(await measure(stack.test(TEST_CALLS.slice(0, n))));
    rows.push({ name: stack.name, sizes: test });
    const wide = [];
    for (const { service, calls } of WIDE_APPS) wide.push(await measure(stack.wide(calls, service)));
    wideRows.push({ name: stack.name, sizes: wide });
  }
} finally {
  await site.stop();
  workspace.remove();
}

// 3. The report.
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const wasmFiles = readdirSync(packageDist, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".wasm"));
const wasmNote = wasmFiles
  .map((f) => {
    const b = readFileSync(join(packageDist, f));
    return `${f} ${b.length} B raw, ${gzip(b)} B gzip -9`;
  })
  .join(", ");
const files = (s) => (s.files === 1 ? "1" : `${s.files}`);
const table = [
  "| app | files | 1 RPC: raw | gzip -9 | brotli | files | 4 RPCs: raw | gzip -9 | brotli |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    ({ name, sizes: [a, b] }) =>
      `| ${name} | ${files(a)} | ${kb(a.raw)} | ${kb(a.gzip)} | ${kb(a.brotli)} | ${files(b)} | ${kb(b.raw)} | ${kb(b.gzip)} | ${kb(b.brotli)} |`,
  ),
].join("\n");
const diff = (a, b, k) => `${b[k] - a[k]} B`;
const wideTable = [
  "| app | 1 of 20 methods: raw | gzip -9 | the 19 not called add: raw | gzip -9 | a 2nd method called adds: raw | gzip -9 | brotli |",
  "|---|---:|---:|---:|---:|---:|---:|---:|",
  ...wideRows.map(
    ({ name, sizes: [narrow, one, two] }) =>
      `| ${name} | ${kb(one.raw)} | ${kb(one.gzip)} | ${diff(narrow, one, "raw")} | ${diff(narrow, one, "gzip")} | ${diff(one, two, "raw")} | ${diff(one, two, "gzip")} | ${diff(one, two, "brotli")} |`,
  ),
].join("\n");
const versions = [
  `grpcweb-client ${version("grpcweb-client")} (wasm in the package: ${wasmNote || "none"})`,
  `@connectrpc/connect-web ${version("@connectrpc/connect-web")}`,
  `@bufbuild/protobuf ${version("@bufbuild/protobuf")} + @bufbuild/protoc-gen-es ${version("@bufbuild/protoc-gen-es")}`,
  `@protobuf-ts/runtime ${version("@protobuf-ts/runtime")}, @protobuf-ts/grpcweb-transport ${version("@protobuf-ts/grpcweb-transport")}, @protobuf-ts/plugin ${version("@protobuf-ts/plugin")}`,
  `grpc-web ${version("grpc-web")}`,
  `esbuild ${esbuildVersion}, ${run("protoc", ["--version"]).trim()}, Node ${process.version}`,
].join("; ");
const section = `<!-- size:begin (written by js-tests/bench/size.mjs) -->
## Bundle size: what a browser page downloads to call a service

Measured ${new Date().toISOString().slice(0, 10)} with \`cd js-tests && npm run bench:size\`
(\`node bench/size.mjs\`, apps in \`bench/apps/apps.mjs\`). Each app is bundled with
\`esbuild --bundle --minify --format=esm --splitting\` (a \`.wasm\` import becomes a file),
loaded in headless Chromium from a local site that answers its calls, and every file the
page downloaded (script chunks and any wasm fetched at run time; not the HTML shell) is
counted: raw, gzip -9 and brotli (quality 11), each file compressed on its own, summed;
KB = 1000 bytes; "files" is how many were downloaded. "1 RPC" calls UnaryCall; "4 RPCs"
calls UnaryCall, EmptyCall, CacheableUnaryCall and StreamingOutputCall of
grpc.testing.TestService. Our app includes the whole runtime (TypeScript and wasm).
grpc-web is the official runtime with a client written as protoc-gen-grpc-web writes one
and messages from protoc-gen-es (its generators install by downloading binaries; see
\`bench/apps/grpc-web-client.mjs\`): with google-protobuf's message classes it would be larger.

${table}

A service with 20 methods (\`js-tests/bench/protos/grpcweb/bench/wide.proto\`, all on the
same two messages), through each stack's generated client: an app calling one of its
methods; what the 19 it does not call add (against the same app on NarrowService, the
same messages with one method: 0 when the generated code is tree-shakable); and what
calling a second method adds (the call site, plus the method when tree-shaken).
connect-web's services come from one embedded descriptor per .proto file, so
NarrowService's own file makes its baseline the larger one there:

${wideTable}

Versions: ${versions}.
<!-- size:end -->`;
const benchmarks = join(root, "BENCHMARKS.md");
const old = existsSync(benchmarks) ? readFileSync(benchmarks, "utf8") : "# Benchmarks\n";
const marked = /<!-- size:begin[\s\S]*?<!-- size:end -->/;
writeFileSync(benchmarks, marked.test(old) ? old.replace(marked, section) : `${old.trimEnd()}\n\n${section}\n`);
console.log(table);
console.log();
console.log(wideTable);
console.log(`\n${versions}\nwritten to ${benchmarks}`);
