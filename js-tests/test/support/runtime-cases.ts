// The runtime test cases, written once and run in Node (runtime.test.ts) and in headless
// Chromium (browser.test.ts). Browser-safe: no node: imports; assertions are local. The
// cases live in cases/ by subject; this module is the one both runners load.

import { callCases } from "./cases/calls.js";
import { errorCases } from "./cases/errors.js";
import { interopCases } from "./cases/interop.js";
import type { Case } from "./cases/shared.js";

export { interopCases };
export { scriptedUnary, streamingOutputCall, type Case, type CaseContext, type Format } from "./cases/shared.js";

/** Every case, by name. */
export const allCases: Case[] = [...interopCases, ...callCases, ...errorCases];
