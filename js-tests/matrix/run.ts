// The interop matrix: every client against every server where it applies, in binary and
// text modes and over HTTP/1.1 and HTTP/2, running the interop cases of docs/protocol.md.
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
import { startStaticServer } from "../test/support/static-server.js";
import { caseNames, type Outcome } from "./cases.js";
import { clients, type ClientSpec, type Wire } from "./clients.js";
import type { HttpVersion } from "./clients/node.js";
import { findKnown, parseKnownFailing } from "./known.js";
import { naNotes, renderMatrix, updateReadmeMatrix, type Cell, type Row } from "./report.js";
import { servers, type RunningServer, type ServerSpec } from "./servers.js";

const JS_TESTS = fileURLToPath(new URL("../../", import.meta.url));
const ROOT = join(JS_TESTS, "..");
const KNOWN_FAILING = join(ROOT, "interop", "known-failing.txt");
const README = join(ROOT, "README.md");
const OUTPUT = join(JS_TESTS, "test-output");
/** A case that takes longer than this has hung. */
const CASE_TIMEOUT_MS = 30_000;

// ---- running ----

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
    const timer = setTimeout(
      () => resolve({ result: "fail", detail: `no result within ${CASE_TIMEOUT_MS} ms` }),
      CASE_TIMEOUT_MS,
    );
    p.then(
      (o) => resolve(o),
      (e: unknown) => resolve({ result: "fail", detail: `runner error: ${String(e)}` }),
    ).finally(() => clearTimeout(timer));
  });

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const updateReadme = args.includes("--update-readme");
  // `--client ID` / `--server ID` (repeatable) run part of the matrix, for debugging.
  const only = (flag: string): string[] =>
    args.flatMap((a, i) => (a === flag && args[i + 1] !== undefined ? [args[i + 1]!] : []));
  const onlyClients = only("--client");
  const onlyServers = only("--server");
  mkdirSync(OUTPUT, { recursive: true });
  const started = Date.now();

  // The interop protos as an image for buf curl.
  const bufSchema = join(OUTPUT, "matrix-protos.binpb");
  execFileSync(
    join(JS_TESTS, "node_modules", ".bin", "buf"),
    ["build", "../protos", "--path", "../protos/grpc/testing", "-o", bufSchema],
    {
      cwd: JS_TESTS,
      stdio: "inherit",
    },
  );
  let page: Page | undefined;
  const allClients = clients(bufSchema, () => page).filter(
    (c) => onlyClients.length === 0 || onlyClients.includes(c.id),
  );
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
  const rows: Row[] = allClients.flatMap((client) =>
    client.wires.flatMap((wire) => client.http.map((http) => ({ client, wire, http }))),
  );
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
    await page.waitForFunction(
      () => (globalThis as unknown as { matrixReady?: boolean }).matrixReady === true,
      undefined,
      {
        timeout: 15_000,
      },
    );

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
              const serverNa = server.caseNotApplicable?.(name, row.wire);
              const outcome: Outcome =
                serverNa !== undefined ? { result: "n/a", detail: serverNa } : await withTimeout(runner.run(name));
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
          console.log(
            `  ${row.client.label} [${row.wire}, HTTP/${row.http}]: ${cell.passed} passed${cell.known ? `, ${cell.known} known failures` : ""}${cell.na ? `, ${cell.na} n/a` : ""}${cell.failed ? `, ${cell.failed} FAILED` : ""} ${status}`,
          );
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
  writeFileSync(
    join(OUTPUT, "matrix.json"),
    JSON.stringify({ passed, failed, known: knownCount, notApplicable, failures }, null, 2),
  );

  console.log(`\n${table}\n`);
  const unexpected = failures.filter((f) => f.known === undefined);
  if (failures.length > 0) {
    console.log("Failures:");
    for (const f of failures) {
      console.log(
        `  ${f.known !== undefined ? "known" : "FAILED"}: ${f.key}: ${f.detail.split("\n")[0]}${f.known !== undefined ? ` (${f.known})` : ""}`,
      );
    }
  }
  if (updateReadme && (onlyClients.length > 0 || onlyServers.length > 0)) {
    throw new Error("--update-readme needs the whole matrix (no --client or --server)");
  }
  if (updateReadme) {
    updateReadmeMatrix(README, markdown);
    console.log("README.md: matrix updated");
  }
  console.log(extra);
  console.log(summary);
  return unexpected.length > 0 ? 1 : 0;
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
