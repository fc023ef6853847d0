// Starts the project's binaries (and the interop matrix's peers) for a test and stops them
// afterwards.
//
// Each is started with a port of 0 and reports the address it bound: our binaries as one
// stdout line, `listening on 127.0.0.1:PORT`; peers in their own words, so the caller
// passes the pattern. We wait for that line (with a deadline), keep draining stdout and
// stderr so a chatty child never blocks on a full pipe, keep the tail of its output to
// explain a failure, and stop with SIGTERM, then SIGKILL. No port is picked in advance, so
// there is no race with other processes for it. When the line is only a log line, we also
// wait until the port accepts a TCP connection.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** How long a child may take to announce its address (and accept connections). */
const START_TIMEOUT_MS = 30_000;
/** Pause between two connection attempts while waiting for a port. */
const POLL_INTERVAL_MS = 50;
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
  const child = await startChild({
    name,
    command: resolve(binDir(), name),
    args,
    ready: LISTENING,
    installHint: "build it with `cargo build -p grpcweb-proxy -p grpcweb-interop --bins` or set GRPCWEB_BIN_DIR",
  });
  return { name, addr: `127.0.0.1:${child.port}`, stop: child.stop };
}

/** How to start a child process that announces where it listens. */
export interface ChildSpec {
  /** Name, for messages. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Matched against every stdout and stderr line; group 1 is the `host:port` it bound. */
  readonly ready: RegExp;
  /** Wait until that port accepts a TCP connection (when the line is only a log line). */
  readonly pollPort?: boolean;
  /** What to do when the command is missing, for the error message. */
  readonly installHint: string;
}

/** A running child that announced its port. */
export interface Child {
  readonly name: string;
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** Sends SIGTERM, then SIGKILL if the process is still there after a while. */
  stop(): Promise<void>;
}

/**
 * Spawns the command and resolves once it announced its port (and, with `pollPort`, accepts
 * connections). Rejects with the tail of its output when the command is missing, exits
 * early or takes too long; the child is killed in every failure case.
 */
export async function startChild(spec: ChildSpec): Promise<Child> {
  if (!existsSync(spec.command)) {
    throw new Error(`${spec.name}: ${spec.command} does not exist; ${spec.installHint}`);
  }
  const child = spawn(spec.command, spec.args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...spec.env },
  });
  running.add(child);
  const exited = new Promise<void>((done) => {
    child.once("exit", () => {
      running.delete(child);
      done();
    });
  });

  let tail = "";
  const describe = `${spec.name} (${spec.command} ${spec.args.join(" ")})`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    const port = await new Promise<number>((done, fail) => {
      const timer = setTimeout(() => {
        fail(new Error(`${describe}: did not announce its address within ${START_TIMEOUT_MS} ms\n${tail}`));
      }, START_TIMEOUT_MS);
      const finish = (): void => clearTimeout(timer);
      child.once("error", (err) => {
        finish();
        fail(new Error(`${describe}: could not start: ${err.message}`));
      });
      // "close" rather than "exit": by then all of its output has been read into `tail`.
      child.once("close", (code, signal) => {
        finish();
        fail(new Error(`${describe}: exited before listening (code ${code}, signal ${signal})\n${tail}`));
      });
      // readline keeps reading after the match, so neither pipe ever fills up.
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream! }).on("line", (line) => {
          tail = (tail + line + "\n").slice(-OUTPUT_TAIL_CHARS);
          const port = portOf(spec.ready.exec(line)?.[1]);
          if (port !== undefined) {
            finish();
            done(port);
          }
        });
      }
    });
    if (spec.pollPort === true) {
      await waitForPort(port, deadline, () => `${describe}\n${tail}`);
    }
    return { name: spec.name, port, stop: () => stopChild(child, exited) };
  } catch (err) {
    await stopChild(child, exited);
    throw err;
  }
}

/** The port of `host:port` (`[::]:port` included), if it is one. */
function portOf(addr: string | undefined): number | undefined {
  const port = Number(addr?.slice(addr.lastIndexOf(":") + 1));
  return addr !== undefined && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; rejects after `deadline`. */
async function waitForPort(port: number, deadline: number, describe: () => string): Promise<void> {
  for (;;) {
    const accepted = await new Promise<boolean>((done) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        done(true);
      });
      socket.once("error", () => done(false));
    });
    if (accepted) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`port ${port} did not accept connections within ${START_TIMEOUT_MS} ms: ${describe()}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
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
