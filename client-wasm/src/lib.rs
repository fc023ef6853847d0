//! grpcweb-client: the browser runtime of grpcweb, gRPC-Web over `fetch` in Rust compiled
//! to WebAssembly.
//!
//! The crate has two layers:
//!
//! - plain Rust that runs anywhere and is unit-tested on the host: [`request`] builds the
//!   headers (`grpc-timeout`, `-bin` metadata) and the framed body, [`response`] is the
//!   state machine that turns the HTTP status, headers and body chunks into messages and
//!   one final status (docs/protocol.md K1-K4, S6), [`details`] decodes
//!   `grpc-status-details-bin`, [`RpcError`] is the one error type and [`Metadata`] the
//!   list of response headers or trailers that comes with results and errors;
//! - on `wasm32` only, a `fetch` driver (streaming `ReadableStream` reads, deadline timer,
//!   `AbortSignal`) and the wasm-bindgen API in `bindings`, which the npm package
//!   `grpcweb-client` wraps in TypeScript (`createGrpcWebTransport`);
//! - on `wasm32` with the `tower` feature, `service::GrpcWebClient`: a tower `Service`
//!   over the same driver, so tonic-generated clients run in the browser.
//!
//! All framing, base64 text decoding and trailer parsing is `grpcweb-protocol`'s.
//!
//! # Example
//!
//! The response state machine, fed a trailers-only response:
//!
//! ```
//! use grpcweb_client::Metadata;
//! use grpcweb_client::response::{Event, ResponseDecoder};
//! use grpcweb_protocol::Code;
//!
//! let mut headers = Metadata::new();
//! headers.append("grpc-status", "12");
//! let mut decoder = ResponseDecoder::new(true);
//! decoder.on_headers(200, &headers).unwrap();
//! let Event::End { result, .. } = decoder.finish().unwrap() else { unreachable!() };
//! assert_eq!(result.unwrap_err().code(), Code::Unimplemented);
//! ```
//!
//! # Limitations
//!
//! - Unary and server-streaming calls only: `fetch` cannot stream request bodies to a
//!   gRPC-Web proxy, so client-streaming and bidi methods are not offered.
//! - No message compression: none is offered, and a compressed frame fails the call.
//! - A custom `fetch` that ignores its `AbortSignal` cannot be interrupted mid-read; the
//!   call then ends when that fetch settles.
//! - Messages above 4 MiB fail with RESOURCE_EXHAUSTED.
//! - The tower service hands messages to tonic through a one-slot channel; when tonic
//!   drops the response body, the fetch is aborted once the next message arrives, not
//!   before.
//! - Size: about 28 KB of gzip-compressed wasm (59 KB raw, inlined gzip-compressed), of
//!   which the call state machine and request building are about a quarter (see the
//!   crate README).

pub mod details;
pub mod error;
pub mod metadata;
pub mod request;
pub mod response;

#[cfg(target_arch = "wasm32")]
pub mod bindings;
#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(all(target_arch = "wasm32", feature = "tower"))]
pub mod service;

pub use error::RpcError;

// Single-threaded wasm only (talc's constructor checks it); see the `talc-allocator`
// feature in Cargo.toml.
#[cfg(all(
    target_arch = "wasm32",
    not(target_feature = "atomics"),
    feature = "talc-allocator"
))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
pub use metadata::Metadata;
