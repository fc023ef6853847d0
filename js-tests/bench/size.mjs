// Size benchmark (not a test): what a browser page downloads to make its gRPC-Web calls,
// for the same small app on each stack:
//   - ours: code from protoc-gen-grpcweb-ts + the grpcweb-client package;
//   - connect-web: @connectrpc/connect-web + code from @bufbuild/protoc-gen-es;
//   - protobuf-ts: @protobuf-ts/grpcweb-transport + code from @protobuf-ts/plugin, with its
//     default options and with `optimize_code_size`;
//   - grpc-web: the official runtime (npm grpc-web) + a client written as
//     protoc-gen-grpc-web writes it (bench/size/grpc-web-client.mjs says why and how).
// The apps (bench/size/apps.mjs) call ONE RPC (UnaryCall) and FOUR RPCs (UnaryCall,
// EmptyCall, CacheableUnaryCall, StreamingOutputCall) of grpc.testing.TestService, and one
// or two methods of grpcweb.bench.WideService (20 methods, bench/protos/). Each app is
// bundled with esbuild (--bundle --minify --format=esm --splitting, .wasm imports as
// files), loaded in headless Chromium from a local site that answers the calls
// (bench/size/page.mjs), and every file the page downloaded is counted: raw, gzip -9 and
// brotli (quality 11, Node's zlib), each file compressed on its own as a server would.
// The tables go to stdout and into BENCHMARKS.md at the repo root (between the size
// markers; the rest of the file is kept).
//
// Run: `npm run bench:size` in js-tests/ (builds the tests' support code and rebuilds
// client-wasm/npm first; pass `-- --no-runtime-build` to measure the package as it is).
// Needs protoc, cargo and Chromium (as the browser tests).

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

import { stacks, TEST_CALLS, WIDE_APPS } from "./size/apps.mjs";
import { startSizeSite } from "./size/page.mjs";

const jsTests = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(jsTests, "..");
const bin = (name) => join(jsTests, "node_modules", ".bin", name);
const run = (cmd, args, cwd = root) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
const version = (pkg) =>
  JSON.parse(readFileSync(join(jsTests, "node_modules", pkg, "package.json"), "utf8")).version;

// 1. The runtime package and our plugin, fresh from the sources.
if (!process.argv.includes("--no-runtime-build")) {
  console.error("building client-wasm/npm ...");
  execFileSync("npm", ["run", "build"], { cwd: join(root, "client-wasm", "npm"), stdio: ["ignore", "ignore", "inherit"] });
}
const binDir = process.env["GRPCWEB_BIN_DIR"] ?? join(root, "target", "debug");
const plugin = join(binDir, "protoc-gen-grpcweb-ts");
if (!process.env["GRPCWEB_BIN_DIR"]) {
  execFileSync("cargo", ["build", "-q", "-p", "protoc-gen-grpcweb-ts"], { cwd: root, stdio: "inherit" });
}
if (!existsSync(plugin)) throw new Error(`${plugin} missing`);

// 2. Generated code for each stack, from the same protos.
const work = mkdtempSync(join(tmpdir(), "grpcweb-size-"));
const inputs = [
  { dir: join(root, "protos"), files: ["grpc/testing/test.proto", "grpc/testing/messages.proto", "grpc/testing/empty.proto"] },
  { dir: join(jsTests, "bench", "protos"), files: ["grpcweb/bench/wide.proto", "grpcweb/bench/narrow.proto"] },
];
const protoc = (pluginName, pluginPath, out, opt) => {
  mkdirSync(out, { recursive: true });
  const lang = pluginName.slice("protoc-gen-".length);
  const args = [`--plugin=${pluginName}=${pluginPath}`, `--${lang}_out=${out}`];
  if (opt) args.push(`--${lang}_opt=${opt}`);
  for (const { dir, files } of inputs) run("protoc", [...args, "-I", dir, ...files]);
};
protoc("protoc-gen-grpcweb-ts", plugin, join(work, "ours"));
protoc("protoc-gen-es", bin("protoc-gen-es"), join(work, "es"), "target=ts");
protoc("protoc-gen-ts", bin("protoc-gen-ts"), join(work, "pbts"));
protoc("protoc-gen-ts", bin("protoc-gen-ts"), join(work, "pbts-small"), "optimize_code_size");
for (const stack of stacks) {
  for (const [file, text] of Object.entries(stack.files ?? {})) {
    mkdirSync(dirname(join(work, file)), { recursive: true });
    writeFileSync(join(work, file), text);
  }
}

// 3. Build each app, load it, count what the page downloaded.
const gzip = (b) => gzipSync(b, { level: 9 }).length;
const brotli = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const packageDist = join(root, "client-wasm", "npm", "dist");
const site = await startSizeSite(packageDist);
let appNo = 0;
const measure = async (source) => {
  const id = `app-${appNo++}`;
  const entry = join(work, `${id}.ts`);
  const outDir = join(work, "out", id);
  writeFileSync(entry, source);
  await esbuild.build({
    entryPoints: { main: entry },
    bundle: true,
    minify: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir: outDir,
    loader: { ".wasm": "file" },
    logLevel: "error",
    nodePaths: [join(jsTests, "node_modules")],
  });
  const files = await site.load(outDir);
  const emitted = readdirSync(outDir, { recursive: true }).length;
  if (files.length === 0) throw new Error(`${id}: the page downloaded nothing`);
  const sum = (f) => files.reduce((n, { bytes }) => n + f(bytes), 0);
  return { files: files.length, emitted, raw: sum((b) => b.length), gzip: sum(gzip), brotli: sum(brotli) };
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
  rmSync(work, { recursive: true, force: true });
}

// 4. The report.
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
  `esbuild ${esbuild.version}, ${run("protoc", ["--version"]).trim()}, Node ${process.version}`,
].join("; ");
const section = `<!-- size:begin (written by js-tests/bench/size.mjs) -->
## Bundle size: what a browser page downloads to call a service

Measured ${new Date().toISOString().slice(0, 10)} with \`cd js-tests && npm run bench:size\`
(\`node bench/size.mjs\`, apps in \`bench/size/apps.mjs\`). Each app is bundled with
\`esbuild --bundle --minify --format=esm --splitting\` (a \`.wasm\` import becomes a file),
loaded in headless Chromium from a local site that answers its calls, and every file the
page downloaded (script chunks and any wasm fetched at run time; not the HTML shell) is
counted: raw, gzip -9 and brotli (quality 11), each file compressed on its own, summed;
KB = 1000 bytes; "files" is how many were downloaded. "1 RPC" calls UnaryCall; "4 RPCs"
calls UnaryCall, EmptyCall, CacheableUnaryCall and StreamingOutputCall of
grpc.testing.TestService. Our app includes the whole runtime (TypeScript and wasm).
grpc-web is the official runtime with a client written as protoc-gen-grpc-web writes one
and messages from protoc-gen-es (its generators install by downloading binaries; see
\`bench/size/grpc-web-client.mjs\`): with google-protobuf's message classes it would be larger.

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
