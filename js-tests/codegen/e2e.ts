// The generated TestServiceClient over a real transport (the grpcweb-client package's
// createGrpcWebTransport, passed in by test/codegen.test.ts) against grpcweb-proxy and
// interop-server: the interop cases that gRPC-Web can run.

import assert from "node:assert/strict";
import type { Transport } from "grpcweb-client";
import { TestServiceClient } from "./out/ours/grpc/testing/test_grpcweb.js";

/** Runs the cases; `label` names the transport format in failure messages. */
export async function runInteropCases(transport: Transport, label: string): Promise<void> {
  const client = new TestServiceClient(transport);

  // empty_unary
  const empty = await client.emptyCall({});
  assert.equal(empty.$unknown, undefined, label);

  // large_unary
  const large = await client.unaryCall({ responseSize: 314159, payload: { body: new Uint8Array(271828) } });
  assert.equal(large.payload?.body.length, 314159, label);

  // server_streaming
  const sizes = [31415, 9, 2653, 58979];
  const got: number[] = [];
  for await (const m of client.streamingOutputCall({ responseParameters: sizes.map((size) => ({ size })) })) {
    got.push(m.payload?.body.length ?? -1);
  }
  assert.deepEqual(got, sizes, label);

  // custom_metadata: header and trailer callbacks through CallOptions
  let header = "";
  let trailer = "";
  await client.unaryCall(
    { responseSize: 1 },
    {
      metadata: {
        "x-grpc-test-echo-initial": "initial-value",
        "x-grpc-test-echo-trailing-bin": new Uint8Array([0xab, 0xab, 0xab]),
      },
      onHeader: (h) => (header = h.get("x-grpc-test-echo-initial") ?? ""),
      onTrailer: (t) => (trailer = t.get("x-grpc-test-echo-trailing-bin") ?? ""),
    },
  );
  assert.equal(header, "initial-value", label);
  assert.equal(trailer.replace(/=+$/, ""), "q6ur", label);

  // status_code_and_message
  await assert.rejects(
    client.unaryCall({ responseStatus: { code: 2, message: "test status message" } }),
    (e: unknown) => (e as { code?: number }).code === 2 && String((e as Error).message).includes("test status message"),
    label,
  );

  // unimplemented_method
  await assert.rejects(client.unimplementedCall({}), (e: unknown) => (e as { code?: number }).code === 12, label);

  // Client streaming through a proxy that does not allow request streams: its UNIMPLEMENTED
  // (test/stream.test.ts runs client streaming and bidi through one that does).
  async function* two(): AsyncIterable<{ payload: { body: Uint8Array } }> {
    yield { payload: { body: new Uint8Array(1) } };
    yield { payload: { body: new Uint8Array(2) } };
  }
  await assert.rejects(
    client.streamingInputCall(two()),
    (e: unknown) => (e as { code?: number }).code === 12 && /exactly one request message/.test(String(e)),
    label,
  );
}
