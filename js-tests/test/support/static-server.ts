// Serves js-tests/ (compiled tests, generated code and node_modules) to a browser page on
// its own origin, with an import map so the ESM packages load unbundled.

import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

/** js-tests/ (this file is compiled to js-tests/dist/test/support/). */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
};

const PROTOBUF = "/node_modules/@bufbuild/protobuf/dist/esm";
const IMPORT_MAP = {
  imports: {
    "grpcweb-client": "/node_modules/grpcweb-client/dist/index.js",
    "@bufbuild/protobuf": `${PROTOBUF}/index.js`,
    "@bufbuild/protobuf/codegenv1": `${PROTOBUF}/codegenv1/index.js`,
    "@bufbuild/protobuf/codegenv2": `${PROTOBUF}/codegenv2/index.js`,
    "@bufbuild/protobuf/reflect": `${PROTOBUF}/reflect/index.js`,
    "@bufbuild/protobuf/wire": `${PROTOBUF}/wire/index.js`,
    "@bufbuild/protobuf/wkt": `${PROTOBUF}/wkt/index.js`,
  },
};

/** A test page: loads the shared cases from `module` and exposes `runCase(name, ctx)`. */
export const casesPage = (module: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>grpcweb-client browser tests</title>
<script type="importmap">${JSON.stringify(IMPORT_MAP)}</script>
<script type="module">
import { allCases } from "${module}";
window.caseNames = allCases.map((c) => c.name);
window.runCase = async (name, ctx) => {
  const found = allCases.find((c) => c.name === name);
  if (!found) return "no such case: " + name;
  try { await found.run(ctx); return null; } catch (e) { return String((e && e.stack) || e); }
};
window.casesReady = true;
</script></head><body>grpcweb-client browser tests</body></html>`;

export interface StaticServer {
  /** The page's origin, e.g. "http://127.0.0.1:1234". */
  readonly origin: string;
  stop(): Promise<void>;
}

/** An in-memory file served at a fixed path. */
export interface ExtraFile {
  readonly type: string;
  readonly body: string | Uint8Array;
  /** More response headers (e.g. a Content-Security-Policy); read on every request. */
  readonly headers?: Record<string, string>;
}

/**
 * Serves `/` (the cases page, loading the compiled cases unbundled through the import
 * map), the files under js-tests/, and `extra` files by path.
 */
export async function startStaticServer(extra: Record<string, ExtraFile> = {}): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const file =
      path === "/" ? { type: TYPES[".html"]!, body: casesPage("/dist/test/support/runtime-cases.js") } : extra[path];
    if (file !== undefined) {
      res.writeHead(200, { ...file.headers, "content-type": file.type, "cache-control": "no-store" });
      res.end(file.body);
      return;
    }
    const onDisk = join(ROOT, normalize(decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, ""));
    if (!onDisk.startsWith(ROOT) || !existsSync(onDisk) || !statSync(onDisk).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(onDisk)] ?? "application/octet-stream",
      "cache-control": "no-store",
    });
    createReadStream(onDisk).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
