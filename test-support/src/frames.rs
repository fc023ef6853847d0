//! Builders for frames, trailer blocks and header maps, and a one-shot frame splitter.

use anyhow::{Context as _, bail};
use bytes::{Bytes, BytesMut};
use grpcweb_protocol::framing::{Frame, FrameDecoder, FrameKind, encode_frame};
use grpcweb_protocol::{Code, Status, trailers};
use http::{HeaderMap, HeaderName, HeaderValue};

/// One frame: flag byte, 4-byte big-endian length, payload.
pub fn frame(kind: FrameKind, payload: impl AsRef<[u8]>) -> Bytes {
    encode_frame(kind, payload.as_ref())
}

/// A 0x00 data frame carrying one message.
pub fn data_frame(payload: impl AsRef<[u8]>) -> Bytes {
    frame(FrameKind::Data, payload)
}

/// A 0x80 trailer frame carrying `trailers` as `name:value\r\n` lines.
pub fn trailer_frame(trailers: &HeaderMap) -> Bytes {
    frame(FrameKind::Trailers, trailers::encode(trailers))
}

/// A complete binary gRPC-Web body: one data frame per message, then the trailer frame.
pub fn grpc_web_body<M: AsRef<[u8]>>(messages: &[M], trailers: &HeaderMap) -> Bytes {
    let mut out = BytesMut::new();
    for m in messages {
        out.extend_from_slice(&data_frame(m));
    }
    out.extend_from_slice(&trailer_frame(trailers));
    out.freeze()
}

/// Trailers holding `grpc-status` and (when not empty) the percent-encoded `grpc-message`.
pub fn status_trailers(code: Code, message: &str) -> HeaderMap {
    Status::new(code, message).to_header_map()
}

/// A header map from `(name, value)` pairs; duplicates are appended in order.
///
/// # Panics
///
/// Panics on an invalid name or value: this is for literals in tests.
pub fn headers<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
        let value = HeaderValue::from_str(value).expect("valid header value");
        map.append(name, value);
    }
    map
}

/// Splits a complete series of frames (no size limit); an error on a bad flag or a
/// truncated frame.
pub fn split_frames(body: &[u8]) -> anyhow::Result<Vec<Frame>> {
    let mut decoder = FrameDecoder::new(usize::MAX);
    decoder.push(Bytes::copy_from_slice(body));
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame().context("bad frame")? {
        frames.push(frame);
    }
    decoder.finish().context("body ends inside a frame")?;
    Ok(frames)
}

/// The payloads of a body made only of 0x00 data frames (a native gRPC request or
/// response body); an error on any other frame.
pub fn split_messages(body: &[u8]) -> anyhow::Result<Vec<Bytes>> {
    split_frames(body)?
        .into_iter()
        .map(|f| match f.kind {
            FrameKind::Data => Ok(f.payload),
            other => bail!("expected only data frames, got a {other:?} frame"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_splits() {
        let body = grpc_web_body(&["a", ""], &status_trailers(Code::Internal, "bad news"));
        let frames = split_frames(&body).unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(&frames[0].payload[..], b"a");
        assert!(frames[1].payload.is_empty());
        assert_eq!(
            &frames[2].payload[..],
            b"grpc-status:13\r\ngrpc-message:bad news\r\n"
        );
        assert!(split_messages(&body).is_err());
        assert_eq!(
            split_messages(&[data_frame("x"), data_frame("y")].concat()).unwrap(),
            ["x", "y"]
        );
        assert!(split_frames(&[0, 0, 0]).is_err());
        assert!(split_frames(&[7, 0, 0, 0, 0]).is_err());
        let map = headers([("x-a", "1"), ("x-a", "2")]);
        assert_eq!(map.get_all("x-a").iter().count(), 2);
    }
}
