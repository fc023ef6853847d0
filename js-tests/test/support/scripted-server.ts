// A tiny gRPC-Web server for the runtime tests: canned responses that the proxy never
// produces (1-byte chunks, trailers-only, error details, HTTP errors, a hanging call, a
// slow stream that records when the client went away, trailer values that are not
// UTF-8, a message that does not decode). CORS is open so the browser tests
// can call it from their page's origin.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { create, toBinary } from "@bufbuild/protobuf";

import { StreamingOutputCallResponseSchema } from "../../gen/grpc/testing/messages_pb.js";

/** The two messages every canned stream sends: payload bodies [1, 2, 3] and [4, 5]. */
export const CANNED_BODIES = [
  [1, 2, 3],
  [4, 5],
];

/** What the slow stream saw of one call, by `x-case-id`. */
interface SlowStreamStats {
  sent: number;
  closedAfterMs: number | undefined;
}

export interface ScriptedServer {
  readonly baseUrl: string;
  /** How many TCP connections clients have opened to it so far. */
  connections(): number;
  stop(): Promise<void>;
}

function frame(flag: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flag;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

function message(body: number[]): Buffer {
  const msg = create(StreamingOutputCallResponseSchema, { payload: { body: new Uint8Array(body) } });
  return frame(0x00, toBinary(StreamingOutputCallResponseSchema, msg));
}

function trailers(block: string): Buffer {
  return frame(0x80, Buffer.from(block, "utf8"));
}

/**
 * `google.rpc.Status { code: 3, message: "bad field", details: [Any { typeUrl, value }] }`,
 * serialized by hand (the same bytes protoc would write).
 */
export const DETAIL_TYPE_URL = "type.googleapis.com/grpc.testing.EchoStatus";
export const DETAIL_VALUE = [0x08, 0x05, 0x12, 0x02, 0x68, 0x69]; // EchoStatus { code: 5, message: "hi" }
function statusDetails(): Buffer {
  const typeUrl = Buffer.from(DETAIL_TYPE_URL, "utf8");
  const any = Buffer.concat([
    Buffer.from([0x0a, typeUrl.length]),
    typeUrl,
    Buffer.from([0x12, DETAIL_VALUE.length, ...DETAIL_VALUE]),
  ]);
  const msg = Buffer.from("bad field", "utf8");
  return Buffer.concat([Buffer.from([0x08, 0x03, 0x12, msg.length]), msg, Buffer.from([0x1a, any.length]), any]);
}

/**
 * A `google.rpc.Status` read by the rules every reader of it keeps (docs/protocol.md K6):
 * fields other than `details` skipped whatever their wire type (field 3 as a varint
 * included), and in each `Any` the last `type_url` and `value` counting. Two details:
 * `a/One` = [] and `b/Two` = [9].
 */
export const EDGE_STATUS_DETAILS = [
  ...[0x18, 0x01, 0x25, 0, 0, 0, 0], // details as a varint, a fixed32 field 4
  ...[0x1a, 0x13, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 1, 0x78, 0x0a, 5, 0x61, 0x2f, 0x4f, 0x6e, 0x65], // fixed64 field 1, type_url "x" then "a/One"
  ...[0x1a, 0x0f, 0x12, 0, 0x30, 0x80, 0x01, 0x0a, 5, 0x62, 0x2f, 0x54, 0x77, 0x6f, 0x12, 1, 9], // value [], varint 6, type_url, value [9]
];
/** The same Status, then a field cut short: malformed, so it has no details at all. */
export const BAD_STATUS_DETAILS = [...EDGE_STATUS_DETAILS, 0x12, 5, 0x61];

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "*",
};

function isText(req: IncomingMessage): boolean {
  return (req.headers["content-type"] ?? "").startsWith("application/grpc-web-text");
}

function grpcHeaders(req: IncomingMessage, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...CORS,
    "content-type": isText(req) ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
    ...extra,
  };
}

