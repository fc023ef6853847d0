// Builds the npm package: the Rust core for wasm32 (cargo, profile wasm-release),
// wasm-bindgen glue (--target web), a binaryen pass that turns std's panic and
// out-of-memory handlers into a trap, wasm-opt -Oz (both from the binaryen package), the
// wasm inlined (gzip, base64), then tsc. Prints the sizes. Run with `npm run build`.
//
// wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly;
// `cargo xtask test` installs it when missing.

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import binaryen from "binaryen";

const npmDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const crateDir = join(npmDir, "..");
const srcWasm = join(npmDir, "src", "wasm");
const bin = (name) => join(npmDir, "node_modules", ".bin", name);
const run = (cmd, args, opts = {}) => {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  return execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });
};

// 1. The wasm-bindgen CLI must be the crate's exact version.
const lock = readFileSync(join(crateDir, "..", "Cargo.lock"), "utf8");
const wanted = /name = "wasm-bindgen"\nversion = "([^"]+)"/.exec(lock)?.[1];
let have = "";
try {
  have = execFileSync("wasm-bindgen", ["--version"], { encoding: "utf8" }).trim().split(" ")[1] ?? "";
} catch {
  // reported below
}
if (wanted === undefined || have !== wanted) {
  console.error(
    `wasm-bindgen ${have || "(not found)"} does not match the wasm-bindgen crate ${wanted}; ` +
      `run \`cargo install wasm-bindgen-cli --version ${wanted}\` (cargo xtask test does this)`,
  );
  process.exit(1);
}

// 2. cargo build for wasm32.
run("cargo", [
  "build", "-p", "grpcweb-client", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release",
  "--features", "talc-allocator",
], { cwd: crateDir });
const meta = JSON.parse(
  execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: crateDir, encoding: "utf8" }),
);
const built = join(meta.target_directory, "wasm32-unknown-unknown", "wasm-release", "grpcweb_client.wasm");

// 3. Glue and 4. wasm-opt.
rmSync(srcWasm, { recursive: true, force: true });
mkdirSync(srcWasm, { recursive: true });
run("wasm-bindgen", [
  "--target", "web", "--omit-default-module-path", "--out-dir", srcWasm, "--out-name", "grpcweb_client", built,
]);
const wasmFile = join(srcWasm, "grpcweb_client_bg.wasm");
const beforeOpt = readFileSync(wasmFile).length;

// 4a. Panics become a trap. With panic=abort a panic ends in a trap anyway; std's handler
// first runs the panic hook, which formats the message, and that keeps core::fmt in the
// module (about 6 KB). Nothing of ours sets a hook and wasm32 has nowhere to print, so the
// handlers' bodies become `unreachable` and the formatting code becomes dead. The names
// come from the name section wasm-bindgen keeps; wasm-opt strips it afterwards.
const TRAPPED = [
  /::panicking::panic_fmt(::h[0-9a-f]+)?$/,
  /::rust_begin_unwind(::h[0-9a-f]+)?$/,
  /::alloc::rust_oom(::h[0-9a-f]+)?$/,
  /^__rust_alloc_error_handler$|::__rust_alloc_error_handler(::h[0-9a-f]+)?$/,
  /::alloc::handle_alloc_error(::h[0-9a-f]+)?$/,
];
const F = binaryen.Features;
const WASM_FEATURES =
  F.BulkMemory | F.NontrappingFPToInt | F.SignExt | F.MutableGlobals | F.ReferenceTypes | F.Multivalue;
{
  const mod = binaryen.readBinary(readFileSync(wasmFile));
  // The features rustc's wasm32 target and wasm-opt below use (not `All`: the module's
  // target_features section is written from this, and wasm-opt would use the rest).
  mod.setFeatures(WASM_FEATURES);
  const trapped = [];
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const f = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (f.module === "" && TRAPPED.some((re) => re.test(f.name))) {
      trapped.push(f);
    }
  }
  if (!trapped.some((f) => TRAPPED[0].test(f.name))) {
    throw new Error("core::panicking::panic_fmt not found: does the wasm still have its name section?");
  }
  for (const f of trapped) {
    mod.removeFunction(f.name);
    mod.addFunction(f.name, f.params, f.results, f.vars, mod.unreachable());
  }
  writeFileSync(wasmFile, mod.emitBinary());
  mod.dispose();
}
run(bin("wasm-opt"), [
  wasmFile, "-o", wasmFile, "-Oz", "--converge", "--strip-debug", "--strip-producers",
  "--strip-target-features", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext",
  "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue",
]);
const wasm = readFileSync(wasmFile);

// 5. Inline the wasm, gzip-compressed then base64 (the loader inflates it with the
// standard DecompressionStream): base64 of raw wasm compresses poorly, so this is about a
// quarter smaller inside a gzip- or brotli-served bundle.
const wasmGz = gzipSync(wasm, { level: 9 });
writeFileSync(
  join(srcWasm, "inline.js"),
  `// @generated by client-wasm/npm/scripts/build.mjs: the optimized wasm, gzip, base64.\nexport const wasmGzipBase64 = "${wasmGz.toString("base64")}";\n`,
);
writeFileSync(join(srcWasm, "inline.d.ts"), "export declare const wasmGzipBase64: string;\n");

// 6. Re-export the codec when the codegen work has put it there.
const codecLine = existsSync(join(npmDir, "src", "codec", "index.ts"))
  ? 'export * from "./codec/index.js";\n'
  : "export {};\n";
writeFileSync(join(npmDir, "src", "codec-exports.ts"), `// @generated by scripts/build.mjs\n${codecLine}`);

// 7. tsc, then 8. ship the glue next to the compiled TS.
rmSync(join(npmDir, "dist"), { recursive: true, force: true });
run(bin("tsc"), ["-p", join(npmDir, "tsconfig.json")]);
mkdirSync(join(npmDir, "dist", "wasm"), { recursive: true });
for (const f of ["grpcweb_client.js", "grpcweb_client.d.ts", "grpcweb_client_bg.wasm", "inline.js", "inline.d.ts"]) {
  cpSync(join(srcWasm, f), join(npmDir, "dist", "wasm", f));
}

// 9. Sizes.
const glue = readFileSync(join(srcWasm, "grpcweb_client.js"));
const inline = readFileSync(join(srcWasm, "inline.js"));
const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
console.log(
  `wasm: ${beforeOpt} B from wasm-bindgen, ${wasm.length} B after wasm-opt ` +
    `(gzip ${gz(wasm)} B, brotli ${br(wasm)} B); inlined: ${inline.length} B (gzip ${gz(inline)} B, ` +
    `brotli ${br(inline)} B); glue: ${glue.length} B (gzip ${gz(glue)} B)`,
);
