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
  ours("ours-js", ["target=js+dts"]),
  ours("ours-json", ["json_types=true"]),
  ours("ours-unwrap", ["unwrap_wrappers=true"]),
  ours("ours-desc", ["descriptors=embed"]),
]);
// protoc-gen-es cannot compile clash.proto (two fields share a camelCase name); we can.
// Its output for enum_prefix.proto does not compile (two members stripped to one name).
// json_format.proto gives two fields one JSON name (json_format = LEGACY_BEST_EFFORT).
const esExcluded = [
  "../protos/codegen/clash.proto",
  "../protos/codegen/enum_prefix.proto",
  "../protos/codegen/json_format.proto",
];
generate({ ...inputs, exclude_paths: esExcluded }, [
  { local: bin("protoc-gen-es"), out: "codegen/out/es", opt: ["target=ts", "import_extension=js"] },
]);
// The protobuf conformance messages, from the protos `cargo xtask protobuf-conformance`
// caches (target/protobuf-conformance/<version>/protos), when it has run.
const conformanceProtos = ((): string | undefined => {
  const cache = resolve(binDir, "..", "protobuf-conformance");
  const proto2 = (v: string): string => join(cache, v, "protos", "google", "protobuf", "test_messages_proto2.proto");
  if (!existsSync(cache)) return undefined;
  const version = readdirSync(cache)
    .filter((v) => existsSync(proto2(v)))
    .sort()
    .at(-1);
  return version === undefined ? undefined : join(cache, version, "protos");
})();
if (conformanceProtos !== undefined) {
  const protos = ["proto2", "proto3"].map((p) =>
    join(conformanceProtos, "google", "protobuf", `test_messages_${p}.proto`),
  );
  generate({ directory: conformanceProtos, paths: protos }, [
    ours("conformance/ours"),
    { local: bin("protoc-gen-es"), out: "codegen/out/conformance/es", opt: ["target=ts", "import_extension=js"] },
  ]);
}
// The conformance messages of editions (test_messages_edition2023.proto and the editions
// variants of proto2/proto3) exist only compiled, in google.golang.org/protobuf: the Go
// program in codegen/editions (module pinned in its go.mod, fetched by `go`) writes them
// as a FileDescriptorSet with their imports, which buf reads as an image. Required: a
// failure here fails the test file.
const editionsSet = join(dir, "out", "editions.binpb");
mkdirSync(dirname(editionsSet), { recursive: true });
run("go", ["run", ".", editionsSet], join(dir, "editions"));
generate(
  {
    binary_image: editionsSet,
    paths: [
      "conformance/test_protos/test_messages_edition2023.proto",
      "editions/golden/test_messages_proto2_editions.proto",
      "editions/golden/test_messages_proto3_editions.proto",
    ],
  },
  [
    ours("conformance/ours"),
    { local: bin("protoc-gen-es"), out: "codegen/out/conformance/es", opt: ["target=ts", "import_extension=js"] },
  ],
);
run(bin("tsc"), ["-p", "codegen/tsconfig.json"]);
// Node resolves "grpcweb-client" in the compiled output through this stand-in package.
const shimDir = join(dir, "dist", "node_modules", "grpcweb-client");
mkdirSync(shimDir, { recursive: true });
writeFileSync(
  join(shimDir, "package.json"),
  JSON.stringify({
    name: "grpcweb-client",
    type: "module",
    exports: { ".": "./index.js", "./wkt": "./wkt.js", "./reflect": "./reflect.js" },
  }),
);
writeFileSync(join(shimDir, "reflect.js"), 'export * from "../../client-wasm/npm/src/reflect.js";\n');
writeFileSync(join(shimDir, "index.js"), 'export * from "../../js-tests/codegen/grpcweb-client.js";\n');
writeFileSync(join(shimDir, "wkt.js"), 'export * from "../../client-wasm/npm/src/wkt/index.js";\n');
type Cases = { cases: Array<[string, () => void | Promise<void>]> };
const compiled = (name: string): string => pathToFileURL(join(dir, "dist", "js-tests", "codegen", name)).href;
const cross = (await import(compiled("cross.js"))) as Cases;
const unit = (await import(compiled("cases.js"))) as Cases;
const bundle = (await import(compiled("bundle.js"))) as Cases;
const extensions = (await import(compiled("extensions.js"))) as Cases;
const options = (await import(compiled("options.js"))) as Cases;
const defaults = (await import(compiled("defaults.js"))) as Cases;
const conformance = (await import(compiled("conformance-messages.js"))) as {
  PROTO2_PROTO3: string[];
  EDITIONS: string[];
  checkConformanceMessages(files: string[]): Promise<{ cases: number; mismatches: string[] }>;
};
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

