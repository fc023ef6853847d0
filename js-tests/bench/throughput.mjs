// Calls per second in Node (not a test): our runtime (grpcweb-client with the client from
// protoc-gen-grpcweb-ts) against connect-node's gRPC-Web transport (@connectrpc/connect-node
// createGrpcWebTransport, binary, with code from protoc-gen-es), through the same
// grpcweb-proxy in front of the same interop-server, in this one Node process.
//
// Workloads: UnaryCall (16 B payload each way) with 16 calls in flight, and
// StreamingOutputCall (100 responses of 1 KiB per call) with 4 calls in flight. Each client
// gets a warm-up, then the clients take turns for `--rounds` rounds of `--seconds` each;
// a cell is the median round. Client CPU per call is this process's user+system time
// (process.cpuUsage) over the round divided by its calls; the proxy and the server run
// in their own processes on the same cores. Every call must succeed, or the run stops.
// The table goes to stdout and into BENCHMARKS.md (between the throughput markers).
//
// Run: `npm run bench:throughput` in js-tests/ (gen + tsc first: it uses the generated code
// and test support from dist/). The binaries come from $GRPCWEB_BIN_DIR, else release
// builds made here (`cargo build --release -p grpcweb-proxy -p grpcweb-interop --bins`).
// `-- --seconds 2 --rounds 1` for a quick run.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const jsTests = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(jsTests, "..");
const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "3" }, rounds: { type: "string", default: "3" } },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const WARMUP_SECONDS = 1;

if (!process.env["GRPCWEB_BIN_DIR"]) {
  console.error("building release binaries ...");
  execFileSync("cargo", ["build", "-q", "--release", "-p", "grpcweb-proxy", "-p", "grpcweb-interop", "--bins"], {
    cwd: root,
    stdio: "inherit",
  });
  process.env["GRPCWEB_BIN_DIR"] = join(root, "target", "release");
}

const { startServer } = await import("../dist/test/support/processes.js");
const { createGrpcWebTransport: ourTransport } = await import("grpcweb-client");
const { TestServiceClient } = await import("../dist/gen/ours/grpc/testing/test_grpcweb.js");
const { createClient } = await import("@connectrpc/connect");
const { createGrpcWebTransport: connectTransport, Http2SessionManager } = await import("@connectrpc/connect-node");
const { TestService } = await import("../dist/gen/grpc/testing/test_pb.js");

const version = (pkg) => JSON.parse(readFileSync(join(jsTests, "node_modules", pkg, "package.json"), "utf8")).version;

const PAYLOAD = new Uint8Array(16);
const STREAM = { responseParameters: Array.from({ length: 100 }, () => ({ size: 1024 })) };

/** A client under test: `unary()` resolves after one UnaryCall, `stream()` with the message count. */
function ours(baseUrl, format) {
  const client = new TestServiceClient(ourTransport({ baseUrl, format }));
  return {
    name: `ours (grpcweb-client, ${format}, Node fetch)`,
    unary: () => client.unaryCall({ responseSize: 16, payload: { body: PAYLOAD } }),
    stream: async () => {
      let n = 0;
      for await (const _ of client.streamingOutputCall(STREAM)) n++;
      return n;
    },
    close: () => {},
  };
}

function connect(baseUrl, httpVersion) {
  let transport;
  let close;
  if (httpVersion === "2") {
    const sessionManager = new Http2SessionManager(baseUrl);
    transport = connectTransport({ baseUrl, httpVersion, sessionManager, useBinaryFormat: true });
    close = () => sessionManager.abort();
  } else {
    const agent = new Agent({ keepAlive: true });
    transport = connectTransport({ baseUrl, httpVersion, nodeOptions: { agent }, useBinaryFormat: true });
    close = () => agent.destroy();
  }
  const client = createClient(TestService, transport);
  return {
    name: `connect-node (binary, HTTP/${httpVersion === "2" ? "2" : "1.1"})`,
    unary: () => client.unaryCall({ responseSize: 16, payload: { body: PAYLOAD } }),
    stream: async () => {
      let n = 0;
      for await (const _ of client.streamingOutputCall(STREAM)) n++;
      return n;
    },
    close,
  };
}

