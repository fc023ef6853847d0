// The interop matrix: every client against every server where it applies, in binary and
// text modes and over HTTP/1.1 and HTTP/2, running the interop cases of PROTOCOL.md.
// Prints the matrix, the failures, and a last line `N passed, M failed`; exits non-zero
// on an unexpected failure or on a known-failing entry that matches no failure.
//
// Run: `cargo xtask interop` (installs the peers, builds, runs this), or in js-tests/
// `npm run matrix` once the peers are installed. `--update-readme` writes the matrix into
// the README between its matrix markers; `--client ID` and `--server ID` (repeatable) run
// part of it. Results also go to test-output/matrix.{md,json}.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";

import { launchChromium } from "../test/support/chromium.js";
import { startConnectPeer } from "../test/support/connect-test-service.js";
import { startServer } from "../test/support/processes.js";
import { startStaticServer } from "../test/support/static-server.js";
import { caseNames, runCase, type Outcome } from "./cases.js";
import { findKnown, parseKnownFailing } from "./known.js";
import { bufCurlClient, connectNodeClient, runGrpcGoCase, type ClosableClient, type HttpVersion } from "./clients/node.js";
import { connectWebClient, oursClient, protobufTsClient, type Format } from "./clients/web.js";
import { goInteropClient, startGoServer, startGrpcJsServer, startGrpcwebproxy, startPythonServer } from "./servers/peers.js";

const JS_TESTS = fileURLToPath(new URL("../../", import.meta.url));
const ROOT = join(JS_TESTS, "..");
const KNOWN_FAILING = join(ROOT, "interop", "known-failing.txt");
const README = join(ROOT, "README.md");
const OUTPUT = join(JS_TESTS, "test-output");
/** A case that takes longer than this has hung. */
const CASE_TIMEOUT_MS = 30_000;

type Wire = Format | "native";

// ---- servers ----

interface RunningServer {
  /** Base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  stop(): Promise<void>;
}

interface ServerSpec {
  readonly id: string;
  readonly label: string;
  readonly text: boolean;
  readonly grpcWeb: boolean;
  readonly native: boolean;
  readonly http: readonly HttpVersion[];
  /** Answers CORS for the matrix page's origin (browsers can call it). */
  readonly cors: boolean;
  /** Why a column is missing something, for the n/a notes. */
  readonly notes?: string;
  /** Run only our clients against it: a peer server that is here to prove our client. */
  readonly oursOnly?: boolean;
  start(origin: string): Promise<RunningServer>;
}

const url = (addr: string): string => `http://${addr}`;

async function proxyInFront(backend: RunningServer, origin: string): Promise<RunningServer> {
  const proxy = await startServer("grpcweb-proxy", ["--listen", "127.0.0.1:0", "--backend", backend.url, "--allowed-origin", origin]);
  return {
    url: url(proxy.addr),
    async stop() {
      await proxy.stop();
      await backend.stop();
    },
  };
}

async function interopServer(args: readonly string[] = []): Promise<RunningServer> {
  const server = await startServer("interop-server", ["--port", "0", ...args]);
  return { url: url(server.addr), stop: () => server.stop() };
}

const OUR_PROXY = { text: true, grpcWeb: true, native: true, http: ["1.1", "2"], cors: true } as const;

