// The matrix page's script, bundled by esbuild for headless Chromium: exposes
// `runMatrixCase(client, format, baseUrl, caseName)` for the runner to call.

import { runCase, type Outcome } from "./cases.js";
import type { Format } from "./clients/requests.js";
import { webClients } from "./clients/web.js";

interface MatrixPage {
  runMatrixCase(client: string, format: Format, baseUrl: string, caseName: string): Promise<Outcome>;
  matrixReady: boolean;
}

const page = globalThis as unknown as MatrixPage;
page.runMatrixCase = async (client, format, baseUrl, caseName) => {
  const make = webClients[client];
  if (make === undefined) {
    return { result: "fail", detail: `no such client: ${client}` };
  }
  return runCase(caseName, make(baseUrl, format));
};
page.matrixReady = true;
