// The demo of `cargo xtask demo`, end to end in headless Chromium: starts
// `xtask demo --no-build` (this suite builds the binaries and the runtime first; the demo
// still generates and bundles its page), waits for its `Demo: URL` line, clicks through
// every feature of the page, checks what the page shows, saves a screenshot to
// test-output/demo.png, and finally stops the demo as Ctrl-C would (SIGINT to its
// process group) and checks that the page and the proxy are gone. Over plain HTTP the
// client-streaming card shows UNIMPLEMENTED; then `xtask demo --tls` serves the page and
// the proxy over HTTPS, Chromium trusts the certificate by the SPKI hash the demo prints,
// and the card's client stream works over HTTP/2 (test-output/demo-tls.png).

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import type { Browser, Locator, Page } from "playwright-core";

import { launchChromium } from "./support/chromium.js";
import { binDir } from "./support/processes.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const OUTPUT = resolve(ROOT, "js-tests", "test-output");
/** Generating and bundling the page (and `npm ci` in examples/web on a fresh clone). */
const START_TIMEOUT_MS = 180_000;
const UI_TIMEOUT_MS = 15_000;

/** A started `xtask demo`: its URLs and a way to wait for its exit. */
interface Demo {
  child: ChildProcess;
  pageUrl: string;
  proxyUrl: string;
  /** With `--tls`: the Chromium flag the demo printed to trust its certificate. */
  chromiumFlag: string | undefined;
  exited: Promise<void>;
  output: () => string;
}

