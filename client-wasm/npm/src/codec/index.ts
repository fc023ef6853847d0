// The protobuf codec that generated `*_pb.ts` files use: wire reader/writer, the
// message runtime driven by generated field tables, proto3 JSON and well-known types.
// Generated code refers to the binary codec only (messageType, enumType,
// methodDescriptor...); JSON, equals and clone are free functions, so a bundler leaves
// them out of apps that do not call them, and `createClient` takes the methods an app
// calls. Every module here is free of side effects.

export { ProtobufError, WireType, decodeUtf8, encodeUtf8 } from "./wire.js";
export { BinaryReader } from "./reader.js";
export { BinaryWriter } from "./writer.js";
export { base64Decode, base64Encode } from "./base64.js";
export { clone, enumType, equals } from "./fields.js";
export { fromJson, toJson } from "./json.js";
export { messageType, createRegistry } from "./type.js";
export { mapField } from "./map.js";
export { closedEnum } from "./closed.js";
export { groupField } from "./group.js";
export { checkRequired } from "./required.js";
export { wrapperField } from "./wrapper.js";
export { wideScalar } from "./wide.js";
export {
  clearExtension,
  extension,
  getExtension,
  hasExtension,
  setExtension,
  type ExtensionDecl,
} from "./extension.js";
export {
  bidiStreamingMethod,
  callMethod,
  clientStreamingMethod,
  createClient,
  createInputs,
  methodDescriptor,
  serverStreamingMethod,
  unaryMethod,
  unsupportedMethod,
  type Client,
  type Method,
  type MethodCall,
} from "./method.js";
export {
  anyPack,
  anyUnpack,
  durationFromMs,
  durationToMs,
  timestampFromDate,
  timestampToDate,
  type TimestampLike,
} from "./wkt.js";
export { fieldDefault, getField, oneofValue } from "./access.js";
export { withDefaults, type WithDefaults } from "./defaults.js";
