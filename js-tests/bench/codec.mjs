// Codec throughput benchmark (not a test): encode and decode of the same messages, in one
// Node process, with
//   - ours: code from protoc-gen-grpcweb-ts + the codec of grpcweb-client (its TypeScript
//     sources, client-wasm/npm/src/codec, bundled by esbuild as an app would);
//   - @bufbuild/protobuf: code from protoc-gen-es (target=ts);
//   - @protobuf-ts/runtime: code from protoc-gen-ts (@protobuf-ts/plugin, default options,
//     i.e. optimize_for SPEED and bigint for 64-bit integers);
//   - protobufjs: reflection (`Root.loadSync` of the .proto files; protobufjs compiles
//     each type's encoder and decoder into a JS function on first use, which is what its
//     static code contains too). protobufjs-cli (`pbjs -t static-module`) is not installed.
// Messages are in bench/codec/messages.mjs. Before timing, every library's encoding is
// decoded by ours and compared with ours' message (and must have the same length), and
// every library decodes ours' bytes (the input of every decode timing), re-encodes them,
// and ours checks the result: each library does the same work. Each (message, operation)
// is measured in rounds that take turns between the libraries (so that machine noise hits
// them alike) after a warm-up; each round times a batch of calls with
// process.hrtime.bigint; the median round is reported, with the spread of the rounds.
// The table goes to stdout and into BENCHMARKS.md at the repo root, between the codec
// markers.
//
// Run: `npm run bench:codec` in js-tests/. Options: `--rounds N` (default 21),
// `--ms N` (target milliseconds per batch, default 20), `--only ours` (time one library,
// e.g. under `node --cpu-prof`), `--case TEXT` (only the messages whose name contains
// TEXT), `--codec DIR` (another copy of client-wasm/npm/src/codec, e.g. an older one, to
// compare), `--no-write` (leave BENCHMARKS.md alone; implied by --only, --case and
// --codec). Needs protoc and cargo (or GRPCWEB_BIN_DIR with a built protoc-gen-grpcweb-ts).

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import { cases, pbjsInit, pbtsInit } from "./codec/messages.mjs";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "21" },
    ms: { type: "string", default: "20" },
    only: { type: "string" },
    case: { type: "string" },
    codec: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.rounds);
const BATCH_NS = BigInt(Math.round(Number(args.ms) * 1e6));

const jsTests = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(jsTests, "..");
const require = createRequire(join(jsTests, "package.json"));
const bin = (name) => join(jsTests, "node_modules", ".bin", name);
const version = (pkg) => JSON.parse(readFileSync(join(jsTests, "node_modules", pkg, "package.json"), "utf8")).version;

