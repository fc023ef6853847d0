// Starts the project's binaries for a test and stops them afterwards.
//
// Each binary is started with a port of 0 and reports the address it bound as one stdout
// line, `listening on 127.0.0.1:PORT`. We wait for that line (with a deadline), keep
// draining stdout and stderr so a chatty child never blocks on a full pipe, and keep the
// tail of its output to explain a failure.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** How long a binary may take to print its `listening on` line. */
const START_TIMEOUT_MS = 30_000;
/** How long a binary may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** How much of a child's output we keep for error messages. */
const OUTPUT_TAIL_CHARS = 4_000;

const LISTENING = /^listening on (\S+)\s*$/;

/** The js-tests/ folder (this file is compiled to js-tests/dist/test/support/). */
const PACKAGE_DIR = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The folder holding `interop-server` and `grpcweb-proxy`: `$GRPCWEB_BIN_DIR` (relative to
 * the working directory), else the workspace's `target/debug`.
 */
export function binDir(): string {
  const fromEnv = process.env["GRPCWEB_BIN_DIR"];
  if (fromEnv !== undefined && fromEnv !== "") {
    return resolve(fromEnv);
  }
  return resolve(PACKAGE_DIR, "../target/debug");
}

/** A running child process that announced its address. */
export interface Server {
  /** Binary name, for messages. */
  readonly name: string;
  /** `host:port` from the `listening on` line. */
  readonly addr: string;
  /** Sends SIGTERM, then SIGKILL if the process is still there after a while. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Last resort if the test process exits without running its `after` hooks.
process.on("exit", () => {
  for (const child of running) {
    child.kill("SIGKILL");
  }
});

/**
 * Spawns `binDir()/name args...` and resolves once it prints `listening on ADDR`.
 * Rejects, with the tail of the child's output, when the binary is missing, exits early,
 * or stays silent for too long; the child is killed in every failure case.
 */
export async function startServer(name: string, args: readonly string[]): Promise<Server> {
  const path = resolve(binDir(), name);
  if (!existsSync(path)) {
    throw new Error(
      `${path} does not exist; build it with \`cargo build -p grpcweb-proxy -p grpcweb-interop --bins\` ` +
        `or set GRPCWEB_BIN_DIR`,
    );
  }
  const child = spawn(path, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const exited = new Promise<void>((done) => {
    child.once("exit", () => {
      running.delete(child);
      done();
    });
  });

  let tail = "";
  const keep = (text: string): void => {
    tail = (tail + text).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stderr?.setEncoding("utf8").on("data", keep);

  const describe = `${name} ${args.join(" ")}`;
  const addr = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => {
      fail(new Error(`${describe}: no "listening on" line within ${START_TIMEOUT_MS} ms\n${tail}`));
    }, START_TIMEOUT_MS);
    const finish = (): void => clearTimeout(timer);
    child.once("error", (err) => {
      finish();
      fail(new Error(`${describe}: could not start: ${err.message}`));
    });
    // "close" rather than "exit": by then all of stderr has been read into `tail`.
    child.once("close", (code, signal) => {
      finish();
      fail(new Error(`${describe}: exited before listening (code ${code}, signal ${signal})\n${tail}`));
    });
    // readline keeps reading after the match, so stdout never fills up.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      keep(line + "\n");
      const found = LISTENING.exec(line);
      if (found?.[1] !== undefined) {
        finish();
        done(found[1]);
      }
    });
  }).catch(async (err: unknown) => {
    await stopChild(child, exited);
    throw err;
  });

  return {
    name,
    addr,
    stop: () => stopChild(child, exited),
  };
}

/** SIGTERM, then SIGKILL if `child` is still there after a while; resolves once it exited. */
export async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return; // never started, or already gone
  }
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((done) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      done();
    }, STOP_TIMEOUT_MS);
  });
  await Promise.race([exited, killed]);
  clearTimeout(timer);
  await exited;
}
