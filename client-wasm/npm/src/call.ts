// One call in flight: the fetch (with a framed request, or a request stream), its deadline
// and abort wiring, and the wasm decoder of the response.

import { base64Encode } from "./codec/base64.js";
import type { Code } from "./code.js";
import { statusDetails } from "./details.js";
import { RpcError } from "./error.js";
import type { CallRequest } from "./interceptor.js";
import type { FetchLike, GrpcWebTransportOptions } from "./options.js";
import { Decoder, END, ERROR, ERRORS, MESSAGE, NONE, TRAILER, latin1, text } from "./decoder.js";
import type { CallOptions } from "./transport.js";
import { core } from "./wasm.js";

/**
 * A call with one request message; ./request-stream.ts extends it for request streams
 * (its `payload` and `close`).
 */
export class Call {
  header = new Headers();
  readonly trailer = new Headers();
  protected readonly controller = new AbortController();
  /** Why the call was cut short locally, set before the fetch is aborted (absent until then). */
  declare protected reason: RpcError | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Ends the wait for the fetch when the call is cut short. */
  #wake: ((value: undefined) => void) | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #decoder: Decoder | undefined;
  /** The status is in (or a protocol error was found): nothing to abort any more. */
  protected done = false;
  /** The body was read to its end. */
  #bodyDone = false;
  readonly #callOptions: CallOptions | undefined;
  readonly #onAbort = (): void => this.#stop(new RpcError(1 /* CANCELLED */, "call cancelled locally (AbortSignal)"));

  declare protected readonly options: GrpcWebTransportOptions;
  declare protected readonly req: CallRequest;

  constructor(options: GrpcWebTransportOptions, req: CallRequest, callOptions: CallOptions | undefined) {
    this.options = options;
    this.req = req;
    this.#callOptions = callOptions;
  }

