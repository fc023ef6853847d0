// Loads the wasm core once. By default the module comes from ./wasm/inline.js (gzip then
// base64, written by the build; inflated here with the standard DecompressionStream), so the package works unbundled in Node and browsers and in any
// bundler without asset configuration. Apps that would rather serve the .wasm file
// (a third smaller over the wire) pass it to `loadWasm` before the first call; the
// inlined copy is then never imported (bundlers that split chunks leave it out).

import { Code } from "./code.js";
import { RpcError } from "./error.js";
import init, { Transport, encodeBinaryHeader, decodeBinaryHeader as decodeBin } from "./wasm/grpcweb_client.js";

export { Transport as WasmTransport, encodeBinaryHeader };

/**
 * Decodes a `-bin` metadata value (padded or not; several comma-separated values are
 * concatenated). Throws an `RpcError` (INVALID_ARGUMENT) on invalid base64. Needs the
 * wasm core: works once a call has started or `loadWasm()` has resolved.
 */
export function decodeBinaryHeader(value: string): Uint8Array {
  try {
    return decodeBin(value);
  } catch (e) {
    throw RpcError.from(e, Code.INVALID_ARGUMENT);
  }
}
export type { Call as WasmCall } from "./wasm/grpcweb_client.js";

/** Where the wasm module comes from: a URL to fetch, a fetch Response, bytes, or a compiled module. */
export type WasmSource = URL | string | Response | BufferSource | WebAssembly.Module;

let ready: Promise<void> | undefined;

/**
 * Instantiates the wasm core (once; later calls return the same promise). Calls do this
 * themselves with the inlined module; call it first to start early or to use `source`
 * (e.g. `new URL("grpcweb-client/grpcweb_client_bg.wasm", import.meta.url)` in a bundler).
 */
export function loadWasm(source?: WasmSource): Promise<void> {
  ready ??= (async () => {
    const module = source ?? (await inflate(decodeBase64((await import("./wasm/inline.js")).wasmGzipBase64)));
    await init({ module_or_path: module });
  })();
  return ready;
}

/** Gunzips the inlined module (DecompressionStream: Node 18+, every current browser). */
function inflate(gz: Uint8Array): Promise<ArrayBuffer> {
  const stream = new Blob([gz as BufferSource]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

function decodeBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    out[i] = raw.charCodeAt(i);
  }
  return out;
}
