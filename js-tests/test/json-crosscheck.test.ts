// The proxy's proto3 JSON (prost-reflect's) cross-checked against @bufbuild/protobuf's
// toJson/fromJson, for the transcoding test messages (protos/transcoding/v1/echo.proto:
// every well-known type, 64-bit integers, bytes, oneofs, maps, enums, optional fields).
// grpcweb-proxy runs with the descriptor set built here by buf, in front of
// transcoding-server (tonic, protobuf only), whose methods answer with the request they
// got. For each message:
//
// - @bufbuild/protobuf reads the JSON and writes it back: that canonical form is what
//   the proxy must write too;
// - a gRPC-Web+json call: the request echoed in the proxy's JSON answer equals the
//   canonical form, and so does the whole answer, read and written back by
//   @bufbuild/protobuf;
// - a gRPC-Web binary call with @bufbuild/protobuf's encoding of the same message: its
//   binary answer, written as JSON by @bufbuild/protobuf, equals the proxy's JSON answer;
// - a REST call (PUT /v1/shelves/{id}, body "*"): the echoed request equals it too.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";

import {
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescMessage,
  type FileRegistry,
  type JsonObject,
  type JsonValue,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

import { startTranscoding, type Transcoding } from "./support/transcoding.js";

const TEST_TIMEOUT_MS = 30_000;
const PKG = "grpcweb.transcoding.v1";
const PLAIN = `/${PKG}.EchoService/Plain`;

/** EchoRequest messages in JSON, each covering some of the mapping. */
const CASES: ReadonlyArray<readonly [string, JsonObject]> = [
  [
    "scalars, int64 as strings, bytes as base64, enums by name, repeated, a map, a oneof",
    {
      name: "n",
      id: "9007199254740993",
      label: "l \u00e9 \ud83d\ude00",
      numbers: [1, -2, 2147483647],
      kinds: ["KIND_MAGAZINE", "KIND_BOOK"],
      kind: "KIND_BOOK",
      flag: true,
      data: "AAEC/w==",
      ratio: 1.5,
      labels: { a: "1", b: "" },
      text: "t",
    },
  ],
  ["a oneof member at its default value", { number: 0 }],
  ["special doubles", { ratio: "NaN", scalars: { f: "-Infinity", d: "Infinity" } }],
  [
    "nested messages",
    {
      nested: { name: "x", count: 3, tags: ["a", "b"], kind: "KIND_MAGAZINE" },
      shelf: { name: "s", theme: "t", books: "-5" },
    },
  ],
  [
    "every integer kind, maps with int64 and bool keys, optional and repeated bytes",
    {
      scalars: {
        u64: "18446744073709551615",
        s64: "-9223372036854775808",
        f64: "1",
        sf32: -7,
        u32: 4294967295,
        f: 0.25,
        d: -1e-300,
        i64s: ["0", "-1", "9007199254740993"],
        shelves: { "-3": { name: "neg" }, "12": {} },
        kinds: { true: "KIND_BOOK", false: "KIND_UNSPECIFIED" },
        maybe: 0,
        blobs: ["", "/w=="],
      },
    },
  ],
  [
    "Timestamp, Duration, wrappers",
    {
      at: "2020-01-01T00:00:00.123Z",
      limit: 0,
      wkt: {
        timestamp: "1970-01-01T00:00:00Z",
        duration: "-1.500s",
        string: "",
        int64: "-1",
        uint64: "18446744073709551615",
        uint32: 7,
        bool: false,
        double: 2.5,
        float: 1,
        bytes: "AQI=",
        durations: { a: "0s", b: "3600s" },
      },
    },
  ],
  [
    "Struct, Value, ListValue, Empty, FieldMask",
    {
      wkt: {
        struct: { a: 1, b: [true, null, "x"], c: { d: "e" } },
        value: { nested: [1, 2.5, "three"] },
        list: [1, "two", { three: 3 }, [], null],
        values: ["s", 0, false, null, {}],
        empty: {},
        mask: "a.b,cD,e",
      },
    },
  ],
  ["a Value that is null", { wkt: { value: null } }],
  [
    "Any holding a message and holding well-known types",
    {
      wkt: {
        any: { "@type": `type.googleapis.com/${PKG}.Shelf`, name: "s", books: "2" },
        struct: {},
      },
    },
  ],
  [
    "Any holding a Duration",
    { wkt: { any: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "2s" } } },
  ],
  [
    "Any holding a Struct",
    { wkt: { any: { "@type": "type.googleapis.com/google.protobuf.Struct", value: { k: [1] } } } },
  ],
];

