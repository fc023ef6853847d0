// Size benchmark (not a test): the same small browser app, calling ONE RPC (UnaryCall) and
// FOUR RPCs (EmptyCall, UnaryCall, CacheableUnaryCall, StreamingOutputCall) of
// grpc.testing.TestService, built on
//   - ours: code from protoc-gen-grpcweb-ts + the grpcweb-client package (its wasm is
//     inlined in the package, so it is inside the bundle and counted);
//   - connect-web: @connectrpc/connect-web + code from @bufbuild/protoc-gen-es;
//   - protobuf-ts: @protobuf-ts/grpcweb-transport + code from @protobuf-ts/plugin, with its
//     default options and with `optimize_code_size`.
// Each app is bundled with esbuild (--bundle --minify --format=esm), then compressed with
// gzip -9 and brotli (quality 11) from Node's zlib. The table goes to stdout and into
// BENCHMARKS.md at the repo root (between the size markers; the rest of the file is kept).
//
// Run: `npm run bench:size` in js-tests/ (rebuilds client-wasm/npm first; pass
// `-- --no-runtime-build` to measure the package as it is). Needs protoc and cargo.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

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
const protos = ["grpc/testing/test.proto", "grpc/testing/messages.proto", "grpc/testing/empty.proto"];
const protoc = (pluginName, pluginPath, out, opt) => {
  mkdirSync(out, { recursive: true });
  const args = [`--plugin=${pluginName}=${pluginPath}`, `--${pluginName.slice("protoc-gen-".length)}_out=${out}`];
  if (opt) args.push(`--${pluginName.slice("protoc-gen-".length)}_opt=${opt}`);
  run("protoc", [...args, "-I", join(root, "protos"), ...protos]);
};
protoc("protoc-gen-grpcweb-ts", plugin, join(work, "ours"));
protoc("protoc-gen-es", bin("protoc-gen-es"), join(work, "es"), "target=ts");
protoc("protoc-gen-ts", bin("protoc-gen-ts"), join(work, "pbts"));
protoc("protoc-gen-ts", bin("protoc-gen-ts"), join(work, "pbts-small"), "optimize_code_size");

// 3. The apps. Every one sends the same requests and reads the same fields.
const baseUrl = '"https://api.example.com"';
const apps = {
  ours: {
    gen: "ours",
    head: `import { createGrpcWebTransport } from "grpcweb-client";
import { TestServiceClient } from "./ours/grpc/testing/test_grpcweb.js";
const client = new TestServiceClient(createGrpcWebTransport({ baseUrl: ${baseUrl}, format: "binary" }));`,
    unary: `const res = await client.unaryCall({ responseSize: 10 });`,
    more: `await client.emptyCall({});
await client.cacheableUnaryCall({ responseSize: 1 });
for await (const m of client.streamingOutputCall({ responseParameters: [{ size: 3 }] })) out.push(m.payload?.body.length);`,
  },
  "connect-web": {
    gen: "es",
    head: `import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { TestService } from "./es/grpc/testing/test_pb.js";
const client = createClient(TestService, createGrpcWebTransport({ baseUrl: ${baseUrl} }));`,
    unary: `const res = await client.unaryCall({ responseSize: 10 });`,
    more: `await client.emptyCall({});
await client.cacheableUnaryCall({ responseSize: 1 });
for await (const m of client.streamingOutputCall({ responseParameters: [{ size: 3 }] })) out.push(m.payload?.body.length);`,
  },
};
for (const [name, gen] of [["protobuf-ts", "pbts"], ["protobuf-ts (optimize_code_size)", "pbts-small"]]) {
  apps[name] = {
    gen,
    head: `import { GrpcWebFetchTransport } from "@protobuf-ts/grpcweb-transport";
import { TestServiceClient } from "./${gen}/grpc/testing/test.client.js";
import { SimpleRequest, StreamingOutputCallRequest } from "./${gen}/grpc/testing/messages.js";
import { Empty } from "./${gen}/grpc/testing/empty.js";
const client = new TestServiceClient(new GrpcWebFetchTransport({ baseUrl: ${baseUrl} }));`,
    unary: `const { response: res } = await client.unaryCall(SimpleRequest.create({ responseSize: 10 }));`,
    more: `await client.emptyCall(Empty.create());
await client.cacheableUnaryCall(SimpleRequest.create({ responseSize: 1 }));
for await (const m of client.streamingOutputCall(StreamingOutputCallRequest.create({ responseParameters: [{ size: 3 }] })).responses) out.push(m.payload?.body.length);`,
  };
}

