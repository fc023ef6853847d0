// The testee of the protobuf conformance suite (`conformance_test_runner`): our generated
// code (protoc-gen-grpcweb-ts, into ./gen) over grpcweb-client's codec, nothing else.
// The runner writes ConformanceRequests to stdin, each after its length (4 bytes, little
// endian); we answer each with a ConformanceResponse framed the same way on stdout.

import { readSync, writeSync } from "node:fs";
import { ProtobufError, createRegistry, fromJson, toJson } from "grpcweb-client";
import type { JsonValue, MessageType } from "grpcweb-client";
import { ConformanceRequest, ConformanceResponse, FailureSet, TestCategory, WireFormat } from "./gen/conformance_pb.js";
import { TestAllTypesProto2, extensionInt32 } from "./gen/google/protobuf/test_messages_proto2_pb.js";
import { TestAllTypesProto3 } from "./gen/google/protobuf/test_messages_proto3_pb.js";
import { Any } from "./gen/google/protobuf/any_pb.js";
import { Duration } from "./gen/google/protobuf/duration_pb.js";
import { FieldMask } from "./gen/google/protobuf/field_mask_pb.js";
import { ListValue, Struct, Value } from "./gen/google/protobuf/struct_pb.js";
import { Timestamp } from "./gen/google/protobuf/timestamp_pb.js";
import * as wrappers from "./gen/google/protobuf/wrappers_pb.js";

const types = new Map<string, MessageType<any>>(
  [TestAllTypesProto3, TestAllTypesProto2].map((t) => [t.typeName, t as MessageType<any>]),
);

/** Every type an `Any` in the suite's JSON holds, and the extension its JSON names. */
const registry = createRegistry(
  extensionInt32,
  TestAllTypesProto3,
  TestAllTypesProto2,
  Any,
  Duration,
  FieldMask,
  ListValue,
  Struct,
  Value,
  Timestamp,
  wrappers.BoolValue,
  wrappers.BytesValue,
  wrappers.DoubleValue,
  wrappers.FloatValue,
  wrappers.Int32Value,
  wrappers.Int64Value,
  wrappers.StringValue,
  wrappers.UInt32Value,
  wrappers.UInt64Value,
);

type Result = ConformanceResponse["result"];

/** Answers one request; the runner judges the answer. */
export function answer(req: ConformanceRequest): Result {
  // The first request asks which tests we expect to fail: none (the list is the runner's
  // --failure_list).
  if (req.messageType === "conformance.FailureSet") {
    return { case: "protobufPayload", value: FailureSet.toBinary(FailureSet.create()) };
  }
  const type = types.get(req.messageType);
  if (type === undefined) return { case: "runtimeError", value: `unknown message type ${req.messageType}` };
  if (req.requestedOutputFormat === WireFormat.TEXT_FORMAT || req.payload.case === "textPayload") {
    return { case: "skipped", value: "the text format is not supported" };
  }
  if (req.requestedOutputFormat === WireFormat.JSPB || req.payload.case === "jspbPayload") {
    return { case: "skipped", value: "JSPB is Google-internal" };
  }
  let message: unknown;
  try {
    switch (req.payload.case) {
      case "protobufPayload":
        message = type.fromBinary(req.payload.value);
        break;
      case "jsonPayload":
        message = fromJson(type, JSON.parse(req.payload.value) as JsonValue, {
          registry,
          ignoreUnknownFields: req.testCategory === TestCategory.JSON_IGNORE_UNKNOWN_PARSING_TEST,
        });
        break;
      default:
        return { case: "runtimeError", value: "the request has no payload" };
    }
  } catch (e) {
    return failure(e, "parseError");
  }
  try {
    switch (req.requestedOutputFormat) {
      case WireFormat.PROTOBUF:
        return { case: "protobufPayload", value: type.toBinary(message) };
      case WireFormat.JSON:
        return { case: "jsonPayload", value: JSON.stringify(toJson(type, message, { registry })) };
      default:
        return { case: "runtimeError", value: `unsupported output format ${req.requestedOutputFormat}` };
    }
  } catch (e) {
    return failure(e, "serializeError");
  }
}

/** A codec error (or malformed JSON text) is the answer asked for; anything else is a bug. */
function failure(e: unknown, kind: "parseError" | "serializeError"): Result {
  const ours = e instanceof ProtobufError || (kind === "parseError" && e instanceof SyntaxError);
  return { case: ours ? kind : "runtimeError", value: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/** Reads exactly `n` bytes from stdin; `undefined` at a clean end of input. */
function readExactly(n: number): Uint8Array | undefined {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    let read: number;
    try {
      read = readSync(0, buf, got, n - got, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      throw e;
    }
    if (read === 0) {
      if (got === 0) return undefined;
      throw new Error(`stdin ended inside a frame (${got} of ${n} bytes)`);
    }
    got += read;
  }
  return buf;
}

function writeAll(bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(1, bytes, done);
}

function serve(): void {
  let count = 0;
  for (;;) {
    const head = readExactly(4);
    if (head === undefined) break;
    const len = new DataView(head.buffer).getUint32(0, true);
    const body = readExactly(len) ?? new Uint8Array(0);
    const res = ConformanceResponse.toBinary(
      ConformanceResponse.create({ result: answer(ConformanceRequest.fromBinary(body)) }),
    );
    const out = new Uint8Array(4 + res.length);
    new DataView(out.buffer).setUint32(0, res.length, true);
    out.set(res, 4);
    writeAll(out);
    count++;
  }
  process.stderr.write(`testee: ${count} requests answered\n`);
}

serve();