/** Runs `once` from `concurrency` loops for `seconds`; throws on the first failed call. */
async function load(seconds, concurrency, once) {
  let calls = 0;
  let messages = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const got = await once();
        messages += typeof got === "number" ? got : 1;
        calls++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { calls: calls / elapsed, messages: messages / elapsed, cpuPerCall: (cpu.user + cpu.system) / calls };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const backend = await startServer("interop-server", ["--port", "0"]);
const proxy = await startServer("grpcweb-proxy", ["--listen", "127.0.0.1:0", "--backend", `http://${backend.addr}`]);
const baseUrl = `http://${proxy.addr}`;
const clients = [ours(baseUrl, "binary"), ours(baseUrl, "text"), connect(baseUrl, "1.1"), connect(baseUrl, "2")];
const workloads = [
  { name: "unary, 16 B each way", concurrency: 16, run: (c) => c.unary },
  { name: "server stream, 100 x 1 KiB", concurrency: 4, run: (c) => c.stream },
];
const results = [];
try {
  for (const w of workloads) {
    const rounds = new Map(clients.map((c) => [c, []]));
    for (const c of clients) {
      console.error(`warm-up: ${w.name}, ${c.name}`);
      await load(WARMUP_SECONDS, w.concurrency, w.run(c));
    }
    for (let r = 0; r < ROUNDS; r++) {
      // Each round starts with the next client, so no client always follows the same one.
      for (const c of [...clients.slice(r % clients.length), ...clients.slice(0, r % clients.length)]) {
        const res = await load(SECONDS, w.concurrency, w.run(c));
        console.error(`${w.name}, ${c.name}: ${res.calls.toFixed(0)} calls/s`);
        rounds.get(c).push(res);
      }
    }
    for (const c of clients) {
      const rs = rounds.get(c);
      results.push({
        workload: w,
        client: c,
        calls: median(rs.map((x) => x.calls)),
        messages: median(rs.map((x) => x.messages)),
        cpuPerCall: median(rs.map((x) => x.cpuPerCall)),
      });
    }
  }
} finally {
  for (const c of clients) c.close();
  await proxy.stop();
  await backend.stop();
}

const reference = (w) =>
  results.find((r) => r.workload === w && r.client.name.startsWith("connect-node (binary, HTTP/1.1"));
const fmt = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const table = [
  "| workload | client | calls/s | messages/s | ÷ connect-node HTTP/1.1 | client CPU per call |",
  "|---|---|---:|---:|---:|---:|",
  ...results.map(
    (r) =>
      `| ${r.workload.name} | ${r.client.name} | ${fmt(r.calls)} | ${fmt(r.messages)} | ${(r.calls / reference(r.workload).calls).toFixed(2)} | ${fmt(r.cpuPerCall)} µs |`,
  ),
].join("\n");
const binDir = process.env["GRPCWEB_BIN_DIR"];
const versions = `grpcweb-client ${version("grpcweb-client")}; @connectrpc/connect-node ${version("@connectrpc/connect-node")}; Node ${process.version}; ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), shared with other work; binaries from ${binDir.endsWith("release") ? "release" : "debug"} builds`;
const section = `<!-- throughput:begin (written by js-tests/bench/throughput.mjs) -->
## Client calls per second in Node

Measured ${new Date().toISOString().slice(0, 10)} with \`cd js-tests && npm run bench:throughput\`
(\`node bench/throughput.mjs\`): our runtime and connect-node's gRPC-Web transport in one Node
process, through the same grpcweb-proxy in front of the same interop-server. UnaryCall (16 B
payload each way) with 16 calls in flight; StreamingOutputCall (100 responses of 1 KiB per
call) with 4 in flight. ${ROUNDS} rounds of ${SECONDS} s per cell after a ${WARMUP_SECONDS} s warm-up, the clients
taking turns (each round starting with the next one); each cell is the median round. Client CPU per call is the Node process's
user+system time over the round divided by its calls (the proxy and the server have their
own processes on the same cores). Our transport uses Node's \`fetch\` (HTTP/1.1).

${table}

Versions: ${versions}.
<!-- throughput:end -->`;
const benchmarks = join(root, "BENCHMARKS.md");
const old = existsSync(benchmarks) ? readFileSync(benchmarks, "utf8") : "# Benchmarks\n";
const marked = /<!-- throughput:begin[\s\S]*?<!-- throughput:end -->/;
writeFileSync(benchmarks, marked.test(old) ? old.replace(marked, section) : insertAfterSize(old, section));
console.log(table);
console.log(`\n${versions}\nwritten to ${benchmarks}`);

/** New sections go after the size section (the client's), before the proxy's. */
function insertAfterSize(text, section) {
  const end = "<!-- size:end -->";
  const at = text.indexOf(end);
  return at < 0
    ? `${text.trimEnd()}\n\n${section}\n`
    : `${text.slice(0, at + end.length)}\n\n${section}${text.slice(at + end.length)}`;
}
