// The peer clients that run only from Node: connect-node (HTTP/1.1 and HTTP/2), buf curl
// (`--protocol grpcweb`, a child process per call) and the grpc-go interop client (native
// gRPC, a child process per case, running its own implementation of the case).

import { execFile } from "node:child_process";
import { Agent } from "node:http";

import { createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";

import {
  ECHO_HEADERS,
  ECHO_INITIAL,
  NotApplicable,
  PeerError,
  fromBase64,
  type CallArgs,
  type Client,
  type Outcome,
  type Reply,
  type StreamArgs,
  type UnaryArgs,
} from "../cases.js";
import { connectClient } from "./web.js";

export type HttpVersion = "1.1" | "2";

/** A client with connections of its own, closed by `close()`. */
export interface ClosableClient extends Client {
  close(): void;
}

/** connect-node's gRPC-Web transport over HTTP/1.1 (keep-alive agent) or h2c. */
export function connectNodeClient(baseUrl: string, httpVersion: HttpVersion): ClosableClient {
  if (httpVersion === "2") {
    const sessionManager = new Http2SessionManager(baseUrl);
    const client = connectClient(
      createGrpcWebTransport({ baseUrl, httpVersion, sessionManager, useBinaryFormat: true }),
    );
    return { ...client, close: () => sessionManager.abort() };
  }
  const agent = new Agent({ keepAlive: true });
  const client = connectClient(
    createGrpcWebTransport({ baseUrl, httpVersion, nodeOptions: { agent }, useBinaryFormat: true }),
  );
  return { ...client, close: () => agent.destroy() };
}

// ---- buf curl ----

/** buf's status names in its error output, by gRPC code. */
const CODE_NAMES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

/** Splits concatenated pretty-printed JSON documents (buf curl prints one per message). */
export function splitJsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c === "\\") {
        escaped = true;
      } else if (c === '"') {
        inString = false;
      }
      continue;
    }
    if (c === '"') {
      inString = true;
    } else if (c === "{") {
      if (depth === 0) {
        start = i;
      }
      depth++;
    } else if (c === "}") {
      depth--;
      if (depth === 0 && start >= 0) {
        docs.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return docs;
}

interface BufResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

function execBuf(buf: string, args: readonly string[], input: string): Promise<BufResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(buf, args, { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== "number") {
        reject(new Error(`buf curl did not run: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ stdout, stderr, exitCode: err === null ? 0 : (err.code as number) });
    });
    child.stdin?.end(input);
  });
}

/**
 * `buf curl --protocol grpcweb`, one process per call, with the interop protos as a
 * prebuilt image (`schema`). It speaks binary gRPC-Web only, cannot set grpc-timeout (a
 * reserved header for it) and does not print trailers, so those parts are not applicable.
 */
export function bufCurlClient(buf: string, schema: string, baseUrl: string, httpVersion: HttpVersion): Client {
  /** Runs one call; `request` may be several messages (a client stream, sent at once). */
  const callDocs = async (
    method: string,
    request: object | object[],
    args: CallArgs,
  ): Promise<{ docs: unknown[]; initial: string | undefined }> => {
    if (args.timeoutMs !== undefined) {
      throw new NotApplicable("buf curl cannot send a deadline (grpc-timeout is reserved for it)");
    }
    const flags = ["curl", "--protocol", "grpcweb", "--schema", schema, "-v", "-d", "@-"];
    if (httpVersion === "2") {
      flags.push("--http2-prior-knowledge");
    }
    if (args.echo === true) {
      for (const [k, v] of Object.entries(ECHO_HEADERS)) {
        flags.push("-H", `${k}: ${v}`);
      }
    }
    flags.push(`${baseUrl}/${method}`);
    const stdin = (Array.isArray(request) ? request : [request]).map((r) => JSON.stringify(r)).join("\n");
    const { stdout, stderr, exitCode } = await execBuf(buf, flags, stdin);
    const initialLine = stderr
      .split("\n")
      .map((l) => /^buf: < \(#\d+\) ([^:]+): (.*)$/.exec(l))
      .find((m) => m !== null && m[1]!.toLowerCase() === ECHO_INITIAL);
    if (exitCode !== 0) {
      // The error is a JSON document at the end of stderr: {"code": "unknown", "message": ...}
      const docs = splitJsonDocuments(stderr.replace(/^buf: .*$/gm, ""));
      const err = docs.at(-1) as { code?: string; message?: string } | undefined;
      const code = err?.code === undefined ? -1 : CODE_NAMES.indexOf(err.code);
      if (code < 0) {
        throw new Error(`buf curl failed (exit ${exitCode}) without a status: ${stderr.slice(-2_000)}`);
      }
      throw new PeerError(code, err?.message ?? "");
    }
    if (args.echo === true) {
      // Headers are printed with -v; the trailer frame's contents are not.
      throw new NotApplicable(
        `buf curl does not show trailers (echoed header ${initialLine ? "seen" : "missing"}; the trailer cannot be checked)`,
      );
    }
    return { docs: splitJsonDocuments(stdout), initial: initialLine?.[2] };
  };
  const call = async (method: string, request: object, args: CallArgs): Promise<Reply> => {
    const { docs, initial } = await callDocs(method, request, args);
    const payloads = docs.map((d) => fromBase64((d as { payload?: { body?: string } }).payload?.body ?? ""));
    return { payloads, initial };
  };
  const status = (a: CallArgs) => (a.status !== undefined ? { responseStatus: a.status } : {});
  return {
    async empty() {
      await call("grpc.testing.TestService/EmptyCall", {}, {});
    },
    unary: (a: UnaryArgs) =>
      call(
        "grpc.testing.TestService/UnaryCall",
        {
          responseSize: a.responseSize,
          payload: { body: Buffer.alloc(a.requestSize ?? 0).toString("base64") },
          ...status(a),
        },
        a,
      ),
    stream: (a: StreamArgs) =>
      call(
        "grpc.testing.TestService/StreamingOutputCall",
        {
          responseParameters: a.sizes.map((size) => ({ size, intervalUs: a.intervalUs ?? 0 })),
          payload: { body: Buffer.alloc(a.requestSize ?? 0).toString("base64") },
          ...status(a),
        },
        a,
      ),
    async unimplementedMethod() {
      await call("grpc.testing.TestService/UnimplementedCall", {}, {});
    },
    async clientStream(sizes) {
      const requests = sizes.map((size) => ({ payload: { body: Buffer.alloc(size).toString("base64") } }));
      const { docs } = await callDocs("grpc.testing.TestService/StreamingInputCall", requests, {});
      return (docs[0] as { aggregatedPayloadSize?: number } | undefined)?.aggregatedPayloadSize ?? 0;
    },
    pingPong() {
      throw new NotApplicable("buf curl reads every request from stdin up front: it cannot wait for a response");
    },
    async unimplementedService() {
      await call("grpc.testing.UnimplementedService/UnimplementedCall", {}, {});
    },
  };
}

// ---- the grpc-go interop client (native gRPC) ----

/** Runs one interop case with the grpc-go interop client against `host:port`. */
export function runGrpcGoCase(client: string, addr: string, name: string): Promise<Outcome> {
  const [host, port] = addr.split(":") as [string, string];
  return new Promise((resolve) => {
    execFile(
      client,
      [`--server_host=${host}`, `--server_port=${port}`, `--test_case=${name}`],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ result: "pass" });
        } else {
          const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-3).join(" | ");
          resolve({ result: "fail", detail: `grpc-go interop client: ${tail || err.message}` });
        }
      },
    );
  });
}
