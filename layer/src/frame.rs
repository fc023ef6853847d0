//! The gRPC-Web trailer frame (0x80): how a call's status and trailing metadata reach a
//! client that cannot read HTTP trailers.

use bytes::{BufMut, Bytes, BytesMut};
use grpcweb_protocol::framing::{FrameKind, HEADER_LEN, encode_header};
use grpcweb_protocol::{Mode, text, trailers};
use http::HeaderMap;

/// One complete trailer frame for `trailers`, base64-encoded in text mode.
pub(crate) fn trailer_frame(mode: Mode, trailers: &HeaderMap) -> Bytes {
    let len = trailers::estimate_len(trailers);
    let mut frame = BytesMut::with_capacity(HEADER_LEN + len);
    frame.put_slice(&encode_header(FrameKind::Trailers, len));
    trailers::encode_into(trailers, &mut frame);
    match mode {
        Mode::Binary => frame.freeze(),
        Mode::Text => text::encode_segment(&frame),
    }
}
