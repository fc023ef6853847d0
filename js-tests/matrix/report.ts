// The interop matrix as markdown: the table (clients by servers), the notes on what does
// not apply, and the README section it is written into.

import { readFileSync, writeFileSync } from "node:fs";

import type { ClientSpec, Wire } from "./clients.js";
import type { HttpVersion } from "./clients/node.js";
import { servers } from "./servers.js";

/** One row of the matrix: a client with one wire format and HTTP version. */
export interface Row {
  readonly client: ClientSpec;
  readonly wire: Wire;
  readonly http: HttpVersion;
}

/** The cases of one client row against one server. */
export interface Cell {
  passed: number;
  failed: number;
  known: number;
  na: number;
  /** Why the whole cell does not apply. */
  naReason?: string;
}

export function naNotes(): string[] {
  return [
    "Not applicable:",
    "- browsers (Chromium) speak HTTP/1.1 to a cleartext origin and need CORS;",
    "- connect (web and node) and buf curl have no grpc-web-text; grpc-go's client speaks native gRPC only;",
    "- connect-node's server and tonic-web are here to prove our client: peer clients are not run against them;",
    ...servers.filter((s) => s.notes !== undefined).map((s) => `- ${s.label}: ${s.notes};`),
    "- buf curl cannot send a deadline (it reserves grpc-timeout) and does not print trailers, so timeout_on_sleeping_server and custom_metadata do not apply to it; it reads every request from stdin up front, so ping_pong does not either;",
    "- client_streaming and ping_pong stream requests: the official grpc-web runtime, protobuf-ts and connect-web have unary and server-streaming calls only; Chromium streams request bodies over HTTP/2 only, and the matrix page is cleartext HTTP/1.1 (our client answers UNIMPLEMENTED there, saying so).",
  ];
}

export function renderMatrix(rows: readonly Row[], cells: ReadonlyMap<string, Cell>): string {
  const header = `| client | wire | HTTP | ${servers.map((s) => s.label).join(" | ")} |`;
  const rule = `|---|---|---|${servers.map(() => "---:").join("|")}|`;
  const lines = rows.map((row) => {
    const values = servers.map((s) => {
      const cell = cells.get(`${row.client.id}|${row.wire}|${row.http}|${s.id}`);
      if (cell === undefined || cell.naReason !== undefined) {
        return "n/a";
      }
      const run = cell.passed + cell.failed + cell.known;
      let text = `${cell.passed}/${run}`;
      if (cell.known > 0) {
        text += ` (${cell.known}k)`;
      }
      if (cell.failed > 0) {
        text += " **FAIL**";
      }
      return text;
    });
    return `| ${row.client.label} | ${row.wire} | ${row.http} | ${values.join(" | ")} |`;
  });
  return [header, rule, ...lines].join("\n");
}

export function updateReadmeMatrix(readme: string, markdown: string): void {
  const begin = "<!-- matrix:begin (written by cargo xtask interop --update-readme) -->";
  const end = "<!-- matrix:end -->";
  const text = readFileSync(readme, "utf8");
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new Error(`README.md has no matrix markers (${begin} ... ${end})`);
  }
  writeFileSync(readme, text.slice(0, from + begin.length) + "\n" + markdown + "\n" + text.slice(to));
}
