// The demo page: every button makes one call through the generated DemoServiceClient and
// the grpcweb-client runtime, shows the result in its card and adds a row to the call log
// (method, format, status, message, duration, response headers, trailers). The Collect
// card streams requests: each word sent is a message of one client-streaming call.
//
// No inline scripts and no innerHTML: the page runs under a strict Content-Security-Policy
// (`script-src 'self' 'wasm-unsafe-eval'`), served by `cargo xtask demo`.

import {
  Code,
  RpcError,
  createGrpcWebTransport,
  type CallOptions,
  type GrpcWebTransport,
  type Transport,
} from "grpcweb-client";

import type { CollectRequest } from "../gen/examples/demo_pb.js";
import { DemoServiceClient } from "../gen/examples/demo_grpcweb.js";
import { BadRequest, ErrorInfo } from "../gen/google/rpc/error_details_pb.js";

type Format = "binary" | "text";

/** What `cargo xtask demo` serves at /config.json. */
interface Config {
  proxyUrl: string;
}

/** One finished call, as the log shows it. */
interface CallRecord {
  method: string;
  format: Format;
  code: Code;
  message: string;
  ms: number;
  headers: Headers | undefined;
  trailers: Headers | undefined;
  /** Messages received, for server streams; undefined for unary calls. */
  streamed: number | undefined;
}

const SLEEP_MS = 2000;
const DEADLINE_MS = 500;

// --- tiny DOM helpers -------------------------------------------------------------------

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) {
    throw new Error(`#${id} is missing from index.html`);
  }
  return el;
}

function input(id: string): HTMLInputElement {
  return $(id) as HTMLInputElement;
}

function button(id: string): HTMLButtonElement {
  return $(id) as HTMLButtonElement;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  node.append(...children);
  return node;
}

/** A definition list of name/value pairs. */
function kv(pairs: ReadonlyArray<readonly [string, string]>): HTMLDListElement {
  const dl = el("dl", { className: "kv" });
  for (const [k, v] of pairs) {
    dl.append(el("dt", { text: k }), el("dd", { text: v }));
  }
  return dl;
}

function show(target: HTMLElement, kind: "ok" | "err" | "", ...content: Array<Node | string>): void {
  target.className = kind === "" ? "result" : `result ${kind}`;
  target.replaceChildren(...content);
}

/** Longest header value the log shows in full (grpc-status-details-bin gets long). */
const MAX_VALUE_CHARS = 48;

function headerLines(h: Headers | undefined): string {
  if (h === undefined) return "—";
  const lines: string[] = [];
  h.forEach((value, key) => {
    const shown = value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}… (${value.length} chars)` : value;
    lines.push(`${key}: ${shown}`);
  });
  return lines.length === 0 ? "(none)" : lines.sort().join("\n");
}

function codeName(code: Code): string {
  return Code[code] ?? String(code);
}

// --- calls and the log ------------------------------------------------------------------

let format: Format = "binary";
let client: DemoServiceClient;
const clients = new Map<Format, DemoServiceClient>();

/**
 * Runs one call with header and trailer callbacks, logs it, and returns the result or
 * throws the RpcError (after logging it). Streaming calls count their messages with
 * `received`.
 */
async function logged<T>(
  method: string,
  run: (options: CallOptions, received: () => void) => Promise<T>,
  extra: CallOptions = {},
  stream = false,
): Promise<T> {
  const record: CallRecord = {
    method,
    format,
    code: Code.OK,
    message: "",
    ms: 0,
    headers: undefined,
    trailers: undefined,
    streamed: stream ? 0 : undefined,
  };
  const received = (): void => {
    record.streamed = (record.streamed ?? 0) + 1;
  };
  const started = performance.now();
  const options: CallOptions = {
    ...extra,
    onHeader: (h) => {
      record.headers = h;
    },
    onTrailer: (t) => {
      record.trailers = t;
    },
  };
  try {
    const result = await run(options, received);
    return result;
  } catch (e) {
    const err = RpcError.from(e);
    record.code = err.code;
    record.message = err.rawMessage;
    // Trailers-only responses and local failures have no trailer callback.
    record.trailers ??= err.metadata;
    throw err;
  } finally {
    record.ms = performance.now() - started;
    addLogRow(record);
  }
}

function addLogRow(r: CallRecord): void {
  const status = el("span", {
    className: `status ${r.code === Code.OK ? "ok" : r.code === Code.CANCELLED ? "cancel" : "err"}`,
    text: `${r.code} ${codeName(r.code)}`,
  });
  const row = el(
    "tr",
    {},
    el("td", { text: r.method }),
    el("td", { text: r.format }),
    el("td", {}, status),
    el("td", { text: r.streamed === undefined ? r.message : [`${r.streamed} messages`, r.message].filter((t) => t !== "").join(" · ") }),
    el("td", { text: `${r.ms.toFixed(0)} ms` }),
    el("td", {}, el("pre", { text: headerLines(r.headers) })),
    el("td", {}, el("pre", { text: headerLines(r.trailers) })),
  );
  row.dataset["method"] = r.method;
  row.dataset["code"] = codeName(r.code);
  row.dataset["format"] = r.format;
  $("log-body").prepend(row);
}

// --- the four features ------------------------------------------------------------------

async function echo(event: Event): Promise<void> {
  event.preventDefault();
  const target = $("echo-result");
  try {
    const res = await logged("Echo", (options) =>
      client.echo({ message: input("echo-input").value }, { ...options, metadata: { "x-demo-client": "grpcweb demo page" } }),
    );
    const seen = Object.entries(res.requestMetadata)
      .filter(([k]) => k.startsWith("x-") || k === "content-type" || k === "grpc-timeout")
      .sort(([a], [b]) => a.localeCompare(b));
    show(
      target,
      "ok",
      el("div", { text: `Echo #${res.callNumber}: “${res.message}”` }),
      kv([
        ["server time", new Date(Number(res.serverTimeUnixMs)).toISOString()],
        ...seen.map(([k, v]) => [`saw ${k}`, v] as const),
      ]),
    );
  } catch (e) {
    show(target, "err", String(e));
  }
}

