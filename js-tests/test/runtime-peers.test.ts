// Our wasm runtime against gRPC-Web servers nobody here wrote:
// - @connectrpc/connect-node with gRPC-Web enabled, implementing the same TestService:
//   every interop case in binary (connect has no grpc-web-text; text requests must fail as
//   a clean RpcError);
// - tonic-web's GrpcWebLayer in front of the interop TestService
//   (client-wasm/examples/tonic_web_peer.rs, built here): every case, binary and text.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { Code, RpcError, createGrpcWebTransport } from "grpcweb-client";

import { closedUrl } from "./support/closed-port.js";
import { startConnectPeer, type PeerServer } from "./support/connect-test-service.js";
import { startServer, type Server } from "./support/processes.js";
import { interopCases, type CaseContext, type Format } from "./support/runtime-cases.js";

const TEST_TIMEOUT_MS = 30_000;

describe("grpcweb-client (wasm) in Node -> connect-node gRPC-Web server (peer)", () => {
  let peer: PeerServer | undefined;
  let closed = "";

  before(async () => {
    peer = await startConnectPeer();
    closed = await closedUrl();
  });

  after(async () => {
    await peer?.stop();
  });

  const ctx = (): CaseContext => {
    assert.ok(peer !== undefined, "peer not started");
    // Only the interop cases run here; they use proxyUrl alone.
    return { proxyUrl: peer.baseUrl, scriptedUrl: closed, closedUrl: closed, format: "binary" };
  };

  describe("binary", () => {
    for (const c of interopCases) {
      it(c.name, { timeout: TEST_TIMEOUT_MS }, () => c.run(ctx()));
    }
  });

  it("text mode is refused by connect (no grpc-web-text) as an RpcError", { timeout: TEST_TIMEOUT_MS }, async () => {
    const transport = createGrpcWebTransport({ baseUrl: ctx().proxyUrl, format: "text" });
    const method = {
      service: "grpc.testing.TestService",
      name: "EmptyCall",
      path: "/grpc.testing.TestService/EmptyCall",
      kind: "unary" as const,
      encode: () => new Uint8Array(0),
      decode: () => ({}),
    };
    const err = await transport.unary(method, {}).then(
      () => assert.fail("connect answered a grpc-web-text request"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RpcError, String(err));
    // connect answers 415 Unsupported Media Type, which the status table makes UNKNOWN (S6).
    assert.equal(err.code, Code.UNKNOWN);
    assert.equal(err.rawMessage, "HTTP status 415");
  });
});

describe("grpcweb-client (wasm) in Node -> tonic-web (peer)", () => {
  let peer: Server | undefined;
  let closed = "";

  before(async () => {
    // A cargo example, so it lands in target/debug/examples next to the other binaries.
    execFileSync(process.env["CARGO"] ?? "cargo", ["build", "-p", "grpcweb-client", "--example", "tonic_web_peer"], {
      cwd: fileURLToPath(new URL("../../../", import.meta.url)),
      stdio: "inherit",
    });
    peer = await startServer("examples/tonic_web_peer", []);
    closed = await closedUrl();
  });

  after(async () => {
    await peer?.stop();
  });

  for (const format of ["binary", "text"] as const satisfies readonly Format[]) {
    describe(format, () => {
      for (const c of interopCases) {
        it(c.name, { timeout: TEST_TIMEOUT_MS }, () => {
          assert.ok(peer !== undefined, "peer not started");
          return c.run({ proxyUrl: `http://${peer.addr}`, scriptedUrl: closed, closedUrl: closed, format });
        });
      }
    });
  }
});
