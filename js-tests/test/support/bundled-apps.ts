// A small browser app on the generated TestServiceClient (protoc-gen-grpcweb-ts) and the
// grpcweb-client package, built the way apps are: by esbuild, Vite and webpack, each with
// its own defaults for a production build and no configuration for the package. Each build
// is returned as in-memory files under `/<bundler>/`, with an index.html loading it.
//
// The app puts `runApp(baseUrl, format)` on the page: a unary call and a server stream,
// resolving with what they returned.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { build as esbuild } from "esbuild";
import { build as viteBuild } from "vite";
import webpack from "webpack";

import type { ExtraFile } from "./static-server.js";

/** js-tests/ (this file is compiled to js-tests/dist/test/support/). */
const JS_TESTS = fileURLToPath(new URL("../../../", import.meta.url));
/** Where the apps are written and built (gitignored). */
const WORK = join(JS_TESTS, "dist", "bundlers");

export const BUNDLERS = ["esbuild", "vite", "webpack"] as const;
export type Bundler = (typeof BUNDLERS)[number];

/** What `runApp` resolves with when both calls worked. */
export const EXPECTED = { unary: 10, stream: [1, 2, 3] };

const APP = `import { createGrpcWebTransport } from "grpcweb-client";
import { TestServiceClient } from "../gen/ours/grpc/testing/test_grpcweb.js";

globalThis.runApp = async (baseUrl, format) => {
  const client = new TestServiceClient(createGrpcWebTransport({ baseUrl, format }));
  const res = await client.unaryCall({ responseSize: 10, payload: { body: new Uint8Array(4) } });
  const stream = [];
  for await (const m of client.streamingOutputCall({ responseParameters: [{ size: 1 }, { size: 2 }, { size: 3 }] })) {
    stream.push(m.payload?.body.length);
  }
  return { unary: res.payload?.body.length, stream };
};
globalThis.appReady = true;
`;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".json": "application/json",
};

const html = (script: string, module: boolean): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>app</title>` +
  `<script ${module ? 'type="module" ' : ""}src="${script}"></script></head><body>app</body></html>`;

/** Every file under `dir`, served under `prefix`. */
function served(dir: string, prefix: string): Record<string, ExtraFile> {
  const files: Record<string, ExtraFile> = {};
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = join(dir, name);
    try {
      files[`${prefix}/${name.split("\\").join("/")}`] = {
        type: TYPES[extname(name)] ?? "application/octet-stream",
        body: readFileSync(path),
      };
    } catch {
      // a folder
    }
  }
  return files;
}

/**
 * Builds the app with `bundler`; the page is `/<bundler>/index.html`. `id` names the build
 * folders (test files run in parallel: each uses its own).
 */
export async function buildApp(bundler: Bundler, id: string): Promise<Record<string, ExtraFile>> {
  const dir = join(WORK, id, bundler);
  const out = join(dir, "out");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // The app sits in dist/app-<id>-<bundler>/ so that "../gen/ours/..." is the compiled generated code.
  const appDir = join(JS_TESTS, "dist", `app-${id}-${bundler}`);
  mkdirSync(appDir, { recursive: true });
  const entry = join(appDir, "main.js");
  writeFileSync(entry, APP);
  switch (bundler) {
    case "esbuild":
      await esbuild({
        entryPoints: [entry],
        bundle: true,
        minify: true,
        splitting: true,
        format: "esm",
        platform: "browser",
        outdir: out,
        loader: { ".wasm": "file" },
        logLevel: "silent",
      });
      writeFileSync(join(out, "index.html"), html("/esbuild/main.js", true));
      break;
    case "vite":
      writeFileSync(join(appDir, "index.html"), html("./main.js", true));
      await viteBuild({
        root: appDir,
        base: "/vite/",
        configFile: false,
        logLevel: "silent",
        build: { outDir: out, emptyOutDir: true, minify: true },
      });
      break;
    case "webpack":
      await new Promise<void>((done, fail) => {
        const compiler = webpack({
          mode: "production",
          context: appDir,
          entry,
          target: "web",
          devtool: false,
          performance: { hints: false },
          output: { path: out, filename: "main.js", publicPath: "/webpack/" },
        });
        compiler.run((err, stats) => {
          compiler.close(() => undefined);
          if (err) fail(err);
          else if (stats?.hasErrors()) fail(new Error(stats.toString("errors-only")));
          else done();
        });
      });
      writeFileSync(join(out, "index.html"), html("/webpack/main.js", false));
      break;
  }
  return served(out, `/${bundler}`);
}