const servers: readonly ServerSpec[] = [
  {
    id: "proxy-tonic",
    label: "grpcweb-proxy → tonic",
    ...OUR_PROXY,
    start: async (origin) => proxyInFront(await interopServer(), origin),
  },
  {
    id: "proxy-grpc-js",
    label: "grpcweb-proxy → grpc-js",
    ...OUR_PROXY,
    start: async (origin) => proxyInFront(await startGrpcJsServer(), origin),
  },
  {
    id: "proxy-grpcio",
    label: "grpcweb-proxy → grpcio (Python)",
    ...OUR_PROXY,
    start: async (origin) => proxyInFront(await startPythonServer(), origin),
  },
  {
    id: "proxy-grpc-go",
    label: "grpcweb-proxy → grpc-go",
    ...OUR_PROXY,
    start: async (origin) => proxyInFront(await startGoServer(), origin),
  },
  {
    id: "in-process",
    label: "interop-server --grpc-web (our layer in-process)",
    ...OUR_PROXY,
    start: (origin) => interopServer(["--grpc-web", "--allowed-origin", origin]),
  },
  {
    id: "grpcwebproxy",
    label: "grpcwebproxy (improbable-eng) → tonic",
    text: true,
    grpcWeb: true,
    native: false,
    http: ["1.1"],
    cors: true,
    notes: "grpcwebproxy serves gRPC-Web only, and HTTP/2 only over TLS",
    async start(origin) {
      const backend = await interopServer();
      try {
        const proxy = await startGrpcwebproxy(backend.url, [origin]);
        return {
          url: proxy.url,
          async stop() {
            await proxy.stop();
            await backend.stop();
          },
        };
      } catch (e) {
        await backend.stop();
        throw e;
      }
    },
  },
  {
    id: "connect-node",
    label: "connect-node gRPC-Web server",
    text: false,
    grpcWeb: true,
    native: false,
    http: ["1.1"],
    cors: false,
    oursOnly: true,
    notes: "connect has no grpc-web-text; the test server speaks HTTP/1.1 gRPC-Web only, without CORS",
    async start() {
      const peer = await startConnectPeer();
      return { url: peer.baseUrl, stop: () => peer.stop() };
    },
  },
  {
    id: "tonic-web",
    label: "tonic-web",
    text: true,
    grpcWeb: true,
    native: true,
    http: ["1.1", "2"],
    cors: false,
    oursOnly: true,
    notes: "tonic-web's example server has no CORS layer",
    async start() {
      if (!existsSync(join(binDirOrDefault(), "examples", "tonic_web_peer"))) {
        execFileSync(process.env["CARGO"] ?? "cargo", ["build", "-p", "grpcweb-client", "--example", "tonic_web_peer"], {
          cwd: ROOT,
          stdio: "inherit",
        });
      }
      const server = await startServer("examples/tonic_web_peer", []);
      return { url: url(server.addr), stop: () => server.stop() };
    },
  },
];

function binDirOrDefault(): string {
  return process.env["GRPCWEB_BIN_DIR"] ?? join(ROOT, "target", "debug");
}

// ---- clients ----

interface ClientSpec {
  readonly id: string;
  readonly label: string;
  readonly wires: readonly Wire[];
  readonly http: readonly HttpVersion[];
  readonly browser: boolean;
  readonly ours: boolean;
  /** Runs one case against `baseUrl`. */
  runner(baseUrl: string, wire: Wire, http: HttpVersion): Promise<CaseRunner>;
}

interface CaseRunner {
  run(name: string): Promise<Outcome>;
  close(): void;
}

/** A Node client object behind the Client interface. */
const inNode =
  (make: (baseUrl: string, wire: Wire, http: HttpVersion) => ClosableClient | ReturnType<typeof oursClient>) =>
  async (baseUrl: string, wire: Wire, http: HttpVersion): Promise<CaseRunner> => {
    const client = make(baseUrl, wire, http);
    return {
      run: (name) => runCase(name, client),
      close: () => ("close" in client && typeof client.close === "function" ? client.close() : undefined),
    };
  };

let page: Page | undefined;

/** A client that runs inside the matrix page in Chromium. */
const inChromium =
  (client: string) =>
  async (baseUrl: string, wire: Wire): Promise<CaseRunner> => ({
    async run(name) {
      if (page === undefined) {
        return { result: "fail", detail: "Chromium is not running" };
      }
      return page.evaluate(
        ([c, f, u, n]) =>
          (
            globalThis as unknown as {
              runMatrixCase(c: string, f: string, u: string, n: string): Promise<Outcome>;
            }
          ).runMatrixCase(c, f, u, n),
        [client, wire, baseUrl, name] as const,
      );
    },
    close: () => undefined,
  });

const asFormat = (wire: Wire): Format => (wire === "native" ? "binary" : wire);

