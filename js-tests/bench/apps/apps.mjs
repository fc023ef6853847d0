// The apps of the size benchmark: per stack, the source of a small browser app calling
// grpc.testing.TestService (one RPC, or four) and grpcweb.bench.WideService (one method of
// twenty, or two). Every stack sends the same requests and reads the same fields. The
// apps call the page's own origin (`location.origin`), where the benchmark answers every
// call; each ends by logging "done" and what it read.

import { grpcWebClientSource } from "./grpc-web-client.mjs";

/** The four TestService calls, in the order the apps make them; "1 RPC" is the first. */
export const TEST_CALLS = ["UnaryCall", "EmptyCall", "CacheableUnaryCall", "StreamingOutputCall"];
/**
 * The wide apps: how many methods they call, of which service (WideService: 20 methods;
 * NarrowService: only Call01, on the same messages, in narrow.proto).
 */
export const WIDE_APPS = [
  { service: "NarrowService", calls: 1 },
  { service: "WideService", calls: 1 },
  { service: "WideService", calls: 2 },
];
const fileOf = (service) => (service === "WideService" ? "wide" : "narrow");

const wideName = (i) => `Call${String(i).padStart(2, "0")}`;
const camel = (name) => name[0].toLowerCase() + name.slice(1);

/** `await` one call of each of `names` on `client`, given how the stack passes a request. */
function testCalls(names, { req, stream }) {
  const body = {
    UnaryCall: `out.push((${req("SimpleRequest", "{ responseSize: 10 }", "unaryCall")})?.payload?.body.length);`,
    EmptyCall: `${req("Empty", "{}", "emptyCall")};`,
    CacheableUnaryCall: `${req("SimpleRequest", "{ responseSize: 1 }", "cacheableUnaryCall")};`,
    StreamingOutputCall: stream(
      "StreamingOutputCallRequest",
      "{ responseParameters: [{ size: 3 }] }",
      "streamingOutputCall",
    ),
  };
  return names.map((n) => body[n]).join("\n");
}

function app(head, calls) {
  return `${head}\nconst out: unknown[] = [];\n${calls}\nconsole.log("done " + JSON.stringify(out));\n`;
}

/**
 * The stacks: `gen` is the generated-code folder (under the benchmark's work dir) the app
 * imports from; `files` are extra sources to write there first (the grpc-web client).
 */
