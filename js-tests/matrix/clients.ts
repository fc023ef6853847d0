// The clients of the interop matrix: which wire formats and HTTP versions each speaks,
// and how it runs one case (in this Node process, in the Chromium page, or as a child
// process).

import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Page } from "playwright-core";

import { runCase, type Outcome } from "./cases.js";
import {
  bufCurlClient,
  connectNodeClient,
  runGrpcGoCase,
  type ClosableClient,
  type HttpVersion,
} from "./clients/node.js";
import { protobufTsClient } from "./clients/protobuf-ts.js";
import type { Format } from "./clients/requests.js";
import { connectWebClient, oursClient } from "./clients/web.js";
import { goInteropClient } from "./servers/peers.js";

/** The js-tests/ folder (this file is compiled to js-tests/dist/matrix/). */
const JS_TESTS = fileURLToPath(new URL("../../", import.meta.url));

/** A wire format: gRPC-Web binary or text, or native gRPC. */
export type Wire = Format | "native";

export interface ClientSpec {
  readonly id: string;
  readonly label: string;
  readonly wires: readonly Wire[];
  readonly http: readonly HttpVersion[];
  readonly browser: boolean;
  readonly ours: boolean;
  /** Runs one case against `baseUrl`. */
  runner(baseUrl: string, wire: Wire, http: HttpVersion): Promise<CaseRunner>;
}

export interface CaseRunner {
  run(name: string): Promise<Outcome>;
  close(): void;
}

/** A Node client object behind the Client interface. */
const inNode =
  (make: (baseUrl: string, wire: Wire, http: HttpVersion) => ClosableClient | ReturnType<typeof oursClient>) =>
  async (baseUrl: string, wire: Wire, http: HttpVersion): Promise<CaseRunner> => {
    const client = make(baseUrl, wire, http);
    return {
      run: (name) => runCase(name, client),
      close: () => ("close" in client && typeof client.close === "function" ? client.close() : undefined),
    };
  };

/** A client that runs inside the matrix page in Chromium (`page()`, once it is up). */
const inChromium =
  (page: () => Page | undefined, client: string) =>
  async (baseUrl: string, wire: Wire): Promise<CaseRunner> => ({
    async run(name) {
      const current = page();
      if (current === undefined) {
        return { result: "fail", detail: "Chromium is not running" };
      }
      return current.evaluate(
        ([c, f, u, n]) =>
          (
            globalThis as unknown as {
              runMatrixCase(c: string, f: string, u: string, n: string): Promise<Outcome>;
            }
          ).runMatrixCase(c, f, u, n),
        [client, wire, baseUrl, name] as const,
      );
    },
    close: () => undefined,
  });

const asFormat = (wire: Wire): Format => (wire === "native" ? "binary" : wire);

/**
 * Every client of the matrix. `bufSchema` is the interop protos as a buf image (for buf
 * curl); `page` is the matrix page in Chromium, for the browser clients.
 */
export function clients(bufSchema: string, page: () => Page | undefined): readonly ClientSpec[] {
  const buf = join(JS_TESTS, "node_modules", ".bin", "buf");
  return [
    {
      id: "ours-node",
      label: "ours (generated TS + wasm runtime), Node",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: false,
      ours: true,
      runner: inNode((u, w) => oursClient(u, asFormat(w))),
    },
    {
      id: "ours-chromium",
      label: "ours (generated TS + wasm runtime), Chromium",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: true,
      ours: true,
      runner: inChromium(page, "ours"),
    },
    {
      id: "connect-web-node",
      label: "connect-web createGrpcWebTransport, Node",
      wires: ["binary"],
      http: ["1.1"],
      browser: false,
      ours: false,
      runner: inNode((u) => connectWebClient(u)),
    },
    {
      id: "connect-web-chromium",
      label: "connect-web createGrpcWebTransport, Chromium",
      wires: ["binary"],
      http: ["1.1"],
      browser: true,
      ours: false,
      runner: inChromium(page, "connect-web"),
    },
    {
      id: "connect-node",
      label: "connect-node gRPC-Web transport, Node",
      wires: ["binary"],
      http: ["1.1", "2"],
      browser: false,
      ours: false,
      runner: inNode((u, _w, h) => connectNodeClient(u, h)),
    },
    {
      id: "protobuf-ts-node",
      label: "protobuf-ts GrpcWebFetchTransport, Node",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: false,
      ours: false,
      runner: inNode((u, w) => protobufTsClient(u, asFormat(w))),
    },
    {
      id: "protobuf-ts-chromium",
      label: "protobuf-ts GrpcWebFetchTransport, Chromium",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: true,
      ours: false,
      runner: inChromium(page, "protobuf-ts"),
    },
    {
      id: "grpc-web-chromium",
      label: "grpc-web (official runtime), Chromium",
      wires: ["binary", "text"],
      http: ["1.1"],
      browser: true,
      ours: false,
      runner: inChromium(page, "grpc-web"),
    },
    {
      id: "buf-curl",
      label: "buf curl --protocol grpcweb",
      wires: ["binary"],
      http: ["1.1", "2"],
      browser: false,
      ours: false,
      runner: inNode((u, _w, h) => ({ ...bufCurlClient(buf, bufSchema, u, h), close: () => undefined })),
    },
    {
      id: "grpc-go",
      label: "grpc-go interop client (native gRPC)",
      wires: ["native"],
      http: ["2"],
      browser: false,
      ours: false,
      async runner(baseUrl) {
        const client = goInteropClient();
        const addr = new URL(baseUrl).host;
        return { run: (name) => runGrpcGoCase(client, addr, name), close: () => undefined };
      },
    },
  ];
}
