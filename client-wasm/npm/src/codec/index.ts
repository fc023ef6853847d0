// The protobuf codec that generated `*_pb.ts` files use: wire reader/writer, the
// message runtime driven by generated field tables, proto3 JSON and well-known types.

export { ProtobufError, WireType, decodeUtf8, encodeUtf8 } from "./wire.js";
export { BinaryReader } from "./reader.js";
export { BinaryWriter } from "./writer.js";
export { base64Decode, base64Encode } from "./base64.js";
export { enumType } from "./fields.js";
export {
  messageType, methodDescriptor, createInputs, createRegistry, unsupportedMethod,
} from "./type.js";
export {
  anyPack, anyUnpack, durationFromMs, durationToMs, timestampFromDate, timestampToDate, type TimestampLike,
} from "./wkt.js";
export { fieldDefault, getField, oneofValue } from "./access.js";
