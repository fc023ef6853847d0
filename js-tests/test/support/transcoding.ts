// A backend behind grpcweb-proxy with the descriptors of one of the repository's protos,
// as the JSON and REST tests start them: buf builds the file's FileDescriptorSet (with its
// imports) into a temporary folder, the proxy reads it with --descriptor-set.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { startServer, type Server } from "./processes.js";

/** The js-tests/ folder (this file is compiled to js-tests/dist/test/support/). */
const JS_TESTS = fileURLToPath(new URL("../../../", import.meta.url));

export interface TranscodingSpec {
  /** The backend binary (`transcoding-server`, `interop-server`), started with `--port 0`. */
  readonly backend: string;
  /** The proto file, under protos/ (`transcoding/v1/echo.proto`). */
  readonly proto: string;
  /** More arguments for grpcweb-proxy. */
  readonly proxyArgs?: readonly string[];
}

export interface Transcoding {
  readonly backend: Server;
  readonly proxy: Server;
  /** The path of the descriptor set the proxy reads. */
  readonly set: string;
  /** Stops the proxy and the backend and removes the folder. */
  stop(): Promise<void>;
}

/** Builds the set and starts the backend and the proxy; on failure, stops what started. */
export async function startTranscoding(spec: TranscodingSpec): Promise<Transcoding> {
  const dir = mkdtempSync(join(tmpdir(), "grpcweb-transcoding-"));
  let backend: Server | undefined;
  let proxy: Server | undefined;
  const stop = async (): Promise<void> => {
    await proxy?.stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const set = join(dir, "descriptors.binpb");
    execFileSync(
      join(JS_TESTS, "node_modules", ".bin", "buf"),
      ["build", "../protos", "--path", `../protos/${spec.proto}`, "-o", set],
      { cwd: JS_TESTS, stdio: "inherit" },
    );
    backend = await startServer(spec.backend, ["--port", "0"]);
    proxy = await startServer("grpcweb-proxy", [
      "--listen",
      "127.0.0.1:0",
      "--backend",
      `http://${backend.addr}`,
      "--descriptor-set",
      set,
      ...(spec.proxyArgs ?? []),
    ]);
    return { backend, proxy, set, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
