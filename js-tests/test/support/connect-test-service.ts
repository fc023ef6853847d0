// A peer gRPC-Web server nobody here wrote: @connectrpc/connect-node with gRPC-Web
// enabled, implementing grpc.testing.TestService as docs/protocol.md describes (sizes, echo
// metadata, response_status, interval_us). connect serves binary gRPC-Web only.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

import type { EchoStatus } from "../../gen/grpc/testing/messages_pb.js";
import { TestService } from "../../gen/grpc/testing/test_pb.js";

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";

function echo(ctx: HandlerContext): void {
  const initial = ctx.requestHeader.get(ECHO_INITIAL);
  if (initial !== null) {
    ctx.responseHeader.set(ECHO_INITIAL, initial);
  }
  const trailing = ctx.requestHeader.get(ECHO_TRAILING);
  if (trailing !== null) {
    ctx.responseTrailer.set(ECHO_TRAILING, trailing);
  }
}

function fail(status: EchoStatus | undefined): void {
  if (status !== undefined && status.code !== 0) {
    // connect's codes are gRPC's numbers.
    throw new ConnectError(status.message, status.code);
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((done, reject) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

function routes(router: ConnectRouter): void {
  router.service(TestService, {
    emptyCall: (_req, ctx) => {
      echo(ctx);
      return {};
    },
    unaryCall: (req, ctx) => {
      echo(ctx);
      fail(req.responseStatus);
      return { payload: { body: new Uint8Array(req.responseSize) } };
    },
    async *streamingOutputCall(req, ctx) {
      echo(ctx);
      for (const p of req.responseParameters) {
        if (p.intervalUs > 0) {
          await sleep(p.intervalUs / 1000, ctx.signal);
        }
        yield { payload: { body: new Uint8Array(p.size) } };
      }
      fail(req.responseStatus);
    },
    async streamingInputCall(reqs, ctx) {
      echo(ctx);
      let aggregatedPayloadSize = 0;
      for await (const req of reqs) {
        aggregatedPayloadSize += req.payload?.body.length ?? 0;
      }
      return { aggregatedPayloadSize };
    },
    async *fullDuplexCall(reqs, ctx) {
      echo(ctx);
      for await (const req of reqs) {
        for (const p of req.responseParameters) {
          yield { payload: { body: new Uint8Array(p.size) } };
        }
        fail(req.responseStatus);
      }
    },
  });
}

export interface PeerServer {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

export async function startConnectPeer(): Promise<PeerServer> {
  const server = createServer(connectNodeAdapter({ routes, grpcWeb: true, grpc: false, connect: false }));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
