// Base64 for proto3 JSON `bytes`: standard alphabet with padding when writing; standard
// or URL-safe, padded or not, when reading.

import { ProtobufError } from "./wire.js";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const decodeTable = /*@__PURE__*/ (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  t["-".charCodeAt(0)] = 62;
  t["_".charCodeAt(0)] = 63;
  return t;
})();

/** Encodes bytes as padded standard base64 (by `btoa`, over 32 KiB chunks of the bytes as Latin-1). */
export function base64Encode(bytes: Uint8Array): string {
  let latin1 = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    latin1 += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(latin1);
}

/** Decodes standard or URL-safe base64, with or without padding; throws on bad input. */
export function base64Decode(text: string): Uint8Array {
  let s = text;
  while (s.endsWith("=")) s = s.slice(0, -1);
  if (s.length % 4 === 1) throw new ProtobufError(`invalid base64: length ${text.length}`);
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (decodeTable[c] as number) : -1;
    if (v < 0) throw new ProtobufError(`invalid base64 character ${JSON.stringify(s[i])} at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
