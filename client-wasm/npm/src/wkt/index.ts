// grpcweb-client/wkt: the well-known types (google/protobuf/*.proto) as
// protoc-gen-grpcweb-ts generates them; generated code imports them from here instead of
// writing copies next to the user's files. ./google/protobuf is the plugin's output
// (`cargo test -p protoc-gen-grpcweb-ts --test it golden` checks it; UPDATE_GOLDEN=1
// rewrites it). Their JSON forms and helpers (timestampFromDate, anyPack...) are in the
// package entry point.
export * from "./google/protobuf/any_pb.js";
export * from "./google/protobuf/api_pb.js";
export * from "./google/protobuf/descriptor_pb.js";
export * from "./google/protobuf/duration_pb.js";
export * from "./google/protobuf/empty_pb.js";
export * from "./google/protobuf/field_mask_pb.js";
export * from "./google/protobuf/source_context_pb.js";
export * from "./google/protobuf/struct_pb.js";
export * from "./google/protobuf/timestamp_pb.js";
export * from "./google/protobuf/type_pb.js";
export * from "./google/protobuf/wrappers_pb.js";
