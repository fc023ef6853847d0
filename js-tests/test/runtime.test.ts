// The wasm runtime (npm package grpcweb-client) in Node: every interop case and the
// runtime cases (streaming, deadlines, abort, errors, odd responses), in binary and text,
// against grpcweb-proxy + interop-server and a scripted server.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { create } from "@bufbuild/protobuf";
import { createGrpcWebTransport, Code, RpcError } from "grpcweb-client";

import { EmptySchema } from "../gen/grpc/testing/empty_pb.js";
import { StreamingOutputCallRequestSchema } from "../gen/grpc/testing/messages_pb.js";

import { closedUrl } from "./support/closed-port.js";
import { startServer, type Server } from "./support/processes.js";
import {
  allCases,
  scriptedUnary,
  streamingOutputCall,
  type CaseContext,
  type Format,
} from "./support/runtime-cases.js";
import { startScriptedServer, type ScriptedServer } from "./support/scripted-server.js";

const TEST_TIMEOUT_MS = 30_000;
const FORMATS: readonly Format[] = ["binary", "text"];

describe("grpcweb-client (wasm) in Node -> grpcweb-proxy -> interop-server", () => {
  let backend: Server | undefined;
  let proxy: Server | undefined;
  let scripted: ScriptedServer | undefined;
  let closed = "";

  before(async () => {
    backend = await startServer("interop-server", ["--port", "0"]);
    proxy = await startServer("grpcweb-proxy", ["--listen", "127.0.0.1:0", "--backend", `http://${backend.addr}`]);
    scripted = await startScriptedServer();
    closed = await closedUrl();
  });

  after(async () => {
    await scripted?.stop();
    await proxy?.stop();
    await backend?.stop();
  });

  it(
    "loadWasm(bytes of the shipped .wasm file) instead of the inlined copy",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      assert.ok(proxy !== undefined, "proxy not started");
      // A fresh process: the wasm module is loaded once per process.
      const script = `
      import { readFile } from "node:fs/promises";
      import { createGrpcWebTransport, loadWasm } from "grpcweb-client";
      const file = new URL(import.meta.resolve("grpcweb-client/grpcweb_client_bg.wasm"));
      await loadWasm(await readFile(file));
      const transport = createGrpcWebTransport({ baseUrl: process.argv[1] });
      const method = { service: "grpc.testing.TestService", name: "EmptyCall", kind: "unary",
        path: "/grpc.testing.TestService/EmptyCall", encode: () => new Uint8Array(0), decode: (b) => b.length };
      console.log("empty response bytes: " + (await transport.unary(method, {})));`;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--input-type=module", "-e", script, `http://${proxy.addr}`],
        { cwd: fileURLToPath(new URL("../../", import.meta.url)) },
      );
      assert.equal(stdout.trim(), "empty response bytes: 0");
    },
  );

  it(
    "a failed wasm load is not kept: loadWasm says why, and the next call loads the core",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      assert.ok(proxy !== undefined && scripted !== undefined, "servers not started");
      // A fresh process: the wasm module is loaded once per process.
      const script = `
      import { createGrpcWebTransport, loadWasm } from "grpcweb-client";
      const out = [];
      for (const source of [process.argv[2], process.argv[3]]) {
        try { await loadWasm(source); out.push("loaded"); } catch (e) { out.push(e.message); }
      }
      const transport = createGrpcWebTransport({ baseUrl: process.argv[1] });
      const method = { service: "grpc.testing.TestService", name: "EmptyCall", kind: "unary",
        path: "/grpc.testing.TestService/EmptyCall", encode: () => new Uint8Array(0), decode: (b) => b.length };
      out.push("empty response bytes: " + (await transport.unary(method, {})));
      console.log(JSON.stringify(out));`;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          script,
          `http://${proxy.addr}`,
          `${closed}/grpcweb_client_bg.wasm`,
          `${scripted.baseUrl}/grpcweb_client_bg.wasm`,
        ],
        { cwd: fileURLToPath(new URL("../../", import.meta.url)) },
      );
      const [unreachable, missing, call] = JSON.parse(stdout) as string[];
      assert.match(unreachable ?? "", /fetch failed/);
      assert.equal(missing, "wasm: HTTP 404");
      assert.equal(call, "empty response bytes: 0");
    },
  );

  it(
    "encodeBinaryHeader/decodeBinaryHeader work before the wasm core loads",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // A fresh process that never calls: the wasm is never loaded.
      const script = `
      import { encodeBinaryHeader, decodeBinaryHeader } from "grpcweb-client";
      const text = encodeBinaryHeader(new Uint8Array([0xab, 0xab, 0xab, 0x01]));
      const back = Array.from(decodeBinaryHeader(text + ",AQ=="));
      let bad = "";
      try { decodeBinaryHeader("*"); } catch (e) { bad = e.name + " " + e.code; }
      console.log(JSON.stringify([text, back, bad]));`;
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
        cwd: fileURLToPath(new URL("../../", import.meta.url)),
      });
      assert.deepEqual(JSON.parse(stdout), ["q6urAQ", [0xab, 0xab, 0xab, 0x01, 0x01], "RpcError 3"]);
    },
  );

  for (const format of FORMATS) {
    describe(format, () => {
      const ctx = (): CaseContext => {
        assert.ok(proxy !== undefined && scripted !== undefined, "servers not started");
        return { proxyUrl: `http://${proxy.addr}`, scriptedUrl: scripted.baseUrl, closedUrl: closed, format };
      };
      for (const c of allCases) {
        it(c.name, { timeout: TEST_TIMEOUT_MS }, () => c.run(ctx()));
      }
    });
  }
});