  /** Sends the request; resolves once the response headers are in. */
  async open(): Promise<void> {
    const { req, options } = this;
    const textMode = options.format === "text";
    const headers = new Headers(req.header);
    const contentType = textMode ? "application/grpc-web-text" : "application/grpc-web+proto";
    headers.set("content-type", contentType);
    if (textMode) {
      headers.set("accept", contentType);
    }
    headers.set("x-grpc-web", "1");
    headers.delete("grpc-timeout");
    const ms = req.timeoutMs;
    if (ms !== undefined && Number.isFinite(ms)) {
      headers.set("grpc-timeout", grpcTimeout(ms));
      this.#timer = setTimeout(
        () => this.#stop(new RpcError(4 /* DEADLINE_EXCEEDED */, `deadline exceeded locally after ${ms} ms`)),
        Math.min(Math.max(ms, 0), 2 ** 31 - 1),
      );
    }
    if (req.signal?.aborted) {
      throw new RpcError(1 /* CANCELLED */, "call cancelled locally (AbortSignal) before it was sent");
    }
    req.signal?.addEventListener("abort", this.#onAbort);
    const frame = (message: unknown): Uint8Array<ArrayBuffer> | string => {
      const bytes = req.method.encode(message);
      const out = new Uint8Array(5 + bytes.length);
      new DataView(out.buffer).setUint32(1, bytes.length);
      out.set(bytes, 5);
      // Text mode: each frame is padded base64 of its own, which joined stay valid (R5).
      return textMode ? base64Encode(out) : out;
    };
    const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const payload = this.payload(frame);
    let sent!: Promise<Response>;
    let response: Response | undefined;
    try {
      // A custom fetch may throw rather than reject: inside the try.
      sent = fetchFn(req.url, {
        method: "POST",
        headers,
        ...payload,
        signal: this.controller.signal,
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      });
      // Raced with the call's stop: a fetch that ignores its signal may never settle.
      response = await Promise.race([sent, new Promise<undefined>((wake) => (this.#wake = wake))]);
    } catch (e) {
      throw this.#ioError(e, "sending the request");
    } finally {
      this.#wake = undefined;
    }
    if (response === undefined || this.reason !== undefined) {
      // Cut short first: an answer that still comes has its body let go.
      sent.then((late) => late.body?.cancel()).catch(() => undefined);
      throw this.#cutShort();
    }
    this.header = response.headers;
    this.#callOptions?.onHeader?.(response.headers);
    let wasm;
    try {
      wasm = await core();
    } catch (e) {
      throw RpcError.from(e, 13 /* INTERNAL */);
    }
    this.#decoder = new Decoder(
      wasm,
      options.maxResponseMessageBytes ?? 4 * 1024 * 1024,
      response.status,
      response.headers,
    );
    this.#reader = response.body?.getReader();
    if (this.#reader === undefined) {
      this.#decoder.end();
    }
  }

  /** The next message, `undefined` at a successful end; rejects with the call's error. */
  async pull(): Promise<Uint8Array | undefined> {
    const decoder = this.#decoder!;
    for (;;) {
      if (this.reason !== undefined) {
        // Cut short locally: nothing more is handed out, buffered messages included.
        throw this.#cutShort();
      }
      const ev = decoder.next();
      switch (ev.kind) {
        case MESSAGE:
          return ev.a;
        case TRAILER:
          this.trailer.append(text(ev.a), latin1(ev.b));
          break;
        case END: {
          this.done = true;
          if (ev.n & 0x100) {
            // Trailers-only or an HTTP error: the headers are the trailers.
            this.header.forEach((value, name) => this.trailer.append(name, value));
          }
          this.close();
          this.#callOptions?.onTrailer?.(this.trailer);
          const code = (ev.n & 0xff) as Code;
          if (code === 0 /* OK */) {
            return undefined;
          }
          // The code from the HTTP status (S6): the message says which, as the Rust clients'.
          const message = ev.n >>> 16 ? `HTTP status ${ev.n >>> 16}` : text(ev.a);
          throw new RpcError(code, message, this.#metadata(ev.n & 0x100), statusDetails(ev.b));
        }
        case ERROR:
          throw new RpcError(ev.n & 0xff, `${ERRORS[ev.n >> 8]} (detected locally)`, this.#metadata(0));
        case NONE: {
          let read: ReadableStreamReadResult<Uint8Array>;
          try {
            read = await this.#reader!.read();
          } catch (e) {
            throw this.#ioError(e, "reading the response");
          }
          if (read.done) {
            this.#bodyDone = true;
            decoder.end();
          } else {
            decoder.push(read.value);
          }
        }
      }
    }
  }

  /** The request body (and what else it needs in the fetch's init): the one message's frame. */
  protected payload(frame: (message: unknown) => Uint8Array<ArrayBuffer> | string): RequestInit {
    return { body: frame(this.req.message) };
  }

  /** Decodes a message with the method's codec; a failure ends the call. */
  decode(bytes: Uint8Array): unknown {
    try {
      return this.req.method.decode(bytes);
    } catch (e) {
      throw new RpcError(13 /* INTERNAL */, `failed to decode the response message locally: ${String(e)}`);
    }
  }

  /** The messages of a response stream, starting with `first`. */
  async *messages(first: Uint8Array | undefined): AsyncGenerator<unknown> {
    try {
      for (let bytes = first; bytes !== undefined; bytes = await this.pull()) {
        yield this.decode(bytes);
      }
    } finally {
      // Ended, failed, or the consumer stopped early (break/return): the latter aborts.
      this.close(new RpcError(1 /* CANCELLED */, "call cancelled locally: the stream was left"));
    }
  }

  /** Ends the call: stops the timer and the listener, frees the decoder; when the call is
   * not over yet, `error` says why and the fetch is aborted. */
  close(error?: unknown): void {
    clearTimeout(this.#timer);
    this.req.signal?.removeEventListener("abort", this.#onAbort);
    if (error !== undefined && !this.done) {
      this.#stop(RpcError.from(error));
    }
    if (!this.#bodyDone) {
      // An answer from the headers alone (an HTTP error), or a call cut short (perhaps
      // before its reader existed, for a fetch that ignores its signal): the body is not
      // needed.
      this.#reader?.cancel().catch(() => undefined);
    }
    this.#decoder?.free();
  }

  /** Records why the call is cut short, then aborts the fetch; a pending read then ends
   * (the reader is cancelled too, for a fetch that ignores its signal). */
  #stop(reason: RpcError): void {
    if (this.reason === undefined) {
      this.reason = reason;
      this.controller.abort();
      this.#wake?.(undefined);
      this.#reader?.cancel().catch(() => undefined);
    }
  }

  /** The local reason, with the response headers when they came. */
  #cutShort(): RpcError {
    const r = this.reason!;
    return new RpcError(r.code, r.rawMessage, this.#metadata(0), r.details, r.cause);
  }

  /** A failed fetch or read: the local reason when there is one, else a network error. */
  #ioError(e: unknown, doing: string): RpcError {
    if (this.reason !== undefined) {
      return this.#cutShort();
    }
    const err = e as { message?: unknown; cause?: { message?: unknown } } | undefined;
    let message = String(err?.message ?? e);
    if (err?.cause?.message !== undefined) {
      message += `: ${String(err.cause.message)}`;
    }
    return new RpcError(14 /* UNAVAILABLE */, `network error locally while ${doing}: ${message}`);
  }

  /** Response headers and trailers, for a failed call (headers once when they are the trailers). */
  #metadata(fromHeaders: number): Headers {
    const out = new Headers(this.header);
    if (!fromHeaders) {
      this.trailer.forEach((value, name) => out.append(name, value));
    }
    return out;
  }
}

/** A `grpc-timeout` value: the finest unit that fits in 8 digits, rounded up (D1). */
function grpcTimeout(ms: number): string {
  const ns = Math.ceil(Math.max(ms, 0) * 1e6);
  // Nanoseconds per unit: n, u, m, S, M, H.
  const per = [1, 1e3, 1e6, 1e9, 6e10, 3.6e12];
  for (let i = 0; i < 6; i++) {
    const n = Math.ceil(ns / per[i]!);
    if (n <= 99_999_999) {
      return `${n}${"numSMH"[i]}`;
    }
  }
  return "99999999H";
}
