// The details of a failed call (docs/protocol.md K6): the wasm core hands out
// `grpc-status-details-bin` decoded from base64, a serialized `google.rpc.Status`; its
// `details` (`google.protobuf.Any` messages) are read here with the codec's Reader.

import { Reader } from "./codec/reader.js";
import type { WireType } from "./codec/wire.js";
import { text } from "./decoder.js";
import type { ErrorDetail } from "./error.js";

/** The `details` of a serialized `google.rpc.Status`; none when the message is malformed. */
export function statusDetails(status: Uint8Array): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  try {
    fields(status, (key, any) => {
      if (key === 0x1a) {
        // `type_url` (1) and `value` (2), the last of each counting.
        let typeUrl: Uint8Array = new Uint8Array(0);
        let value = typeUrl;
        fields(any, (k, v) => (k === 0x0a ? (typeUrl = v) : k === 0x12 ? (value = v) : 0));
        details.push({ typeUrl: text(typeUrl), value: value.slice() });
      }
    });
  } catch {
    return [];
  }
  return details;
}

/**
 * Calls `visit` with the key and the bytes of each length-delimited field of a message,
 * skipping the others; throws on malformed input, groups and field number 0 included.
 */
function fields(bytes: Uint8Array, visit: (key: number, value: Uint8Array) => unknown): void {
  const r = new Reader(bytes);
  while (r.pos < r.end) {
    const key = r.uint32();
    // A key past 32 bits has a field number none of ours has.
    const ours = r.hi === 0;
    const wireType = key & 7;
    if ((ours && key < 8) || wireType === 3 || wireType > 5) {
      throw r;
    }
    if (wireType === 2) {
      visit(ours ? key : 0, r.bytes());
    } else {
      r.skip(wireType as WireType, 0);
    }
  }
}
