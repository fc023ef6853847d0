// The runtime's JSON format (`createGrpcWebTransport(withJsonFormat(options))`): the
// generated TestServiceClient sends `application/grpc-web+json` (and, with format "text",
// `application/grpc-web-text+json`) through grpcweb-proxy, which transcodes with the
// descriptor set built here by buf, to tonic (interop-server, protobuf only). The same
// calls in binary, text and JSON give equal results (unary, server streaming, client
// streaming, bidi), the request bodies are JSON as the network panel would show them,
// and statuses reach the caller the same way in every format.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  Code,
  RpcError,
  createGrpcWebTransport,
  withJsonFormat,
  type FetchLike,
  type GrpcWebTransportOptions,
  type MethodDescriptor,
} from "grpcweb-client";

import { startTranscoding, type Transcoding } from "./support/transcoding.js";
import { TestServiceClient } from "../gen/ours/grpc/testing/test_grpcweb.js";
import { SimpleRequest, SimpleResponse } from "../gen/ours/grpc/testing/messages_pb.js";

const TEST_TIMEOUT_MS = 30_000;

type Options = (options: GrpcWebTransportOptions) => GrpcWebTransportOptions;
const FORMATS: ReadonlyArray<readonly [string, Options]> = [
  ["binary", (o) => ({ ...o, format: "binary" })],
  ["text", (o) => ({ ...o, format: "text" })],
  ["json", (o) => withJsonFormat(o)],
  ["json in text frames", (o) => withJsonFormat({ ...o, format: "text" })],
];
const JSON_FORMAT = FORMATS[2]![1];

/** A request as it went out: its content type and the body's bytes (one-message bodies). */
interface Sent {
  contentType: string | null;
  body: Uint8Array | undefined;
}