// 1. Generated code for each library, from the same protos. It lives under node_modules/
// (ignored by git) so that the bundle resolves the libraries from js-tests/node_modules.
const binDir = process.env["GRPCWEB_BIN_DIR"] ?? join(root, "target", "debug");
const plugin = join(binDir, "protoc-gen-grpcweb-ts");
if (!process.env["GRPCWEB_BIN_DIR"]) {
  execFileSync("cargo", ["build", "-q", "-p", "protoc-gen-grpcweb-ts"], { cwd: root, stdio: "inherit" });
}
if (!existsSync(plugin)) throw new Error(`${plugin} missing`);
const work = join(jsTests, "node_modules", ".cache", "grpcweb-bench-codec");
rmSync(work, { recursive: true, force: true });
const protos = ["grpc/testing/messages.proto", "codegen/all_types.proto"];
const protoc = (name, path, out, opt) => {
  mkdirSync(out, { recursive: true });
  const flag = name.slice("protoc-gen-".length);
  const a = [`--plugin=${name}=${path}`, `--${flag}_out=${out}`, ...(opt ? [`--${flag}_opt=${opt}`] : [])];
  execFileSync("protoc", [...a, "-I", join(root, "protos"), ...protos], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
};
// The well-known types all_types.proto imports are written next to it (wkt=generate):
// the alias below maps "grpcweb-client" to the codec only.
protoc("protoc-gen-grpcweb-ts", plugin, join(work, "ours"), "wkt=generate");
protoc("protoc-gen-es", bin("protoc-gen-es"), join(work, "es"), "target=ts");
protoc("protoc-gen-ts", bin("protoc-gen-ts"), join(work, "pbts"));

// 2. One bundle with the three sets of generated code; the libraries stay external (loaded
// from node_modules), ours is bundled from its sources.
writeFileSync(
  join(work, "entry.ts"),
  `export * as oursMessages from "./ours/grpc/testing/messages_pb.js";
export * as oursAllTypes from "./ours/codegen/all_types_pb.js";
export * as esMessages from "./es/grpc/testing/messages_pb.js";
export * as esAllTypes from "./es/codegen/all_types_pb.js";
export * as pbtsMessages from "./pbts/grpc/testing/messages.js";
export * as pbtsAllTypes from "./pbts/codegen/all_types.js";
export * as oursRuntime from "grpcweb-client";
`,
);
await esbuild.build({
  entryPoints: [join(work, "entry.ts")],
  outfile: join(work, "bundle.mjs"),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  logLevel: "error",
  alias: { "grpcweb-client": join(args.codec ?? join(root, "client-wasm", "npm", "src", "codec"), "index.ts") },
  external: ["@bufbuild/protobuf", "@bufbuild/protobuf/*", "@protobuf-ts/runtime"],
});
const gen = await import(pathToFileURL(join(work, "bundle.mjs")).href);
// A free function since the codec split JSON, equals and clone off the type objects; an
// older codec (--codec) still has the method.
const equals = gen.oursRuntime.equals ?? ((type, a, b) => type.equals(a, b));
const es = await import(pathToFileURL(require.resolve("@bufbuild/protobuf")).href);
const protobuf = require("protobufjs");
const pbjsRoot = new protobuf.Root();
pbjsRoot.resolvePath = (_origin, target) =>
  target.startsWith("google/protobuf/") ? target : join(root, "protos", target);
pbjsRoot.loadSync(protos, { keepCase: false });
pbjsRoot.resolveAll();

// 3. Each library as { encode(message) -> bytes, decode(bytes) -> message } per case.
const LIBS = ["ours", "@bufbuild/protobuf", "@protobuf-ts/runtime", "protobufjs"];
const modules = (lib, file) => {
  const suffix = file === "messages" ? "Messages" : "AllTypes";
  return gen[`${lib}${suffix}`];
};
function codecs(c) {
  const value = c.value();
  const ours = modules("ours", c.file)[c.type];
  const esSchema = modules("es", c.file)[`${c.type}Schema`];
  const pbts = modules("pbts", c.file)[c.type];
  const pbjs = pbjsRoot.lookupType(c.pbjs);
  return {
    ours: { message: ours.create(value), encode: (m) => ours.toBinary(m), decode: (b) => ours.fromBinary(b) },
    "@bufbuild/protobuf": {
      message: es.create(esSchema, value),
      encode: (m) => es.toBinary(esSchema, m),
      decode: (b) => es.fromBinary(esSchema, b),
    },
    "@protobuf-ts/runtime": {
      message: pbts.create(pbtsInit(value)),
      encode: (m) => pbts.toBinary(m),
      decode: (b) => pbts.fromBinary(b),
    },
    protobufjs: {
      message: pbjs.fromObject(pbjsInit(value)),
      encode: (m) => pbjs.encode(m).finish(),
      decode: (b) => pbjs.decode(b),
    },
    oursType: ours,
  };
}

// 4. Same work: every encoding decodes (with ours) to ours' message, and every library's
// decoding of ours' bytes re-encodes to that message too.
const hex = (b) => Buffer.from(b).toString("hex");
function verify(c, cs) {
  const type = cs.oursType;
  const reference = cs.ours.message;
  const bytes = cs.ours.encode(reference);
  for (const lib of LIBS) {
    const { message, encode, decode } = cs[lib];
    const mine = encode(message);
    if (!equals(type, type.fromBinary(mine), reference)) {
      throw new Error(
        `${c.name}: ${lib} encodes a different message (${hex(mine).slice(0, 200)} vs ${hex(bytes).slice(0, 200)})`,
      );
    }
    if (mine.length !== bytes.length)
      throw new Error(`${c.name}: ${lib} encodes ${mine.length} bytes, ours ${bytes.length}`);
    const again = encode(decode(bytes));
    if (!equals(type, type.fromBinary(again), reference))
      throw new Error(`${c.name}: ${lib} decodes a different message`);
  }
  return bytes;
}

// 5. Timing. A batch runs `n` calls; `n` is chosen during warm-up so a batch takes about
// BATCH_NS. The sink keeps results alive so no call can be optimized away.
let sink = 0;
function batch(fn, arg, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = fn(arg);
    sink = (sink + (r.length ?? 1)) | 0;
  }
  return process.hrtime.bigint() - t0;
}
function calibrate(fn, arg) {
  let n = 1;
  for (;;) {
    const t = batch(fn, arg, n);
    if (t >= BATCH_NS / 4n) return Math.max(1, Math.round((n * Number(BATCH_NS)) / Number(t)));
    n *= 2;
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const libs = args.only ? LIBS.filter((l) => l === args.only) : LIBS;
if (libs.length === 0) throw new Error(`--only: one of ${LIBS.join(", ")}`);
const results = [];
for (const c of cases) {
  if (args.case !== undefined && !c.name.includes(args.case)) continue;
  const cs = codecs(c);
  const bytes = verify(c, cs);
  for (const op of ["encode", "decode"]) {
    const runs = libs.map((lib) => {
      const fn = cs[lib][op];
      const arg = op === "encode" ? cs[lib].message : bytes;
      return { lib, fn, arg, n: 0, rates: [] };
    });
    // Warm-up: calibrate, then a few batches each.
    for (const r of runs) {
      r.n = calibrate(r.fn, r.arg);
      for (let i = 0; i < 3; i++) batch(r.fn, r.arg, r.n);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of round % 2 ? [...runs].reverse() : runs) {
        r.rates.push((r.n * 1e9) / Number(batch(r.fn, r.arg, r.n)));
      }
    }
    const row = { name: c.name, size: bytes.length, op, by: {} };
    for (const r of runs) {
      const med = median(r.rates);
      const spread = (Math.max(...r.rates) - Math.min(...r.rates)) / med;
      const sorted = [...r.rates].sort((a, b) => a - b);
      const iqr = (sorted[Math.floor(sorted.length * 0.75)] - sorted[Math.floor(sorted.length * 0.25)]) / med;
      row.by[r.lib] = { ops: med, mbs: (med * bytes.length) / 1e6, spread, iqr };
    }
    results.push(row);
    console.error(
      `${c.name} ${op}: ${runs.map((r) => `${r.lib} ${fmtOps(row.by[r.lib].ops)} (IQR ±${pct(row.by[r.lib].iqr / 2)})`).join(", ")}`,
    );
  }
}
if (sink === 0.5) console.log("unreachable");

// 6. The report.
function fmtOps(x) {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}
function fmtMbs(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
function pct(x) {
  return `${(x * 100).toFixed(0)}%`;
}
const others = libs.filter((l) => l !== "ours");
const header = [
  "| message | bytes | op | " +
    libs.map((l) => `${l} ops/s (MB/s)`).join(" | ") +
    " | " +
    others.map((l) => `ours ÷ ${l}`).join(" | ") +
    " |",
  "|---|---:|---|" +
    libs.map(() => "---:").join("|") +
    "|" +
    others.map(() => "---:").join("|") +
    (others.length ? "|" : ""),
];
const rows = results.map((r) => {
  const cells = libs.map((l) => `${fmtOps(r.by[l].ops)} (${fmtMbs(r.by[l].mbs)})`);
  const ratios = libs.includes("ours") ? others.map((l) => (r.by.ours.ops / r.by[l].ops).toFixed(2)) : [];
  return `| ${r.name} | ${r.size} | ${r.op} | ${cells.join(" | ")} | ${ratios.join(" | ")} |`;
});
const table = [...header, ...rows].join("\n");
const maxIqr = Math.max(...results.flatMap((r) => libs.map((l) => r.by[l].iqr)));
const maxSpread = Math.max(...results.flatMap((r) => libs.map((l) => r.by[l].spread)));
const cores = availableParallelism();
const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
const versions = [
  `grpcweb-client ${version("grpcweb-client")} (codec from the sources) + protoc-gen-grpcweb-ts`,
  `@bufbuild/protobuf ${version("@bufbuild/protobuf")} + @bufbuild/protoc-gen-es ${version("@bufbuild/protoc-gen-es")}`,
  `@protobuf-ts/runtime ${version("@protobuf-ts/runtime")} + @protobuf-ts/plugin ${version("@protobuf-ts/plugin")}`,
  `protobufjs ${version("protobufjs")} (reflection)`,
  `esbuild ${esbuild.version}, ${execFileSync("protoc", ["--version"], { encoding: "utf8" }).trim()}`,
].join("; ");
const section = `<!-- codec:begin (written by js-tests/bench/codec.mjs) -->
## Codec throughput: encode and decode in Node

Measured ${new Date().toISOString().slice(0, 10)} with \`cd js-tests && npm run bench:codec\`
(\`node bench/codec.mjs\`) on Node ${process.version}, ${cores} cores (${cpu}), shared with other work.
The same messages in every library (\`js-tests/bench/codec/messages.mjs\`); before timing,
each library's encoding is decoded by ours and compared, and each library decodes the
same bytes. Each cell is the median of ${ROUNDS} rounds of about ${args.ms} ms (the
libraries take turns each round, after a warm-up); MB/s counts encoded bytes (1 MB =
10^6 bytes); ratios above 1 mean ours is faster. Widest interquartile range of a cell:
±${pct(maxIqr / 2)} of its median (max−min: ${pct(maxSpread)}). protobufjs runs from
reflection (\`Root.loadSync\`, which compiles each type's codec to a function, as its
static code does), decoding 64-bit integers to \`Long\`; the others use bigint. Decoded
\`bytes\` fields are views into the input in every library.

${table}

Versions: ${versions}.
<!-- codec:end -->`;
console.log(table);
console.log(`\nmax IQR ±${pct(maxIqr / 2)}, max spread ${pct(maxSpread)}; ${versions}`);
if (!args["no-write"] && libs.length === LIBS.length && args.case === undefined && args.codec === undefined) {
  const benchmarks = join(root, "BENCHMARKS.md");
  const old = readFileSync(benchmarks, "utf8");
  const marked = /<!-- codec:begin[\s\S]*?<!-- codec:end -->/;
  let next;
  if (marked.test(old)) next = old.replace(marked, section);
  else if (old.includes("<!-- size:end -->"))
    next = old.replace("<!-- size:end -->", `<!-- size:end -->\n\n${section}`);
  else next = `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(benchmarks, next);
  console.log(`written to ${benchmarks}`);
}
