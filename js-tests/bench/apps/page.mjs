// Loads a built app in headless Chromium and records every file the page downloads.
//
// The site serves the page (a shell whose only script is the app's entry, not counted),
// the bundler's output folder, and answers every POST as a gRPC-Web server would: one
// empty message and an OK status, in binary or text as the request asked, so each app's
// calls succeed and whatever a runtime fetches or imports lazily for a call (a chunk, a
// wasm file) is downloaded. A `.wasm` the page asks for that the bundler did not emit is
// served from the grpcweb-client package (a runtime that fetches its wasm by URL, which
// the app's deployment would serve next to the bundle).

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { basename, extname, join, normalize } from "node:path";

import { launchChromium } from "../../dist/test/support/chromium.js";

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };
const PAGE = `<!doctype html><meta charset="utf-8"><title>size</title><script type="module" src="/main.js"></script>`;
/** One message frame with an empty message, then a trailer frame with grpc-status 0. */
const REPLY = Buffer.concat([
  Buffer.from([0, 0, 0, 0, 0]),
  Buffer.from([0x80, 0, 0, 0, 15]),
  Buffer.from("grpc-status:0\r\n"),
]);

/** Every file under `dir` (recursively) by basename, for the wasm fallback. */
function filesByName(dir) {
  const found = new Map();
  if (!existsSync(dir)) return found;
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const full = join(dir, name);
    if (statSync(full).isFile()) found.set(basename(name), full);
  }
  return found;
}

/**
 * A file of the app built into `outDir` for the URL path `path`, or undefined: a `.wasm`
 * the bundler did not emit comes from the package's build output `packageDist`.
 */
export function appFileResolver(packageDist) {
  const packageFiles = filesByName(packageDist);
  return (outDir, path) => {
    let file = join(outDir, normalize(path).replace(/^(\.\.[/\\])+/, ""));
    if (!existsSync(file) && extname(path) === ".wasm") file = packageFiles.get(basename(path)) ?? file;
    if (!existsSync(file) || !statSync(file).isFile()) return undefined;
    return { bytes: readFileSync(file), type: TYPES[extname(file)] ?? "application/octet-stream" };
  };
}

/**
 * Starts the site and the browser. `load(outDir)` opens the page for the app built into
 * `outDir` and resolves with the files it downloaded: `[{ path, bytes }]`.
 */
export async function startSizeSite(packageDist) {
  const resolve = appFileResolver(packageDist);
  let current = "";
  let served = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "POST") {
      req.resume();
      req.on("end", () => {
        const text = (req.headers["content-type"] ?? "").startsWith("application/grpc-web-text");
        res.writeHead(200, {
          "content-type": text ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
        });
        res.end(text ? REPLY.toString("base64") : REPLY);
      });
      return;
    }
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      return;
    }
    const file = resolve(current, path);
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    served.push({ path, bytes: file.bytes });
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" });
    res.end(file.bytes);
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchChromium();

  const load = async (outDir) => {
    current = outDir;
    served = [];
    const page = await browser.newPage();
    try {
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const done = page.waitForEvent("console", { predicate: (m) => m.text().startsWith("done "), timeout: 20_000 });
      await page.goto(`${origin}/`);
      await done.catch((e) => {
        throw new Error(`the app in ${outDir} did not finish: ${errors.join("; ") || e}`);
      });
      await page.waitForLoadState("networkidle");
      return served;
    } finally {
      await page.close();
    }
  };
  const stop = async () => {
    await browser.close();
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  };
  return { load, stop };
}
