// One response, decoded by the wasm core: TypeScript hands over the status, the headers
// and each body chunk, and reads back events (client-wasm/src/abi.rs).

import type { Core } from "./wasm.js";

/** Event kinds of `gw_next`. */
export const NONE = 0;
export const MESSAGE = 1;
export const TRAILER = 2;
export const END = 4;
export const ERROR = 5;

/**
 * The messages of protocol errors, by the index an ERROR event carries: the Rust decoder's
 * `ResponseError::MESSAGES` (protocol/src/response/error.rs), which a Rust test checks this
 * copy against, kept here so that the wasm core carries no text.
 */
export const ERRORS = [
  "response is not gRPC-Web: unexpected content-type",
  "invalid text body: invalid padding",
  "invalid text body: ends inside a group",
  "invalid text body: invalid base64",
  "response message larger than the configured limit",
  "response body ends inside a frame",
  "invalid gRPC-Web frame flag",
  "compressed frame received, but no compression was offered",
  "invalid trailer frame",
  "data after the trailer frame",
  "response has no grpc-status",
];

/** One event: its kind, two byte strings (copied out of wasm memory) and a number. */
export interface Event {
  kind: number;
  a: Uint8Array;
  b: Uint8Array;
  /**
   * END: the code, | 0x100 when the status came from the headers, | the HTTP status << 16
   * when the code comes from it (`a` is the message, `b` the serialized `google.rpc.Status`
   * of `grpc-status-details-bin`); ERROR: the code | the index of its message in ERRORS << 8.
   */
  n: number;
}

const utf8 = new TextDecoder();

/** UTF-8 bytes as text (invalid sequences become U+FFFD). */
export const text = (bytes: Uint8Array): string => utf8.decode(bytes);

/**
 * A header value's bytes as fetch gives response header values: one character per byte.
 * `Headers` holds no character above U+00FF, so a trailer value in UTF-8 (or not text at
 * all) cannot be taken as UTF-8 (docs/protocol.md S4).
 */
export const latin1 = (bytes: Uint8Array): string => {
  let out = "";
  for (let i = 0; i < bytes.length; i += 1e4) {
    out += String.fromCharCode(...bytes.subarray(i, i + 1e4));
  }
  return out;
};

/** A decoder in the wasm core; `free` it when the call is over. */
export class Decoder {
  readonly #core: Core;
  #call: number;

  constructor(core: Core, maxMessageBytes: number, status: number, headers: Headers) {
    this.#core = core;
    // The core takes a u32: a larger limit (or Infinity) is the largest it can hold.
    this.#call = core.gw_new(Math.min(Math.max(maxMessageBytes, 0), 0xffffffff) >>> 0);
    let block = "";
    headers.forEach((value, name) => (block += `${name}:${value}\n`));
    const bytes = new TextEncoder().encode(block);
    this.#give(bytes);
    core.gw_headers(this.#call, status, bytes.length);
  }

  #give(bytes: Uint8Array): void {
    const at = this.#core.gw_buf(this.#call, bytes.length);
    new Uint8Array(this.#core.memory.buffer, at, bytes.length).set(bytes);
  }

  /** A body chunk. */
  push(chunk: Uint8Array): void {
    this.#give(chunk);
    this.#core.gw_push(this.#call, chunk.length);
  }

  /** The body ended. */
  end(): void {
    this.#core.gw_end(this.#call);
  }

  /** The next event; kind NONE when more input is needed. */
  next(): Event {
    const kind = this.#core.gw_next(this.#call);
    const buffer = this.#core.memory.buffer;
    const [pa, la, pb, lb, n] = new Uint32Array(buffer, this.#core.gw_out(this.#call), 5);
    return {
      kind,
      a: new Uint8Array(buffer, pa, la).slice(),
      b: new Uint8Array(buffer, pb, lb).slice(),
      n: n!,
    };
  }

  /** Releases the wasm side (once). */
  free(): void {
    if (this.#call !== 0) {
      this.#core.gw_free(this.#call);
      this.#call = 0;
    }
  }
}
