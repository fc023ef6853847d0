// The wasm runtime in headless Chromium (Debian's /usr/bin/chromium via playwright-core):
// the same cases as runtime.test.ts, from a page served on another origin than the proxy,
// so real CORS (preflights, exposed headers) applies. The proxy allows only that origin.

import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { build as viteBuild } from "vite";

import { launchChromium } from "./support/chromium.js";
import { closedUrl } from "./support/closed-port.js";
import { startServer, type Server } from "./support/processes.js";
import { allCases, type CaseContext, type Format } from "./support/runtime-cases.js";
import { startScriptedServer, type ScriptedServer } from "./support/scripted-server.js";
import { casesPage, startStaticServer, type StaticServer } from "./support/static-server.js";

const TEST_TIMEOUT_MS = 30_000;
const FORMATS: readonly Format[] = ["binary", "text"];
/** Cases re-run from the esbuild bundle (the bundler must not break the inlined wasm). */
const BUNDLED_CASES = ["empty_unary", "server_streaming", "custom_metadata unary", "response in 1-byte chunks"];
/** Cases run inside a module Web Worker, from the esbuild bundle. */
const WORKER_CASES = [
  "large_unary",
  "server_streaming",
  "custom_metadata server streaming",
  "deadline enforced locally (server never answers) and grpc-timeout sent",
  "abort mid-stream: CANCELLED at once and the server sees the request go away",
  "network error is UNAVAILABLE, never a TypeError",
];

