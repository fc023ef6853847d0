// The README's REST and JSON examples, run: every `console` block of its "JSON messages
// and REST" section holds `$ command` lines, each followed by the output it shows. Here
// the backend and the proxy are started as that section starts them (transcoding-server,
// the descriptor set of echo.proto built by buf, grpcweb-proxy --descriptor-set), each
// command runs under bash against them (the address, the set's path and `buf` replaced
// by this run's), and its output must match what the README shows: JSON compared as
// values (the proxy writes map keys in no set order), where the README's `"..."` stands
// for any value (a version in a user-agent); other lines as they are.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { startTranscoding, type Transcoding } from "./support/transcoding.js";

const TEST_TIMEOUT_MS = 30_000;
const JS_TESTS = fileURLToPath(new URL("../../", import.meta.url));
const SECTION = "## JSON messages and REST";
const README_ADDR = "http://127.0.0.1:8080";

interface Example {
  readonly command: string;
  readonly output: string;
}

/** The `$ command` lines of the section's `console` blocks, with the output under each. */
function examples(readme: string): Example[] {
  const start = readme.indexOf(`\n${SECTION}\n`);
  assert.ok(start >= 0, `README.md has no "${SECTION}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const out: Example[] = [];
  for (const block of section.matchAll(/```console\n([\s\S]*?)```/g)) {
    let current: { command: string; output: string[] } | undefined;
    for (const line of block[1]!.split("\n").slice(0, -1)) {
      if (line.startsWith("$ ")) {
        if (current !== undefined) out.push({ command: current.command, output: current.output.join("\n") });
        current = { command: line.slice(2), output: [] };
      } else {
        assert.ok(current !== undefined, `output before any command: ${line}`);
        current.output.push(line);
      }
    }
    if (current !== undefined) out.push({ command: current.command, output: current.output.join("\n") });
  }
  return out;
}

const parse = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};

/** Whether `actual` is the JSON value `expected`, where the string "..." matches anything. */
function matches(expected: unknown, actual: unknown): boolean {
  if (expected === "...") return true;
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(e, actual[i]))
    );
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    const keys = Object.keys(expected);
    return (
      keys.length === Object.keys(actual).length &&
      keys.every((k) => matches((expected as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k]))
    );
  }
  return expected === actual;
}

function assertOutput(command: string, expected: string, actual: string): void {
  const whole = parse(expected);
  if (whole.ok && expected.includes("\n")) {
    // One JSON document over several lines (buf curl's pretty printing).
    const got = parse(actual);
    assert.ok(got.ok && matches(whole.value, got.value), `${command}\nexpected:\n${expected}\nactual:\n${actual}`);
    return;
  }
  const want = expected.split("\n");
  const got = actual.replace(/\n$/, "").split("\n");
  assert.equal(got.length, want.length, `${command}\nexpected:\n${expected}\nactual:\n${actual}`);
  want.forEach((line, i) => {
    const json = parse(line);
    const ok = json.ok ? ((g) => g.ok && matches(json.value, g.value))(parse(got[i]!)) : line === got[i];
    assert.ok(ok, `${command}\nline ${i + 1}: expected\n${line}\nactual\n${got[i]}`);
  });
}

describe("README.md: the REST and JSON examples, run against the proxy", () => {
  const readme = readFileSync(join(JS_TESTS, "..", "README.md"), "utf8");
  const cases = examples(readme);
  let servers: Transcoding | undefined;
  before(async () => {
    servers = await startTranscoding({ backend: "transcoding-server", proto: "transcoding/v1/echo.proto" });
  });
  after(async () => {
    await servers?.stop();
  });

  it("has examples to run, curl and buf curl among them", () => {
    assert.ok(cases.filter((c) => c.command.startsWith("curl ")).length >= 5, JSON.stringify(cases));
    assert.ok(cases.some((c) => c.command.startsWith("buf curl --protocol grpcweb")));
  });

  for (const { command, output } of cases) {
    it(command, { timeout: TEST_TIMEOUT_MS }, () => {
      const run = command
        .replaceAll(README_ADDR, `http://${servers!.proxy.addr}`)
        .replaceAll(" echo.binpb ", ` ${servers!.set} `)
        .replace(/^buf /, `${join(JS_TESTS, "node_modules", ".bin", "buf")} `);
      const actual = execFileSync("bash", ["-c", run], { encoding: "utf8" });
      assertOutput(command, output, actual);
    });
  }
});
