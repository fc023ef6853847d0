// Bundles the demo page into dist/: src/main.ts (with the generated clients in gen/ and the
// grpcweb-client runtime, its wasm inlined) as one ES module, plus the HTML and CSS.
// `cargo xtask demo` runs protoc-gen-grpcweb-ts into gen/ first, then `npm run build`.

import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const dir = dirname(fileURLToPath(import.meta.url));
const dist = join(dir, "dist");
if (!existsSync(join(dir, "gen", "examples", "demo_grpcweb.ts"))) {
  console.error("gen/ is missing: `cargo xtask demo` generates it with protoc-gen-grpcweb-ts");
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const result = await build({
  entryPoints: [join(dir, "src", "main.ts")],
  outfile: join(dist, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
});
for (const file of ["index.html", "style.css", "favicon.svg"]) {
  copyFileSync(join(dir, "src", file), join(dist, file));
}
const bytes = Object.entries(result.metafile.outputs).find(([name]) => name.endsWith("app.js"))?.[1].bytes ?? 0;
console.log(`examples/web: dist/app.js ${bytes} B (runtime and wasm included)`);
