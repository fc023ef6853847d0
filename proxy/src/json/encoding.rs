//! Compressed JSON request messages (frame flag 1): the proxy must read each message to
//! transcode it, so it decompresses the encoding the request's `grpc-encoding` names
//! when that is gzip (what gRPC and gRPC-Web clients offer) and refuses the others.
//! The backend gets the protobuf uncompressed.

use grpcweb_transcode::TranscodeError;
use http::HeaderMap;
use std::io::Read;

/// The request's `grpc-encoding`, as far as the proxy reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RequestEncoding {
    /// None named, or `identity`: no message may be compressed.
    Identity,
    Gzip,
    /// One the proxy does not read.
    Other(String),
}

impl RequestEncoding {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        match headers.get("grpc-encoding").map(|v| v.as_bytes()) {
            None | Some(b"identity") => Self::Identity,
            Some(b"gzip") => Self::Gzip,
            Some(other) => Self::Other(String::from_utf8_lossy(other).into_owned()),
        }
    }

    /// The message `payload` of a compressed frame, decompressed, at most `max` bytes.
    pub(crate) fn decompress(&self, payload: &[u8], max: usize) -> Result<Vec<u8>, TranscodeError> {
        match self {
            Self::Identity => Err(TranscodeError::NoEncoding),
            Self::Other(encoding) => Err(TranscodeError::UnsupportedEncoding {
                encoding: encoding.clone(),
            }),
            Self::Gzip => {
                let bad = |e: std::io::Error| TranscodeError::BadCompression {
                    reason: e.to_string(),
                };
                read_capped(flate2::read::MultiGzDecoder::new(payload), max)
                    .map_err(bad)?
                    .ok_or(TranscodeError::DecompressedTooLarge { max })
            }
        }
    }
}

/// What `reader` gives, or `None` once that is over `max` bytes: the buffer never holds
/// more than `max` bytes (nor reserves more), and what is over is not inflated.
fn read_capped(mut reader: impl Read, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut chunk = [0; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(Some(out)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let len = out.len() + n;
        if len > max {
            return Ok(None);
        }
        if out.capacity() < len {
            // Doubling, as a Vec does, but never past `max`.
            let capacity = (out.capacity() * 2).max(len).min(max);
            out.reserve_exact(capacity - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_message_at_the_limit_never_reserves_past_it() {
        let max = 100_000;
        let message = gzip(&vec![b' '; max]);
        let out = RequestEncoding::Gzip.decompress(&message, max).unwrap();
        assert_eq!(out.len(), max);
        assert!(out.capacity() <= max, "capacity {}", out.capacity());
        assert!(matches!(
            RequestEncoding::Gzip.decompress(&message, max - 1),
            Err(TranscodeError::DecompressedTooLarge { max: m }) if m == max - 1
        ));
    }

    #[test]
    fn every_gzip_member_is_read_and_bytes_after_them_are_refused() {
        // RFC 1952: a gzip file is a series of members; nothing may follow them silently.
        let mut two = gzip(br#"{"a":"#);
        two.extend(gzip(b"1}"));
        let out = RequestEncoding::Gzip.decompress(&two, 1024).unwrap();
        assert_eq!(out, br#"{"a":1}"#);
        let mut trailing = gzip(b"{}");
        trailing.extend_from_slice(b"junk after the member");
        assert!(matches!(
            RequestEncoding::Gzip.decompress(&trailing, 1024),
            Err(TranscodeError::BadCompression { .. })
        ));
    }
}