function clients(bufSchema: string): readonly ClientSpec[] {
  const buf = join(JS_TESTS, "node_modules", ".bin", "buf");
  return [
    {
      id: "ours-node",
      label: "ours (generated TS + wasm runtime), Node",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: false,
      ours: true,
      runner: inNode((u, w) => oursClient(u, asFormat(w))),
    },
    {
      id: "ours-chromium",
      label: "ours (generated TS + wasm runtime), Chromium",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: true,
      ours: true,
      runner: inChromium("ours"),
    },
    {
      id: "connect-web-node",
      label: "connect-web createGrpcWebTransport, Node",
      wires: ["binary"],
      http: ["1.1"],
      browser: false,
      ours: false,
      runner: inNode((u) => connectWebClient(u)),
    },
    {
      id: "connect-web-chromium",
      label: "connect-web createGrpcWebTransport, Chromium",
      wires: ["binary"],
      http: ["1.1"],
      browser: true,
      ours: false,
      runner: inChromium("connect-web"),
    },
    {
      id: "connect-node",
      label: "connect-node gRPC-Web transport, Node",
      wires: ["binary"],
      http: ["1.1", "2"],
      browser: false,
      ours: false,
      runner: inNode((u, _w, h) => connectNodeClient(u, h)),
    },
    {
      id: "protobuf-ts-node",
      label: "protobuf-ts GrpcWebFetchTransport, Node",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: false,
      ours: false,
      runner: inNode((u, w) => protobufTsClient(u, asFormat(w))),
    },
    {
      id: "protobuf-ts-chromium",
      label: "protobuf-ts GrpcWebFetchTransport, Chromium",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: true,
      ours: false,
      runner: inChromium("protobuf-ts"),
    },
    {
      id: "grpc-web-chromium",
      label: "grpc-web (official runtime), Chromium",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: true,
      ours: false,
      runner: inChromium("grpc-web"),
    },
    {
      id: "buf-curl",
      label: "buf curl --protocol grpcweb",
      wires: ["binary"],
      http: ["1.1", "2"],
      browser: false,
      ours: false,
      runner: inNode((u, _w, h) => ({ ...bufCurlClient(buf, bufSchema, u, h), close: () => undefined })),
    },
    {
      id: "grpc-go",
      label: "grpc-go interop client (native gRPC)",
      wires: ["native"],
      http: ["2"],
      browser: false,
      ours: false,
      async runner(baseUrl) {
        const client = goInteropClient();
        const addr = new URL(baseUrl).host;
        return { run: (name) => runGrpcGoCase(client, addr, name), close: () => undefined };
      },
    },
  ];
}

// ---- running ----

interface Row {
  readonly client: ClientSpec;
  readonly wire: Wire;
  readonly http: HttpVersion;
}

interface Cell {
  passed: number;
  failed: number;
  known: number;
  na: number;
  /** Why the whole cell does not apply. */
  naReason?: string;
}

interface Failure {
  readonly key: string;
  readonly detail: string;
  readonly known?: string;
}

function applies(client: ClientSpec, server: ServerSpec, wire: Wire, http: HttpVersion): string | undefined {
  if (server.oursOnly === true && !client.ours) {
    return "a peer server here to prove our client; peer-to-peer pairs are not ours to test";
  }
  if (wire === "native" && !server.native) {
    return "the server does not serve native gRPC";
  }
  if (wire !== "native" && !server.grpcWeb) {
    return "the server does not serve gRPC-Web";
  }
  if (wire === "text" && !server.text) {
    return "the server has no grpc-web-text";
  }
  if (!server.http.includes(http)) {
    return `the server does not serve HTTP/${http} in cleartext`;
  }
  if (client.browser && !server.cors) {
    return "the server answers no CORS, so a page on another origin cannot call it";
  }
  return undefined;
}

