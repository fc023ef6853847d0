// The Rust API of the runtime: tonic's client over grpcweb-client's tower `Service`
// (feature "tower"), compiled to wasm32 and run in Node by wasm-bindgen-test-runner
// (client-wasm/tests/tower.rs), against grpcweb-proxy + interop-server started here.
// The proxy address reaches the wasm test at compile time (GRPCWEB_PROXY_URL).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { startServer, type Server } from "./support/processes.js";

/** Includes compiling tonic for wasm32 on a cold target dir. */
const TIMEOUT_MS = 900_000;
const WORKSPACE = fileURLToPath(new URL("../../../", import.meta.url));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: WORKSPACE, env: { ...process.env, ...env } });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.once("error", fail);
    child.once("close", (code) => done({ code, output }));
  });
}

describe("tonic over grpcweb-client's tower Service (wasm32, in Node)", { timeout: TIMEOUT_MS }, () => {
  let backend: Server | undefined;
  let proxy: Server | undefined;

  before(async () => {
    backend = await startServer("interop-server", ["--port", "0"]);
    proxy = await startServer("grpcweb-proxy", ["--listen", "127.0.0.1:0", "--backend", `http://${backend.addr}`]);
  });

  after(async () => {
    await proxy?.stop();
    await backend?.stop();
  });

  it(
    "unary, server streaming, status and metadata, deadline, in binary and text",
    { timeout: TIMEOUT_MS },
    async () => {
      assert.ok(proxy !== undefined, "proxy not started");
      const { code, output } = await run(
        process.env["CARGO"] ?? "cargo",
        [
          "test",
          "-p",
          "grpcweb-client",
          "--target",
          "wasm32-unknown-unknown",
          "--features",
          "tower",
          "--test",
          "tower",
        ],
        {
          GRPCWEB_PROXY_URL: `http://${proxy.addr}`,
          CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: "wasm-bindgen-test-runner",
        },
      );
      const tail = output.slice(-6_000);
      assert.equal(code, 0, tail);
      assert.match(output, /test result: ok\. 8 passed; 0 failed/, tail);
    },
  );
});
