// The servers of the interop matrix: what each speaks, and how to start it on free
// loopback ports (our proxy in front of each backend, our layer in-process, the peers).

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { startConnectPeer } from "../test/support/connect-test-service.js";
import { binDir, startServer } from "../test/support/processes.js";
import type { Wire } from "./clients.js";
import type { HttpVersion } from "./clients/node.js";
import { startGoServer, startGrpcJsServer, startGrpcwebproxy, startPythonServer } from "./servers/peers.js";

/** The repository root (this file is compiled to js-tests/dist/matrix/). */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface RunningServer {
  /** Base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface ServerSpec {
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
  /** Why a case cannot run against this server in a wire format (a peer limitation), if it cannot. */
  readonly caseNotApplicable?: (name: string, wire: Wire) => string | undefined;
  start(origin: string): Promise<RunningServer>;
}

const url = (addr: string): string => `http://${addr}`;

/** Our proxy and layer let clients stream requests (client streaming and bidi cases). */
async function proxyInFront(backend: RunningServer, origin: string): Promise<RunningServer> {
  const proxy = await startServer("grpcweb-proxy", [
    "--listen",
    "127.0.0.1:0",
    "--backend",
    backend.url,
    "--allowed-origin",
    origin,
    "--allow-request-streaming",
  ]);
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

export const servers: readonly ServerSpec[] = [
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
    notes:
      "runs without request streaming (client_streaming and ping_pong n/a): with it on, the layer in tonic's " +
      "HTTP/1.1 server closes a connection after answering before the request ended without `connection: close` " +
      "(an open bug); the grpcweb-proxy columns run them",
    start: (origin) => interopServer(["--grpc-web", "--allowed-origin", origin]),
    // Request streams are left to the grpcweb-proxy columns: with request streaming on,
    // the layer inside tonic's HTTP/1.1 server closes a connection after answering before
    // the request ended (an unknown service) without `connection: close`, and the next
    // call on it fails (EPIPE); an open bug, not a property of gRPC-Web.
    caseNotApplicable: (name) =>
      name === "client_streaming" || name === "ping_pong"
        ? "interop-server --grpc-web runs without request streaming (open bug with it on over HTTP/1.1)"
        : undefined,
  },
  {
    id: "grpcwebproxy",
    label: "grpcwebproxy (improbable-eng) → tonic",
    text: true,
    grpcWeb: true,
    native: false,
    http: ["1.1"],
    cors: true,
    notes:
      "grpcwebproxy serves gRPC-Web only, and HTTP/2 only over TLS; over HTTP/1.1 it answers only once the " +
      "request has ended (no ping_pong), and it decodes a text request as one base64 string, so the padding " +
      "that ends each streamed frame (docs/protocol.md R5) is an error to it (no client_streaming in text)",
    caseNotApplicable: (name, wire) =>
      name === "ping_pong"
        ? "grpcwebproxy over HTTP/1.1 answers only once the request has ended"
        : name === "client_streaming" && wire === "text"
          ? "grpcwebproxy cannot decode a text body of several padded base64 frames"
          : undefined,
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
    notes:
      "connect has no grpc-web-text; the test server speaks HTTP/1.1 gRPC-Web only, without CORS; " +
      "connect-node serves bidi over HTTP/2 only (HTTP 505 over HTTP/1.1: no ping_pong)",
    caseNotApplicable: (name) =>
      name === "ping_pong" ? "connect-node serves bidi over HTTP/2 only (HTTP 505 over HTTP/1.1)" : undefined,
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
      if (!existsSync(join(binDir(), "examples", "tonic_web_peer"))) {
        execFileSync(
          process.env["CARGO"] ?? "cargo",
          ["build", "-p", "grpcweb-client", "--example", "tonic_web_peer"],
          {
            cwd: ROOT,
            stdio: "inherit",
          },
        );
      }
      const server = await startServer("examples/tonic_web_peer", []);
      return { url: url(server.addr), stop: () => server.stop() };
    },
  },
];
