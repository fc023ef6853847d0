// The interop cases of docs/protocol.md (I1-I3), written once against a small client
// interface that every peer client implements (clients/*.ts). Browser-safe: no node:
// imports, so the same cases run in Node and, bundled, in headless Chromium.

import { check, equal } from "../test/support/check.js";

/** gRPC status codes used by the cases. */
export const UNKNOWN = 2;
export const DEADLINE_EXCEEDED = 4;
export const UNIMPLEMENTED = 12;

export const LARGE_REQUEST_SIZE = 271_828;
export const LARGE_RESPONSE_SIZE = 314_159;
export const STREAMING_SIZES: readonly number[] = [31_415, 9, 2_653, 58_979];
/** The request sizes of client_streaming and ping_pong; their sum is 74922. */
export const REQUEST_SIZES: readonly number[] = [27_182, 8, 1_828, 45_904];
export const ECHO_INITIAL = "x-grpc-test-echo-initial";
export const ECHO_INITIAL_VALUE = "test_initial_metadata_value";
export const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";
export const ECHO_TRAILING_VALUE: readonly number[] = [0xab, 0xab, 0xab];
export const STATUS_MESSAGE = "test status message";
export const SPECIAL_MESSAGE = "\t\ttest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n";

/** A call's failure as every client reports it: the gRPC code and the raw message. */
export class PeerError extends Error {
  constructor(
    readonly code: number,
    readonly rawMessage: string,
  ) {
    super(`gRPC status ${code}: ${JSON.stringify(rawMessage)}`);
    this.name = "PeerError";
  }
}

/** Thrown by a client that cannot run (part of) a case: reported as not applicable. */
export class NotApplicable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "NotApplicable";
  }
}

export interface EchoStatus {
  readonly code: number;
  readonly message: string;
}

/** Common options: echo metadata asks the server to echo the two test headers back. */
export interface CallArgs {
  /** Send `x-grpc-test-echo-initial` and `x-grpc-test-echo-trailing-bin`. */
  readonly echo?: boolean;
  readonly timeoutMs?: number;
  readonly status?: EchoStatus;
  /** Size of the request payload (zero bytes). */
  readonly requestSize?: number;
}

export interface UnaryArgs extends CallArgs {
  readonly responseSize: number;
}

export interface StreamArgs extends CallArgs {
  readonly sizes: readonly number[];
  readonly intervalUs?: number;
}

/** What a call returned: the payload bodies and the echoed metadata, when asked for. */
export interface Reply {
  readonly payloads: readonly Uint8Array[];
  /** The response header `x-grpc-test-echo-initial`. */
  readonly initial?: string | undefined;
  /** The trailer `x-grpc-test-echo-trailing-bin`, decoded. */
  readonly trailing?: Uint8Array | undefined;
}

/**
 * One peer client, bound to one server URL and one wire format. Failures are thrown as
 * PeerError; anything else thrown is a client bug and fails the case.
 */
export interface Client {
  empty(): Promise<void>;
  unary(args: UnaryArgs): Promise<Reply>;
  stream(args: StreamArgs): Promise<Reply>;
  /** grpc.testing.TestService/UnimplementedCall */
  unimplementedMethod(): Promise<void>;
  /** StreamingInputCall, one request of each size (zero bytes): the size it answers. */
  clientStream(sizes: readonly number[]): Promise<number>;
  /**
   * FullDuplexCall as ping-pong: request i carries `requestSizes[i]` bytes and asks for one
   * response of `responseSizes[i]`; it is sent only once response i - 1 came. Returns the
   * response sizes.
   */
  pingPong(requestSizes: readonly number[], responseSizes: readonly number[]): Promise<number[]>;
  /** grpc.testing.UnimplementedService/UnimplementedCall */
  unimplementedService(): Promise<void>;
}

export interface Case {
  readonly name: string;
  run(client: Client): Promise<void>;
}

// ---- assertions (browser-safe) ----

function zeros(body: Uint8Array | undefined, size: number, what: string): void {
  check(body !== undefined, `${what}: no payload`);
  equal(body.length, size, `${what} size`);
  check(
    body.every((b) => b === 0),
    `${what}: payload is not all zeros`,
  );
}

async function expectError(call: Promise<unknown>, code: number, rawMessage?: string, what = "call"): Promise<void> {
  let failure: unknown;
  try {
    await call;
  } catch (e) {
    failure = e;
  }
  if (failure instanceof NotApplicable) {
    throw failure;
  }
  check(failure !== undefined, `${what}: expected status ${code}, but the call succeeded`);
  check(failure instanceof PeerError, `${what}: expected a gRPC status, got ${String(failure)}`);
  equal(failure.code, code, `${what}: status code (message ${JSON.stringify(failure.rawMessage)})`);
  if (rawMessage !== undefined) {
    equal(failure.rawMessage, rawMessage, `${what}: status message`);
  }
}

function echoed(reply: Reply, call: string): void {
  equal(reply.initial, ECHO_INITIAL_VALUE, `${call}: header ${ECHO_INITIAL}`);
  check(reply.trailing !== undefined, `${call}: no trailer ${ECHO_TRAILING}`);
  equal(Array.from(reply.trailing), ECHO_TRAILING_VALUE, `${call}: trailer ${ECHO_TRAILING}`);
}

// ---- the cases ----