const gzip = (b) => gzipSync(b, { level: 9 }).length;
const brotli = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const rows = [];
for (const [name, app] of Object.entries(apps)) {
  const sizes = [];
  for (const rpcs of [1, 4]) {
    const file = join(work, `${app.gen}-${rpcs}.ts`);
    const body = rpcs === 1 ? app.unary : `${app.unary}\n${app.more}`;
    writeFileSync(file, `${app.head}\nconst out: unknown[] = [];\n${body}\nout.push(res.payload?.body.length);\nconsole.log(out);\n`);
    const result = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "error",
      nodePaths: [join(jsTests, "node_modules")],
    });
    const bytes = result.outputFiles[0].contents;
    sizes.push({ raw: bytes.length, gzip: gzip(bytes), brotli: brotli(bytes) });
  }
  rows.push({ name, sizes });
}
rmSync(work, { recursive: true, force: true });

// 4. The report.
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const wasmGz = readFileSync(join(root, "client-wasm", "npm", "dist", "wasm", "grpcweb_client_bg.wasm"));
const table = [
  "| app | 1 RPC: minified | gzip -9 | brotli | 4 RPCs: minified | gzip -9 | brotli |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    ({ name, sizes: [a, b] }) =>
      `| ${name} | ${kb(a.raw)} | ${kb(a.gzip)} | ${kb(a.brotli)} | ${kb(b.raw)} | ${kb(b.gzip)} | ${kb(b.brotli)} |`,
  ),
].join("\n");
const versions = [
  `grpcweb-client ${version("grpcweb-client")} (wasm ${wasmGz.length} B raw, ${gzip(wasmGz)} B gzip -9, inlined gzip+base64)`,
  `@connectrpc/connect-web ${version("@connectrpc/connect-web")}`,
  `@bufbuild/protobuf ${version("@bufbuild/protobuf")} + @bufbuild/protoc-gen-es ${version("@bufbuild/protoc-gen-es")}`,
  `@protobuf-ts/runtime ${version("@protobuf-ts/runtime")}, @protobuf-ts/grpcweb-transport ${version("@protobuf-ts/grpcweb-transport")}, @protobuf-ts/plugin ${version("@protobuf-ts/plugin")}`,
  `esbuild ${esbuild.version}, ${run("protoc", ["--version"]).trim()}, Node ${process.version}`,
].join("; ");
const section = `<!-- size:begin (written by js-tests/bench/size.mjs) -->
## Bundle size: a browser app calling grpc.testing.TestService

Measured ${new Date().toISOString().slice(0, 10)} with \`cd js-tests && npm run bench:size\`
(\`node bench/size.mjs\`): each app is bundled with \`esbuild --bundle --minify --format=esm\`,
then compressed with gzip -9 and brotli (quality 11); KB = 1000 bytes. "1 RPC" calls UnaryCall; "4 RPCs" calls
EmptyCall, UnaryCall, CacheableUnaryCall and StreamingOutputCall. Our app includes the whole
runtime: the TypeScript layer, the wasm-bindgen glue and the wasm (inlined in the bundle).

${table}

Versions: ${versions}.
<!-- size:end -->`;
const benchmarks = join(root, "BENCHMARKS.md");
const old = existsSync(benchmarks) ? readFileSync(benchmarks, "utf8") : "# Benchmarks\n";
const marked = /<!-- size:begin[\s\S]*?<!-- size:end -->/;
writeFileSync(benchmarks, marked.test(old) ? old.replace(marked, section) : `${old.trimEnd()}\n\n${section}\n`);
console.log(table);
console.log(`\n${versions}\nwritten to ${benchmarks}`);
