// interop/known-failing.txt: the matrix's expected failures, each a peer's limitation.

export interface KnownFailure {
  readonly pattern: readonly [string, string, string, string, string];
  readonly reason: string;
  readonly line: number;
  used: boolean;
}

/** `client server wire http case  # reason` per line; `*` matches anything. */
export function parseKnownFailing(text: string, ourClients: ReadonlySet<string>): KnownFailure[] {
  const out: KnownFailure[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) {
      return;
    }
    const hash = line.indexOf("#");
    const reason = hash < 0 ? "" : line.slice(hash + 1).trim();
    const fields = (hash < 0 ? line : line.slice(0, hash)).trim().split(/\s+/);
    if (fields.length !== 5 || reason === "") {
      throw new Error(
        `known-failing.txt line ${i + 1}: want "client server wire http case  # reason", got ${JSON.stringify(raw)}`,
      );
    }
    if (ourClients.has(fields[0]!)) {
      throw new Error(
        `known-failing.txt line ${i + 1}: our own client may not be listed (${fields[0]}); fix the bug instead`,
      );
    }
    out.push({ pattern: fields as unknown as KnownFailure["pattern"], reason, line: i + 1, used: false });
  });
  return out;
}

export function findKnown(known: readonly KnownFailure[], key: readonly string[]): KnownFailure | undefined {
  return known.find((k) => k.pattern.every((p, i) => p === "*" || p === key[i]));
}