let tickerAbort: AbortController | undefined;

async function startTicker(): Promise<void> {
  const start = button("ticker-start");
  const stop = button("ticker-stop");
  const list = $("ticks");
  const status = $("ticker-status");
  tickerAbort = new AbortController();
  start.disabled = true;
  stop.disabled = false;
  list.replaceChildren();
  show(status, "", "streaming…");
  let received = 0;
  try {
    await logged(
      "Ticker",
      async (options, counted) => {
        const count = Number(input("ticker-count").value);
        const intervalMs = Number(input("ticker-interval").value);
        for await (const tick of client.ticker({ count, intervalMs }, options)) {
          received++;
          counted();
          const time = new Date(Number(tick.serverTimeUnixMs)).toISOString().slice(11, 23);
          list.append(el("li", { text: `#${tick.seq} ${time}` }));
          list.scrollTop = list.scrollHeight;
          show(status, "", `tick ${tick.seq}, ${tick.remaining} to go`);
        }
      },
      { signal: tickerAbort.signal },
      true,
    );
    show(status, "ok", `done: ${received} ticks`);
  } catch (e) {
    const err = RpcError.from(e);
    const kind = err.code === Code.CANCELLED ? "" : "err";
    show(status, kind, `stopped after ${received} ticks: ${codeName(err.code)}`);
  } finally {
    start.disabled = false;
    stop.disabled = true;
    tickerAbort = undefined;
  }
}

async function fail(): Promise<void> {
  const target = $("fail-result");
  try {
    await logged("Fail", (options) => client.fail({ field: input("fail-field").value }, options));
    show(target, "err", "the call succeeded, which Fail never should");
  } catch (e) {
    const err = RpcError.from(e);
    const parts: Node[] = [el("div", { text: `${codeName(err.code)}: ${err.rawMessage}` })];
    for (const bad of err.findDetails(BadRequest)) {
      for (const v of bad.fieldViolations) {
        parts.push(
          el(
            "div",
            { className: "detail" },
            el("h3", { text: "google.rpc.BadRequest" }),
            kv([
              ["field", v.field],
              ["description", v.description],
              ["reason", v.reason],
            ]),
          ),
        );
      }
    }
    for (const info of err.findDetails(ErrorInfo)) {
      parts.push(
        el(
          "div",
          { className: "detail" },
          el("h3", { text: "google.rpc.ErrorInfo" }),
          kv([
            ["reason", info.reason],
            ["domain", info.domain],
            ...Object.entries(info.metadata)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => [`metadata.${k}`, v] as const),
          ]),
        ),
      );
    }
    const known = new Set([BadRequest.typeName, ErrorInfo.typeName].map((n) => `type.googleapis.com/${n}`));
    for (const d of err.details.filter((d) => !known.has(d.typeUrl))) {
      parts.push(el("div", { className: "detail", text: `${d.typeUrl} (${d.value.length} bytes)` }));
    }
    show(target, "err", ...parts);
  }
}

async function sleep(): Promise<void> {
  const target = $("sleep-result");
  const btn = button("sleep-button");
  btn.disabled = true;
  show(target, "", "waiting…");
  const started = performance.now();
  try {
    const res = await logged("Sleep", (options) => client.sleep({ durationMs: SLEEP_MS }, { ...options, timeoutMs: DEADLINE_MS }));
    show(target, "ok", `answered after ${res.sleptMs} ms (the deadline did not fire)`);
  } catch (e) {
    const err = RpcError.from(e);
    const ms = (performance.now() - started).toFixed(0);
    show(target, "err", `${codeName(err.code)} after ${ms} ms: ${err.rawMessage}`);
  } finally {
    btn.disabled = false;
  }
}

