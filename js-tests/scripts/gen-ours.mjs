// Generates our TypeScript (protoc-gen-grpcweb-ts) for the interop protos into gen/ours/,
// next to protoc-gen-es's output in gen/ (both gitignored). `npm run gen` runs it after
// `buf generate`. The plugin comes from $GRPCWEB_BIN_DIR when set (cargo xtask builds it),
// else from the workspace's target/debug, built here first.

import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const jsTests = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(jsTests, "..");
let binDir = process.env["GRPCWEB_BIN_DIR"];
if (binDir === undefined || binDir === "") {
  execFileSync("cargo", ["build", "-q", "-p", "protoc-gen-grpcweb-ts"], { cwd: root, stdio: "inherit" });
  binDir = join(root, "target", "debug");
}
const template = {
  version: "v2",
  inputs: [{ directory: "../protos", paths: ["../protos/grpc/testing"] }],
  plugins: [{ local: resolve(binDir, "protoc-gen-grpcweb-ts"), out: "gen/ours", opt: ["import_extension=js"] }],
};
execFileSync(join(jsTests, "node_modules", ".bin", "buf"), ["generate", "--template", JSON.stringify(template)], {
  cwd: jsTests,
  stdio: "inherit",
});
