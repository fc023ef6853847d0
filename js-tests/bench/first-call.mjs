// First-call latency in headless Chromium (not a test): how long a page takes from the
// start of its scripts to its first unary response, per stack, so a runtime change can be
// compared before and after. The one-RPC apps of the size benchmark (bench/apps/apps.mjs,
// bundled the same way) call UnaryCall on grpcweb-proxy in front of interop-server, on
// another origin than the page (so a CORS preflight comes first, as on most sites).
//
// The page's first script (a classic inline one, before the app's module) notes
// performance.now(); the app logs "done" right after its response, when the page notes
// it again. Each load is a fresh browser context (no HTTP or code cache). A cell is the
// median of `--loads` loads (default 15); the loads of the stacks interleave. The table
// goes to stdout and into BENCHMARKS.md (between the first-call markers).
//
// Run: `npm run bench:first-call` in js-tests/ (gen + tsc first; rebuilds client-wasm/npm
// unless `-- --no-runtime-build`). Binaries from $GRPCWEB_BIN_DIR, else release builds
// made here.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { stacks } from "./apps/apps.mjs";
import { buildTools, createWorkspace, esbuildVersion, packageDist, root } from "./apps/build.mjs";
import { appFileResolver } from "./apps/page.mjs";

const { values: args } = parseArgs({
  options: { loads: { type: "string", default: "15" }, "no-runtime-build": { type: "boolean" } },
});
const LOADS = Number(args.loads);

if (!process.env["GRPCWEB_BIN_DIR"]) {
  console.error("building release binaries ...");
  execFileSync("cargo", ["build", "-q", "--release", "-p", "grpcweb-proxy", "-p", "grpcweb-interop", "--bins"], {
    cwd: root,
    stdio: "inherit",
  });
  process.env["GRPCWEB_BIN_DIR"] = join(root, "target", "release");
}
const { startServer } = await import("../dist/test/support/processes.js");
const { launchChromium } = await import("../dist/test/support/chromium.js");

const workspace = createWorkspace(buildTools());
const apps = [];
for (const stack of stacks) {
  const source = stack.test(["UnaryCall"]).replaceAll("location.origin", "(globalThis as any).grpcBaseUrl");
  apps.push({ name: stack.name, outDir: await workspace.bundle(source), times: [], sinceNavigation: [] });
}

let proxyUrl = "";
const page = () => `<!doctype html><meta charset="utf-8"><title>first call</title>
<script>
window.grpcBaseUrl = ${JSON.stringify(proxyUrl)};
window.scriptStart = performance.now();
const log = console.log;
console.log = (...a) => {
  if (typeof a[0] === "string" && a[0].startsWith("done ")) window.firstResponse ??= performance.now();
  log.apply(console, a);
};
</script>
<script type="module" src="/main.js"></script>`;
const resolve = appFileResolver(packageDist);
let current = "";
const site = createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (path === "/") {
    res.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" }).end(page());
    return;
  }
  const file = resolve(current, path);
  if (file === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.bytes);
});
await new Promise((done) => site.listen(0, "127.0.0.1", done));
const origin = `http://127.0.0.1:${site.address().port}`;

const backend = await startServer("interop-server", ["--port", "0"]);
const proxy = await startServer("grpcweb-proxy", [
  "--listen",
  "127.0.0.1:0",
  "--backend",
  `http://${backend.addr}`,
  "--allowed-origin",
  origin,
]);
proxyUrl = `http://${proxy.addr}`;
const browser = await launchChromium();
try {
  for (let i = 0; i < LOADS + 1; i++) {
    for (const app of apps) {
      current = app.outDir;
      const context = await browser.newContext();
      try {
        const tab = await context.newPage();
        const errors = [];
        tab.on("pageerror", (e) => errors.push(String(e)));
        await tab.goto(`${origin}/`);
        await tab
          .waitForFunction(() => globalThis.firstResponse !== undefined, undefined, { timeout: 20_000 })
          .catch((e) => {
            throw new Error(`${app.name}: no response: ${errors.join("; ") || e}`);
          });
        const t = await tab.evaluate(() => [globalThis.scriptStart, globalThis.firstResponse]);
        // The first round warms up the browser process and the servers; it is not counted.
        if (i > 0) {
          app.times.push(t[1] - t[0]);
          app.sinceNavigation.push(t[1]);
        }
      } finally {
        await context.close();
      }
    }
  }
} finally {
  await browser.close();
  await proxy.stop();
  await backend.stop();
  site.closeAllConnections();
  site.close();
  workspace.remove();
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
const ms = (n) => `${n.toFixed(1)} ms`;
const table = [
  "| app | script start to first response: median | min | max | navigation start to first response: median |",
  "|---|---:|---:|---:|---:|",
  ...apps.map(
    (a) =>
      `| ${a.name} | ${ms(median(a.times))} | ${ms(sorted(a.times)[0])} | ${ms(sorted(a.times).at(-1))} | ${ms(median(a.sinceNavigation))} |`,
  ),
].join("\n");
const chromium = execFileSync(process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium", ["--version"], {
  encoding: "utf8",
}).trim();
const section = `<!-- first-call:begin (written by js-tests/bench/first-call.mjs) -->
## First-call latency in headless Chromium

Measured ${new Date().toISOString().slice(0, 10)} with \`cd js-tests && npm run bench:first-call\`
(\`node bench/first-call.mjs\`): the one-RPC app of the size table per stack (esbuild bundle),
served from one origin, calling UnaryCall on grpcweb-proxy (release build, in front of
interop-server) on another, so the browser sends a CORS preflight first. Time from the page's
first script (an inline one before the app's module script) to the app's first response
(which includes loading and running the bundle, and for ours instantiating the wasm); and
from navigation start. ${LOADS} fresh browser contexts per app (no cache), after one
uncounted round; the apps take turns. All on loopback, 2 shared cores: compare rows of one run.

${table}

Versions: ${chromium}; esbuild ${esbuildVersion}; Node ${process.version}.
<!-- first-call:end -->`;
const benchmarks = join(root, "BENCHMARKS.md");
const old = existsSync(benchmarks) ? readFileSync(benchmarks, "utf8") : "# Benchmarks\n";
const marked = /<!-- first-call:begin[\s\S]*?<!-- first-call:end -->/;
writeFileSync(benchmarks, marked.test(old) ? old.replace(marked, section) : insertAfter(old, section));
console.log(table);
console.log(`\nwritten to ${benchmarks}`);

/** A new section goes after the client's other sections, before the proxy's. */
function insertAfter(text, section) {
  for (const end of ["<!-- throughput:end -->", "<!-- size:end -->"]) {
    const at = text.indexOf(end);
    if (at >= 0) return `${text.slice(0, at + end.length)}\n\n${section}${text.slice(at + end.length)}`;
  }
  return `${text.trimEnd()}\n\n${section}\n`;
}
