// protoc-gen-grpcweb-ts from the JavaScript side: runs the plugin under buf and protoc,
// type-checks every golden and the generated code with the strict tsconfig, then runs
// the cross-implementation checks in codegen/cross.ts against @bufbuild/protobuf and the
// codec checks in codegen/cases.ts.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import type { Transport } from "grpcweb-client";

import { startServer } from "./support/processes.js";

const jsTests = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const root = resolve(jsTests, "..");
const dir = join(jsTests, "codegen");
const binDir = process.env["GRPCWEB_BIN_DIR"] ?? join(root, "target", "debug");
const plugin = join(binDir, "protoc-gen-grpcweb-ts");
const bin = (name: string): string => join(jsTests, "node_modules", ".bin", name);

function run(cmd: string, args: string[], cwd = jsTests): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function files(base: string, sub = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(base, sub))) {
    const rel = sub === "" ? name : `${sub}/${name}`;
    if (statSync(join(base, rel)).isDirectory()) out.push(...files(base, rel));
    else out.push(rel);
  }
  return out.sort();
}

// Setup: the plugin binary (built when missing), buf generate for ours and protoc-gen-es,
// then tsc over the generated code and cross.ts.
// Always (re)build: a stale plugin would compare stale output with the goldens. xtask's
// `cargo test` has usually built it already, so this is quick.
execFileSync("cargo", ["build", "-p", "protoc-gen-grpcweb-ts"], { cwd: root, stdio: "inherit" });
assert.ok(
  existsSync(plugin),
  `${plugin} missing after cargo build (GRPCWEB_BIN_DIR and the cargo target dir disagree?)`,
);
const inputs = { directory: "../protos", paths: ["../protos/codegen", "../protos/grpc/testing"] };
rmSync(join(dir, "out"), { recursive: true, force: true });
rmSync(join(dir, "dist"), { recursive: true, force: true });
const ours = (out: string, opt: string[] = []) => ({ local: plugin, out: `codegen/out/${out}`, strategy: "all", opt });
const generate = (input: object, plugins: object[]): void => {
  run(bin("buf"), ["generate", "--template", JSON.stringify({ version: "v2", inputs: [input], plugins })]);
};
generate(inputs, [
  ours("ours"),
  ours("ours-int64-string", ["int64=string"]),
  ours("ours-int64-number", ["int64=number", "import_extension=js"]),
]);
// protoc-gen-es cannot compile clash.proto (two fields share a camelCase name); we can.
// Its output for enum_prefix.proto does not compile (two members stripped to one name).
const esExcluded = ["../protos/codegen/clash.proto", "../protos/codegen/enum_prefix.proto"];
generate({ ...inputs, exclude_paths: esExcluded }, [
  { local: bin("protoc-gen-es"), out: "codegen/out/es", opt: ["target=ts", "import_extension=js"] },
]);
run(bin("tsc"), ["-p", "codegen/tsconfig.json"]);
// Node resolves "grpcweb-client" in the compiled output through this stand-in package.
const shimDir = join(dir, "dist", "node_modules", "grpcweb-client");
mkdirSync(shimDir, { recursive: true });
writeFileSync(
  join(shimDir, "package.json"),
  JSON.stringify({ name: "grpcweb-client", type: "module", exports: { ".": "./index.js", "./wkt": "./wkt.js" } }),
);
writeFileSync(join(shimDir, "index.js"), 'export * from "../../js-tests/codegen/grpcweb-client.js";\n');
writeFileSync(join(shimDir, "wkt.js"), 'export * from "../../client-wasm/npm/src/wkt/index.js";\n');
type Cases = { cases: Array<[string, () => void | Promise<void>]> };
const compiled = (name: string): string => pathToFileURL(join(dir, "dist", "js-tests", "codegen", name)).href;
const cross = (await import(compiled("cross.js"))) as Cases;
const unit = (await import(compiled("cases.js"))) as Cases;
const bundle = (await import(compiled("bundle.js"))) as Cases;
const e2e = (await import(compiled("e2e.js"))) as { runInteropCases(t: Transport, label: string): Promise<void> };

test("every golden type-checks under the strict tsconfig", () => {
  run(bin("tsc"), ["-p", "codegen/tsconfig.golden.json"]);
});

test("buf generate output equals the goldens (same plugin, real buf)", () => {
  const golden = join(root, "codegen", "tests", "golden");
  const ours = join(dir, "out", "ours");
  // google/protobuf files differ in comments: buf and protox bundle different copies.
  const mine = (rel: string): boolean => !rel.startsWith("google/");
  for (const rel of files(join(golden, "all_types"))
    .concat(files(join(golden, "interop")))
    .filter(mine)) {
    const g = existsSync(join(golden, "all_types", rel))
      ? join(golden, "all_types", rel)
      : join(golden, "interop", rel);
    assert.equal(readFileSync(join(ours, rel), "utf8"), readFileSync(g, "utf8"), rel);
  }
});

