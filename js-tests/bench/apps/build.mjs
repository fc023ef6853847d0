// Builds the benchmark apps (apps.mjs): the runtime package and our plugin from the sources,
// each stack's generated code from the same protos into a temporary work folder, and an
// app bundled by esbuild (--bundle --minify --format=esm --splitting, a `.wasm` import as a
// file) into its own output folder, whose entry is `main.js`.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

import { stacks } from "./apps.mjs";

export const jsTests = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const root = join(jsTests, "..");
/** The grpcweb-client package's build output (what `loadWasm` may fetch lives here). */
export const packageDist = join(root, "client-wasm", "npm", "dist");
const bin = (name) => join(jsTests, "node_modules", ".bin", name);
export const run = (cmd, args, cwd = root) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });

/**
 * Rebuilds client-wasm/npm unless `--no-runtime-build` was passed; returns the path of our
 * plugin: from $GRPCWEB_BIN_DIR when it holds one, else built here (debug).
 */
export function buildTools() {
  if (!process.argv.includes("--no-runtime-build")) {
    console.error("building client-wasm/npm ...");
    execFileSync("npm", ["run", "build"], {
      cwd: join(root, "client-wasm", "npm"),
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const given = join(process.env["GRPCWEB_BIN_DIR"] ?? "", "protoc-gen-grpcweb-ts");
  if (process.env["GRPCWEB_BIN_DIR"] && existsSync(given)) return given;
  execFileSync("cargo", ["build", "-q", "-p", "protoc-gen-grpcweb-ts"], { cwd: root, stdio: "inherit" });
  return join(root, "target", "debug", "protoc-gen-grpcweb-ts");
}

const INPUTS = [
  {
    dir: join(root, "protos"),
    files: ["grpc/testing/test.proto", "grpc/testing/messages.proto", "grpc/testing/empty.proto"],
  },
  { dir: join(jsTests, "bench", "protos"), files: ["grpcweb/bench/wide.proto", "grpcweb/bench/narrow.proto"] },
];

/** A work folder with every stack's generated code; `bundle(source)` builds an app there. */
export function createWorkspace(plugin) {
  const work = mkdtempSync(join(tmpdir(), "grpcweb-apps-"));
  const protoc = (pluginName, pluginPath, out, opt) => {
    mkdirSync(out, { recursive: true });
    const lang = pluginName.slice("protoc-gen-".length);
    const args = [`--plugin=${pluginName}=${pluginPath}`, `--${lang}_out=${out}`];
    if (opt) args.push(`--${lang}_opt=${opt}`);
    for (const { dir, files } of INPUTS) run("protoc", [...args, "-I", dir, ...files]);
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
  let appNo = 0;
  return {
    /** Bundles the app `source`; resolves with its output folder. */
    async bundle(source) {
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
      return outDir;
    },
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}

export const esbuildVersion = esbuild.version;
