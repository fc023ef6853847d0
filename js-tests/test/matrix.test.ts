// The interop matrix's own logic (js-tests/matrix/): the known-failing list and buf curl's
// output parsing. The matrix itself runs as `cargo xtask interop`.

import assert from "node:assert/strict";
import { test } from "node:test";

import { splitJsonDocuments } from "../matrix/clients/node.js";
import { findKnown, parseKnownFailing } from "../matrix/known.js";

const OURS = new Set(["ours-node", "ours-chromium"]);

test("known-failing entries: five fields, a reason, wildcards", () => {
  const known = parseKnownFailing(
    ["# comment", "", "peer-a  *  binary  1.1  large_unary  # peer-a cannot", "*  srv  *  *  *  # srv is odd"].join(
      "\n",
    ),
    OURS,
  );
  assert.equal(known.length, 2);
  assert.equal(findKnown(known, ["peer-a", "srv2", "binary", "1.1", "large_unary"])?.reason, "peer-a cannot");
  assert.equal(findKnown(known, ["peer-a", "srv2", "text", "1.1", "large_unary"]), undefined);
  assert.equal(findKnown(known, ["anyone", "srv", "text", "2", "empty_unary"])?.line, 4);
});

test("known-failing entries without a reason, with the wrong shape, or naming our client are refused", () => {
  assert.throws(() => parseKnownFailing("peer * * * case", OURS), /reason/);
  assert.throws(() => parseKnownFailing("peer * * case # why", OURS), /line 1/);
  assert.throws(() => parseKnownFailing("ours-node * * * case # flaky", OURS), /our own client/);
});

test("buf curl output: concatenated pretty-printed JSON documents, braces inside strings", () => {
  const text = '{\n  "a": "x}{"\n}\n{\n  "b": {"c": "\\"}"}\n}\n';
  assert.deepEqual(splitJsonDocuments(text), [{ a: "x}{" }, { b: { c: '"}' } }]);
  assert.deepEqual(splitJsonDocuments(""), []);
});