test("editions golden: buf output equals codegen/tests/golden/editions (protox has no editions)", () => {
  // UPDATE_GOLDEN=1 writes the golden, then fails, like the cargo golden test.
  const golden = join(root, "codegen", "tests", "golden", "editions");
  const rel = "codegen/editions_pb.ts";
  const actual = readFileSync(join(dir, "out", "ours", rel), "utf8");
  if (process.env["UPDATE_GOLDEN"] !== undefined) {
    mkdirSync(join(golden, "codegen"), { recursive: true });
    writeFileSync(join(golden, rel), actual);
    assert.fail("editions golden rewritten: review the diff and run again");
  }
  assert.equal(actual, readFileSync(join(golden, rel), "utf8"), "run with UPDATE_GOLDEN=1 to rewrite");
});

test(
  "protoc runs the plugin; output equals the goldens",
  { skip: spawnSync("protoc", ["--version"]).status !== 0 && "protoc is not installed" },
  () => {
    const out = mkdtempSync(join(tmpdir(), "grpcweb-ts-"));
    try {
      run(
        "protoc",
        [
          `--plugin=protoc-gen-grpcweb-ts=${plugin}`,
          `--grpcweb-ts_out=${out}`,
          "-I",
          join(root, "protos"),
          "grpc/testing/test.proto",
          "grpc/testing/messages.proto",
          "grpc/testing/empty.proto",
        ],
        root,
      );
      const golden = join(root, "codegen", "tests", "golden", "interop");
      assert.deepEqual(files(out), files(golden));
      for (const rel of files(golden))
        assert.equal(readFileSync(join(out, rel), "utf8"), readFileSync(join(golden, rel), "utf8"), rel);
      // A bad option comes back as a plugin error naming the key.
      const r = spawnSync(
        "protoc",
        [
          `--plugin=protoc-gen-grpcweb-ts=${plugin}`,
          `--grpcweb-ts_out=target=js:${out}`,
          "-I",
          join(root, "protos"),
          "grpc/testing/empty.proto",
        ],
        { encoding: "utf8" },
      );
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /unknown option "target"/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test("buf's default strategy: two roots that both import Timestamp, the well-known types from grpcweb-client/wkt", () => {
  // One plugin run per directory (buf's default `strategy: directory`): with the
  // well-known types written into the output, both runs would write
  // google/protobuf/timestamp_pb.ts and buf would refuse the second.
  const ws = mkdtempSync(join(tmpdir(), "grpcweb-ts-roots-"));
  try {
    for (const [mod, pkg] of [
      ["one", "a"],
      ["two", "b"],
    ] as const) {
      mkdirSync(join(ws, mod, pkg), { recursive: true });
      writeFileSync(
        join(ws, mod, pkg, `${pkg}.proto`),
        `syntax = "proto3";\npackage ${pkg};\nimport "google/protobuf/timestamp.proto";\n` +
          `message Event { google.protobuf.Timestamp at = 1; }\n`,
      );
    }
    writeFileSync(join(ws, "buf.yaml"), "version: v2\nmodules:\n  - path: one\n  - path: two\n");
    const template = { version: "v2", plugins: [{ local: plugin, out: "gen" }] };
    run(bin("buf"), ["generate", "--template", JSON.stringify(template)], ws);
    assert.deepEqual(files(join(ws, "gen")), ["a/a_pb.ts", "b/b_pb.ts"]);
    for (const rel of ["a/a_pb.ts", "b/b_pb.ts"])
      assert.match(
        readFileSync(join(ws, "gen", rel), "utf8"),
        /^import \{ Timestamp \} from "grpcweb-client\/wkt";$/m,
        rel,
      );
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

for (const [name, fn] of [...cross.cases, ...unit.cases, ...bundle.cases]) test(name, fn);

test(
  "generated client over the grpcweb-client transport -> grpcweb-proxy -> interop-server",
  { timeout: 60_000 },
  async () => {
    // Imported here so that the checks above do not depend on the runtime package's build.
    const { createGrpcWebTransport } = await import("grpcweb-client");
    const backend = await startServer("interop-server", ["--port", "0"]);
    try {
      const proxy = await startServer("grpcweb-proxy", [
        "--listen",
        "127.0.0.1:0",
        "--backend",
        `http://${backend.addr}`,
      ]);
      try {
        for (const format of ["binary", "text"] as const) {
          await e2e.runInteropCases(createGrpcWebTransport({ baseUrl: `http://${proxy.addr}`, format }), format);
        }
      } finally {
        await proxy.stop();
      }
    } finally {
      await backend.stop();
    }
  },
);
