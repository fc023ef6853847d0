// Base64 for `-bin` metadata (S9) and text-mode request bodies (R5): plain TypeScript, so
// it works before the wasm core has loaded.

import { Code } from "./code.js";
import { RpcError } from "./error.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64, padded or not. */
export function base64(bytes: Uint8Array, padded: boolean): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, bytes.length - i + 1);
    for (let c = 0; c < 4; c++) {
      out += c < chars ? ALPHABET[(n >> (18 - 6 * c)) & 63] : padded ? "=" : "";
    }
  }
  return out;
}

/** `-bin` metadata: bytes as unpadded standard base64 (S9). */
export function encodeBinaryHeader(value: Uint8Array): string {
  return base64(value, false);
}

/**
 * Decodes a `-bin` metadata value (padded or not; several comma-separated values are
 * concatenated). Throws an `RpcError` (INVALID_ARGUMENT) on invalid base64.
 */
export function decodeBinaryHeader(value: string): Uint8Array {
  const out: number[] = [];
  for (const part of value.split(",")) {
    const text = part.trim().replace(/={1,2}$/, "");
    let acc = 0;
    let bits = 0;
    for (const ch of text) {
      const v = ALPHABET.indexOf(ch);
      if (v < 0 || text.length % 4 === 1) {
        throw new RpcError(Code.INVALID_ARGUMENT, `invalid base64 in a -bin value: ${JSON.stringify(value)}`);
      }
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push((acc >> bits) & 0xff);
      }
    }
  }
  return new Uint8Array(out);
}