describe("withJsonFormat: our runtime -> grpcweb-proxy (descriptors) -> tonic", () => {
  let servers: Transcoding | undefined;
  before(async () => {
    servers = await startTranscoding({
      backend: "interop-server",
      proto: "grpc/testing/test.proto",
      proxyArgs: ["--allow-request-streaming"],
    });
  });
  after(async () => {
    await servers?.stop();
  });

  const client = (format: Options, sent: Sent[] = []): TestServiceClient => {
    const fetch: FetchLike = (input, init) => {
      const body = init.body instanceof Uint8Array ? init.body : undefined;
      sent.push({ contentType: new Headers(init.headers).get("content-type"), body });
      return globalThis.fetch(input, init);
    };
    return new TestServiceClient(createGrpcWebTransport(format({ baseUrl: `http://${servers!.proxy.addr}`, fetch })));
  };

  /** What each format's call gives: its result or its error's code and message. */
  const inEveryFormat = async (call: (c: TestServiceClient) => Promise<unknown>): Promise<unknown[]> => {
    const out: unknown[] = [];
    for (const [name, format] of FORMATS) {
      try {
        out.push({ ok: await call(client(format)) });
      } catch (e) {
        assert.ok(e instanceof RpcError, `${name}: ${String(e)}`);
        out.push({ code: e.code, message: e.rawMessage });
      }
    }
    return out;
  };

  const assertAllEqual = (results: unknown[]): void => {
    for (const [i, [name]] of FORMATS.entries()) {
      assert.deepEqual(results[i], results[0], `${name} differs from binary`);
    }
  };

  it(
    "sends the request as JSON in a gRPC-Web frame, application/grpc-web+json",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const sent: Sent[] = [];
      const res = await client(JSON_FORMAT, sent).unaryCall({
        responseSize: 3,
        payload: { body: new Uint8Array([1, 2, 250]) },
        responseStatus: { code: 0, message: "" },
      });
      assert.deepEqual(res.payload?.body, new Uint8Array(3));
      assert.equal(sent[0]?.contentType, "application/grpc-web+json");
      const body = sent[0]!.body!;
      assert.equal(body[0], 0, "flag: uncompressed data");
      assert.equal(new DataView(body.buffer, body.byteOffset).getUint32(1), body.length - 5);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(body.subarray(5))), {
        responseSize: 3,
        payload: { body: "AQL6" },
        responseStatus: {},
      });
      const sentText: Sent[] = [];
      await client(FORMATS[3]![1], sentText).unaryCall({ responseSize: 1 });
      assert.equal(sentText[0]?.contentType, "application/grpc-web-text+json");
    },
  );

  it("unary calls give equal results in binary, text and JSON", { timeout: TEST_TIMEOUT_MS }, async () => {
    const results = await inEveryFormat((c) =>
      c.unaryCall({ responseSize: 1000, payload: { body: new Uint8Array(500).fill(7) }, fillUsername: true }),
    );
    assertAllEqual(results);
    const first = results[0] as { ok: SimpleResponse };
    assert.equal(first.ok.payload?.body.length, 1000);
    assert.deepEqual(await client(JSON_FORMAT).emptyCall({}), await client(FORMATS[0]![1]).emptyCall({}));
  });

  it("server streams give equal results in every format", { timeout: TEST_TIMEOUT_MS }, async () => {
    const results = await inEveryFormat(async (c) => {
      const out = [];
      for await (const m of c.streamingOutputCall({
        responseParameters: [{ size: 1 }, { size: 0 }, { size: 70_000 }],
      })) {
        out.push(m);
      }
      return out;
    });
    assertAllEqual(results);
    assert.equal((results[2] as { ok: unknown[] }).ok.length, 3);
  });

  it("client streams and bidi streams give equal results in every format", { timeout: TEST_TIMEOUT_MS }, async () => {
    async function* inputs() {
      for (const n of [3, 0, 40_000]) yield { payload: { body: new Uint8Array(n) } };
    }
    const aggregated = await inEveryFormat((c) => c.streamingInputCall(inputs()));
    assertAllEqual(aggregated);
    assert.deepEqual(aggregated[2], { ok: { aggregatedPayloadSize: 40_003 } });
    async function* requests() {
      for (const size of [5, 0, 9]) yield { responseParameters: [{ size }] };
    }
    const bidi = await inEveryFormat(async (c) => {
      const out = [];
      for await (const m of c.fullDuplexCall(requests())) out.push(m.payload?.body.length);
      return out;
    });
    assertAllEqual(bidi);
    assert.deepEqual(bidi[2], { ok: [5, 0, 9] });
  });

  it("statuses reach the caller the same way in every format", { timeout: TEST_TIMEOUT_MS }, async () => {
    const fromServer = await inEveryFormat((c) =>
      c.unaryCall({ responseStatus: { code: Code.NOT_FOUND, message: "no such thing \u00e9" } }),
    );
    assertAllEqual(fromServer);
    assert.deepEqual(fromServer[2], { code: Code.NOT_FOUND, message: "no such thing \u00e9" });
    const midStream = await inEveryFormat(async (c) => {
      const out = [];
      for await (const m of c.streamingOutputCall({
        responseParameters: [{ size: 2 }],
        responseStatus: { code: Code.ABORTED, message: "stopped" },
      })) {
        out.push(m);
      }
      return out;
    });
    assertAllEqual(midStream);
    assert.equal((midStream[2] as { code: Code }).code, Code.ABORTED);
    const unimplemented = await inEveryFormat((c) => c.unimplementedCall({}));
    assert.deepEqual(
      unimplemented.map((r) => (r as { code: Code }).code),
      FORMATS.map(() => Code.UNIMPLEMENTED),
    );
  });

  it("refuses, before sending, a method descriptor without message types", { timeout: TEST_TIMEOUT_MS }, async () => {
    const sent: Sent[] = [];
    const handWritten: MethodDescriptor<SimpleRequest, SimpleResponse> = {
      service: "grpc.testing.TestService",
      name: "UnaryCall",
      path: "/grpc.testing.TestService/UnaryCall",
      kind: "unary",
      encode: (m) => SimpleRequest.toBinary(m),
      decode: (b) => SimpleResponse.fromBinary(b),
    };
    const transport = createGrpcWebTransport(
      withJsonFormat({
        baseUrl: `http://${servers!.proxy.addr}`,
        fetch: (input, init) => {
          sent.push({ contentType: null, body: undefined });
          return globalThis.fetch(input, init);
        },
      }),
    );
    await assert.rejects(transport.unary(handWritten, SimpleRequest.create()), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.code, Code.INTERNAL);
      assert.match(e.rawMessage, /message types/);
      return true;
    });
    assert.equal(sent.length, 0);
  });
});
