// grpcweb-proxy --reflection in front of a grpc-js server that serves gRPC server
// reflection with @grpc/reflection: the proxy has no descriptor file, fetches the echo
// service's descriptors (protos/transcoding/v1/echo.proto) from the backend, and serves
// gRPC-Web+json and REST calls with them. grpc-js's reflection serves descriptors made by
// protobufjs, which drop custom options (google.api.http), so the REST binding comes
// from the config file's [[transcoding.rules]], which may name a method only reflection
// brings.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

import { startServer, type Server } from "./support/processes.js";

/** The repository's protos/ (this file is compiled to js-tests/dist/test/). */
const PROTOS_DIR = fileURLToPath(new URL("../../../protos/", import.meta.url));
const TEST_TIMEOUT_MS = 30_000;

/** EchoService on grpc-js, with reflection: every method answers with its request. */
async function startEchoServer(): Promise<{ port: number; server: grpc.Server }> {
  const definition = protoLoader.loadSync("transcoding/v1/echo.proto", {
    includeDirs: [PROTOS_DIR],
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpcweb: { transcoding: { v1: { EchoService: grpc.ServiceClientConstructor } } };
  };
  const echo = (
    call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    callback(null, { request: call.request, shelf: call.request["shelf"], numbers: call.request["numbers"] });
  };
  const server = new grpc.Server();
  const service = loaded.grpcweb.transcoding.v1.EchoService.service;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(service)) {
    implementation[name] = echo;
  }
  server.addService(service, implementation);
  // @grpc/reflection types its own @grpc/proto-loader; the definition is the same shape.
  new ReflectionService(definition as never).addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err !== null) {
        reject(err);
      } else {
        resolve(bound);
      }
    });
  });
  return { port, server };
}

/** One gRPC-Web frame. */
function frame(flag: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

/** The frames of a gRPC-Web body: flag and payload. */
function frames(body: Uint8Array): { flag: number; payload: Uint8Array }[] {
  const out: { flag: number; payload: Uint8Array }[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    out.push({ flag: body[at] ?? 0, payload: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

describe("grpcweb-proxy --reflection -> grpc-js with @grpc/reflection", () => {
  let backend: grpc.Server | undefined;
  let proxy: Server | undefined;
  const dir = mkdtempSync(join(tmpdir(), "grpcweb-reflection-"));

  before(async () => {
    const echo = await startEchoServer();
    backend = echo.server;
    const config = join(dir, "proxy.toml");
    writeFileSync(
      config,
      '[[transcoding.rules]]\nselector = "grpcweb.transcoding.v1.EchoService.GetShelf"\nget = "/v1/shelves/{id}"\n',
    );
    proxy = await startServer("grpcweb-proxy", [
      "--listen",
      "127.0.0.1:0",
      "--config",
      config,
      "--backend",
      `http://127.0.0.1:${echo.port}`,
      "--reflection",
    ]);
  });

  after(async () => {
    await proxy?.stop();
    backend?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a gRPC-Web+json call is transcoded with the fetched descriptors", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(proxy !== undefined);
    const message = new TextEncoder().encode(JSON.stringify({ id: "7", label: "x" }));
    const res = await fetch(`http://${proxy.addr}/grpcweb.transcoding.v1.EchoService/GetShelf`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+json", "x-grpc-web": "1" },
      body: frame(0, message),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/grpc-web+json");
    const got = frames(new Uint8Array(await res.arrayBuffer()));
    const trailers = new TextDecoder().decode(got.find((f) => f.flag === 0x80)?.payload);
    assert.match(trailers, /grpc-status: ?0\r\n/, trailers);
    const data = got.find((f) => f.flag === 0);
    assert.ok(data !== undefined, trailers);
    const answer = JSON.parse(new TextDecoder().decode(data.payload)) as { request: unknown };
    assert.deepEqual(answer.request, { id: "7", label: "x" });
  });

  it(
    "a REST call takes the config file's rule for a method reflection brings",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      assert.ok(proxy !== undefined);
      const res = await fetch(`http://${proxy.addr}/v1/shelves/7?label=x`);
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.deepEqual((JSON.parse(text) as { request: unknown }).request, { id: "7", label: "x" });
    },
  );
});