for (const rel of [
  "codegen/editions_pb.ts",
  "codegen/editions2024_pb.ts",
  "codegen/extensions_editions_pb.ts",
  "codegen/json_format_pb.ts",
])
  test(`editions golden: buf output equals codegen/tests/golden/editions/${rel} (protox has no editions)`, () => {
    // UPDATE_GOLDEN=1 writes the golden, then fails, like the cargo golden test.
    const golden = join(root, "codegen", "tests", "golden", "editions");
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
          `--grpcweb-ts_out=rewrite_imports=x:${out}`,
          "-I",
          join(root, "protos"),
          "grpc/testing/empty.proto",
        ],
        { encoding: "utf8" },
      );
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /unknown option "rewrite_imports"/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test("buf's default strategy: two roots that both import Timestamp, descriptor.proto and compiler/plugin.proto, the well-known types from grpcweb-client/wkt", () => {
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
          `import "google/protobuf/descriptor.proto";\nimport "google/protobuf/compiler/plugin.proto";\n` +
          `message Event { google.protobuf.Timestamp at = 1; google.protobuf.compiler.Version v = 2; }\n` +
          `extend google.protobuf.FieldOptions { int32 ${pkg}_opt = ${pkg === "a" ? 50001 : 50002}; }\n`,
      );
    }
    writeFileSync(join(ws, "buf.yaml"), "version: v2\nmodules:\n  - path: one\n  - path: two\n");
    const template = { version: "v2", plugins: [{ local: plugin, out: "gen" }] };
    run(bin("buf"), ["generate", "--template", JSON.stringify(template)], ws);
    assert.deepEqual(files(join(ws, "gen")), ["a/a_pb.ts", "b/b_pb.ts"]);
    for (const rel of ["a/a_pb.ts", "b/b_pb.ts"])
      assert.match(
        readFileSync(join(ws, "gen", rel), "utf8"),
        /^import \{ FieldOptions, Timestamp, Version \} from "grpcweb-client\/wkt";$/m,
        rel,
      );
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test("json_format: LEGACY_BEST_EFFORT and ALLOW give the same code; the compiler enforces ALLOW", async () => {
  const read = (rel: string): string => readFileSync(join(dir, "out", "ours", rel), "utf8");
  // The two fixtures differ in the feature, the package and the field that shares a JSON
  // name; every other line of the output is equal.
  const lines = (rel: string, pkg: string): string[] =>
    read(rel)
      .replaceAll(pkg, "PKG")
      .split("\n")
      .filter((l) => !/fooBar|@generated/.test(l));
  assert.deepEqual(
    lines("codegen/json_format_pb.ts", "codegen.jf"),
    lines("codegen/json_format_allow_pb.ts", "codegen.jfa"),
  );
  // ALLOW: two fields with one JSON name do not compile (buf's check, as protoc's).
  const ws = mkdtempSync(join(tmpdir(), "grpcweb-ts-jf-"));
  try {
    const legacy = readFileSync(join(root, "protos", "codegen", "json_format.proto"), "utf8");
    writeFileSync(join(ws, "allow.proto"), legacy.replace("json_format = LEGACY_BEST_EFFORT;", "json_format = ALLOW;"));
    const r = spawnSync(bin("buf"), ["build", ws], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /same JSON name/);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
  // LEGACY_BEST_EFFORT: the JSON of a shared name is ambiguous (the later field's key
  // wins when written, and reading sets that field).
  type Mod = Record<string, any>;
  const { toJson, fromJson } = (await import("grpcweb-client")) as Mod;
  const jf = (await import(
    pathToFileURL(join(dir, "dist", "js-tests", "codegen", "out", "ours", "codegen", "json_format_pb.js")).href
  )) as Mod;
  const Legacy = jf["Legacy"];
  assert.deepEqual(
    Legacy.fields.map((f: Mod) => [f.name, f.json]),
    [
      ["fooBar", "fooBar"],
      ["fooBar$", "fooBar"],
      ["name", "name"],
    ],
  );
  assert.deepEqual(toJson(Legacy, Legacy.create({ fooBar: 1, fooBar$: 2 })), { fooBar: 2 });
  assert.deepEqual(fromJson(Legacy, { fooBar: 5 }), Legacy.create({ fooBar$: 5 }));
});

test("target=js+dts: the JavaScript agrees with the TypeScript (enums, 1000 random messages each way), the declarations type-check", async () => {
  type Mod = Record<string, any>;
  const { Gen, random, rng } = (await import(compiled("random.js"))) as Mod;
  for (const rel of ["codegen/all_types_pb", "codegen/proto2_pb", "codegen/names_pb", "grpc/testing/messages_pb"]) {
    // The JavaScript runs as shipped (grpcweb-client resolves to the built package).
    const js = (await import(pathToFileURL(join(dir, "out", "ours-js", `${rel}.js`)).href)) as Mod;
    const ts = (await import(
      pathToFileURL(join(dir, "dist", "js-tests", "codegen", "out", "ours", `${rel}.js`)).href
    )) as Mod;
    assert.deepEqual(Object.keys(js).sort(), Object.keys(ts).sort(), rel);
    let checked = 0;
    for (const [name, value] of Object.entries(ts)) {
      if (typeof value?.toBinary !== "function") {
        // TS enums (members and number -> name) equal the JavaScript objects.
        const isEnum =
          typeof value === "object" &&
          Object.values(value).every((v) => typeof v === "number" || typeof v === "string");
        if (isEnum) assert.deepEqual(js[name], value, name);
        continue;
      }
      const g = new Gen(rng(checked + 7));
      for (let i = 0; i < 1000; i++) {
        const m = random(g, value, 0);
        const bytes = value.toBinary(m);
        assert.deepEqual(js[name].toBinary(js[name].fromBinary(bytes)), bytes, `${rel} ${name}`);
      }
      checked++;
    }
    assert.ok(checked > 0, rel);
  }
  // The declarations, as a project without TypeScript sources would consume them.
  const consumer = join(dir, "out", "ours-js", "consumer.ts");
  writeFileSync(
    consumer,
    `import { AllTypes, Color } from "./codegen/all_types_pb.js";
import { TestServiceClient, TestService_UnaryCall } from "./grpc/testing/test_grpcweb.js";
import type { Transport } from "grpcweb-client";
const m: AllTypes = AllTypes.create({ fEnum: Color.COLOR_RED });
export const bytes: Uint8Array = AllTypes.toBinary(m);
export const kind: "unary" = TestService_UnaryCall.kind;
export async function call(t: Transport): Promise<number> {
  return (await new TestServiceClient(t).unaryCall({ responseSize: 1 })).payload?.body.length ?? 0;
}
`,
  );
  run(bin("tsc"), [
    "--noEmit",
    "--strict",
    "--exactOptionalPropertyTypes",
    "--verbatimModuleSyntax",
    "--module",
    "ESNext",
    "--moduleResolution",
    "Bundler",
    "--target",
    "ES2022",
    consumer,
  ]);
});

test("json_types=true: what toJson returns for random messages type-checks as their FooJson types", async () => {
  type Mod = Record<string, any>;
  const { Gen, random, rng } = (await import(compiled("random.js"))) as Mod;
  const { toJson, createRegistry } = (await import("grpcweb-client")) as Mod;
  const oursOut = (rel: string): string => join(dir, "dist", "js-tests", "codegen", "out", "ours", rel);
  const all = (await import(pathToFileURL(oursOut("codegen/all_types_pb.js")).href)) as Mod;
  const p2 = (await import(pathToFileURL(oursOut("codegen/proto2_pb.js")).href)) as Mod;
  const registry = createRegistry(all["AllTypes_Nested"]);
  const cases: Array<[type: any, json: string, module: string]> = [
    [all["AllTypes"], "AllTypesJson", "./codegen/all_types_pb.js"],
    [all["WellKnown"], "WellKnownJson", "./codegen/all_types_pb.js"],
    [p2["Proto2Types"], "Proto2TypesJson", "./codegen/proto2_pb.js"],
  ];
  const lines: string[] = [];
  let n = 0;
  for (const [type, json, module] of cases) {
    lines.push(`import type { ${json} } from "${module}";`);
    const g = new Gen(rng(n + 11));
    for (let i = 0; i < 100; i++) {
      const m = random(g, type, 0);
      for (const emitDefaults of [false, true]) {
        const value = JSON.stringify(toJson(type, m, { registry, emitDefaults }));
        lines.push(`export const v${n++}: ${json} = ${value};`);
      }
    }
  }
  const file = join(dir, "out", "ours-json", "json-values.ts");
  writeFileSync(file, lines.join("\n") + "\n");
  run(bin("tsc"), [
    "--noEmit",
    "--strict",
    "--exactOptionalPropertyTypes",
    "--module",
    "ESNext",
    "--moduleResolution",
    "Bundler",
    "--target",
    "ES2022",
    file,
  ]);
  assert.equal(n, 600);
});

test(
  "protobuf conformance messages (test_messages_proto2/proto3, every type, with extensions and unknown fields): binary and JSON agree with @bufbuild/protobuf",
  {
    skip:
      conformanceProtos === undefined &&
      "the conformance protos are not cached: run `cargo xtask protobuf-conformance` once",
  },
  async () => {
    const { cases, mismatches } = await conformance.checkConformanceMessages(conformance.PROTO2_PROTO3);
    assert.ok(cases > 0);
    assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} mismatches of ${cases} messages`);
  },
);

test("protobuf conformance messages of editions (test_messages_edition2023, test_messages_proto2/proto3_editions, every type, with extensions and unknown fields): binary and JSON agree with @bufbuild/protobuf", async () => {
  const { cases, mismatches } = await conformance.checkConformanceMessages(conformance.EDITIONS);
  assert.ok(cases > 0);
  assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} mismatches of ${cases} messages`);
});

for (const [name, fn] of [
  ...cross.cases,
  ...extensions.cases,
  ...options.cases,
  ...defaults.cases,
  ...unit.cases,
  ...bundle.cases,
])
  test(name, fn);

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
