//! The gRPC-Web translation layer: gRPC-Web (binary or text, HTTP/1.1 or HTTP/2) in front,
//! native gRPC behind.
//!
//! See [`GrpcWebLayer`] for what happens to each request and response.

mod layer;
pub(crate) mod request;
pub(crate) mod response;
mod service;

pub use layer::GrpcWebLayer;
pub use request::{RequestBody, WebRequestBody};
pub use response::{ResponseBody, WebResponseBody};
pub use service::GrpcWebService;

#[cfg(test)]
mod tests;
