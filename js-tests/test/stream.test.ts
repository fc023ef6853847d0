// Client streaming and bidi from our runtime in Node: the generated TestServiceClient over
// createGrpcWebTransport (Node's fetch: HTTP/1.1, request body streamed with duplex "half")
// through grpcweb-proxy --allow-request-streaming in front of tonic (interop-server),
// grpc-js and grpc-go, binary and text (support/stream-cases.ts); the same cases over
// HTTP/2 with undici's fetch (allowH2) against the proxy serving TLS with a certificate
// made here; a proxy without the flag; platforms that cannot stream a request body.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { Agent, buildConnector, fetch as undiciFetch } from "undici";

import { Code, RpcError, createGrpcWebTransport, type FetchLike } from "grpcweb-client";

import { goServerBinary, startGoServer, startGrpcJsServer, type Running } from "../matrix/servers/peers.js";
import { startServer, type Server } from "./support/processes.js";
import { streamCases, type StreamContext } from "./support/stream-cases.js";
import { TestServiceClient } from "../gen/ours/grpc/testing/test_grpcweb.js";

const TEST_TIMEOUT_MS = 30_000;
const FORMATS = ["binary", "text"] as const;

interface Backend {
  readonly name: string;
  /** Why it cannot run here, or undefined. */
  readonly missing?: string;
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

const interopServer = async (): Promise<Running> => {
  const s = await startServer("interop-server", ["--port", "0"]);
  return { name: s.name, url: `http://${s.addr}`, stop: () => s.stop() };
};

const BACKENDS: readonly Backend[] = [
  { name: "tonic (interop-server)", start: interopServer },
  { name: "grpc-js", start: startGrpcJsServer },
  {
    name: "grpc-go",
    ...(existsSync(goServerBinary()) ? {} : { missing: `${goServerBinary()} is not installed (cargo xtask setup)` }),
    start: startGoServer,
  },
];

/** grpcweb-proxy in front of `backend`, started before and stopped after the block's tests. */
function proxied(backend: Backend, args: readonly string[]): () => string {
  let server: { url: string; stop(): Promise<void> } | undefined;
  let proxy: Server | undefined;
  before(async () => {
    server = await backend.start();
    proxy = await startServer("grpcweb-proxy", ["--listen", "127.0.0.1:0", "--backend", server.url, ...args]);
  });
  after(async () => {
    await proxy?.stop();
    await server?.stop();
  });
  return () => {
    assert.ok(proxy !== undefined, "proxy not started");
    return `http://${proxy.addr}`;
  };
}

for (const backend of BACKENDS) {
  describe(
    `request streams: Node fetch -> grpcweb-proxy --allow-request-streaming -> ${backend.name}`,
    {
      skip: backend.missing ?? false,
    },
    () => {
      const url = proxied(backend, ["--allow-request-streaming"]);
      for (const format of FORMATS) {
        describe(format, () => {
          const ctx = (): StreamContext => ({ url: url(), format });
          for (const c of streamCases) {
            it(c.name, { timeout: TEST_TIMEOUT_MS }, () => c.run(ctx()));
          }
        });
      }
    },
  );
}

describe("request streams over HTTP/2: undici fetch (allowH2) -> grpcweb-proxy (TLS) -> tonic", () => {
  let dir = "";
  let backend: Running | undefined;
  let proxy: Server | undefined;
  let agent: Agent | undefined;
  /** The ALPN protocol of every connection undici made. */
  const protocols: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "grpcweb-stream-tls-"));
    // A self-signed certificate for 127.0.0.1, trusted by this agent only.
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    backend = await interopServer();
    proxy = await startServer("grpcweb-proxy", [
      "--listen",
      "127.0.0.1:0",
      "--backend",
      backend.url,
      "--allow-request-streaming",
      "--tls-cert",
      join(dir, "cert.pem"),
      "--tls-key",
      join(dir, "key.pem"),
    ]);
    const connector = buildConnector({ ca: readFileSync(join(dir, "cert.pem")), allowH2: true });
    agent = new Agent({
      allowH2: true,
      connect: (options, callback) =>
        connector(options, (err, socket) => {
          protocols.push(String((socket as TLSSocket | null)?.alpnProtocol));
          callback(err, socket as never);
        }),
    });
  });
  after(async () => {
    await agent?.close();
    await proxy?.stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const fetch: FetchLike = (input, init) =>
    undiciFetch(input, { ...(init as object), dispatcher: agent } as never) as unknown as Promise<Response>;

  for (const format of FORMATS) {
    describe(format, () => {
      for (const c of streamCases) {
        it(c.name, { timeout: TEST_TIMEOUT_MS }, () => {
          assert.ok(proxy !== undefined, "proxy not started");
          return c.run({ url: `https://${proxy.addr}`, format, fetch });
        });
      }
    });
  }
  it("every connection spoke h2", () => {
    assert.ok(protocols.length > 0, "no connection");
    assert.deepEqual([...new Set(protocols)], ["h2"]);
  });
});

describe("request streams through a proxy without --allow-request-streaming", () => {
  const url = proxied(BACKENDS[0]!, []);
  for (const format of FORMATS) {
    it(`${format}: two messages get the proxy's UNIMPLEMENTED`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = new TestServiceClient(createGrpcWebTransport({ baseUrl: url(), format }));
      const two = async function* () {
        yield { payload: { body: new Uint8Array(1) } };
        yield { payload: { body: new Uint8Array(2) } };
      };
      await assert.rejects(
        client.streamingInputCall(two()),
        (e: unknown) =>
          e instanceof RpcError && e.code === Code.UNIMPLEMENTED && /exactly one request message/.test(e.message),
      );
    });
  }
});

