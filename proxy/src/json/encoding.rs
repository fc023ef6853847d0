//! Compressed JSON request messages (frame flag 1): the proxy must read each message to
//! transcode it, so it decompresses the encoding the request's `grpc-encoding` names
//! when that is gzip (what gRPC and gRPC-Web clients offer) and refuses the others.
//! The backend gets the protobuf uncompressed.

use grpcweb_transcode::TranscodeError;
use http::HeaderMap;
use std::io::Read as _;

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
                let mut out = Vec::new();
                // One byte over the limit tells a message over it from one at it, without
                // inflating the rest of it.
                let cap = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
                flate2::read::GzDecoder::new(payload)
                    .take(cap)
                    .read_to_end(&mut out)
                    .map_err(|e| TranscodeError::BadCompression {
                        reason: e.to_string(),
                    })?;
                if out.len() > max {
                    return Err(TranscodeError::DecompressedTooLarge { max });
                }
                Ok(out)
            }
        }
    }
}
