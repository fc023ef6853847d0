// What every matrix client sends, as plain field values, and the reading of `-bin`
// metadata values. Browser-safe.

import { fromBase64, type StreamArgs, type UnaryArgs } from "../cases.js";

export type Format = "binary" | "text";

/** The request messages every client sends, as plain field values. */
export function simpleRequest(a: UnaryArgs) {
  return {
    responseSize: a.responseSize,
    payload: { body: new Uint8Array(a.requestSize ?? 0) },
    ...(a.status !== undefined ? { responseStatus: { code: a.status.code, message: a.status.message } } : {}),
  };
}

export function streamingRequest(a: StreamArgs) {
  return {
    responseParameters: a.sizes.map((size) => ({ size, intervalUs: a.intervalUs ?? 0 })),
    payload: { body: new Uint8Array(a.requestSize ?? 0) },
    ...(a.status !== undefined ? { responseStatus: { code: a.status.code, message: a.status.message } } : {}),
  };
}

/** The text value of a -bin header or trailer, decoded (absent: undefined). */
export const binValue = (value: string | null | undefined): Uint8Array | undefined =>
  value === null || value === undefined ? undefined : fromBase64(value.split(",")[0]!.trim());