describe("backpressure: the request iterator is pulled only as fast as the body is sent", () => {
  it(
    "a server that reads nothing holds the client to what the connection buffers",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // Accepts the request and never reads its body nor answers.
      const server = createServer(() => undefined);
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      const { port } = server.address() as AddressInfo;
      const MESSAGE = 64 * 1024;
      let pulled = 0;
      const endless = async function* (): AsyncGenerator<Uint8Array> {
        for (;;) {
          pulled++;
          yield new Uint8Array(MESSAGE);
        }
      };
      const method = {
        service: "grpc.testing.TestService",
        name: "StreamingInputCall",
        path: "/grpc.testing.TestService/StreamingInputCall",
        kind: "client_streaming",
        encode: (m: Uint8Array) => m,
        decode: (b: Uint8Array) => b,
      } as const;
      const controller = new AbortController();
      const call = createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${port}` }).clientStream(method, endless(), {
        signal: controller.signal,
      });
      try {
        await new Promise((done) => setTimeout(done, 1_500));
        const bytes = pulled * MESSAGE;
        // Loopback socket buffers hold a few MiB at most; an unbounded read-ahead would be
        // hundreds of MiB by now.
        assert.ok(pulled > 0, "nothing was pulled");
        assert.ok(bytes < 32 * 1024 * 1024, `${bytes} bytes pulled from the iterator while the server read nothing`);
        controller.abort();
        await assert.rejects(call, (e: unknown) => e instanceof RpcError && e.code === Code.CANCELLED);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
      }
    },
  );
});

describe("platforms that cannot stream a request body", () => {
  const method = {
    service: "grpc.testing.TestService",
    name: "StreamingInputCall",
    path: "/grpc.testing.TestService/StreamingInputCall",
    kind: "client_streaming",
    encode: (m: Uint8Array) => m,
    decode: (b: Uint8Array) => b,
  } as const;
  const one = async function* (): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(1);
  };

  it("Node's fetch streams request bodies: supportsRequestStreaming() is true", async () => {
    assert.equal(await createGrpcWebTransport({ baseUrl: "http://127.0.0.1:1" }).supportsRequestStreaming(), true);
  });

  it("a Request without stream bodies (it sends the stream as text): UNIMPLEMENTED before any fetch", async () => {
    const real = globalThis.Request;
    // What Safari and Firefox do today: `duplex` is not read, the stream becomes "[object ReadableStream]".
    globalThis.Request = class extends real {
      constructor(input: string | URL | Request, init?: RequestInit) {
        super(input, init?.body instanceof ReadableStream ? { ...init, body: String(init.body) } : init);
      }
    } as typeof Request;
    let fetched = 0;
    const fetch: FetchLike = () => {
      fetched++;
      return Promise.reject(new TypeError("not reached"));
    };
    try {
      const transport = createGrpcWebTransport({ baseUrl: "http://127.0.0.1:1", fetch });
      assert.equal(await transport.supportsRequestStreaming(), false);
      await assert.rejects(
        transport.clientStream(method, one()),
        (e: unknown) =>
          e instanceof RpcError && e.code === Code.UNIMPLEMENTED && /cannot stream a request body/.test(e.message),
      );
      const bidi = transport.bidiStream({ ...method, kind: "bidi_streaming" }, one());
      await assert.rejects(
        (async () => {
          for await (const _ of bidi) {
            // nothing comes
          }
        })(),
        (e: unknown) => e instanceof RpcError && e.code === Code.UNIMPLEMENTED,
      );
      assert.equal(fetched, 0, "nothing was sent");
    } finally {
      globalThis.Request = real;
    }
  });

  it("a browser that refuses the stream (Chromium over HTTP/1.1) while the server is reachable: UNIMPLEMENTED", async () => {
    // Node has no `document`; pretend to be a page for the runtime's browser check.
    const g = globalThis as { document?: unknown };
    g.document = {};
    try {
      const requests: string[] = [];
      const refusing: FetchLike = (_url, init) => {
        requests.push(`${init.method} ${init.mode ?? ""}`);
        // Chromium rejects the POST with a stream body over HTTP/1.1; the no-cors GET gets an opaque answer.
        return init.method === "POST"
          ? Promise.reject(new TypeError("Failed to fetch"))
          : Promise.resolve(new Response(null));
      };
      const refused = createGrpcWebTransport({ baseUrl: "http://127.0.0.1:1", fetch: refusing });
      await assert.rejects(
        refused.clientStream(method, one()),
        (e: unknown) =>
          e instanceof RpcError &&
          e.code === Code.UNIMPLEMENTED &&
          /refused to stream the request body/.test(e.message) &&
          /HTTP\/2/.test(e.message),
      );
      assert.deepEqual(requests, ["POST ", "GET no-cors"]);
      // Both fail: the server is not reachable, a network error.
      const down = createGrpcWebTransport({
        baseUrl: "http://127.0.0.1:1",
        fetch: () => Promise.reject(new TypeError("Failed to fetch")),
      });
      await assert.rejects(
        down.clientStream(method, one()),
        (e: unknown) => e instanceof RpcError && e.code === Code.UNAVAILABLE,
      );
    } finally {
      delete g.document;
    }
  });
});