/** The page's `Worker` (js-tests compile without the DOM library). */
interface WorkerLike {
  onmessage: ((event: { data: string | null }) => void) | null;
  onerror: ((event: { message: string }) => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}
type WorkerCtor = new (url: string, options: { type: "module" }) => WorkerLike;

/** What the test page puts on its global object (see static-server.ts). */
interface CasePage {
  casesReady?: boolean;
  runCase(name: string, ctx: CaseContext): Promise<string | null>;
}

describe("grpcweb-client (wasm) in headless Chromium, cross-origin -> grpcweb-proxy", { timeout: 600_000 }, () => {
  let backend: Server | undefined;
  let proxy: Server | undefined;
  let scripted: ScriptedServer | undefined;
  let site: StaticServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let closed = "";
  const pageErrors: string[] = [];

  let bundledPage: Page | undefined;
  let vitePage: Page | undefined;
  const bundledRequests: string[] = [];

  before(async () => {
    // The same cases, bundled by esbuild into one file, as an app would ship them.
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("./support/runtime-cases.js", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "browser",
      minify: true,
      write: false,
      logLevel: "silent",
    });
    // And once more as a module worker script: the runtime must not need a window.
    const worker = await build({
      stdin: {
        contents: `
          import { allCases } from "./dist/test/support/runtime-cases.js";
          self.onmessage = async (event) => {
            const { name, ctx } = event.data;
            const found = allCases.find((c) => c.name === name);
            try {
              if (!found) throw new Error("no such case: " + name);
              await found.run(ctx);
              self.postMessage(null);
            } catch (e) {
              self.postMessage(String((e && e.stack) || e));
            }
          };`,
        resolveDir: fileURLToPath(new URL("../../", import.meta.url)),
      },
      bundle: true,
      format: "esm",
      platform: "browser",
      minify: true,
      write: false,
      logLevel: "silent",
    });
    // And bundled by Vite (library mode, ES output): the inlined wasm lands in its own
    // chunk, loaded on the first call.
    const viteFiles = await buildWithVite();
    site = await startStaticServer({
      ...viteFiles,
      "/vite.html": { type: "text/html", body: casesPage("/vite/app.js") },
      "/worker.js": { type: "text/javascript", body: worker.outputFiles[0]!.contents },
      "/bundle.js": { type: "text/javascript", body: bundle.outputFiles[0]!.contents },
      "/bundled.html": { type: "text/html", body: casesPage("/bundle.js") },
    });
    backend = await startServer("interop-server", ["--port", "0"]);
    proxy = await startServer("grpcweb-proxy", [
      "--listen",
      "127.0.0.1:0",
      "--backend",
      `http://${backend.addr}`,
      "--allowed-origin",
      site.origin,
    ]);
    scripted = await startScriptedServer();
    closed = await closedUrl();
    // launch() gives Chromium a fresh temporary --user-data-dir and removes it on close.
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.goto(`${site.origin}/`);
    await page.waitForFunction(() => (globalThis as unknown as CasePage).casesReady === true, undefined, {
      timeout: 15_000,
    });
    vitePage = await browser.newPage();
    vitePage.on("pageerror", (e) => pageErrors.push(String(e)));
    await vitePage.goto(`${site.origin}/vite.html`);
    await vitePage.waitForFunction(() => (globalThis as unknown as CasePage).casesReady === true, undefined, {
      timeout: 15_000,
    });
    bundledPage = await browser.newPage();
    bundledPage.on("pageerror", (e) => pageErrors.push(String(e)));
    bundledPage.on("request", (r) => bundledRequests.push(new URL(r.url()).pathname));
    await bundledPage.goto(`${site.origin}/bundled.html`);
    await bundledPage.waitForFunction(() => (globalThis as unknown as CasePage).casesReady === true, undefined, {
      timeout: 15_000,
    });
  });

  after(async () => {
    await browser?.close();
    await scripted?.stop();
    await proxy?.stop();
    await backend?.stop();
    await site?.stop();
  });

  const context = (format: Format): CaseContext => {
    assert.ok(proxy !== undefined && scripted !== undefined, "not set up");
    return { proxyUrl: `http://${proxy.addr}`, scriptedUrl: scripted.baseUrl, closedUrl: closed, format };
  };

  it("the page and the proxy are on different origins", () => {
    assert.ok(site !== undefined && proxy !== undefined);
    assert.notEqual(new URL(site.origin).origin, new URL(`http://${proxy.addr}`).origin);
    assert.deepEqual(pageErrors, []);
  });

  it("a call from an origin the proxy does not allow fails (CORS applies)", async () => {
    assert.ok(page !== undefined && proxy !== undefined && backend !== undefined);
    // A second proxy that allows some other origin only.
    const strict = await startServer("grpcweb-proxy", [
      "--listen",
      "127.0.0.1:0",
      "--backend",
      `http://${backend.addr}`,
      "--allowed-origin",
      "http://other.example",
    ]);
    try {
      const ctx: CaseContext = {
        proxyUrl: `http://${strict.addr}`,
        scriptedUrl: scripted!.baseUrl,
        closedUrl: closed,
        format: "binary",
      };
      const failure = await page.evaluate(([c]) => (globalThis as unknown as CasePage).runCase("empty_unary", c), [
        ctx,
      ] as const);
      assert.ok(failure !== null, "the call succeeded although the origin is not allowed");
      assert.match(failure, /UNAVAILABLE/);
    } finally {
      await strict.stop();
    }
  });

  describe("esbuild bundle, as shipped", () => {
    it("loads from one file: the wasm is inlined, no other request", async (t) => {
      assert.ok(bundledPage !== undefined, "not set up");
      assert.deepEqual(
        bundledRequests.filter((p) => p !== "/bundled.html" && p !== "/bundle.js"),
        [],
      );
      // For the record: the runtime alone, as an app would bundle it.
      const app = await build({
        stdin: {
          contents: 'export { createGrpcWebTransport } from "grpcweb-client";',
          resolveDir: fileURLToPath(new URL("../../", import.meta.url)),
        },
        bundle: true,
        format: "esm",
        platform: "browser",
        minify: true,
        write: false,
        logLevel: "silent",
      });
      const bytes = app.outputFiles[0]!.contents;
      t.diagnostic(`runtime bundle: ${bytes.length} B minified, ${gzipSync(bytes, { level: 9 }).length} B gzip`);
    });
  });

  describe("in a module Web Worker (no window)", () => {
    for (const format of FORMATS) {
      for (const name of WORKER_CASES) {
        it(`${format}: ${name}`, { timeout: TEST_TIMEOUT_MS }, async () => {
          assert.ok(page !== undefined, "not set up");
          const failure = await page.evaluate(
            ([n, c]) =>
              new Promise<string | null>((done) => {
                const Ctor = (globalThis as unknown as { Worker: WorkerCtor }).Worker;
                const worker = new Ctor("/worker.js", { type: "module" });
                worker.onmessage = (event) => {
                  worker.terminate();
                  done(event.data);
                };
                worker.onerror = (event) => done(`worker error: ${event.message}`);
                worker.postMessage({ name: n, ctx: c });
              }),
            [name, context(format)] as const,
          );
          assert.equal(failure, null);
        });
      }
    }
  });

  it('credentials: "include" is sent, and needs a proxy that allows credentials', async () => {
    assert.ok(page !== undefined && backend !== undefined && site !== undefined);
    const call = (baseUrl: string): Promise<string> =>
      page!.evaluate(
        async ([url]) => {
          const { createGrpcWebTransport } = await import("grpcweb-client");
          const transport = createGrpcWebTransport({ baseUrl: url, credentials: "include" });
          const method = {
            service: "grpc.testing.TestService",
            name: "EmptyCall",
            path: "/grpc.testing.TestService/EmptyCall",
            kind: "unary" as const,
            encode: () => new Uint8Array(0),
            decode: (bytes: Uint8Array) => bytes.length,
          };
          try {
            return `ok ${await transport.unary(method, {})}`;
          } catch (e) {
            return String(e);
          }
        },
        [baseUrl] as const,
      );
    const start = (extra: string[]): Promise<Server> =>
      startServer("grpcweb-proxy", [
        "--listen",
        "127.0.0.1:0",
        "--backend",
        `http://${backend!.addr}`,
        "--allowed-origin",
        site!.origin,
        ...extra,
      ]);
    const withCredentials = await start(["--allow-credentials"]);
    const without = await start([]);
    try {
      assert.equal(await call(`http://${withCredentials.addr}`), "ok 0");
      // The browser refuses a credentialed response that does not allow credentials.
      assert.match(await call(`http://${without.addr}`), /UNAVAILABLE/);
    } finally {
      await withCredentials.stop();
      await without.stop();
    }
  });

  /** Where the shared cases run: each page, with the cases it runs, in both formats. */
  const TARGETS: readonly { suite: string; page: () => Page | undefined; cases: readonly string[] }[] = [
    { suite: "esbuild bundle", page: () => bundledPage, cases: BUNDLED_CASES },
    { suite: "Vite bundle", page: () => vitePage, cases: BUNDLED_CASES },
    { suite: "unbundled (import map)", page: () => page, cases: allCases.map((c) => c.name) },
  ];
  for (const target of TARGETS) {
    describe(target.suite, () => {
      for (const format of FORMATS) {
        for (const name of target.cases) {
          it(`${format}: ${name}`, { timeout: TEST_TIMEOUT_MS }, async () => {
            const p = target.page();
            assert.ok(p !== undefined, "not set up");
            const failure = await p.evaluate(([n, c]) => (globalThis as unknown as CasePage).runCase(n, c), [
              name,
              context(format),
            ] as const);
            assert.equal(failure, null);
          });
        }
      }
    });
  }
});

/**
 * Builds the shared cases with Vite into js-tests/dist/vite and returns the output as
 * files served under /vite/.
 */
async function buildWithVite(): Promise<Record<string, { type: string; body: Uint8Array }>> {
  const jsTests = fileURLToPath(new URL("../../", import.meta.url));
  const work = join(jsTests, "dist", "vite");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "out"), { recursive: true });
  const entry = join(work, "entry.js");
  // The page (casesPage) imports `allCases` from the bundle and wires up runCase.
  writeFileSync(entry, 'export { allCases } from "../test/support/runtime-cases.js";\n');
  await viteBuild({
    root: jsTests,
    configFile: false,
    logLevel: "silent",
    build: {
      outDir: join(work, "out"),
      emptyOutDir: true,
      minify: true,
      lib: { entry, formats: ["es"], fileName: () => "app.js" },
    },
  });
  const files: Record<string, { type: string; body: Uint8Array }> = {};
  for (const name of readdirSync(join(work, "out"), { recursive: true, encoding: "utf8" })) {
    if (name.endsWith(".js")) {
      files[`/vite/${name}`] = { type: "text/javascript", body: readFileSync(join(work, "out", name)) };
    }
  }
  return files;
}
