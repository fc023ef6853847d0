//! The gRPC-Web wire format, sans-IO.
//!
//! `grpcweb-protocol` is the one implementation of gRPC-Web framing shared by the proxy
//! (`grpcweb-proxy`) and the browser runtime (`grpcweb-client`, compiled to wasm32). It does
//! no I/O: every piece is a pure function or a small state machine over [`bytes`], so the
//! same code is tested once and runs on both ends of the wire.
//!
//! | module | what it does | rules (`docs/protocol.md`) |
//! |---|---|---|
//! | [`framing`] | 5-byte frame headers, an incremental frame decoder | F1-F3 |
//! | [`trailers`] | the `name:value\r\n` trailer block of the 0x80 frame | S4, K1 |
//! | [`text`] | `grpc-web-text`: incremental base64 decoder, per-segment encoder | R5, S3, K4 |
//! | [`content_type`] | classify `content-type` into mode and codec | R1, R4, S1 |
//! | [`timeout`] | `grpc-timeout` parse and format | D1 |
//! | [`status`] | status codes, [`Status`], the HTTP-status table | S6, K2, K3 |
//! | [`percent`] | `grpc-message` percent-encoding | S8 |
//! | [`metadata`] | `-bin` metadata values | S9 |
//! | [`response`] | the client's response decoder: headers, chunks, events, final status | K1-K6, S6, F3 |
//! | [`details`] | `grpc-status-details-bin` as `google.rpc.Status` | K6 |
//! | [`varint`] | protobuf base-128 varints | |
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use grpcweb_protocol::framing::{encode_frame, FrameDecoder, FrameKind};
//!
//! let wire = encode_frame(FrameKind::Data, b"hello");
//! let mut decoder = FrameDecoder::new(4 * 1024 * 1024);
//! // Chunk boundaries do not matter: feed the bytes one at a time.
//! for byte in wire.iter() {
//!     decoder.push(Bytes::copy_from_slice(&[*byte]));
//! }
//! let frame = decoder.next_frame().unwrap().unwrap();
//! assert_eq!(frame.kind, FrameKind::Data);
//! assert_eq!(&frame.payload[..], b"hello");
//! ```
//!
//! # Features
//!
//! - `http` (default): conversions to and from `http::HeaderMap` (the proxy's).
//! - `std` (default): `std` support of the dependencies; without it (and without `http`)
//!   the crate is `no_std` + `alloc`, as the wasm client builds it.
//! - `fast-text` (default, needs `std`): text bodies decoded and encoded by `base64-simd`
//!   (SIMD instructions picked at run time, a scalar fallback), with a 4 KB table for the
//!   blocks it refuses. The wasm client leaves all three out to stay small.
//!
//! # Limitations
//!
//! - Compression is not implemented here: compressed frames are recognised by their flag
//!   and passed on, and callers decide what to do with them.
//! - The decoders never allocate more than one frame's worth of buffered input beyond what
//!   they were given, and refuse frames above the configured limit before buffering them.

#![cfg_attr(not(any(feature = "std", test)), no_std)]

extern crate alloc;

pub mod content_type;
pub mod details;
pub mod framing;
pub mod metadata;
pub mod percent;
pub mod response;
pub mod status;
pub mod text;
pub mod timeout;
pub mod trailers;
pub mod varint;

pub use content_type::{Codec, ContentType, Mode};
pub use framing::{Frame, FrameDecoder, FrameError, FrameKind};
pub use status::{Code, Status};
