// Request streaming from headless Chromium: fetch with a ReadableStream body
// (`duplex: "half"`) through grpcweb-proxy with --allow-request-streaming, over HTTPS with a
// certificate made at test time and trusted by its SPKI hash, so the page talks HTTP/2;
// and the same page against the proxy over plain HTTP/1.1, where Chromium refuses to
// stream a request body. Our runtime's clientStream and bidiStream there, and its clear
// UNIMPLEMENTED over HTTP/1.1; raw fetch calls show the platform itself. What full-duplex
// does (whether answers arrive while the request body is still open) is measured and must
// match what the README says.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Browser, Page } from "playwright-core";

import { launchChromium } from "./support/chromium.js";
import { startH2Echo, type H2Echo } from "./support/h2-echo.js";
import { startServer, type Server } from "./support/processes.js";
import { startStaticServer, type StaticServer } from "./support/static-server.js";
import { makeTestCertificate, type TestCertificate } from "./support/tls.js";

const TEST_TIMEOUT_MS = 30_000;
const FULL_DUPLEX = "/grpc.testing.TestService/FullDuplexCall";
const STREAMING_INPUT = "/grpc.testing.TestService/StreamingInputCall";

/** A protobuf length-delimited field (`tag` is field number << 3 | 2). */
function field(tag: number, bytes: readonly number[]): number[] {
  const len: number[] = [];
  let n = bytes.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return [tag, ...len, ...bytes];
}

/** A gRPC-Web data frame. */
function frame(payload: readonly number[]): number[] {
  const n = payload.length;
  return [0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, ...payload];
}

/** StreamingInputCallRequest { payload { body: n bytes } }, framed. */
const inputRequest = (n: number): number[] => frame(field(0x0a, field(0x12, new Array<number>(n).fill(7))));
/** StreamingOutputCallRequest { response_parameters { size: n } }, framed (n < 128). */
const ping = (n: number): number[] => frame(field(0x12, [0x08, n]));

/** What the page saw of one streamed call (see `streamCall`). */
interface StreamReport {
  /** `fetch` failed: its error. */
  error?: string;
  /** The response headers came while the request body was still open. */
  headersBeforeClose: boolean;
  /** A response message came while the request body was still open. */
  messageBeforeClose: boolean;
  /** Payloads of the response's data frames. */
  messages: number[][];
  /** The trailer frame's text. */
  trailer: string;
}

/**
 * Streams `frames` to `url` with fetch (`duplex: "half"`): the first one, then (with
 * `waitForAnswer`) up to 2 s for the response headers and a first message while the body
 * stays open, then the rest, then the end of the body; reads the whole response. Self-
 * contained, so that it runs in the page (`page.evaluate`) and in Node alike.
 */
async function rawStreamCall([url, frames, waitForAnswer]: readonly [
  string,
  number[][],
  boolean,
]): Promise<StreamReport> {
  const sleep = (ms: number): Promise<"timeout"> => new Promise((done) => setTimeout(() => done("timeout"), ms));
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  let closed = false;
  const report = {
    headersBeforeClose: false,
    messageBeforeClose: false,
    messages: [] as number[][],
    trailer: "",
  };
  const response = fetch(url, {
    method: "POST",
    body,
    duplex: "half",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
  } as RequestInit & { duplex: "half" }).then((r) => {
    report.headersBeforeClose = !closed;
    return r;
  });
  // Frames from the response body, as they complete.
  let buffer = new Uint8Array(0);
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const nextFrame = async (): Promise<{ flag: number; payload: Uint8Array } | null> => {
    for (;;) {
      if (buffer.length >= 5) {
        const len = new DataView(buffer.buffer, buffer.byteOffset).getUint32(1);
        if (buffer.length >= 5 + len) {
          const f = { flag: buffer[0]!, payload: buffer.slice(5, 5 + len) };
          buffer = buffer.slice(5 + len);
          return f;
        }
      }
      const { done, value } = await reader!.read();
      if (done) return null;
      const joined = new Uint8Array(buffer.length + value.length);
      joined.set(buffer);
      joined.set(value, buffer.length);
      buffer = joined;
    }
  };
  const take = (f: { flag: number; payload: Uint8Array }): void => {
    if (f.flag & 0x80) report.trailer = new TextDecoder().decode(f.payload);
    else report.messages.push([...f.payload]);
  };
  try {
    controller!.enqueue(new Uint8Array(frames[0]!));
    if (waitForAnswer) {
      const early = await Promise.race([response, sleep(2000)]);
      if (early !== "timeout") {
        reader = early.body!.getReader();
        const first = await Promise.race([nextFrame(), sleep(2000)]);
        if (first !== "timeout" && first !== null) {
          report.messageBeforeClose = (first.flag & 0x80) === 0;
          take(first);
        }
      }
    }
    for (const f of frames.slice(1)) controller!.enqueue(new Uint8Array(f));
    closed = true;
    controller!.close();
    const res = await response;
    reader ??= res.body!.getReader();
    for (let f = await nextFrame(); f !== null; f = await nextFrame()) take(f);
  } catch (e) {
    return { ...report, error: String(e) };
  }
  return report;
}

