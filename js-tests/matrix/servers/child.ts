// Starting a peer as a child process and stopping it again, after the pattern of
// test/support/processes.ts: wait for the line that says where it listens (with a
// deadline), keep draining stdout and stderr so a chatty child never blocks on a full
// pipe, keep the tail of its output to explain a failure, stop with SIGTERM then SIGKILL.
//
// Peers announce their address in different ways (our servers print `listening on
// ADDR`, grpc-go and grpcwebproxy log it), so the caller passes the pattern. Each peer is
// started on port 0 and reports the port the kernel gave it: no port is picked in advance,
// so there is no race with other processes for it. For logged addresses we also wait until
// the port accepts a TCP connection.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

import { stopChild } from "../../test/support/processes.js";

/** How long a peer may take to announce its address and accept connections. */
const START_TIMEOUT_MS = 30_000;
/** How much of a child's output we keep for error messages. */
const OUTPUT_TAIL_CHARS = 4_000;
/** Pause between two connection attempts while waiting for a port. */
const POLL_INTERVAL_MS = 50;

/** How to start one peer. */
export interface ChildSpec {
  /** Peer name, for messages. */
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

const running = new Set<ChildProcess>();
// Last resort if the runner exits without stopping its peers.
process.on("exit", () => {
  for (const child of running) {
    child.kill("SIGKILL");
  }
});

/**
 * Spawns the peer and resolves once it announced its port (and, with `pollPort`, accepts
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