/** Body bytes in the request's format: text mode base64-encodes each frame on its own. */
function encode(req: IncomingMessage, frames: Buffer[]): Buffer {
  if (!isText(req)) {
    return Buffer.concat(frames);
  }
  return Buffer.from(frames.map((f) => f.toString("base64")).join(""), "latin1");
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export async function startScriptedServer(): Promise<ScriptedServer> {
  const stats = new Map<string, SlowStreamStats>();
  const open = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...CORS,
        "access-control-allow-methods": "POST, GET",
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
        "access-control-max-age": "600",
      });
      res.end();
      return;
    }
    if (url.pathname === "/stats") {
      const id = url.searchParams.get("id") ?? "";
      res.writeHead(200, { ...CORS, "content-type": "application/json" });
      res.end(JSON.stringify(stats.get(id) ?? null));
      return;
    }
    // Read the request body first, as a gRPC-Web server would.
    for await (const _ of req) {
      // discard
    }
    const method = url.pathname.split("/").pop();
    switch (method) {
      case "Dribble": {
        // Two messages and trailers, one byte per write, each flushed on its own.
        const body = encode(req, [...CANNED_BODIES.map(message), trailers("grpc-status: 0\r\nx-dribbled: yes\r\n")]);
        res.writeHead(200, grpcHeaders(req));
        res.flushHeaders();
        for (const byte of body) {
          if (res.destroyed) {
            return;
          }
          res.write(Buffer.from([byte]));
          await new Promise<void>((done) => setImmediate(done));
        }
        res.end();
        return;
      }
      case "TrailersThenLateEnd": {
        // A message and the trailer frame at once, the end of the body 100 ms later: a
        // client that stops reading at the trailer frame leaves the body unfinished, and
        // its HTTP/1.1 connection cannot be reused.
        res.writeHead(200, grpcHeaders(req));
        res.write(encode(req, [message(CANNED_BODIES[0] ?? []), trailers("grpc-status: 0\r\n")]));
        await sleep(100);
        res.end();
        return;
      }
      case "EmptyOk":
        // No message, status OK in the trailer frame.
        res.writeHead(200, grpcHeaders(req));
        res.end(encode(req, [trailers("grpc-status: 0\r\n")]));
        return;
      case "TrailersOnly":
        res.writeHead(200, grpcHeaders(req, { "grpc-status": "7", "grpc-message": "denied%21", "x-why": "policy" }));
        res.end();
        return;
      case "Details":
        res.writeHead(200, grpcHeaders(req));
        res.end(
          encode(req, [
            trailers(
              `grpc-status: 3\r\ngrpc-message: bad field\r\ngrpc-status-details-bin: ${statusDetails().toString("base64").replace(/=+$/, "")}\r\n`,
            ),
          ]),
        );
        return;
      case "DetailsEdge":
      case "DetailsBad": {
        const details = Buffer.from(method === "DetailsEdge" ? EDGE_STATUS_DETAILS : BAD_STATUS_DETAILS);
        res.writeHead(200, grpcHeaders(req));
        res.end(
          encode(req, [trailers(`grpc-status: 5\r\ngrpc-status-details-bin: ${details.toString("base64")}\r\n`)]),
        );
        return;
      }
      case "OddTrailers":
        // A message, then a trailer frame whose x-note value is UTF-8 for U+65E5, a space
        // and a lone 0xff: no Headers value as UTF-8, and no reason to lose the status.
        res.writeHead(200, grpcHeaders(req));
        res.end(
          encode(req, [
            message(CANNED_BODIES[0] ?? []),
            frame(
              0x80,
              Buffer.concat([
                Buffer.from("grpc-status: 5\r\ngrpc-message: gone\r\nx-note: "),
                Buffer.from([0xe6, 0x97, 0xa5, 0x20, 0xff]),
                Buffer.from("\r\n"),
              ]),
            ),
          ]),
        );
        return;
      case "Undecodable":
        // A message the method's codec cannot read (a field longer than the message),
        // then an error status: the status is the answer.
        res.writeHead(200, grpcHeaders(req));
        res.end(
          encode(req, [
            frame(0x00, Buffer.from([0x0a, 0x05, 0x01])),
            trailers("grpc-status: 9\r\ngrpc-message: not yet\r\n"),
          ]),
        );
        return;
      case "SlowHeaders":
        // Answers 2 s late (an empty OK), whatever the request: the browser's check of a
        // refused request stream (a GET to the same URL) waits that long too.
        await sleep(2_000);
        if (!res.destroyed) {
          res.writeHead(200, grpcHeaders(req));
          res.end(encode(req, [trailers("grpc-status: 0\r\n")]));
        }
        return;
      case "Http503":
        res.writeHead(503, { ...CORS, "content-type": "text/plain" });
        res.end("overloaded");
        return;
      case "Hang":
        // Headers, then nothing until the client gives up.
        res.writeHead(200, grpcHeaders(req));
        res.flushHeaders();
        return;
      case "SlowStream": {
        const id = String(req.headers["x-case-id"] ?? "");
        const entry: SlowStreamStats = { sent: 0, closedAfterMs: undefined };
        stats.set(id, entry);
        const started = performance.now();
        res.on("close", () => {
          entry.closedAfterMs = performance.now() - started;
        });
        res.writeHead(200, grpcHeaders(req));
        for (let i = 0; i < 100 && !res.destroyed; i++) {
          res.write(encode(req, [message([i])]));
          entry.sent++;
          await sleep(100);
        }
        if (!res.destroyed) {
          res.end(encode(req, [trailers("grpc-status: 0")]));
        }
        return;
      }
      default:
        res.writeHead(404, { ...CORS, "content-type": "text/plain" });
        res.end("no such method");
    }
  };

  const server = createServer((req, res) => {
    open.add(res);
    res.on("close", () => open.delete(res));
    handle(req, res).catch(() => res.destroy());
  });
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    connections: () => connections,
    stop: async () => {
      for (const res of open) {
        res.destroy();
      }
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
