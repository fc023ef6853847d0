// A TLS certificate made at test time (openssl CLI; no key is ever checked in) for the
// proxy to serve, and the hash Chromium trusts it by: with
// `--ignore-certificate-errors-spki-list=<hash>` the browser accepts this one certificate
// (and no other bad one), so pages talk HTTPS, and so HTTP/2, to a proxy on 127.0.0.1.

import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  /** PEM certificate, for `--tls-cert`. */
  readonly certPath: string;
  /** PEM private key (PKCS#8), for `--tls-key`. */
  readonly keyPath: string;
  /** Base64 SHA-256 of the certificate's SubjectPublicKeyInfo. */
  readonly spkiHash: string;
  /** The Chromium flag that trusts this certificate. */
  readonly chromiumFlag: string;
  /** Removes the files. */
  remove(): void;
}

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, valid for a day. */
export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "grpcweb-tls-"));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const spkiHash = spkiHashOf(readFileSync(certPath));
  return {
    certPath,
    keyPath,
    spkiHash,
    chromiumFlag: `--ignore-certificate-errors-spki-list=${spkiHash}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo (what Chromium pins). */
export function spkiHashOf(pem: Buffer | string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}