const withTimeout = (p: Promise<Outcome>): Promise<Outcome> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ result: "fail", detail: `no result within ${CASE_TIMEOUT_MS} ms` }), CASE_TIMEOUT_MS);
    p.then(
      (o) => resolve(o),
      (e: unknown) => resolve({ result: "fail", detail: `runner error: ${String(e)}` }),
    ).finally(() => clearTimeout(timer));
  });

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const updateReadme = args.includes("--update-readme");
  // `--client ID` / `--server ID` (repeatable) run part of the matrix, for debugging.
  const only = (flag: string): string[] => args.flatMap((a, i) => (a === flag && args[i + 1] !== undefined ? [args[i + 1]!] : []));
  const onlyClients = only("--client");
  const onlyServers = only("--server");
  mkdirSync(OUTPUT, { recursive: true });
  const started = Date.now();

  // The interop protos as an image for buf curl.
  const bufSchema = join(OUTPUT, "matrix-protos.binpb");
  execFileSync(join(JS_TESTS, "node_modules", ".bin", "buf"), ["build", "../protos", "--path", "../protos/grpc/testing", "-o", bufSchema], {
    cwd: JS_TESTS,
    stdio: "inherit",
  });
  const allClients = clients(bufSchema).filter((c) => onlyClients.length === 0 || onlyClients.includes(c.id));
  const known = parseKnownFailing(
    existsSync(KNOWN_FAILING) ? readFileSync(KNOWN_FAILING, "utf8") : "",
    new Set(allClients.filter((c) => c.ours).map((c) => c.id)),
  );

  // The matrix page, bundled, on its own origin.
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("./browser.js", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const site = await startStaticServer({
    "/matrix.html": {
      type: "text/html",
      body: `<!doctype html><html><head><meta charset="utf-8"><title>interop matrix</title><script type="module" src="/matrix.js"></script></head><body>interop matrix</body></html>`,
    },
    "/matrix.js": { type: "text/javascript", body: bundle.outputFiles[0]!.contents },
  });
  let browser: Browser | undefined;
  const pageErrors: string[] = [];
  const rows: Row[] = allClients.flatMap((client) => client.wires.flatMap((wire) => client.http.map((http) => ({ client, wire, http }))));
  const cells = new Map<string, Cell>();
  const failures: Failure[] = [];
  let passed = 0;
  let failed = 0;
  let knownCount = 0;
  let notApplicable = 0;

  try {
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.goto(`${site.origin}/matrix.html`);
    await page.waitForFunction(() => (globalThis as unknown as { matrixReady?: boolean }).matrixReady === true, undefined, {
      timeout: 15_000,
    });

    for (const server of servers.filter((s) => onlyServers.length === 0 || onlyServers.includes(s.id))) {
      process.stdout.write(`\n${server.label}: starting ... `);
      let running: RunningServer;
      try {
        running = await server.start(site.origin);
      } catch (e) {
        // A server that cannot start fails every case that applies to it.
        console.log(`FAILED to start: ${String(e)}`);
        for (const row of rows) {
          if (applies(row.client, server, row.wire, row.http) === undefined) {
            const cell: Cell = { passed: 0, failed: caseNames.length, known: 0, na: 0 };
            cells.set(`${row.client.id}|${row.wire}|${row.http}|${server.id}`, cell);
            failed += caseNames.length;
            failures.push({ key: `* ${server.id} (start)`, detail: String(e) });
          }
        }
        continue;
      }
      console.log(running.url);
      try {
        for (const row of rows) {
          const cellKey = `${row.client.id}|${row.wire}|${row.http}|${server.id}`;
          const why = applies(row.client, server, row.wire, row.http);
          if (why !== undefined) {
            cells.set(cellKey, { passed: 0, failed: 0, known: 0, na: caseNames.length, naReason: why });
            continue;
          }
          const cell: Cell = { passed: 0, failed: 0, known: 0, na: 0 };
          cells.set(cellKey, cell);
          const runner = await row.client.runner(running.url, row.wire, row.http);
          try {
            for (const name of caseNames) {
              const key = [row.client.id, server.id, row.wire, row.http, name];
              const outcome = await withTimeout(runner.run(name));
              const expected = findKnown(known, key);
              if (outcome.result === "pass") {
                cell.passed++;
                passed++;
              } else if (outcome.result === "n/a") {
                cell.na++;
                notApplicable++;
              } else if (expected !== undefined) {
                expected.used = true;
                cell.known++;
                knownCount++;
                failures.push({ key: key.join(" "), detail: outcome.detail, known: expected.reason });
              } else {
                cell.failed++;
                failed++;
                failures.push({ key: key.join(" "), detail: outcome.detail });
              }
            }
          } finally {
            runner.close();
          }
          const status = cell.failed > 0 ? "FAIL" : "ok";
          console.log(`  ${row.client.label} [${row.wire}, HTTP/${row.http}]: ${cell.passed} passed${cell.known ? `, ${cell.known} known failures` : ""}${cell.na ? `, ${cell.na} n/a` : ""}${cell.failed ? `, ${cell.failed} FAILED` : ""} ${status}`);
        }
      } finally {
        await running.stop();
      }
    }
  } finally {
    await browser?.close();
    await site.stop();
  }

  // An entry that no failure matched is stale: the list must stay true. (Only knowable
  // when the whole matrix ran.)
  const whole = onlyClients.length === 0 && onlyServers.length === 0;
  for (const k of known) {
    if (!k.used && whole) {
      failed++;
      failures.push({
        key: `known-failing.txt line ${k.line} (${k.pattern.join(" ")})`,
        detail: "matched no failure: the limitation is gone or the entry is wrong; remove or fix it",
      });
    }
  }
  if (pageErrors.length > 0) {
    failed++;
    failures.push({ key: "chromium page", detail: pageErrors.join("\n") });
  }

  const table = renderMatrix(rows, cells);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const summary = `${passed} passed, ${failed} failed`;
  const extra = `${knownCount} known failures (interop/known-failing.txt), ${notApplicable} not applicable`;
  const markdown = [
    table,
    "",
    `Cells: cases passed / cases run for that client (rows: wire format and HTTP version) and server (columns); ` +
      `"n/a": the pair cannot run (see below); "k": a known peer limitation from interop/known-failing.txt. ` +
      `${caseNames.length} cases: ${caseNames.join(", ")}.`,
    "",
    ...naNotes(),
    "",
    `Total: ${summary}; ${extra}. Produced by \`cargo xtask interop\` in ${seconds} s.`,
  ].join("\n");
  writeFileSync(join(OUTPUT, "matrix.md"), markdown + "\n");
  writeFileSync(join(OUTPUT, "matrix.json"), JSON.stringify({ passed, failed, known: knownCount, notApplicable, failures }, null, 2));

  console.log(`\n${table}\n`);
  const unexpected = failures.filter((f) => f.known === undefined);
  if (failures.length > 0) {
    console.log("Failures:");
    for (const f of failures) {
      console.log(`  ${f.known !== undefined ? "known" : "FAILED"}: ${f.key}: ${f.detail.split("\n")[0]}${f.known !== undefined ? ` (${f.known})` : ""}`);
    }
  }
  if (updateReadme && (onlyClients.length > 0 || onlyServers.length > 0)) {
    throw new Error("--update-readme needs the whole matrix (no --client or --server)");
  }
  if (updateReadme) {
    updateReadmeMatrix(markdown);
    console.log("README.md: matrix updated");
  }
  console.log(extra);
  console.log(summary);
  return unexpected.length > 0 ? 1 : 0;
}