/** The answer's `metadata` (the request headers the backend saw) differs from call to call. */
const withoutMetadata = (json: JsonValue): JsonValue => {
  const { metadata: _, ...rest } = json as JsonObject;
  return rest;
};

/** One gRPC-Web frame around `payload`. */
const frame = (payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
};

/** The first message of a gRPC-Web response body; fails on a non-OK status. */
const firstMessage = (body: Uint8Array, headers: Headers): Uint8Array => {
  assert.equal(headers.get("grpc-status"), null, `trailers-only answer: ${headers.get("grpc-message")}`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  assert.ok(body.length >= 5 && body[0] === 0, "a data frame first");
  const len = view.getUint32(1);
  const trailer = new TextDecoder().decode(body.subarray(5 + len + 5));
  assert.match(trailer, /grpc-status: ?0/, trailer);
  return body.subarray(5, 5 + len);
};

describe("proto3 JSON: grpcweb-proxy (prost-reflect) against @bufbuild/protobuf", () => {
  let servers: Transcoding | undefined;
  let registry: FileRegistry;
  let EchoRequest: DescMessage;
  let EchoResponse: DescMessage;
  before(async () => {
    servers = await startTranscoding({ backend: "transcoding-server", proto: "transcoding/v1/echo.proto" });
    registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(servers.set)));
    EchoRequest = registry.getMessage(`${PKG}.EchoRequest`)!;
    EchoResponse = registry.getMessage(`${PKG}.EchoResponse`)!;
    assert.ok(EchoRequest !== undefined && EchoResponse !== undefined);
  });
  after(async () => {
    await servers?.stop();
  });

  const canonical = (desc: DescMessage, json: JsonValue): JsonValue =>
    toJson(desc, fromJson(desc, json, { registry }), { registry });

  const post = async (path: string, contentType: string, body: Uint8Array) => {
    const res = await fetch(`http://${servers!.proxy.addr}${path}`, {
      method: "POST",
      headers: { "content-type": contentType, "x-grpc-web": "1" },
      body: frame(body),
    });
    assert.equal(res.status, 200);
    return firstMessage(new Uint8Array(await res.arrayBuffer()), res.headers);
  };

  for (const [name, input] of CASES) {
    it(name, { timeout: TEST_TIMEOUT_MS }, async () => {
      const expected = canonical(EchoRequest, input);

      // gRPC-Web with JSON messages.
      const jsonBytes = await post(PLAIN, "application/grpc-web+json", new TextEncoder().encode(JSON.stringify(input)));
      const proxyJson = JSON.parse(new TextDecoder().decode(jsonBytes)) as JsonObject;
      assert.deepEqual(proxyJson["request"], expected, "the echoed request, as the proxy writes it");
      assert.deepEqual(canonical(EchoResponse, proxyJson), proxyJson, "the proxy's answer is in canonical form");

      // gRPC-Web binary, encoded by @bufbuild/protobuf.
      const binary = await post(
        PLAIN,
        "application/grpc-web+proto",
        toBinary(EchoRequest, fromJson(EchoRequest, input, { registry })),
      );
      const fromBinaryJson = toJson(EchoResponse, fromBinary(EchoResponse, binary), { registry });
      assert.deepEqual(withoutMetadata(fromBinaryJson), withoutMetadata(proxyJson), "binary and JSON answers");

      // REST: PUT /v1/shelves/{id} with body "*" (the id from the path).
      const { id: _, ...body } = input;
      const res = await fetch(`http://${servers!.proxy.addr}/v1/shelves/42`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const rest = (await res.json()) as JsonObject;
      assert.equal(res.status, 200, JSON.stringify(rest));
      assert.deepEqual(rest["request"], { ...(expected as JsonObject), id: "42" }, "the request echoed over REST");
    });
  }
});
