// Stands in for the "grpcweb-client" package entry point while type-checking and running
// generated code in js-tests: the codec, the message contract and the transport contract.
export * from "../../client-wasm/npm/src/codec/index.js";
export * from "../../client-wasm/npm/src/message.js";
export * from "../../client-wasm/npm/src/transport.js";
export * from "../../client-wasm/npm/src/code.js";
export * from "../../client-wasm/npm/src/error.js";
