// The package under a strict page policy, in headless Chromium: the esbuild-built app
// (support/bundled-apps.ts) on a page whose Content-Security-Policy header allows scripts
// from the page's origin and WebAssembly compilation only ('wasm-unsafe-eval': no eval, no
// inline script), fetches to the page's origin and the proxy only, and requires Trusted
// Types for every script sink while allowing no Trusted Types policy. It makes a unary call and a server stream in binary and
// text; any policy violation (a securitypolicyviolation event or a console message) or
// console error fails the test. Two control pages show that the policy is enforced and
// that violations are seen: one with an inline script, one without 'wasm-unsafe-eval'.
// docs/security.md ("Browser pages") documents the policy a page needs.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Browser, Page } from "playwright-core";

import { EXPECTED, buildApp } from "./support/bundled-apps.js";
import { launchChromium } from "./support/chromium.js";
import { startServer, type Server } from "./support/processes.js";
import type { Format } from "./support/runtime-cases.js";
import { startStaticServer, type ExtraFile, type StaticServer } from "./support/static-server.js";

const FORMATS: readonly Format[] = ["binary", "text"];
const TEST_TIMEOUT_MS = 30_000;
const APP_SCRIPT = "/esbuild/main.js";

/** The strict policy, with the proxy's origin allowed for fetch. */
const policy = (proxyOrigin: string, wasm = true): string =>
  [
    "default-src 'self'",
    `script-src 'self'${wasm ? " 'wasm-unsafe-eval'" : ""}`,
    `connect-src 'self' ${proxyOrigin}`,
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; ");

const page = (inline = ""): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>strict</title>${inline}` +
  `<script type="module" src="${APP_SCRIPT}"></script></head><body>strict</body></html>`;

interface AppPage {
  appReady?: boolean;
  violations?: string[];
  runApp(baseUrl: string, format: Format): Promise<unknown>;
}

/** Records violations from before the first script runs (an init script is not subject to the page's CSP). */
function watchViolations(p: Page, into: string[]): Promise<void> {
  p.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy|Trusted Type/i.test(m.text())) {
      into.push(`console ${m.type()}: ${m.text()}`);
    }
  });
  p.on("pageerror", (e) => into.push(`page error: ${String(e)}`));
  return p
    .addInitScript(() => {
      const g = globalThis as unknown as AppPage & {
        document: { addEventListener(t: string, f: (e: never) => void): void };
      };
      g.violations = [];
      g.document.addEventListener("securitypolicyviolation", (e: { violatedDirective: string; blockedURI: string }) => {
        g.violations!.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
      });
    })
    .then(() => undefined);
}

describe(
  "grpcweb-client under a strict Content-Security-Policy with Trusted Types, in Chromium",
  { timeout: 300_000 },
  () => {
    let backend: Server | undefined;
    let proxy: Server | undefined;
    let site: StaticServer | undefined;
    let browser: Browser | undefined;
    const headers = { strict: {} as Record<string, string>, noWasm: {} as Record<string, string> };

    before(async () => {
      const files: Record<string, ExtraFile> = {
        ...(await buildApp("esbuild", "csp")),
        "/strict.html": { type: "text/html", body: page(), headers: headers.strict },
        "/no-wasm.html": { type: "text/html", body: page(), headers: headers.noWasm },
        // Chromium asks for it; a 404 would show as a console error.
        "/favicon.ico": { type: "image/x-icon", body: "" },
        "/inline.html": {
          type: "text/html",
          body: page("<script>window.inlineRan = true</script>"),
          headers: headers.strict,
        },
      };
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
      // The pages' policy names the proxy, which listens only now.
      headers.strict["content-security-policy"] = policy(`http://${proxy.addr}`);
      headers.noWasm["content-security-policy"] = policy(`http://${proxy.addr}`, false);
      browser = await launchChromium();
    });

    after(async () => {
      await browser?.close();
      await proxy?.stop();
      await backend?.stop();
      await site?.stop();
    });

    /** Opens `path`, runs the app's calls; resolves with their result (or error) and every violation. */
    async function visit(
      path: string,
      format: Format,
    ): Promise<{ result: unknown; problems: string[]; inlineRan: boolean }> {
      assert.ok(browser !== undefined && site !== undefined && proxy !== undefined, "not set up");
      const p = await browser.newPage();
      const problems: string[] = [];
      try {
        await watchViolations(p, problems);
        const response = await p.goto(`${site.origin}${path}`);
        assert.match(response?.headers()["content-security-policy"] ?? "", /require-trusted-types-for 'script'/);
        await p.waitForFunction(() => (globalThis as unknown as AppPage).appReady === true, undefined, {
          timeout: 15_000,
        });
        const result = await p.evaluate(
          ([url, f]) =>
            (globalThis as unknown as AppPage).runApp(url, f).catch((e: unknown) => `rejected: ${String(e)}`),
          [`http://${proxy.addr}`, format] as const,
        );
        const seen = await p.evaluate(() => (globalThis as unknown as AppPage).violations ?? []);
        const inlineRan = await p.evaluate(() => (globalThis as unknown as { inlineRan?: boolean }).inlineRan === true);
        return { result, problems: [...seen.map((v) => `violation: ${v}`), ...problems], inlineRan };
      } finally {
        await p.close();
      }
    }

    for (const format of FORMATS) {
      it(
        `unary and server stream under the strict policy, ${format}: no violation`,
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const { result, problems } = await visit("/strict.html", format);
          assert.deepEqual(problems, []);
          assert.deepEqual(result, EXPECTED);
        },
      );
    }

    it(
      "control: the policy is enforced and its violations are seen (an inline script is blocked)",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const { problems, inlineRan } = await visit("/inline.html", "binary");
        assert.equal(inlineRan, false, "the inline script ran: the policy is not in force");
        assert.ok(
          problems.some((p) => p.startsWith("violation: script-src")),
          `no script-src violation seen: ${JSON.stringify(problems)}`,
        );
      },
    );

    it(
      "control: without 'wasm-unsafe-eval' the call fails with an RpcError and a reported violation",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const { result, problems } = await visit("/no-wasm.html", "binary");
        assert.match(String(result), /^rejected: /);
        assert.ok(
          problems.some((p) => p.startsWith("violation: script-src")),
          `no script-src violation seen: ${JSON.stringify(problems)}`,
        );
      },
    );
  },
);
