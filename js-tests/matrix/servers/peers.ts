// The peers of the interop matrix that nobody here wrote: grpc.testing.TestService on
// @grpc/grpc-js (grpc-js-server.ts, in its own process), on grpcio (Python, C-core:
// interop/peers/python/test_server.py) and on grpc-go (its own interop service,
// interop/peers/go/, on a loopback listener);
// improbable-eng's grpcwebproxy; and grpc-go's interop client.
//
// The Go binaries and the Python venv are installed into `peersDir()` by xtask
// (xtask/src/peers.rs). Every server listens on a free port and is stopped by its
// `stop()`; all of them speak cleartext HTTP/2 (native gRPC), grpcwebproxy gRPC-Web over
// HTTP/1.1.

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { startChild, type Child } from "../../test/support/processes.js";

/** A peer server that is up. */
export interface Running {
  /** Peer name, for messages. */
  readonly name: string;
  /** Base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops it (SIGTERM, then SIGKILL after a while). */
  stop(): Promise<void>;
}

/** The repository root (this file is compiled to js-tests/dist/matrix/servers/). */
const REPO_DIR = fileURLToPath(new URL("../../../../", import.meta.url));

const INSTALL_HINT =
  "install the interop peers with xtask (xtask/src/peers.rs, run by `cargo xtask interop`) " +
  "or point GRPCWEB_PEERS_DIR at an installation";

/** Our servers' ready line. */
const LISTENING = /^listening on (\S+)\s*$/;

/**
 * grpcwebproxy's HTTP server timeouts: none (net/http reads zero as "no timeout"). Its
 * default of 10 s would cut server-streaming responses and slow calls short.
 */
const GRPCWEBPROXY_HTTP_TIMEOUT = "0s";
/** grpcwebproxy's message size limit, both ways: well above the interop cases' 314159 bytes. */
const GRPCWEBPROXY_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Where xtask installs the peers: `$GRPCWEB_PEERS_DIR`, else `<repo>/target/peers`. */
export function peersDir(): string {
  const fromEnv = process.env["GRPCWEB_PEERS_DIR"];
  if (fromEnv !== undefined && fromEnv !== "") {
    return resolve(fromEnv);
  }
  return resolve(REPO_DIR, "target", "peers");
}

/** The grpc-go interop client binary (`--server_host H --server_port P --test_case NAME`). */
export function goInteropClient(): string {
  return resolve(peersDir(), "bin", "grpc-go-interop-client");
}

/** grpc.testing.TestService on @grpc/grpc-js, in a child Node process. */
export async function startGrpcJsServer(): Promise<Running> {
  const script = fileURLToPath(new URL("./grpc-js-server.js", import.meta.url));
  const child = await startChild({
    name: "grpc-js",
    command: process.execPath,
    args: ["--enable-source-maps", script, "--port", "0"],
    ready: LISTENING,
    installHint: "build js-tests (`npx tsc -p tsconfig.json`)",
  });
  return running(child);
}

/** grpc.testing.TestService on grpcio (gRPC C-core), in the peers' Python venv. */
export async function startPythonServer(): Promise<Running> {
  const child = await startChild({
    name: "grpcio",
    command: resolve(peersDir(), "venv", "bin", "python"),
    args: [resolve(REPO_DIR, "interop", "peers", "python", "test_server.py"), "--port", "0"],
    ready: LISTENING,
    installHint: INSTALL_HINT,
  });
  return running(child);
}

/** The grpc-go interop server binary. */
export function goServerBinary(): string {
  return resolve(peersDir(), "bin", "grpc-go-interop-server");
}

/**
 * grpc-go's interop server, plaintext. It listens on every interface (it has no flag for
 * the address, only `--port`); we pass port 0 and read the port from its start-up log line
 * (`interop server listening on [::]:PORT`, logged at INFO, hence the log level).
 */
export async function startGoServer(): Promise<Running> {
  const child = await startChild({
    name: "grpc-go",
    command: goServerBinary(),
    args: ["--listen", "127.0.0.1:0"],
    ready: LISTENING,
    installHint: INSTALL_HINT,
  });
  return running(child);
}

/**
 * improbable-eng's grpcwebproxy in front of `backendUrl` (`http://host:port`, cleartext
 * HTTP/2 gRPC), serving gRPC-Web (binary and text) over HTTP/1.1 on 127.0.0.1 with CORS for
 * `allowedOrigins` (`*` allows every origin). It serves HTTP/2 only over TLS, which we do
 * not set up. Port 0; the port comes from its log line `listening for http on: ADDR`.
 */
export async function startGrpcwebproxy(backendUrl: string, allowedOrigins: readonly string[]): Promise<Running> {
  const backend = new URL(backendUrl);
  if (backend.protocol !== "http:") {
    throw new Error(`grpcwebproxy: backend ${backendUrl} is not cleartext http://`);
  }
  const origins = allowedOrigins.includes("*")
    ? ["--allow_all_origins"]
    : allowedOrigins.length > 0
      ? [`--allowed_origins=${allowedOrigins.join(",")}`]
      : [];
  const child = await startChild({
    name: "grpcwebproxy",
    command: resolve(peersDir(), "bin", "grpcwebproxy"),
    args: [
      `--backend_addr=${backend.host}`,
      "--backend_tls=false",
      `--backend_max_call_recv_msg_size=${GRPCWEBPROXY_MAX_MESSAGE_BYTES}`,
      "--run_tls_server=false",
      "--run_http_server=true",
      "--server_bind_address=127.0.0.1",
      "--server_http_debug_port=0",
      `--server_http_max_read_timeout=${GRPCWEBPROXY_HTTP_TIMEOUT}`,
      `--server_http_max_write_timeout=${GRPCWEBPROXY_HTTP_TIMEOUT}`,
      ...origins,
    ],
    ready: /listening for http on: ([^"\s]+)/,
    pollPort: true,
    installHint: INSTALL_HINT,
  });
  return running(child);
}

function running(child: Child): Running {
  return { name: child.name, url: `http://127.0.0.1:${child.port}`, stop: () => child.stop() };
}
