// Base64 for `-bin` metadata (S9), over the codec's base64: plain TypeScript, so it works
// before the wasm core has loaded.

import { base64Decode, base64Encode } from "./codec/base64.js";
import { RpcError } from "./error.js";

/** `-bin` metadata: bytes as unpadded standard base64 (S9). */
export function encodeBinaryHeader(value: Uint8Array): string {
  return base64Encode(value).replace(/=+$/, "");
}

/**
 * Decodes a `-bin` metadata value (padded or not; several comma-separated values are
 * concatenated). Throws an `RpcError` (INVALID_ARGUMENT) on invalid base64; the URL-safe
 * alphabet, which the codec's decoder also reads, is not valid here.
 */
export function decodeBinaryHeader(value: string): Uint8Array {
  const invalid = () =>
    new RpcError(3 /* INVALID_ARGUMENT */, `invalid base64 in a -bin value: ${JSON.stringify(value)}`);
  const parts: Uint8Array[] = [];
  for (const part of value.split(",")) {
    const text = part.trim().replace(/={1,2}$/, "");
    if (/[-_=]/.test(text)) {
      throw invalid();
    }
    try {
      parts.push(base64Decode(text));
    } catch {
      throw invalid();
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
