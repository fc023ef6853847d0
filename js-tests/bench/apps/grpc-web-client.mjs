// A client for the official `grpc-web` runtime, written the way protoc-gen-grpc-web
// (import_style=typescript) writes one: a class holding a GrpcWebClientBase, one
// MethodDescriptor field per method, and per method a function calling `unaryCall` (or
// `rpcCall` with a callback) or `serverStreaming`. Client-streaming and bidi methods are
// left out, as that generator does.
//
// protoc-gen-grpc-web and protoc-gen-js (google-protobuf message classes) install from npm
// by downloading prebuilt binaries, which this benchmark does not rely on; the messages
// come from protoc-gen-es (@bufbuild/protobuf) instead, serialized by `toBinary` and
// parsed by `fromBinary` in the descriptors, where the generated code calls
// `serializeBinary` / `deserializeBinary`.

/**
 * @typedef {{ name: string, kind: "unary" | "server", input: string, output: string }} Method
 * name in PascalCase; input and output: the protoc-gen-es schema names (e.g. "SimpleRequestSchema").
 */

const camel = (name) => name[0].toLowerCase() + name.slice(1);

/**
 * TypeScript source of `export class ${service}Client`.
 * @param {string} fullName the service's full name, e.g. "grpc.testing.TestService"
 * @param {Method[]} methods
 * @param {Record<string, string>} imports schema name -> module to import it from
 */
export function grpcWebClientSource(fullName, methods, imports) {
  const service = fullName.slice(fullName.lastIndexOf(".") + 1);
  const byModule = new Map();
  for (const m of methods) {
    for (const schema of [m.input, m.output]) {
      const from = imports[schema];
      if (from === undefined) throw new Error(`no module for ${schema}`);
      byModule.set(from, new Set([...(byModule.get(from) ?? []), schema]));
    }
  }
  const lines = [
    `import * as grpcWeb from "grpc-web";`,
    `import { fromBinary, toBinary } from "@bufbuild/protobuf";`,
    ...[...byModule].map(([from, names]) => `import { ${[...names].join(", ")} } from "${from}";`),
    ``,
    `const NoType = function () {} as unknown as new () => any;`,
    ``,
    `export class ${service}Client {`,
    `  client_: grpcWeb.AbstractClientBase;`,
    `  hostname_: string;`,
    `  credentials_: null | { [index: string]: string };`,
    `  options_: null | { [index: string]: any };`,
    ``,
    `  constructor(hostname: string, credentials?: null | { [index: string]: string }, options?: null | { [index: string]: any }) {`,
    `    if (!options) options = {};`,
    `    if (!credentials) credentials = {};`,
    `    options["format"] = "text";`,
    `    this.client_ = new grpcWeb.GrpcWebClientBase(options);`,
    `    this.hostname_ = hostname.replace(/\\/+$/, "");`,
    `    this.credentials_ = credentials;`,
    `    this.options_ = options;`,
    `  }`,
  ];
  for (const m of methods) {
    const path = `/${fullName}/${m.name}`;
    const field = `methodDescriptor${m.name}`;
    const type = m.kind === "unary" ? "UNARY" : "SERVER_STREAMING";
    lines.push(
      ``,
      `  ${field} = new grpcWeb.MethodDescriptor(`,
      `    "${path}",`,
      `    grpcWeb.MethodType.${type},`,
      `    NoType,`,
      `    NoType,`,
      `    (request: any) => toBinary(${m.input}, request),`,
      `    (bytes: Uint8Array) => fromBinary(${m.output}, bytes),`,
      `  );`,
      ``,
    );
    if (m.kind === "unary") {
      lines.push(
        `  ${camel(m.name)}(request: any, metadata?: grpcWeb.Metadata | null, callback?: (err: grpcWeb.RpcError, response: any) => void): any {`,
        `    if (callback !== undefined) {`,
        `      return this.client_.rpcCall(this.hostname_ + "${path}", request, metadata || {}, this.${field}, callback);`,
        `    }`,
        `    return this.client_.unaryCall(this.hostname_ + "${path}", request, metadata || {}, this.${field});`,
        `  }`,
      );
    } else {
      lines.push(
        `  ${camel(m.name)}(request: any, metadata?: grpcWeb.Metadata): grpcWeb.ClientReadableStream<any> {`,
        `    return this.client_.serverStreaming(this.hostname_ + "${path}", request, metadata || {}, this.${field});`,
        `  }`,
      );
    }
  }
  lines.push(`}`, ``);
  return lines.join("\n");
}
