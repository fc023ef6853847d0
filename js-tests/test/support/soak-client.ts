// The client soak's load (run by soak.test.ts in a child `node --expose-gc`): CALLS calls of
// the generated TestServiceClient on grpcweb-client through the proxy, CONCURRENCY at a
// time, mixing OK unary calls, unary calls answered with an error status, server streams,
// streams aborted after their first message and unary calls aborted before any answer.
// After WARMUP calls and at the end it collects garbage and samples the JS heap and the
// size of the wasm core's linear memory, and prints one JSON line: the samples, the count
// of each kind of call, and the first unexpected outcomes.
//
// The wasm memory is found without help from the package: WebAssembly.instantiate,
// instantiateStreaming and the Instance and Memory constructors are wrapped before the
// package loads, and every WebAssembly.Memory an instance exports or JS creates is kept.
//
// Usage: node --expose-gc soak-client.js BASE_URL CALLS WARMUP CONCURRENCY binary|text|both

// The bits of the WebAssembly JS API used here (js-tests compile without the DOM library).
interface Memory {
  readonly buffer: ArrayBuffer;
}
interface Instance {
  readonly exports: Record<string, unknown>;
}
interface Wasm {
  Memory: abstract new (...args: never[]) => Memory;
  Instance: abstract new (...args: never[]) => Instance;
  instantiate(...args: unknown[]): Promise<Instance | { instance: Instance }>;
  instantiateStreaming?(...args: unknown[]): Promise<{ instance: Instance }>;
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
const memories = new Set<Memory>();
const keepMemories = (result: Instance | { instance: Instance }): void => {
  const instance = result instanceof wasm.Instance ? result : (result as { instance: Instance }).instance;
  for (const value of Object.values(instance.exports)) {
    if (value instanceof wasm.Memory) memories.add(value);
  }
};
const instantiate = wasm.instantiate.bind(wasm);
const instantiateStreaming = wasm.instantiateStreaming?.bind(wasm);
wasm.instantiate = async (...args) => {
  const result = await instantiate(...args);
  keepMemories(result);
  return result;
};
if (instantiateStreaming !== undefined) {
  wasm.instantiateStreaming = async (...args) => {
    const result = await instantiateStreaming(...args);
    keepMemories(result);
    return result;
  };
}
// And instances made synchronously, and memories the JS side creates and passes in.
wasm.Instance = new Proxy(wasm.Instance, {
  construct(target, args, newTarget) {
    const instance = Reflect.construct(target, args, newTarget) as Instance;
    keepMemories(instance);
    return instance;
  },
});
wasm.Memory = new Proxy(wasm.Memory, {
  construct(target, args, newTarget) {
    const memory = Reflect.construct(target, args, newTarget) as Memory;
    memories.add(memory);
    return memory;
  },
});

const { Code, RpcError, createGrpcWebTransport } = await import("grpcweb-client");
const { TestServiceClient } = await import("../../gen/ours/grpc/testing/test_grpcweb.js");

const [baseUrl, callsArg, warmupArg, concurrencyArg, format] = process.argv.slice(2);
const CALLS = Number(callsArg);
const WARMUP = Number(warmupArg);
const CONCURRENCY = Number(concurrencyArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (baseUrl === undefined || !(CALLS > 0) || !(WARMUP > 0) || !(CONCURRENCY > 0) || gc === undefined) {
  throw new Error("usage: node --expose-gc soak-client.js BASE_URL CALLS WARMUP CONCURRENCY binary|text|both");
}

// FORMAT "binary" or "text", or "both": the calls alternate between the two, round by round.
const clients = (
  format === "both" ? (["binary", "text"] as const) : ([format === "text" ? "text" : "binary"] as const)
).map((f) => new TestServiceClient(createGrpcWebTransport({ baseUrl, format: f })));
const KINDS = ["unary", "unary", "unary", "error", "stream", "stream", "abort stream", "abort unary"] as const;
type Kind = (typeof KINDS)[number];
const counts: Record<Kind, number> = { unary: 0, error: 0, stream: 0, "abort stream": 0, "abort unary": 0 };
const unexpected: string[] = [];

async function expectCode(call: Promise<unknown>, code: number): Promise<void> {
  const err = await call.then(
    () => new Error("succeeded"),
    (e: unknown) => e,
  );
  if (!(err instanceof RpcError) || err.code !== code) throw new Error(`expected ${Code[code]}, got ${String(err)}`);
}

async function one(kind: Kind, client: InstanceType<typeof TestServiceClient>): Promise<void> {
  switch (kind) {
    case "unary": {
      const res = await client.unaryCall({ responseSize: 8, payload: { body: new Uint8Array(8) } });
      if (res.payload?.body.length !== 8) throw new Error(`unary: ${res.payload?.body.length} bytes`);
      return;
    }
    case "error":
      return expectCode(
        client.unaryCall({ responseStatus: { code: Code.NOT_FOUND, message: "soak" } }),
        Code.NOT_FOUND,
      );
    case "stream": {
      let n = 0;
      for await (const _ of client.streamingOutputCall({ responseParameters: [{ size: 1 }, { size: 2 }, { size: 3 }] }))
        n++;
      if (n !== 3) throw new Error(`stream: ${n} messages`);
      return;
    }
    case "abort stream": {
      const controller = new AbortController();
      const stream = client.streamingOutputCall(
        { responseParameters: [{ size: 1 }, { size: 1, intervalUs: 1_000_000 }] },
        { signal: controller.signal },
      );
      return expectCode(
        (async () => {
          for await (const _ of stream) controller.abort();
        })(),
        Code.CANCELLED,
      );
    }
    case "abort unary": {
      const controller = new AbortController();
      const call = client.unaryCall({ responseSize: 1 }, { signal: controller.signal });
      controller.abort();
      return expectCode(call, Code.CANCELLED);
    }
  }
}

let started = 0;
async function run(until: number): Promise<void> {
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (started < until) {
        const n = started++;
        const kind = KINDS[n % KINDS.length]!;
        try {
          await one(kind, clients[Math.floor(n / KINDS.length) % clients.length]!);
          counts[kind]++;
        } catch (e) {
          if (unexpected.length < 5) unexpected.push(`${kind}: ${String(e)}`);
        }
      }
    }),
  );
}

/** Heap after full collections (a few: finalizers can free more on the next one). */
async function sample(): Promise<{ heapUsed: number; wasmBytes: number }> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((done) => setImmediate(done));
  }
  return {
    heapUsed: process.memoryUsage().heapUsed,
    wasmBytes: [...memories].reduce((n, m) => n + m.buffer.byteLength, 0),
  };
}

const t0 = performance.now();
await run(WARMUP);
const warm = await sample();
await run(CALLS);
const end = await sample();
console.log(
  JSON.stringify({
    seconds: (performance.now() - t0) / 1000,
    memories: memories.size,
    warm,
    end,
    counts,
    unexpected,
  }),
);
