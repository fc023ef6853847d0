//! grpcweb-client: the Rust side of grpcweb's browser runtime.
//!
//! The crate has two independent front-ends over the same protocol core,
//! [`grpcweb_protocol::response::ResponseDecoder`]:
//!
//! - [`abi`] (feature `abi`, default): the wasm core of the npm package `grpcweb-client`.
//!   A handful of `extern "C"` functions over linear memory, no imports: TypeScript
//!   fetches, reads the body and hands each chunk over; the core decodes frames (binary or
//!   base64 text, across any chunk boundaries), trailers, `grpc-message` and
//!   `grpc-status-details-bin` and hands back events. On wasm32 it brings a size-class
//!   allocator of its own; panics are traps and no `core::fmt` code is reachable.
//! - `service::GrpcWebClient` (feature `tower`, wasm32 only): a tower `Service` over
//!   `fetch` (wasm-bindgen, web-sys), so tonic-generated clients run in Rust front-ends
//!   (Leptos, Yew, Dioxus). It uses [`request`] to build headers and bodies, and reports
//!   failures as [`RpcError`] with [`Metadata`].
//!
//! # Example
//!
//! The core's exports, as TypeScript calls them, fed a trailers-only response:
//!
//! ```
//! use grpcweb_client::abi::*;
//!
//! let call = gw_new(4 << 20);
//! let headers = b"grpc-status:12\n";
//! unsafe {
//!     let buf = gw_buf(call, headers.len() as u32);
//!     std::ptr::copy_nonoverlapping(headers.as_ptr(), buf, headers.len());
//!     gw_headers(call, 200, headers.len() as u32);
//!     gw_end(call);
//!     assert_eq!(gw_next(call), 4, "the end");
//!     // code 12 (UNIMPLEMENTED), from the headers (0x100)
//!     assert_eq!(*gw_out(call).add(4), 12 | 0x100);
//!     gw_free(call);
//! }
//! ```
//!
//! # Limitations
//!
//! - Unary and server-streaming calls only: `fetch` cannot stream request bodies to a
//!   gRPC-Web proxy, so client-streaming and bidi methods are not offered.
//! - No message compression: none is offered, and a compressed frame fails the call.
//! - The tower service hands messages to tonic through a one-slot channel; when tonic
//!   drops the response body, the fetch is aborted once the next message arrives, not
//!   before.
//! - Size: the npm package's wasm is about 8 KB raw, 4.1 KB gzip-compressed (see the crate
//!   README for where the bytes go).

// The npm package's core (wasm32, feature `no-std`, no `tower`) is `no_std`: its panics
// trap at once, without std's panic hook and formatting.
#![cfg_attr(
    all(
        target_arch = "wasm32",
        feature = "no-std",
        not(feature = "tower"),
        not(test)
    ),
    no_std
)]

extern crate alloc;

#[cfg(feature = "abi")]
#[allow(unsafe_code)]
pub mod abi;
pub mod error;
pub mod metadata;
pub mod request;

#[cfg(all(target_arch = "wasm32", feature = "tower"))]
mod fetch;
#[cfg(all(target_arch = "wasm32", feature = "tower"))]
pub mod service;

pub use error::RpcError;

/// A panic (a bug, or memory exhausted) traps: the call fails in TypeScript with a
/// `RuntimeError`, and nothing of it is formatted.
#[cfg(all(
    target_arch = "wasm32",
    feature = "no-std",
    not(feature = "tower"),
    not(test)
))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
pub use metadata::Metadata;
