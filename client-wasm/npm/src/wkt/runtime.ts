// What the generated well-known types in ./google/protobuf import: the codec and the
// message contract, the part of the package entry point that generated code uses (a
// relative module, since the package cannot import itself while it is built).
export * from "../codec/index.js";
export type * from "../message.js";