/**
 * grpcweb-proxy with its admin listener in front of interop-server, started before and
 * stopped after the calling `describe` block's tests.
 */
function proxyWithMetrics(): { proxy: () => Server; metrics: () => Promise<string> } {
  let backend: Server | undefined;
  let proxy: Server | undefined;
  let admin = "";
  before(async () => {
    backend = await startServer("interop-server", ["--port", "0"]);
    admin = new URL(await closedUrl()).host; // a free port for the proxy's /metrics
    proxy = await startServer("grpcweb-proxy", [
      "--listen",
      "127.0.0.1:0",
      "--backend",
      `http://${backend.addr}`,
      "--admin-listen",
      admin,
    ]);
  });
  after(async () => {
    await proxy?.stop();
    await backend?.stop();
  });
  return {
    proxy: () => {
      assert.ok(proxy !== undefined, "proxy not started");
      return proxy;
    },
    metrics: async () => (await fetch(`http://${admin}/metrics`)).text(),
  };
}

/** The value of an unlabelled gauge in a /metrics scrape (NaN when absent). */
const gauge = (text: string, name: string): number => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? NaN);

describe("abort mid-stream reaches the proxy, which cancels the backend call", () => {
  const { proxy, metrics } = proxyWithMetrics();

  for (const format of FORMATS) {
    it(format, { timeout: TEST_TIMEOUT_MS }, async () => {
      const inFlight = (text: string): number => gauge(text, "grpcweb_in_flight_calls");
      const controller = new AbortController();
      const transport = createGrpcWebTransport({ baseUrl: `http://${proxy().addr}`, format });
      const stream = transport.serverStream(
        streamingOutputCall,
        create(StreamingOutputCallRequestSchema, {
          responseParameters: Array.from({ length: 50 }, () => ({ size: 1, intervalUs: 100_000 })),
        }),
        { signal: controller.signal },
      );
      let during = NaN;
      const err = await (async () => {
        for await (const _ of stream) {
          during = inFlight(await metrics());
          controller.abort();
        }
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof RpcError && err.code === Code.CANCELLED, `expected CANCELLED, got ${String(err)}`);
      assert.equal(during, 1, "the call was in flight at the proxy");
      let text = await metrics();
      for (let i = 0; i < 40 && inFlight(text) !== 0; i++) {
        await new Promise((done) => setTimeout(done, 50));
        text = await metrics();
      }
      assert.equal(inFlight(text), 0, `the proxy still has the call in flight:\n${text}`);
      // The proxy saw the client go away and ended the call (it resets the backend stream, D2).
      const mode = format === "text" ? "grpc-web-text" : "grpc-web";
      const ended = new RegExp(
        `grpcweb_calls_total\\{[^}]*method="StreamingOutputCall",code="(CLIENT_GONE|CANCELLED)",mode="${mode}"\\} 1`,
      );
      assert.match(text, ended, text);
    });
  }
});

describe("after the trailer frame the body is read to its end: HTTP/1.1 connections are reused", () => {
  const { proxy, metrics } = proxyWithMetrics();

  for (const format of FORMATS) {
    it(format, { timeout: TEST_TIMEOUT_MS }, async () => {
      const open = async (): Promise<number> => gauge(await metrics(), "grpcweb_client_connections");
      const settle = async (want: (n: number) => boolean): Promise<number> => {
        let n = await open();
        for (let i = 0; i < 40 && !want(n); i++) {
          await new Promise((done) => setTimeout(done, 50));
          n = await open();
        }
        return n;
      };
      await settle((n) => n === 0);
      // Node's fetch speaks HTTP/1.1 to a plain-http server and keeps connections alive.
      const transport = createGrpcWebTransport({ baseUrl: `http://${proxy().addr}`, format });
      const seen: number[] = [];
      for (let i = 0; i < 10; i++) {
        const stream = transport.serverStream(
          streamingOutputCall,
          create(StreamingOutputCallRequestSchema, { responseParameters: [{ size: 3 }, { size: 4 }] }),
        );
        for await (const _ of stream) {
          // read every message
        }
        seen.push(await open());
      }
      // An aborted body closes its connection, so the count would drop to 0 after a call.
      await new Promise((done) => setTimeout(done, 300));
      const after = await open();
      assert.deepEqual(seen, Array(10).fill(1), "one connection, open across the calls");
      assert.equal(after, 1, "the connection is still open, kept alive for reuse");
    });

    it(`${format}: a body whose end comes 100 ms after the trailer frame`, { timeout: TEST_TIMEOUT_MS }, async () => {
      // The proxy sends the body's end with the trailer frame, so the case above would pass
      // even if the client stopped reading there; this server does not.
      const server = await startScriptedServer();
      try {
        const transport = createGrpcWebTransport({ baseUrl: server.baseUrl, format });
        const opened: number[] = [];
        for (let i = 0; i < 5; i++) {
          const res = await transport.unary(scriptedUnary("TrailersThenLateEnd"), create(EmptySchema));
          assert.deepEqual([...(res.payload?.body ?? [])], [1, 2, 3]);
          opened.push(server.connections());
        }
        // Node's fetch opens a second connection for the second call even when the first
        // body was read to its end (a plain fetch does the same); after that the calls
        // share them. A call that dropped its unfinished body would close its connection,
        // so every call would open one.
        assert.deepEqual(
          opened.slice(2),
          Array(3).fill(opened[1]),
          `connections after each call: ${opened.join(", ")}`,
        );
      } finally {
        await server.stop();
      }
    });
  }
});
