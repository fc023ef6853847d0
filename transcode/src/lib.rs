//! JSON for gRPC calls, from protobuf descriptors: what `grpcweb-proxy` needs to serve
//! gRPC-Web with JSON messages (`application/grpc-web+json`, `application/grpc+json`)
//! and REST/JSON (`google.api.http` rules) in front of backends that speak protobuf only.
//!
//! - [`Descriptors`]: the descriptor pool read from `FileDescriptorSet` files (as
//!   `protoc --include_imports --descriptor_set_out` or `buf build -o` write them), and
//!   its methods by gRPC path.
//! - [`MethodCodec`]: one method's messages between the proto3 JSON mapping and protobuf,
//!   done by `prost-reflect` (no JSON codec of our own).
//! - [`RestRoutes`]: the REST bindings of the descriptors' `google.api.http` rules, the
//!   binding a request takes, and ([`request_message`], [`response_body`],
//!   [`status_body`]) the request message it makes and the JSON it answers.
//! - [`failure`]: what a client sees when transcoding fails, an extension of
//!   `grpcweb_layer::failure`'s table.
//!
//! The crate is sans-IO: no server, bodies or tasks; the proxy does the streaming.

mod depth;
mod descriptors;
pub mod failure;
mod message;
mod rest;
mod rules;
mod template;

pub use descriptors::{Descriptors, LoadError, grpc_path};
pub use failure::TranscodeError;
pub use message::{JsonOptions, MethodCodec};
pub use prost_reflect::{DescriptorPool, MethodDescriptor};
pub use rest::{request_message, response_body, status_body};
pub use rules::{Binding, BodyRule, Matched, RestRoutes, RuleError, RuleSpec};
