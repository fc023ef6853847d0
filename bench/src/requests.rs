//! The TestService request bodies the load sends, written once per run as files for
//! h2load (`-d`): the protobuf message in a gRPC frame, and that frame as base64 for
//! `grpc-web-text`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use grpcweb_protocol::framing::{FrameKind, encode_frame};
use grpcweb_protocol::text::encode_segment;
use grpcweb_protocol::varint;

/// What a path sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Native gRPC (`application/grpc`).
    Grpc,
    /// gRPC-Web, binary (`application/grpc-web+proto`).
    WebBinary,
    /// gRPC-Web, text (`application/grpc-web-text+proto`).
    WebText,
}

impl Wire {
    /// The request `content-type` of this wire.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Grpc => "application/grpc",
            Self::WebBinary => "application/grpc-web+proto",
            Self::WebText => "application/grpc-web-text+proto",
        }
    }
}

/// A request body written in binary and in text form.
#[derive(Debug)]
pub struct Bodies {
    /// The framed message.
    pub binary: PathBuf,
    /// The framed message as one padded base64 segment.
    pub text: PathBuf,
}

impl Bodies {
    /// Writes `msg`, framed, as `dir/name.bin` and `dir/name.txt`.
    pub fn write(dir: &Path, name: &str, msg: &[u8]) -> Result<Self> {
        let frame = encode_frame(FrameKind::Data, msg);
        let binary = dir.join(format!("{name}.bin"));
        std::fs::write(&binary, &frame)?;
        let text = dir.join(format!("{name}.txt"));
        std::fs::write(&text, encode_segment(&frame))?;
        Ok(Self { binary, text })
    }

    /// The body file to send on `wire`.
    pub fn for_wire(&self, wire: Wire) -> &Path {
        match wire {
            Wire::WebText => &self.text,
            Wire::Grpc | Wire::WebBinary => &self.binary,
        }
    }
}

/// The same request with JSON messages, for the proxy's transcoding: the JSON message in a
/// gRPC-Web frame (`application/grpc-web+json`), and alone as a REST body
/// (`application/json`).
#[derive(Debug)]
pub struct JsonBodies {
    /// The framed JSON message.
    pub web: PathBuf,
    /// The JSON message.
    pub rest: PathBuf,
}

impl JsonBodies {
    /// The `content-type` of gRPC-Web with JSON messages.
    pub const WEB_CONTENT_TYPE: &str = "application/grpc-web+json";
    /// The `content-type` of a REST call.
    pub const REST_CONTENT_TYPE: &str = "application/json";

    /// Writes `json`, framed and alone, as `dir/name.json.bin` and `dir/name.json`.
    pub fn write(dir: &Path, name: &str, json: &str) -> Result<Self> {
        let web = dir.join(format!("{name}.json.bin"));
        std::fs::write(&web, encode_frame(FrameKind::Data, json.as_bytes()))?;
        let rest = dir.join(format!("{name}.json"));
        std::fs::write(&rest, json)?;
        Ok(Self { web, rest })
    }
}

/// [`simple_request`] in the proto3 JSON mapping.
pub fn simple_request_json(n: usize) -> String {
    let body = encode_segment(&vec![0u8; n]);
    format!(
        r#"{{"responseSize":{n},"payload":{{"body":"{}"}}}}"#,
        String::from_utf8_lossy(&body)
    )
}

/// `SimpleRequest { response_size = n, payload = { body = n bytes } }`.
pub fn simple_request(n: usize) -> Vec<u8> {
    let mut payload = vec![0x12];
    varint::put(&mut payload, n as u64);
    payload.extend(std::iter::repeat_n(0u8, n));
    let mut msg = vec![0x10];
    varint::put(&mut msg, n as u64);
    msg.push(0x1a);
    varint::put(&mut msg, payload.len() as u64);
    msg.extend(payload);
    msg
}

/// `StreamingOutputCallRequest` asking for `count` responses of `size` bytes, each after
/// `interval_us`.
pub fn streaming_request(count: usize, size: u32, interval_us: u32) -> Vec<u8> {
    let mut params = Vec::new();
    params.push(0x08);
    varint::put(&mut params, u64::from(size));
    if interval_us > 0 {
        params.push(0x10);
        varint::put(&mut params, u64::from(interval_us));
    }
    let mut msg = Vec::new();
    for _ in 0..count {
        msg.push(0x12);
        varint::put(&mut msg, params.len() as u64);
        msg.extend(&params);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_requests() {
        assert_eq!(simple_request(1), [0x10, 1, 0x1a, 3, 0x12, 1, 0]);
        assert_eq!(streaming_request(2, 1, 0), [0x12, 2, 8, 1, 0x12, 2, 8, 1]);
        assert_eq!(streaming_request(1, 1, 1), [0x12, 4, 8, 1, 0x10, 1]);
        assert_eq!(simple_request(300)[..3], [0x10, 0xac, 0x02]);
        assert_eq!(
            simple_request_json(2),
            r#"{"responseSize":2,"payload":{"body":"AAA="}}"#
        );
    }

    #[test]
    fn writes_binary_and_text_bodies() {
        let dir = std::env::temp_dir().join(format!("grpcweb-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bodies = Bodies::write(&dir, "one", &[7]).unwrap();
        assert_eq!(
            std::fs::read(bodies.for_wire(Wire::Grpc)).unwrap(),
            [0, 0, 0, 0, 1, 7]
        );
        assert_eq!(
            std::fs::read(bodies.for_wire(Wire::WebText)).unwrap(),
            b"AAAAAAEH"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
