// The benchmark messages, written once in a neutral form and built for each library with
// its own API and its own representation of 64-bit integers (bigint for ours,
// @bufbuild/protobuf and protobuf-ts; numbers for protobufjs, which reads them as Long).

const fill = (n, seed) => {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

/**
 * Each case: a name, the message type in each library's generated code (ours, es, pbts:
 * the export name; pbjs: the fully-qualified name), and the value as a plain object
 * whose 64-bit integers are bigint; `pbjsInit` turns it into protobufjs's form.
 */
export const cases = [
  {
    name: "SimpleRequest, 16 B payload",
    file: "messages",
    type: "SimpleRequest",
    pbjs: "grpc.testing.SimpleRequest",
    value: () => ({
      responseType: 0,
      responseSize: 16,
      payload: { type: 0, body: fill(16, 1) },
      fillUsername: true,
      fillOauthScope: true,
    }),
  },
  {
    name: "SimpleResponse, 1 KiB payload",
    file: "messages",
    type: "SimpleResponse",
    pbjs: "grpc.testing.SimpleResponse",
    value: () => ({
      payload: { type: 0, body: fill(1024, 2) },
      username: "alice@example.com",
      oauthScope: "https://www.googleapis.com/auth/userinfo.email",
      serverId: "interop-server-7",
      hostname: "backend-3.example.internal",
    }),
  },
  {
    name: "AllTypes: scalars, packed, map, nested, strings",
    file: "all_types",
    type: "AllTypes",
    pbjs: "codegen.alltypes.AllTypes",
    value: () => ({
      fDouble: 3.141592653589793,
      fFloat: 1.5,
      fInt64: -1234567890123n,
      fUint64: 9876543210n,
      fInt32: -42,
      fFixed64: 1n << 40n,
      fFixed32: 123456789,
      fBool: true,
      fString: "The quick brown fox jumps over the lazy dog",
      fBytes: fill(12, 3),
      fUint32: 4000000000,
      fSfixed32: -7,
      fSfixed64: -8n,
      fSint32: -300,
      fSint64: -400000n,
      fEnum: 2,
      fNestedEnum: 1,
      fMessage: { a: 7 },
      oString: "optional, and set",
      oUint32: 0,
      rInt32: Array.from({ length: 32 }, (_, i) => (i * 7919) % 100000),
      rDouble: [0.5, 1.25, -2.75, 1e10, 3.3, 4.4, 5.5, 6.6],
      rSint64: [-1n, 2n, -300n, 40000n, -5000000n],
      rString: ["alpha", "beta", "gamma", "delta", "épsilon", "ζeta"],
      rMessage: Array.from({ length: 8 }, (_, i) => ({ a: i * 1000 })),
      mStringString: { host: "api.example.com", path: "/v1/items", lang: "de-CH", region: "eu-west-1", tier: "gold" },
      mInt32Int32: { 1: 10, 2: 200, 3: 3000, 40: 40000, 500: -5 },
      choice: { case: "cString", value: "the oneof member" },
    }),
  },
  {
    name: "SimpleResponse, 64 KiB payload",
    file: "messages",
    type: "SimpleResponse",
    pbjs: "grpc.testing.SimpleResponse",
    value: () => ({ payload: { type: 0, body: fill(65536, 4) } }),
  },
];

const isOneof = (v) => v !== null && typeof v === "object" && "case" in v && !(v instanceof Uint8Array);

/** The plain value in protobuf-ts's form: oneofs as `{ oneofKind, [member]: value }`. */
export function pbtsInit(value) {
  if (value instanceof Uint8Array || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(pbtsInit);
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isOneof(v)
      ? { oneofKind: v.case, ...(v.case === undefined ? {} : { [v.case]: pbtsInit(v.value) }) }
      : pbtsInit(v);
  }
  return out;
}

/** The plain value in protobufjs's form: bigint as number, oneof members as fields. */
export function pbjsInit(value) {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(pbjsInit);
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (isOneof(v)) {
      if (v.case !== undefined) out[v.case] = pbjsInit(v.value);
    } else out[k] = pbjsInit(v);
  }
  return out;
}