function naNotes(): string[] {
  return [
    "Not applicable:",
    "- browsers (Chromium) speak HTTP/1.1 to a cleartext origin and need CORS;",
    "- connect (web and node) and buf curl have no grpc-web-text; grpc-go's client speaks native gRPC only;",
    "- connect-node's server and tonic-web are here to prove our client: peer clients are not run against them;",
    ...servers.filter((s) => s.notes !== undefined).map((s) => `- ${s.label}: ${s.notes};`),
    "- buf curl cannot send a deadline (it reserves grpc-timeout) and does not print trailers, so timeout_on_sleeping_server and custom_metadata do not apply to it.",
  ];
}

function renderMatrix(rows: readonly Row[], cells: ReadonlyMap<string, Cell>): string {
  const header = `| client | wire | HTTP | ${servers.map((s) => s.label).join(" | ")} |`;
  const rule = `|---|---|---|${servers.map(() => "---:").join("|")}|`;
  const lines = rows.map((row) => {
    const values = servers.map((s) => {
      const cell = cells.get(`${row.client.id}|${row.wire}|${row.http}|${s.id}`);
      if (cell === undefined || cell.naReason !== undefined) {
        return "n/a";
      }
      const run = cell.passed + cell.failed + cell.known;
      let text = `${cell.passed}/${run}`;
      if (cell.known > 0) {
        text += ` (${cell.known}k)`;
      }
      if (cell.failed > 0) {
        text += " **FAIL**";
      }
      return text;
    });
    return `| ${row.client.label} | ${row.wire} | ${row.http} | ${values.join(" | ")} |`;
  });
  return [header, rule, ...lines].join("\n");
}

function updateReadmeMatrix(markdown: string): void {
  const begin = "<!-- matrix:begin (written by cargo xtask interop --update-readme) -->";
  const end = "<!-- matrix:end -->";
  const text = readFileSync(README, "utf8");
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new Error(`README.md has no matrix markers (${begin} ... ${end})`);
  }
  writeFileSync(README, text.slice(0, from + begin.length) + "\n" + markdown + "\n" + text.slice(to));
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
