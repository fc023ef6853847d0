// The package in the bundlers apps use: the same small app (support/bundled-apps.ts) built
// by esbuild, Vite and webpack with no configuration for grpcweb-client, each loaded in
// headless Chromium from its own page and making a unary call and a server stream through
// grpcweb-proxy on another origin, in binary and text. A page error, or a file the page
// asked for that its build did not produce, fails the test.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Browser } from "playwright-core";

import { BUNDLERS, EXPECTED, buildApp, type Bundler } from "./support/bundled-apps.js";
import { launchChromium } from "./support/chromium.js";
import { startServer, type Server } from "./support/processes.js";
import type { Format } from "./support/runtime-cases.js";
import { startStaticServer, type ExtraFile, type StaticServer } from "./support/static-server.js";

const FORMATS: readonly Format[] = ["binary", "text"];
const TEST_TIMEOUT_MS = 30_000;

interface AppPage {
  appReady?: boolean;
  runApp(baseUrl: string, format: Format): Promise<unknown>;
}

describe("the package bundled by esbuild, Vite and webpack, in headless Chromium", { timeout: 300_000 }, () => {
  let backend: Server | undefined;
  let proxy: Server | undefined;
  let site: StaticServer | undefined;
  let browser: Browser | undefined;
  const built = new Map<Bundler, Record<string, ExtraFile>>();

  before(async () => {
    let files: Record<string, ExtraFile> = {};
    for (const bundler of BUNDLERS) {
      built.set(bundler, await buildApp(bundler, "bundlers"));
      files = { ...files, ...built.get(bundler) };
    }
    site = await startStaticServer(files);
    backend = await startServer("interop-server", ["--port", "0"]);
    proxy = await startServer("grpcweb-proxy", [
      "--listen",
      "127.0.0.1:0",
      "--backend",
      `http://${backend.addr}`,
      "--allowed-origin",
      site.origin,
    ]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await backend?.stop();
    await site?.stop();
  });

  for (const bundler of BUNDLERS) {
    for (const format of FORMATS) {
      it(`${bundler}: unary and server stream, ${format}`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        assert.ok(browser !== undefined && site !== undefined && proxy !== undefined, "not set up");
        const page = await browser.newPage();
        const problems: string[] = [];
        const downloaded: string[] = [];
        page.on("pageerror", (e) => problems.push(`page error: ${String(e)}`));
        page.on("response", (r) => {
          const url = new URL(r.url());
          if (url.origin !== site!.origin) return;
          downloaded.push(url.pathname);
          if (r.status() >= 400) problems.push(`${url.pathname}: HTTP ${r.status()}`);
        });
        try {
          await page.goto(`${site.origin}/${bundler}/index.html`);
          await page.waitForFunction(() => (globalThis as unknown as AppPage).appReady === true, undefined, {
            timeout: 15_000,
          });
          const result = await page.evaluate(([url, f]) => (globalThis as unknown as AppPage).runApp(url, f), [
            `http://${proxy.addr}`,
            format,
          ] as const);
          assert.deepEqual(result, EXPECTED);
          assert.deepEqual(problems, []);
          t.diagnostic(`${bundler} page downloaded: ${downloaded.join(" ")}`);
        } finally {
          await page.close();
        }
      });
    }
  }
});
