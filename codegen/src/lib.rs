//! protoc-gen-grpcweb-ts: generates TypeScript from .proto files (work in progress).