/**
 * The words of an open Collect stream: Send pushes one, Finish closes it; the runtime
 * pulls them one at a time as fetch sends the request body.
 */
class Words implements AsyncIterable<Partial<CollectRequest>> {
  private queued: string[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  push(word: string): void {
    this.queued.push(word);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Partial<CollectRequest>> {
    for (;;) {
      const word = this.queued.shift();
      if (word !== undefined) {
        yield { word };
      } else if (this.closed) {
        return;
      } else {
        await new Promise<void>((done) => (this.wake = done));
        this.wake = undefined;
      }
    }
  }
}

let collecting: Words | undefined;

/** Sends the typed word on the open Collect stream, opening one first if none is. */
function collectSend(event: Event): void {
  event.preventDefault();
  const field = input("collect-input");
  const word = field.value.trim();
  if (word === "") return;
  field.value = "";
  if (collecting === undefined) openCollect();
  collecting?.push(word);
  $("collect-sent").append(el("li", { text: word }));
}

function openCollect(): void {
  const words = new Words();
  collecting = words;
  const target = $("collect-result");
  const finish = button("collect-finish");
  finish.disabled = false;
  $("collect-sent").replaceChildren();
  show(target, "", "stream open: each word goes out as you send it; Finish closes the stream");
  logged("Collect", (options) => client.collect(words, options))
    .then(
      (res) => show(target, "ok", `the server got ${res.count} words: “${res.joined}”`),
      (e: unknown) => {
        const err = RpcError.from(e);
        show(target, "err", `${codeName(err.code)}: ${err.rawMessage}`);
      },
    )
    .finally(() => {
      if (collecting === words) collecting = undefined;
      finish.disabled = true;
    });
}

/** Says up front whether this page can stream requests to the proxy. */
async function collectSupport(transport: GrpcWebTransport, proxyUrl: string): Promise<void> {
  const note = $("collect-support");
  if (!(await transport.supportsRequestStreaming())) {
    note.textContent = "This browser's fetch cannot stream a request body: Collect fails with UNIMPLEMENTED.";
  } else if (proxyUrl.startsWith("http:")) {
    note.textContent =
      "The proxy is plain HTTP (HTTP/1.1), over which browsers do not stream request bodies: " +
      "Collect fails with UNIMPLEMENTED. Run `cargo xtask demo --tls` for HTTP/2.";
  } else {
    note.textContent = "Each word is a request message, sent as you enter it (HTTP/2); the server answers when you Finish.";
  }
}

function setFormat(next: Format, transports: ReadonlyMap<Format, Transport>): void {
  format = next;
  let c = clients.get(next);
  if (c === undefined) {
    const t = transports.get(next);
    if (t === undefined) throw new Error(`no transport for ${next}`);
    c = new DemoServiceClient(t);
    clients.set(next, c);
  }
  client = c;
  document.body.dataset["format"] = next;
}

async function main(): Promise<void> {
  const config = (await (await fetch("config.json")).json()) as Config;
  $("proxy-url").textContent = config.proxyUrl;
  const binary = createGrpcWebTransport({ baseUrl: config.proxyUrl, format: "binary" });
  const transports = new Map<Format, Transport>([
    ["binary", binary],
    ["text", createGrpcWebTransport({ baseUrl: config.proxyUrl, format: "text" })],
  ]);
  setFormat(input("format-text").checked ? "text" : "binary", transports);
  for (const id of ["format-binary", "format-text"]) {
    input(id).addEventListener("change", (e) => {
      const value = (e.target as HTMLInputElement).value;
      setFormat(value === "text" ? "text" : "binary", transports);
    });
  }
  $("echo-form").addEventListener("submit", (e) => void echo(e));
  button("ticker-start").addEventListener("click", () => void startTicker());
  button("ticker-stop").addEventListener("click", () => tickerAbort?.abort());
  button("fail-button").addEventListener("click", () => void fail());
  button("sleep-button").addEventListener("click", () => void sleep());
  $("collect-form").addEventListener("submit", collectSend);
  button("collect-finish").addEventListener("click", () => collecting?.close());
  button("log-clear").addEventListener("click", () => $("log-body").replaceChildren());
  await collectSupport(binary, config.proxyUrl);
  document.body.dataset["ready"] = "true";
}

main().catch((e: unknown) => {
  document.body.prepend(el("p", { className: "result err", text: `demo failed to start: ${String(e)}` }));
});
