// Loads the wasm core once: `WebAssembly.instantiate`, no imports. By default the module
// comes from ./wasm/inline.js (gzip then base64, written by the build, inflated here with
// the standard DecompressionStream), so the package works unbundled in Node and browsers
// and in any bundler without asset configuration. Apps that would rather serve the .wasm
// file pass it to `loadWasm` before the first call; the inlined copy is then never
// imported (bundlers that split chunks leave it out).

/** The core's exports (client-wasm/src/abi.rs). */
export interface Core {
  readonly memory: WebAssembly.Memory;
  gw_new(maxMessageBytes: number): number;
  gw_free(call: number): void;
  gw_buf(call: number, len: number): number;
  gw_headers(call: number, status: number, len: number): void;
  gw_push(call: number, len: number): void;
  gw_end(call: number): void;
  gw_next(call: number): number;
  gw_out(call: number): number;
}

/** Where the wasm module comes from: a URL to fetch, a fetch Response, bytes, or a compiled module. */
export type WasmSource = URL | string | Response | BufferSource | WebAssembly.Module;

let ready: Promise<Core> | undefined;

/**
 * Instantiates the wasm core (once; later calls return the same promise, unless the load
 * failed: then the next call or `loadWasm` tries again). Calls start this themselves with
 * the inlined module, in parallel with their first fetch; call it first to use `source`
 * (e.g. `new URL("grpcweb-client/grpcweb_client_bg.wasm", import.meta.url)` in a bundler).
 */
export function loadWasm(source?: WasmSource): Promise<void> {
  return core(source).then(() => undefined);
}

/** The core, loading it on first use. */
export function core(source?: WasmSource): Promise<Core> {
  if (ready !== undefined) {
    return ready;
  }
  const loading = (async () => {
    let module = source ?? (await inflate((await import("./wasm/inline.js")).wasmGzipBase64));
    if (typeof module === "string" || module instanceof URL) {
      module = await fetch(module);
    }
    if (module instanceof Response) {
      if (!module.ok) {
        throw new Error(`wasm: HTTP ${module.status}`);
      }
      module = await module.arrayBuffer();
    }
    let instance: WebAssembly.Instance;
    try {
      // Synchronous where allowed (Node, workers): the module is small, and an async
      // compile can wait behind other work, e.g. Node's first fetch.
      instance = new WebAssembly.Instance(
        module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module),
      );
    } catch {
      // Browsers' main threads refuse to compile more than 4 KB synchronously.
      instance =
        module instanceof WebAssembly.Module
          ? await WebAssembly.instantiate(module)
          : (await WebAssembly.instantiate(module)).instance;
    }
    return instance.exports as unknown as Core;
  })();
  // A failed load is not kept: the next call, or `loadWasm`, tries again.
  loading.catch(() => {
    if (ready === loading) ready = undefined;
  });
  return (ready = loading);
}

/** Base64, then gunzip (DecompressionStream: Node 18+, every current browser). */
function inflate(text: string): Promise<ArrayBuffer> {
  const gz = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
}
