// Bundle checks of generated clients: apps built with esbuild (--bundle --minify, as
// js-tests/bench/size.mjs builds them) from the generated code of
// protos/codegen/library.proto (a service of twenty methods) and the codec sources. An
// app that calls one method must not bundle the others, and each method it adds costs
// its descriptor and its own messages only.

import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

// This file runs from codegen/dist/js-tests/codegen/; the sources are in codegen/.
const dir = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Bundles an app (TypeScript source next to the generated code) and returns its bytes. */
export async function bundleApp(source: string): Promise<{ text: string; min: number; gzip: number }> {
  const result = await build({
    stdin: { contents: source, resolveDir: dir, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "error",
    // An alias would also rewrite "grpcweb-client/wkt" below the stand-in file.
    plugins: [
      {
        name: "grpcweb-client",
        setup(b) {
          b.onResolve({ filter: /^grpcweb-client$/ }, () => ({ path: join(dir, "grpcweb-client.ts") }));
          b.onResolve({ filter: /^grpcweb-client\/wkt$/ }, () => ({
            path: join(dir, "..", "..", "client-wasm", "npm", "src", "wkt", "index.ts"),
          }));
          b.onResolve({ filter: /^grpcweb-client\/reflect$/ }, () => ({
            path: join(dir, "..", "..", "client-wasm", "npm", "src", "reflect.ts"),
          }));
        },
      },
    ],
  });
  const bytes = (result.outputFiles[0] as { contents: Uint8Array }).contents;
  return { text: new TextDecoder().decode(bytes), min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

const LIBRARY = "./out/ours/codegen/library_grpcweb.js";

/** An app calling the given methods of LibraryService through createClient. */
function libraryApp(methods: Array<[key: string, method: string, request: string]>): string {
  return `import { createClient, type Transport } from "grpcweb-client";
import { ${methods.map(([, m]) => `LibraryService_${m}`).join(", ")} } from "${LIBRARY}";
export function app(t: Transport): unknown[] {
  const c = createClient({ ${methods.map(([k, m]) => `${k}: LibraryService_${m}`).join(", ")} }, t);
  return [${methods.map(([k, , r]) => `c.${k}(${r})`).join(", ")}];
}
`;
}

const GET: [string, string, string] = ["getBook", "GetBook", `{ name: "shelves/1/books/2" }`];

/** An app that encodes and decodes one message of a generated `_pb` module. */
function messageApp(module: string, name: string): string {
  return `import { ${name} as T } from "${module}";
console.log(T.fromBinary(T.toBinary(T.create())));
`;
}

// Text that only the map codec, the required check and the JSON mapping hold.
const MAP_CODEC = /map entry of field/;
const REQUIRED_CHECK = /required field/;
const JSON_MAPPING = /expected a JSON object/;
// The extension descriptor's methods as their object literal defines them (JSON calls them
// as `.$read(`).
const EXTENSIONS = /[{,]\$read\(/;

export const cases: Array<[string, () => void | Promise<void>]> = [
  [
    "the binary codec bundles maps and required checks only with messages that have them",
    async () => {
      const plain = await bundleApp(messageApp("./out/ours/grpc/testing/messages_pb.js", "SimpleRequest"));
      for (const absent of [MAP_CODEC, REQUIRED_CHECK, JSON_MAPPING, EXTENSIONS])
        assert.doesNotMatch(plain.text, absent);
      const withMaps = await bundleApp(messageApp("./out/ours/codegen/all_types_pb.js", "AllTypes"));
      assert.match(withMaps.text, MAP_CODEC);
      assert.doesNotMatch(withMaps.text, REQUIRED_CHECK);
      const proto2 = await bundleApp(messageApp("./out/ours/codegen/proto2_pb.js", "Proto2Types"));
      assert.match(proto2.text, REQUIRED_CHECK);
      assert.doesNotMatch(proto2.text, JSON_MAPPING);
      console.log(
        `codec bundle sizes (esbuild --minify, gzip -9): SimpleRequest ${plain.min} B min, ${plain.gzip} B gzip; ` +
          `AllTypes ${withMaps.gzip} B gzip; Proto2Types ${proto2.gzip} B gzip`,
      );
    },
  ],
  [
    "extensions are bundled only by apps that use one (not by JSON with a registry, nor by a file that declares some)",
    async () => {
      const json = await bundleApp(`import { createRegistry, toJson } from "grpcweb-client";
import { SimpleRequest } from "./out/ours/grpc/testing/messages_pb.js";
console.log(toJson(SimpleRequest, SimpleRequest.create(), { registry: createRegistry(SimpleRequest) }));
`);
      // The JSON mapping asks the registry for extensions; the extension module stays out.
      assert.match(json.text, /extensionsOf/);
      assert.doesNotMatch(json.text, EXTENSIONS);
      // A message of a file that declares extensions, without them.
      const declared = await bundleApp(messageApp("./out/ours/codegen/extensions_pb.js", "Account"));
      assert.doesNotMatch(declared.text, EXTENSIONS);
      const used = await bundleApp(`import { getExtension, setExtension } from "grpcweb-client";
import { Account, extInt32 } from "./out/ours/codegen/extensions_pb.js";
const m = Account.create();
setExtension(m, extInt32, 1);
console.log(getExtension(Account.fromBinary(Account.toBinary(m)), extInt32));
`);
      assert.match(used.text, EXTENSIONS);
      console.log(
        `extensions bundle: Account ${declared.min} B min, ${declared.gzip} B gzip; with getExtension and setExtension ` +
          `${used.min} B min, ${used.gzip} B gzip`,
      );
    },
  ],
  [
    "an app calling one method of a 20-method service bundles that method only",
    async () => {
      const one = await bundleApp(libraryApp([GET]));
      assert.match(one.text, /"GetBook"/);
      assert.match(one.text, /codegen\.library\.GetBookRequest/);
      // A unary method does not bring the calls of the streaming kinds.
      assert.doesNotMatch(one.text, /can stream requests/);
      for (const other of [
        "ListBooks",
        "DeleteBook",
        "WatchShelf",
        "codegen.library.Author",
        "codegen.library.ShelfEvent",
      ]) {
        assert.doesNotMatch(one.text, new RegExp(`"${other.replaceAll(".", "\\.")}`), other);
      }
      // The whole class, for comparison: it refers to every method.
      const whole = await bundleApp(`import { LibraryServiceClient } from "${LIBRARY}";
export const app = (t: any) => new LibraryServiceClient(t).getBook({ name: "a" });`);
      assert.match(whole.text, /"WatchShelf"/);
      const extra = async (m: [string, string, string]): Promise<number> =>
        (await bundleApp(libraryApp([GET, m]))).gzip - one.gzip;
      const sizes = {
        "1 method (createClient)": `${one.min} B min, ${one.gzip} B gzip`,
        "whole client class": `${whole.min} B min, ${whole.gzip} B gzip`,
        "+DeleteBook (2 new small messages)": `+${await extra(["deleteBook", "DeleteBook", `{ name: "x" }`])} B gzip`,
        "+CreateBook (1 new message)": `+${await extra(["createBook", "CreateBook", `{ parent: "x" }`])} B gzip`,
        "+ListBooks (2 new messages, one a list of Book)": `+${await extra(["listBooks", "ListBooks", `{ parent: "x" }`])} B gzip`,
      };
      console.log(`library app bundle sizes (esbuild --minify, gzip -9): ${JSON.stringify(sizes, null, 1)}`);
    },
  ],
];