export const stacks = [
  {
    name: "ours (grpcweb-client)",
    gen: "ours",
    test: (names) =>
      app(
        `import { createClient, createGrpcWebTransport } from "grpcweb-client";
import { ${names.map((n) => `TestService_${n}`).join(", ")} } from "./ours/grpc/testing/test_grpcweb.js";
const client = createClient({ ${names.map((n) => `${camel(n)}: TestService_${n}`).join(", ")} }, createGrpcWebTransport({ baseUrl: location.origin, format: "binary" }));`,
        testCalls(names, {
          req: (_type, init, method) => `await client.${method}(${init})`,
          stream: (_type, init, method) =>
            `for await (const m of client.${method}(${init})) out.push(m.payload?.body.length);`,
        }),
      ),
    wide: (n, service) =>
      app(
        `import { createClient, createGrpcWebTransport } from "grpcweb-client";
import { ${wideNames(n)
          .map((m) => `${service}_${m}`)
          .join(", ")} } from "./ours/grpcweb/bench/${fileOf(service)}_grpcweb.js";
const client = createClient({ ${wideNames(n)
          .map((m) => `${camel(m)}: ${service}_${m}`)
          .join(", ")} }, createGrpcWebTransport({ baseUrl: location.origin, format: "binary" }));`,
        wideCalls(n, (m) => `(await client.${m}({ id: "a", count: 1 })).value`),
      ),
  },
  {
    name: "connect-web",
    gen: "es",
    test: (names) =>
      app(
        `import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { TestService } from "./es/grpc/testing/test_pb.js";
const client = createClient(TestService, createGrpcWebTransport({ baseUrl: location.origin }));`,
        testCalls(names, {
          req: (_type, init, method) => `await client.${method}(${init})`,
          stream: (_type, init, method) =>
            `for await (const m of client.${method}(${init})) out.push(m.payload?.body.length);`,
        }),
      ),
    wide: (n, service) =>
      app(
        `import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { ${service} } from "./es/grpcweb/bench/${fileOf(service)}_pb.js";
const client = createClient(${service}, createGrpcWebTransport({ baseUrl: location.origin }));`,
        wideCalls(n, (m) => `(await client.${m}({ id: "a", count: 1 })).value`),
      ),
  },
  ...["pbts", "pbts-small"].map((gen) => ({
    name: gen === "pbts" ? "protobuf-ts" : "protobuf-ts (optimize_code_size)",
    gen,
    test: (names) =>
      app(
        `import { GrpcWebFetchTransport } from "@protobuf-ts/grpcweb-transport";
import { TestServiceClient } from "./${gen}/grpc/testing/test.client.js";
import { SimpleRequest, StreamingOutputCallRequest } from "./${gen}/grpc/testing/messages.js";
import { Empty } from "./${gen}/grpc/testing/empty.js";
const client = new TestServiceClient(new GrpcWebFetchTransport({ baseUrl: location.origin }));`,
        testCalls(names, {
          req: (type, init, method) => `(await client.${method}(${type}.create(${init}))).response`,
          stream: (type, init, method) =>
            `for await (const m of client.${method}(${type}.create(${init})).responses) out.push(m.payload?.body.length);`,
        }),
      ),
    wide: (n, service) =>
      app(
        `import { GrpcWebFetchTransport } from "@protobuf-ts/grpcweb-transport";
import { ${service}Client } from "./${gen}/grpcweb/bench/${fileOf(service)}.client.js";
import { WideRequest } from "./${gen}/grpcweb/bench/wide.js";
const client = new ${service}Client(new GrpcWebFetchTransport({ baseUrl: location.origin }));`,
        wideCalls(n, (m) => `(await client.${m}(WideRequest.create({ id: "a", count: 1 }))).response.value`),
      ),
  })),
  {
    name: "grpc-web (official)",
    gen: "es",
    files: {
      "grpc-web/test_client.ts": grpcWebClientSource(
        "grpc.testing.TestService",
        [
          { name: "EmptyCall", kind: "unary", input: "EmptySchema", output: "EmptySchema" },
          { name: "UnaryCall", kind: "unary", input: "SimpleRequestSchema", output: "SimpleResponseSchema" },
          { name: "CacheableUnaryCall", kind: "unary", input: "SimpleRequestSchema", output: "SimpleResponseSchema" },
          {
            name: "StreamingOutputCall",
            kind: "server",
            input: "StreamingOutputCallRequestSchema",
            output: "StreamingOutputCallResponseSchema",
          },
          { name: "UnimplementedCall", kind: "unary", input: "EmptySchema", output: "EmptySchema" },
        ],
        {
          EmptySchema: "../es/grpc/testing/empty_pb.js",
          SimpleRequestSchema: "../es/grpc/testing/messages_pb.js",
          SimpleResponseSchema: "../es/grpc/testing/messages_pb.js",
          StreamingOutputCallRequestSchema: "../es/grpc/testing/messages_pb.js",
          StreamingOutputCallResponseSchema: "../es/grpc/testing/messages_pb.js",
        },
      ),
      ...Object.fromEntries(
        [
          ["WideService", 20],
          ["NarrowService", 1],
        ].map(([service, methods]) => [
          `grpc-web/${fileOf(service)}_client.ts`,
          grpcWebClientSource(
            `grpcweb.bench.${service}`,
            Array.from({ length: methods }, (_, i) => ({
              name: wideName(i + 1),
              kind: "unary",
              input: "WideRequestSchema",
              output: "WideResponseSchema",
            })),
            {
              WideRequestSchema: "../es/grpcweb/bench/wide_pb.js",
              WideResponseSchema: "../es/grpcweb/bench/wide_pb.js",
            },
          ),
        ]),
      ),
    },
    test: (names) =>
      app(
        `import { create } from "@bufbuild/protobuf";
import { TestServiceClient } from "./grpc-web/test_client.js";
import { EmptySchema } from "./es/grpc/testing/empty_pb.js";
import { SimpleRequestSchema, StreamingOutputCallRequestSchema } from "./es/grpc/testing/messages_pb.js";
const client = new TestServiceClient(location.origin);`,
        testCalls(names, {
          req: (type, init, method) => `await client.${method}(create(${type}Schema, ${init}))`,
          stream: (type, init, method) => `await new Promise((done, fail) => {
  const s = client.${method}(create(${type}Schema, ${init}));
  s.on("data", (m: any) => out.push(m.payload?.body.length));
  s.on("error", fail);
  s.on("end", done);
});`,
        }),
      ),
    wide: (n, service) =>
      app(
        `import { create } from "@bufbuild/protobuf";
import { ${service}Client } from "./grpc-web/${fileOf(service)}_client.js";
import { WideRequestSchema } from "./es/grpcweb/bench/wide_pb.js";
const client = new ${service}Client(location.origin);`,
        wideCalls(n, (m) => `(await client.${m}(create(WideRequestSchema, { id: "a", count: 1 }))).value`),
      ),
  },
];

/** The names of the first `n` methods of the wide services. */
function wideNames(n) {
  return Array.from({ length: n }, (_, i) => wideName(i + 1));
}

function wideCalls(n, call) {
  return Array.from({ length: n }, (_, i) => `out.push(${call(camel(wideName(i + 1)))});`).join("\n");
}
