// A loopback URL where nothing listens: bind a free port, then close it.

import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return `http://127.0.0.1:${port}`;
}