function startDemo(extra: readonly string[] = []): Promise<Demo> {
  const xtask = join(binDir(), "xtask");
  // Own process group, so the test can send SIGINT to the demo and its children at once,
  // as a terminal does on Ctrl-C.
  const child = spawn(xtask, ["demo", "--no-build", "--page-port", "0", "--proxy-port", "0", ...extra], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (text: string): void => {
    tail = (tail + text).slice(-8_000);
  };
  child.stderr?.setEncoding("utf8").on("data", keep);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  return new Promise<Demo>((done, fail) => {
    let proxyUrl = "";
    let chromiumFlag: string | undefined;
    const timer = setTimeout(
      () => fail(new Error(`no "Demo:" line within ${START_TIMEOUT_MS} ms\n${tail}`)),
      START_TIMEOUT_MS,
    );
    child.once("error", (e) => fail(new Error(`could not start ${xtask}: ${e.message}`)));
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`xtask demo exited early (code ${code})\n${tail}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      keep(line + "\n");
      const proxy = /^\s+grpcweb-proxy\s+(https?:\/\/\S+)/.exec(line);
      if (proxy?.[1] !== undefined) proxyUrl = proxy[1];
      const flag = /^\s+chromium (--ignore-certificate-errors-spki-list=\S+)/.exec(line);
      if (flag?.[1] !== undefined) chromiumFlag = flag[1];
      const demo = /^Demo: (https?:\/\/127\.0\.0\.1:\d+\/)$/.exec(line);
      if (demo?.[1] !== undefined) {
        clearTimeout(timer);
        done({ child, pageUrl: demo[1], proxyUrl, chromiumFlag, exited, output: () => tail });
      }
    });
  });
}

/** Whether something accepts TCP connections at `url`. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

async function text(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? "";
}

describe("the demo page (cargo xtask demo) in headless Chromium", { timeout: 400_000 }, () => {
  let demo: Demo | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const problems: string[] = [];
  /** content-type of every request the page sent to the proxy, in order. */
  const proxyRequests: string[] = [];

  before(async () => {
    // What `--no-build` leaves to us; a no-op when `cargo xtask test` has built them.
    const built = spawnSync(
      "cargo",
      ["build", "-p", "xtask", "-p", "protoc-gen-grpcweb-ts", "-p", "grpcweb-proxy", "-p", "grpcweb-interop", "--bins"],
      { cwd: ROOT, stdio: "inherit" },
    );
    assert.equal(built.status, 0, "cargo build failed");
    demo = await startDemo();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on("pageerror", (e) => problems.push(`pageerror: ${String(e)}`));
    // CSP violations and failed loads show up as console errors.
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    page.on("request", (r) => {
      if (demo !== undefined && r.url().startsWith(demo.proxyUrl) && r.method() === "POST") {
        proxyRequests.push(r.headers()["content-type"] ?? "");
      }
    });
    await page.goto(demo.pageUrl);
    await page.locator("body[data-ready=true]").waitFor({ timeout: UI_TIMEOUT_MS });
  });

  after(async () => {
    await browser?.close();
    if (demo?.child.pid !== undefined && demo.child.exitCode === null && demo.child.signalCode === null) {
      process.kill(-demo.child.pid, "SIGKILL");
    }
  });

  it("serves the page and the proxy on different origins", () => {
    assert.ok(demo !== undefined && page !== undefined, "not set up");
    assert.match(demo.proxyUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(demo.pageUrl).origin, new URL(demo.proxyUrl).origin);
  });

  it("echo: shows the message, the metadata the server saw, and logs headers and trailers", async () => {
    assert.ok(page !== undefined, "not set up");
    await page.fill("#echo-input", "hello from chromium");
    await page.click("#echo-button");
    const result = page.locator("#echo-result.ok");
    await result.waitFor({ timeout: UI_TIMEOUT_MS });
    const shown = await text(result);
    assert.match(shown, /Echo #\d+: “hello from chromium”/);
    assert.match(shown, /saw x-demo-client\s*grpcweb demo page/);
    assert.match(shown, /saw content-type\s*application\/grpc/);
    const row = page.locator('#log-body tr[data-method="Echo"][data-code="OK"][data-format="binary"]');
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    const cells = await row.locator("td").allTextContents();
    assert.equal(cells[2], "0 OK");
    assert.match(cells[4] ?? "", /^\d+ ms$/);
    assert.match(cells[5] ?? "", /x-demo-call-number: \d+/, "response headers");
    assert.match(cells[5] ?? "", /content-type: application\/grpc-web\+proto/);
    assert.match(cells[6] ?? "", /grpc-status: 0/, "trailers");
  });

  it("ticker: ticks arrive live, Stop cancels the stream", async () => {
    assert.ok(page !== undefined, "not set up");
    await page.fill("#ticker-count", "100");
    await page.fill("#ticker-interval", "100");
    await page.click("#ticker-start");
    await page.locator("#ticks li").nth(2).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.locator("#ticker-stop").isEnabled(), true);
    assert.match(await text(page.locator("#ticks li").first()), /^#1 \d\d:\d\d:\d\d\.\d{3}$/);
    await page.click("#ticker-stop");
    const status = page.locator("#ticker-status", { hasText: "stopped after" });
    await status.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await text(status), /stopped after \d+ ticks: CANCELLED/);
    const ticks = await page.locator("#ticks li").count();
    assert.ok(ticks >= 3 && ticks < 100, `${ticks} ticks`);
    const row = page.locator('#log-body tr[data-method="Ticker"][data-code="CANCELLED"]');
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await text(row.locator("td").nth(3)), new RegExp(`^${ticks} messages · `));
    assert.equal(await page.locator("#ticker-start").isEnabled(), true);
  });

  it("error with details: decodes google.rpc.BadRequest and ErrorInfo", async () => {
    assert.ok(page !== undefined, "not set up");
    await page.fill("#fail-field", "email");
    await page.click("#fail-button");
    const result = page.locator("#fail-result.err");
    await result.locator(".detail").first().waitFor({ timeout: UI_TIMEOUT_MS });
    const shown = await text(result);
    assert.match(shown, /INVALID_ARGUMENT: the demo rejects every request: email is invalid/);
    assert.match(shown, /google\.rpc\.BadRequest\s*field\s*email\s*description\s*email is not acceptable/);
    assert.match(shown, /reason\s*DEMO_INVALID_FIELD/);
    assert.match(shown, /google\.rpc\.ErrorInfo\s*reason\s*DEMO_FAILURE\s*domain\s*demo\.grpcweb\.dev/);
    assert.match(shown, /metadata\.field\s*email/);
    const row = page.locator('#log-body tr[data-method="Fail"][data-code="INVALID_ARGUMENT"]');
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await text(row.locator("td").nth(6)), /grpc-status: 3/);
  });

  it("deadline: Sleep 2 s with a 500 ms deadline ends with DEADLINE_EXCEEDED", async () => {
    assert.ok(page !== undefined, "not set up");
    await page.click("#sleep-button");
    const result = page.locator("#sleep-result.err");
    await result.waitFor({ timeout: UI_TIMEOUT_MS });
    const shown = await text(result);
    const found = /^DEADLINE_EXCEEDED after (\d+) ms/.exec(shown);
    assert.ok(found?.[1] !== undefined, shown);
    const ms = Number(found[1]);
    assert.ok(ms >= 450 && ms < 1800, `the deadline fired after ${ms} ms`);
    await page
      .locator('#log-body tr[data-method="Sleep"][data-code="DEADLINE_EXCEEDED"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
  });

  it("text mode: echo and a whole ticker stream go over application/grpc-web-text", async () => {
    assert.ok(page !== undefined, "not set up");
    const before = proxyRequests.length;
    await page.check("#format-text");
    await page.fill("#echo-input", "now in text mode");
    await page.click("#echo-button");
    await page.locator("#echo-result.ok", { hasText: "now in text mode" }).waitFor({ timeout: UI_TIMEOUT_MS });
    const row = page.locator('#log-body tr[data-method="Echo"][data-format="text"][data-code="OK"]');
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await text(row.locator("td").nth(5)), /content-type: application\/grpc-web-text/);

    await page.fill("#ticker-count", "3");
    await page.fill("#ticker-interval", "50");
    await page.click("#ticker-start");
    await page.locator("#ticker-status.ok", { hasText: "done: 3 ticks" }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.locator("#ticks li").count(), 3);
    const tickerRow = page.locator('#log-body tr[data-method="Ticker"][data-format="text"][data-code="OK"]');
    await tickerRow.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await text(tickerRow.locator("td").nth(3)), "3 messages");
    const sent = proxyRequests.slice(before);
    assert.equal(sent.length, 2, sent.join(", "));
    for (const contentType of sent) {
      assert.match(contentType, /^application\/grpc-web-text/);
    }
  });

  it("client stream over plain HTTP/1.1: the Collect card shows UNIMPLEMENTED and why", async () => {
    assert.ok(page !== undefined, "not set up");
    assert.match(await text(page.locator("#collect-support")), /HTTP\/1\.1.*cargo xtask demo --tls/);
    await page.fill("#collect-input", "hello");
    await page.press("#collect-input", "Enter");
    const result = page.locator("#collect-result.err");
    await result.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await text(result), /^UNIMPLEMENTED: the browser refused to stream the request body .*HTTP\/2/);
    await page
      .locator('#log-body tr[data-method="Collect"][data-code="UNIMPLEMENTED"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
  });

  it("the page raised no errors or CSP violations; screenshot saved", async () => {
    assert.ok(page !== undefined, "not set up");
    // The Stop-cancelled stream and the failed calls are RpcErrors the page handles. The
    // refused client stream is logged by Chromium itself (net::ERR_ALPN_NEGOTIATION_FAILED
    // in Chromium 156), and the runtime's no-cors GET that told it from a network failure
    // was answered 405 by the proxy.
    const expected = (p: string): boolean =>
      /net::ERR_(ALPN_NEGOTIATION_FAILED|H2_OR_QUIC_REQUIRED)$/.test(p) ||
      p === "console: Failed to load resource: the server responded with a status of 405 (Method Not Allowed)" ||
      (p.startsWith("HTTP 405: ") && p.endsWith("/grpcweb.demo.v1.DemoService/Collect"));
    assert.deepEqual(
      problems.filter((p) => !expected(p)),
      [],
    );
    assert.equal(await page.locator("#log-body tr").count(), 7);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "demo.png"), fullPage: true });
  });

  it("Ctrl-C (SIGINT to the process group) stops the page, the proxy and the backend", async () => {
    assert.ok(demo?.child.pid !== undefined, "not set up");
    await browser?.close();
    browser = undefined;
    process.kill(-demo.child.pid, "SIGINT");
    await Promise.race([
      demo.exited,
      new Promise((_, fail) =>
        setTimeout(() => fail(new Error(`xtask demo still running\n${demo!.output()}`)), 10_000),
      ),
    ]);
    // The children drain for up to a couple of seconds.
    const deadline = Date.now() + 10_000;
    while ((await listening(demo.proxyUrl)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await listening(demo.proxyUrl), false, "the proxy still listens");
    assert.equal(await listening(demo.pageUrl), false, "the page still listens");
  });
});

describe("the demo over TLS (cargo xtask demo --tls) in headless Chromium", { timeout: 400_000 }, () => {
  let demo: Demo | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const problems: string[] = [];

  before(async () => {
    // The binaries were built by the suite above.
    demo = await startDemo(["--tls"]);
    assert.ok(demo.chromiumFlag !== undefined, `no Chromium flag printed\n${demo.output()}`);
    browser = await launchChromium([demo.chromiumFlag]);
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on("pageerror", (e) => problems.push(`pageerror: ${String(e)}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.goto(demo.pageUrl);
    await page.locator("body[data-ready=true]").waitFor({ timeout: UI_TIMEOUT_MS });
  });

  after(async () => {
    await browser?.close();
    if (demo?.child.pid !== undefined && demo.child.exitCode === null && demo.child.signalCode === null) {
      process.kill(-demo.child.pid, "SIGINT");
      await Promise.race([demo.exited, new Promise((done) => setTimeout(done, 10_000))]);
    }
  });

  it("serves the page and the proxy over HTTPS", () => {
    assert.ok(demo !== undefined, "not set up");
    assert.match(demo.pageUrl, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(demo.proxyUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  for (const format of ["binary", "text"] as const) {
    it(`${format}: the Collect card streams each word and shows the server's answer when it closes`, async () => {
      assert.ok(page !== undefined, "not set up");
      await page.check(`#format-${format}`);
      assert.match(await text(page.locator("#collect-support")), /sent as you enter it \(HTTP\/2\)/);
      for (const word of ["alpha", "beta", "gamma"]) {
        await page.fill("#collect-input", word);
        await page.press("#collect-input", "Enter");
      }
      assert.equal(await page.locator("#collect-sent li").count(), 3);
      assert.match(await text(page.locator("#collect-result")), /stream open/);
      await page.click("#collect-finish");
      const result = page.locator("#collect-result.ok");
      await result.waitFor({ timeout: UI_TIMEOUT_MS });
      assert.equal(await text(result), "the server got 3 words: “alpha beta gamma”");
      const row = page.locator(`#log-body tr[data-method="Collect"][data-code="OK"][data-format="${format}"]`);
      await row.waitFor({ timeout: UI_TIMEOUT_MS });
      assert.match(await text(row.locator("td").nth(6)), /grpc-status: 0/);
    });
  }

  it("the other cards work over HTTPS too; no errors; screenshot saved", async () => {
    assert.ok(page !== undefined, "not set up");
    await page.fill("#echo-input", "over TLS");
    await page.click("#echo-button");
    await page.locator("#echo-result.ok", { hasText: "over TLS" }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.deepEqual(problems, []);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "demo-tls.png"), fullPage: true });
  });
});