export const cases: readonly Case[] = [
  {
    name: "empty_unary",
    run: (client) => client.empty(),
  },
  {
    name: "large_unary",
    async run(client) {
      const reply = await client.unary({ requestSize: LARGE_REQUEST_SIZE, responseSize: LARGE_RESPONSE_SIZE });
      equal(reply.payloads.length, 1, "responses");
      zeros(reply.payloads[0], LARGE_RESPONSE_SIZE, "response");
    },
  },
  {
    name: "server_streaming",
    async run(client) {
      const reply = await client.stream({ sizes: STREAMING_SIZES });
      equal(
        reply.payloads.map((p) => p.length),
        STREAMING_SIZES,
        "message sizes",
      );
      reply.payloads.forEach((p, i) => zeros(p, p.length, `message ${i}`));
    },
  },
  {
    name: "custom_metadata",
    async run(client) {
      const unary = await client.unary({
        echo: true,
        requestSize: LARGE_REQUEST_SIZE,
        responseSize: LARGE_RESPONSE_SIZE,
      });
      zeros(unary.payloads[0], LARGE_RESPONSE_SIZE, "unary response");
      echoed(unary, "unary");
      const stream = await client.stream({ echo: true, requestSize: LARGE_REQUEST_SIZE, sizes: [LARGE_RESPONSE_SIZE] });
      equal(
        stream.payloads.map((p) => p.length),
        [LARGE_RESPONSE_SIZE],
        "stream message sizes",
      );
      echoed(stream, "server streaming");
    },
  },
  {
    name: "status_code_and_message",
    async run(client) {
      const status = { code: UNKNOWN, message: STATUS_MESSAGE };
      await expectError(client.unary({ status, responseSize: 1 }), UNKNOWN, STATUS_MESSAGE, "unary");
      await expectError(client.stream({ status, sizes: [] }), UNKNOWN, STATUS_MESSAGE, "server streaming");
    },
  },
  {
    name: "special_status_message",
    async run(client) {
      const status = { code: UNKNOWN, message: SPECIAL_MESSAGE };
      await expectError(client.unary({ status, responseSize: 1 }), UNKNOWN, SPECIAL_MESSAGE);
    },
  },
  {
    name: "unimplemented_method",
    run: (client) => expectError(client.unimplementedMethod(), UNIMPLEMENTED),
  },
  {
    name: "unimplemented_service",
    run: (client) => expectError(client.unimplementedService(), UNIMPLEMENTED),
  },
  {
    name: "client_streaming",
    async run(client) {
      equal(await client.clientStream(REQUEST_SIZES), 74_922, "aggregated payload size");
    },
  },
  {
    name: "ping_pong",
    async run(client) {
      equal(await client.pingPong(REQUEST_SIZES, STREAMING_SIZES), [...STREAMING_SIZES], "response sizes");
    },
  },
  {
    name: "timeout_on_sleeping_server",
    async run(client) {
      const started = Date.now();
      // The server sleeps 3 s before its first message; the deadline is 200 ms.
      await expectError(client.stream({ sizes: [1], intervalUs: 3_000_000, timeoutMs: 200 }), DEADLINE_EXCEEDED);
      const elapsed = Date.now() - started;
      check(elapsed < 2_500, `the call took ${elapsed} ms to fail`);
    },
  },
];

export const caseNames: readonly string[] = cases.map((c) => c.name);

/** How one case went. */
export type Outcome = { readonly result: "pass" } | { readonly result: "fail" | "n/a"; readonly detail: string };

/** Runs one case, never throws. */
export async function runCase(name: string, client: Client): Promise<Outcome> {
  const found = cases.find((c) => c.name === name);
  if (found === undefined) {
    return { result: "fail", detail: `no such case: ${name}` };
  }
  try {
    await found.run(client);
    return { result: "pass" };
  } catch (e) {
    if (e instanceof NotApplicable) {
      return { result: "n/a", detail: e.reason };
    }
    return { result: "fail", detail: e instanceof Error ? e.message : String(e) };
  }
}

// ---- helpers for the clients ----

/** The request of FullDuplexCall i in ping_pong, as plain field values. */
export const pingRequest = (requestSize: number, responseSize: number) => ({
  responseParameters: [{ size: responseSize }],
  payload: { body: new Uint8Array(requestSize) },
});

/**
 * Ping-pong over a bidi call that takes an AsyncIterable of requests and returns one of
 * responses: each request is released only after the previous response came (so the call
 * only completes if the two directions interleave).
 */
export async function pingPongOver<T>(
  call: (requests: AsyncIterable<ReturnType<typeof pingRequest>>) => AsyncIterable<T>,
  size: (response: T) => number,
  requestSizes: readonly number[],
  responseSizes: readonly number[],
): Promise<number[]> {
  let answered: () => void = () => undefined;
  const requests = async function* () {
    for (let i = 0; i < requestSizes.length; i++) {
      const next = new Promise<void>((done) => (answered = done));
      yield pingRequest(requestSizes[i]!, responseSizes[i]!);
      await next;
    }
  };
  const sizes: number[] = [];
  for await (const response of call(requests())) {
    sizes.push(size(response));
    answered();
  }
  return sizes;
}

/** Base64 (standard alphabet, padded) of bytes; browser-safe. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    s += String.fromCharCode(b);
  }
  return btoa(s);
}

/** Bytes of base64 (padded or not); browser-safe. */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text.replace(/=+$/, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The echo headers a client sends, as text (the -bin value base64-encoded). */
export const ECHO_HEADERS: Readonly<Record<string, string>> = {
  [ECHO_INITIAL]: ECHO_INITIAL_VALUE,
  [ECHO_TRAILING]: toBase64(Uint8Array.from(ECHO_TRAILING_VALUE)),
};
