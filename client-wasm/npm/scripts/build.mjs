// Builds the npm package: the Rust core for wasm32 (cargo, profile wasm-release; plain
// `extern "C"` exports, no wasm-bindgen), a binaryen pass that turns core's panic and
// out-of-memory handlers into a trap, wasm-opt -Oz (both from the binaryen package), a cut
// of the panic data left without readers (scripts/trim-data.mjs), the wasm inlined (gzip by
// zopfli, base64), then tsc. Prints the sizes. Run with `npm run build`; `npm run sizes`
// also prints the code size of each function (scripts/wasm-sizes.mjs).

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gunzipSync, gzipSync, constants } from "node:zlib";
import { gzipAsync } from "@gfx/zopfli";
import binaryen from "binaryen";
import { trimPanicData } from "./trim-data.mjs";
import { wasmSizes } from "./wasm-sizes.mjs";

const npmDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const crateDir = join(npmDir, "..");
const srcWasm = join(npmDir, "src", "wasm");
/** The shipped file (package export `./grpcweb_client_bg.wasm`). */
const WASM_NAME = "grpcweb_client_bg.wasm";
const bin = (name) => join(npmDir, "node_modules", ".bin", name);
const run = (cmd, args, opts = {}) => {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  return execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });
};

// 1. cargo build for wasm32: the sans-IO core (src/abi.rs), no wasm-bindgen, no_std.
// LLVM inlines functions marked `#[inline]` (core's and alloc's many small helpers) up to
// a threshold of its own; at 0 they weigh as any other function, which makes the module
// about 150 bytes smaller. Set for the wasm32 target only (build scripts keep their
// flags); a RUSTFLAGS in the environment replaces it.
run("cargo", [
  "build", "-p", "grpcweb-client", "--lib", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release",
  "--features", "no-std",
], { cwd: crateDir, env: { ...process.env, CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS: "-Cllvm-args=-inlinehint-threshold=0" } });
const meta = JSON.parse(
  execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: crateDir, encoding: "utf8" }),
);
const built = join(meta.target_directory, "wasm32-unknown-unknown", "wasm-release", "grpcweb_client.wasm");
rmSync(srcWasm, { recursive: true, force: true });
mkdirSync(srcWasm, { recursive: true });
const wasmFile = join(srcWasm, WASM_NAME);
const beforeOpt = readFileSync(built).length;

// 2. Panics become a trap. The core is `no_std` (feature `no-std`) with a trapping
// `#[panic_handler]`, but core's panic functions are not inlined into it: the out-of-memory
// and capacity-overflow paths of `Vec` still format a message before they reach it (about
// 170 bytes of code). Their bodies become `unreachable`, and the formatting code dead. The
// names come from the name section rustc writes; wasm-opt strips it afterwards.
// Legacy (`::h<hash>`) and v0 (`_R...`) mangled names.
const TRAPPED = [
  /::panicking::panic_fmt(::h[0-9a-f]+)?$|4core9panicking9panic_fmt$/,
  /::rust_begin_unwind(::h[0-9a-f]+)?$|rust_begin_unwind$/,
  /::panicking::panic_with_hook(::h[0-9a-f]+)?$|9panicking15panic_with_hook$/,
  /::alloc::rust_oom(::h[0-9a-f]+)?$|5alloc8rust_oom$/,
  /__rust_alloc_error_handler(::h[0-9a-f]+)?$/,
  /::alloc::handle_alloc_error(::h[0-9a-f]+)?$|5alloc18handle_alloc_error$/,
];
const SIZES = process.argv.includes("--sizes");
const namedFile = built.replace(/\.wasm$/, ".names.wasm");
const F = binaryen.Features;
const WASM_FEATURES =
  F.BulkMemory | F.NontrappingFPToInt | F.SignExt | F.MutableGlobals | F.ReferenceTypes | F.Multivalue;
{
  const mod = binaryen.readBinary(readFileSync(built));
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
  // The linker's symbols are no part of the interface.
  for (const name of ["__data_end", "__heap_base"]) {
    if (mod.getExport(name) !== 0) {
      mod.removeExport(name);
    }
  }
  writeFileSync(wasmFile, mod.emitBinary());
  if (SIZES) {
    binaryen.setDebugInfo(true);
    writeFileSync(namedFile, mod.emitBinary());
    binaryen.setDebugInfo(false);
  }
  mod.dispose();
}
// 3. wasm-opt. `--low-memory-unused` (as Emscripten passes it): rustc's wasm32 layout
// puts the 1 MiB stack below the data and the heap, so addresses under 1024 are never
// used, and constant offsets fold into loads and stores.
const OPT_FLAGS = [
  "-Oz", "--converge", "--low-memory-unused", "--strip-producers", "--strip-target-features", "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals", "--enable-reference-types",
  "--enable-multivalue",
];
run(bin("wasm-opt"), [wasmFile, "-o", wasmFile, ...OPT_FLAGS, "--strip-debug"]);
if (SIZES) {
  run(bin("wasm-opt"), [namedFile, "-o", namedFile, ...OPT_FLAGS, "-g"]);
}
// 4. The panic data that step 2 left without readers (scripts/trim-data.mjs).
writeFileSync(wasmFile, trimPanicData(wasmFile, bin("wasm-dis")));
const wasm = readFileSync(wasmFile);

// 5. Inline the wasm, gzip-compressed (by zopfli: about 5% smaller than zlib's level 9)
// then base64; the loader inflates it with the standard DecompressionStream. Base64 of raw
// wasm compresses poorly, so this is about a quarter smaller inside a gzip- or
// brotli-served bundle.
const wasmGz = Buffer.from(await gzipAsync(wasm, { numiterations: 15 }));
if (!gunzipSync(wasmGz).equals(wasm)) {
  throw new Error("zopfli's gzip does not decompress to the wasm");
}
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

// 7. tsc, then 8. ship the wasm next to the compiled TS.
rmSync(join(npmDir, "dist"), { recursive: true, force: true });
run(bin("tsc"), ["-p", join(npmDir, "tsconfig.json")]);
mkdirSync(join(npmDir, "dist", "wasm"), { recursive: true });
for (const f of [WASM_NAME, "inline.js", "inline.d.ts"]) {
  cpSync(join(srcWasm, f), join(npmDir, "dist", "wasm", f));
}

// 9. Sizes; with `--sizes`, also per function, from a copy of the module optimized the
// same way with its names kept (target/.../grpcweb_client.names.wasm, not shipped).
const inline = readFileSync(join(srcWasm, "inline.js"));
const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
console.log(
  `wasm: ${beforeOpt} B from cargo, ${wasm.length} B after wasm-opt (gzip ${gz(wasm)} B, brotli ${br(wasm)} B); ` +
    `inlined: ${inline.length} B (gzip ${gz(inline)} B, brotli ${br(inline)} B)`,
);
if (SIZES) {
  const { sections, functions } = wasmSizes(readFileSync(namedFile));
  const code = functions.reduce((n, f) => n + f.bytes, 0);
  console.log(`code ${code} B in ${functions.length} functions; data section ${sections[11] ?? 0} B before the trim; per function:`);
  for (const f of functions) {
    console.log(`${String(f.bytes).padStart(6)}  ${f.name}`);
  }
}