describe("request streaming in headless Chromium (fetch, duplex: half) -> grpcweb-proxy", { timeout: 300_000 }, () => {
  let cert: TestCertificate | undefined;
  let backend: Server | undefined;
  let tlsProxy: Server | undefined;
  let plainProxy: Server | undefined;
  let site: StaticServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let echo: H2Echo | undefined;
  /** What Chromium's network stack said of each URL: the protocol, or why it failed. */
  const network = new Map<string, string>();

  before(async () => {
    cert = makeTestCertificate();
    site = await startStaticServer();
    backend = await startServer("interop-server", ["--port", "0"]);
    const proxyArgs = [
      "--listen",
      "127.0.0.1:0",
      "--backend",
      `http://${backend.addr}`,
      "--allowed-origin",
      site.origin,
      "--allow-request-streaming",
    ];
    tlsProxy = await startServer("grpcweb-proxy", [
      ...proxyArgs,
      "--tls-cert",
      cert.certPath,
      "--tls-key",
      cert.keyPath,
    ]);
    echo = await startH2Echo(cert, site.origin);
    plainProxy = await startServer("grpcweb-proxy", proxyArgs);
    browser = await launchChromium([cert.chromiumFlag]);
    page = await browser.newPage();
    // The protocol of each response (resource timing hides it from a cross-origin page).
    const cdp = await page.context().newCDPSession(page);
    const urls = new Map<string, string>();
    cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
    cdp.on("Network.responseReceived", (e) => network.set(e.response.url, e.response.protocol ?? ""));
    cdp.on("Network.loadingFailed", (e) => network.set(urls.get(e.requestId) ?? e.requestId, e.errorText));
    await cdp.send("Network.enable");
    await page.goto(`${site.origin}/`);
    await page.waitForFunction(() => (globalThis as { casesReady?: boolean }).casesReady === true, undefined, {
      timeout: 15_000,
    });
  });

  after(async () => {
    await browser?.close();
    await tlsProxy?.stop();
    await plainProxy?.stop();
    await backend?.stop();
    await echo?.stop();
    await site?.stop();
    cert?.remove();
  });

  const tlsUrl = (path: string): string => `https://${tlsProxy!.addr}${path}`;
  const plainUrl = (path: string): string => `http://${plainProxy!.addr}${path}`;

  /** `rawStreamCall` in the page. */
  const streamCall = (url: string, frames: number[][], waitForAnswer: boolean): Promise<StreamReport> =>
    page!.evaluate(rawStreamCall, [url, frames, waitForAnswer] as const);

  /**
   * A call with our runtime from the page: `kind` "client" (clientStream: the answer) or
   * "bidi" (bidiStream: every answer), each request a protobuf payload (unframed), sent
   * one by one from an async generator. The outcome as text: "ok <answers as JSON>", or
   * the error's `code: message`; `supports`: `supportsRequestStreaming()`.
   */
  const runtimeCall = (
    baseUrl: string,
    path: string,
    kind: "client" | "bidi",
    requests: number[][],
    format: "binary" | "text",
  ): Promise<{ supports: boolean; outcome: string }> =>
    page!.evaluate(
      async ([baseUrl, path, kind, requests, format]) => {
        const { createGrpcWebTransport } = await import("grpcweb-client");
        const transport = createGrpcWebTransport({ baseUrl, format });
        const method = {
          service: "grpc.testing.TestService",
          name: path.split("/")[2]!,
          path,
          kind: kind === "client" ? ("client_streaming" as const) : ("bidi_streaming" as const),
          encode: (bytes: number[]) => new Uint8Array(bytes),
          decode: (bytes: Uint8Array) => Array.from(bytes),
        };
        async function* inputs(): AsyncGenerator<number[]> {
          for (const r of requests) {
            yield r;
            await new Promise((done) => setTimeout(done, 20));
          }
        }
        const supports = await transport.supportsRequestStreaming();
        try {
          if (kind === "client") {
            return { supports, outcome: `ok ${JSON.stringify([await transport.clientStream(method, inputs())])}` };
          }
          const got: number[][] = [];
          for await (const m of transport.bidiStream(method, inputs())) got.push(m);
          return { supports, outcome: `ok ${JSON.stringify(got)}` };
        } catch (e) {
          const err = e as { code?: number; message?: string };
          return { supports, outcome: `${err.code}: ${err.message}` };
        }
      },
      [baseUrl, path, kind, requests, format] as const,
    );

  /** StreamingInputCallRequest payloads, unframed. */
  const inputPayload = (n: number): number[] => inputRequest(n).slice(5);
  /** StreamingOutputCallRequest asking for one n-byte answer, unframed. */
  const pingPayload = (n: number): number[] => ping(n).slice(5);
  /** StreamingOutputCallResponse with n zero bytes. */
  const answer = (n: number): number[] => field(0x0a, field(0x12, new Array<number>(n).fill(0)));

  for (const format of ["binary", "text"] as const) {
    it(`runtime, ${format}: clientStream over HTTP/2 (HTTPS)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const { supports, outcome } = await runtimeCall(
        `https://${tlsProxy!.addr}`,
        STREAMING_INPUT,
        "client",
        [inputPayload(3), inputPayload(5), inputPayload(250)],
        format,
      );
      assert.equal(supports, true);
      assert.equal(outcome, `ok ${JSON.stringify([[0x08, 0x82, 0x02]])}`);
    });

    it(`runtime, ${format}: bidiStream (half duplex) over HTTP/2 (HTTPS)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const { outcome } = await runtimeCall(
        `https://${tlsProxy!.addr}`,
        "/grpc.testing.TestService/HalfDuplexCall",
        "bidi",
        [pingPayload(1), pingPayload(2), pingPayload(3)],
        format,
      );
      assert.equal(outcome, `ok ${JSON.stringify([answer(1), answer(2), answer(3)])}`);
    });

    it(
      `runtime, ${format}: bidiStream (FullDuplexCall) over HTTP/2: every answer, after the requests`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const { outcome } = await runtimeCall(
          `https://${tlsProxy!.addr}`,
          FULL_DUPLEX,
          "bidi",
          [pingPayload(1), pingPayload(2)],
          format,
        );
        assert.equal(outcome, `ok ${JSON.stringify([answer(1), answer(2)])}`);
      },
    );

    it(
      `runtime, ${format}: over plain HTTP/1.1 the call fails with a clear UNIMPLEMENTED`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        for (const [kind, path] of [
          ["client", STREAMING_INPUT],
          ["bidi", FULL_DUPLEX],
        ] as const) {
          const { supports, outcome } = await runtimeCall(`http://${plainProxy!.addr}`, path, kind, [[]], format);
          t.diagnostic(`${kind}: ${outcome}`);
          // The platform can stream request bodies, just not over this connection.
          assert.equal(supports, true);
          assert.match(outcome, /^12: .*HTTP\/2/);
        }
      },
    );
  }

  it(
    "over HTTPS the page talks HTTP/2 to the proxy and client streaming works",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const report = await streamCall(
        tlsUrl(STREAMING_INPUT),
        [inputRequest(3), inputRequest(5), inputRequest(250)],
        false,
      );
      assert.equal(report.error, undefined);
      assert.match(report.trailer, /grpc-status: ?0/);
      // StreamingInputCallResponse { aggregated_payload_size: 258 } (varint 0x82 0x02).
      assert.deepEqual(report.messages, [[0x08, 0x82, 0x02]]);
      assert.equal(network.get(tlsUrl(STREAMING_INPUT)), "h2");
    },
  );

  it(
    "over HTTPS half-duplex works: every message answered after the body ends",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const report = await streamCall(
        tlsUrl("/grpc.testing.TestService/HalfDuplexCall"),
        [ping(1), ping(2), ping(3)],
        false,
      );
      assert.equal(report.error, undefined);
      assert.match(report.trailer, /grpc-status: ?0/);
      assert.deepEqual(
        report.messages.map((m) => m.length),
        [1, 2, 3].map((n) => field(0x0a, field(0x12, new Array<number>(n).fill(0))).length),
      );
    },
  );

  it(
    "full duplex over HTTP/2: the answers wait for the end of the request body (as the README says)",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const report = await streamCall(tlsUrl(FULL_DUPLEX), [ping(1), ping(2)], true);
      t.diagnostic(
        `the page saw response headers before its body ended: ${report.headersBeforeClose}, ` +
          `a message: ${report.messageBeforeClose}`,
      );
      assert.equal(network.get(tlsUrl(FULL_DUPLEX)), "h2");
      assert.equal(report.error, undefined);
      assert.match(report.trailer, /grpc-status: ?0/);
      assert.equal(report.messages.length, 2);
      // Chromium's fetch resolves only once the whole request body is sent (duplex: "half"
      // is all it offers): a page cannot ping-pong. The call still completes.
      assert.equal(report.headersBeforeClose, false);
      assert.equal(report.messageBeforeClose, false);
    },
  );

  it(
    "full duplex, measured at the server: Chromium sends each chunk at once but holds the answer",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const report = await streamCall(`${echo!.baseUrl}${FULL_DUPLEX}`, [ping(1), ping(2)], true);
      const call = echo!.calls.at(-1)!;
      t.diagnostic(
        `server: chunks at ${call.chunksAt.map((ms) => ms.toFixed(0)).join(", ")} ms, body end at ` +
          `${call.endAt.toFixed(0)} ms (it answered each chunk at once); page: headers before its ` +
          `body ended: ${report.headersBeforeClose}, a message: ${report.messageBeforeClose}`,
      );
      assert.equal(report.error, undefined);
      // The first message left the browser at once, about 2 s before the body ended ...
      assert.ok(call.chunksAt[0]! < call.endAt - 1000, JSON.stringify(call));
      // ... and was echoed at once, but the page got nothing until its body had ended.
      assert.equal(report.headersBeforeClose, false);
      assert.equal(report.messageBeforeClose, false);
      assert.equal(report.messages.length, 2);
    },
  );

  it(
    "for comparison, Node's fetch over HTTP/1.1 is full duplex: the answer comes before the body ends",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const report = await rawStreamCall([plainUrl(FULL_DUPLEX), [ping(1), ping(2)], true]);
      t.diagnostic(
        `headers before the body ended: ${report.headersBeforeClose}, a message: ${report.messageBeforeClose}`,
      );
      assert.equal(report.error, undefined);
      assert.equal(report.headersBeforeClose, true);
      assert.equal(report.messageBeforeClose, true);
      assert.equal(report.messages.length, 2);
      assert.match(report.trailer, /grpc-status: ?0/);
    },
  );

  it("over plain HTTP/1.1 Chromium refuses to stream a request body", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const report = await streamCall(plainUrl(STREAMING_INPUT), [inputRequest(3)], false);
    t.diagnostic(`fetch error: ${report.error}`);
    assert.match(report.error ?? "", /TypeError/);
    // The same page and CORS setup stream over HTTPS; here the POST never leaves the
    // browser (its console says net::ERR_ALPN_NEGOTIATION_FAILED in Chromium 156; script
    // sees only the TypeError).
  });
});
