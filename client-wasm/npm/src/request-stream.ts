// The request body of client-streaming and bidi calls (K7): a ReadableStream of gRPC-Web frames
// pulled from the caller's AsyncIterable one message at a time, so nothing is read ahead
// of what fetch sends (backpressure) and a client stream is never buffered whole.
//
// grpc-web.ts loads this module on the first streaming call or capability check (a
// dynamic import): bundlers put it in a chunk of its own, and apps that never stream
// requests do not download it. It imports nothing of the runtime at run time (grpc-web.ts
// passes in the classes it extends and throws), so that no code is shared with the main
// chunk.

import type { Call } from "./call.js";
import type { RpcError as RpcErrorClass } from "./error.js";

/** gRPC status codes used here (the runtime's `Code`, which this module must not import). */
const CANCELLED = 1;
const UNIMPLEMENTED = 12;
const UNAVAILABLE = 14;

/**
 * Whether this platform's `fetch` can send a `ReadableStream` body (`duplex: "half"`):
 * a `Request` built with one must read `duplex` and must not turn the stream into text.
 * It cannot tell which HTTP version a connection will use (browsers stream request
 * bodies over HTTP/2 and HTTP/3 only).
 */
export function canStreamRequests(): boolean {
  let duplexRead = false;
  try {
    const init = {
      method: "POST",
      body: new ReadableStream(),
      get duplex() {
        duplexRead = true;
        return "half";
      },
    };
    // A platform without stream bodies sends "[object ReadableStream]" as text/plain.
    const textBody = new Request("http://localhost/", init as RequestInit).headers.has("content-type");
    return duplexRead && !textBody;
  } catch {
    return false;
  }
}

let made: typeof Call | undefined;

/**
 * The call of client-streaming and bidi requests: `Base` (call.ts's `Call`) with a
 * request stream for its body. `RpcError` is the runtime's error class.
 */
export function streamingCall(Base: typeof Call, RpcError: typeof RpcErrorClass): typeof Call {
  return (made ??= class StreamingCall extends Base {
    private upload: Upload | undefined;

    /** The request stream, or UNIMPLEMENTED when this platform's fetch cannot send one. */
    protected override payload(frame: (message: unknown) => Uint8Array | string): RequestInit {
      if (!canStreamRequests()) {
        throw new RpcError(
          UNIMPLEMENTED,
          `${this.req.method.path} streams requests, and this platform's fetch cannot stream a request body ` +
            `(no ReadableStream body with duplex "half")`,
        );
      }
      this.upload = new Upload(this.req.requests!, frame, (cause) => {
        // The caller's iterator (or encoding its message) threw: the call ends.
        const what = cause instanceof Error ? cause.message : String(cause);
        const reason = new RpcError(
          CANCELLED,
          `call cancelled locally: the request messages failed: ${what}`,
          undefined,
          [],
          cause,
        );
        if (this.reason === undefined && !this.done) {
          this.reason = reason;
          this.controller.abort();
        }
      });
      return { body: this.upload.body, duplex: "half" } as RequestInit;
    }

    /**
     * A fetch that failed without a response (not by the call's own abort) in a browser:
     * when the server is reachable, the browser refused to stream the body (Chromium over
     * HTTP/1.1: `ERR_H2_OR_QUIC_REQUIRED`, which script cannot see), which is
     * UNIMPLEMENTED. Asked with a `no-cors` GET that a gRPC-Web server answers without
     * calling a method (R4). Node streams request bodies over HTTP/1.1 and HTTP/2, so
     * there such a failure stays a network error (UNAVAILABLE).
     */
    override async open(): Promise<void> {
      try {
        await super.open();
      } catch (e) {
        if (
          (e as RpcErrorClass).code === UNAVAILABLE &&
          this.reason === undefined &&
          ("document" in globalThis || "WorkerGlobalScope" in globalThis) &&
          (await (this.options.fetch ?? globalThis.fetch)(this.req.url, {
            method: "GET",
            mode: "no-cors",
            credentials: "omit",
            cache: "no-store",
            // The call's deadline and abort end the probe too.
            signal: this.controller.signal,
          }).then(
            () => true,
            () => false,
          )) &&
          this.reason === undefined
        ) {
          throw new RpcError(
            UNIMPLEMENTED,
            "the browser refused to stream the request body (browsers stream request bodies over HTTP/2 " +
              `and HTTP/3 only, not HTTP/1.1), while the server is reachable: ${(e as RpcErrorClass).rawMessage}`,
          );
        }
        // Cut short during the probe: the deadline or the abort, not the network.
        throw this.reason ?? e;
      }
    }

    /** Also gives up a request stream still being sent (the server ended the call first). */
    override close(error?: unknown): void {
      super.close(error);
      if (this.upload?.cancel() === true) {
        this.controller.abort();
      }
    }
  });
}

/** The request messages of one call, as a body for `fetch`. */
class Upload {
  readonly body: ReadableStream<Uint8Array>;
  private iterator: AsyncIterator<unknown> | undefined;
  /** The iterator ended, failed, or was given up. */
  private finished = false;

  /**
   * `frame` turns a message into its frame (a string in text mode); `fail` is told when
   * the caller's iterator (or `frame`) throws, before the body errors.
   */
  constructor(
    inputs: AsyncIterable<unknown>,
    frame: (message: unknown) => Uint8Array | string,
    fail: (cause: unknown) => void,
  ) {
    this.body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let chunk: Uint8Array | undefined;
          try {
            this.iterator ??= inputs[Symbol.asyncIterator]();
            const next = await this.iterator.next();
            if (!next.done) {
              const bytes = frame(next.value);
              chunk = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
            }
          } catch (e) {
            this.finished = true;
            fail(e);
            controller.error(e);
            return;
          }
          if (this.finished) {
            return; // given up while the iterator was busy
          }
          if (chunk === undefined) {
            this.finished = true;
            controller.close();
          } else {
            controller.enqueue(chunk);
          }
        },
        cancel: () => {
          this.cancel();
        },
      },
      // Pull only when fetch asks for more: one message at a time.
      { highWaterMark: 0 },
    );
  }

  /** Gives up the caller's iterator (its `return`) unless it already ended; true if it had not. */
  cancel(): boolean {
    if (this.finished) {
      return false;
    }
    this.finished = true;
    const iterator = this.iterator;
    Promise.resolve()
      .then(() => iterator?.return?.())
      .catch(() => undefined);
    return true;
  }
}
