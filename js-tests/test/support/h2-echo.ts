// An HTTPS (HTTP/2) server that answers at once and echoes each request body chunk as it
// arrives, recording when chunks came: it tells what a browser sends before its request
// body ends, and lets a page see whether the answer reaches it before then.

import { createSecureServer, type ServerHttp2Stream } from "node:http2";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";

import type { TestCertificate } from "./tls.js";

/** What the server saw of one POST. */
export interface EchoCall {
  /** Milliseconds from the request headers to each body chunk. */
  readonly chunksAt: number[];
  /** Milliseconds from the request headers to the end of the body (NaN until then). */
  endAt: number;
}

export interface H2Echo {
  /** `https://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** Every POST so far, in order. */
  readonly calls: EchoCall[];
  stop(): Promise<void>;
}

/** Starts the echo server with `cert`, allowing `origin` (CORS). */
export async function startH2Echo(cert: TestCertificate, origin: string): Promise<H2Echo> {
  const calls: EchoCall[] = [];
  const server = createSecureServer({ cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) });
  const cors = { "access-control-allow-origin": origin };
  server.on("stream", (stream: ServerHttp2Stream, headers) => {
    if (headers[":method"] === "OPTIONS") {
      stream.respond({
        ":status": 204,
        ...cors,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "content-type, x-grpc-web",
      });
      stream.end();
      return;
    }
    const start = performance.now();
    const call: EchoCall = { chunksAt: [], endAt: NaN };
    calls.push(call);
    stream.respond({ ":status": 200, "content-type": "application/grpc-web+proto", ...cors });
    stream.on("data", (chunk: Buffer) => {
      call.chunksAt.push(performance.now() - start);
      stream.write(chunk);
    });
    stream.on("end", () => {
      call.endAt = performance.now() - start;
      const trailer = Buffer.from("grpc-status: 0\r\n");
      const header = Buffer.from([0x80, 0, 0, 0, trailer.length]);
      stream.end(Buffer.concat([header, trailer]));
    });
    stream.on("error", () => {});
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `https://127.0.0.1:${port}`,
    calls,
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
}
