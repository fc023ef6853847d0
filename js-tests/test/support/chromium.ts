// Headless Chromium for the browser tests and the interop matrix: Debian's chromium (or
// $CHROMIUM_PATH), driven by playwright-core, never a browser a tool downloads itself.

import { existsSync } from "node:fs";

import { chromium, type Browser } from "playwright-core";

/** The browser binary: `$CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

// No background traffic: this machine's network is closed (see the README).
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts headless Chromium, with `extraFlags` after ours (e.g. a test certificate's
 * `--ignore-certificate-errors-spki-list`, see tls.ts). launch() gives it a fresh
 * temporary --user-data-dir and removes it on close. Throws a readable error when the
 * binary is missing.
 */
export async function launchChromium(extraFlags: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (cargo xtask test does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extraFlags] });
}
