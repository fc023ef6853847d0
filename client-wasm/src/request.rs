//! The request headers of the tower service: content type, `grpc-timeout`, user metadata
//! with `-bin` values base64-encoded.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use grpcweb_protocol::{metadata, timeout};

use crate::error::RpcError;
use grpcweb_protocol::Code;

/// Binary (`application/grpc-web+proto`) or text (`application/grpc-web-text`, base64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Binary frames.
    Binary,
    /// Base64-encoded frames.
    Text,
}

impl Format {
    /// The request's (and, in text mode, the accepted) content type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Binary => "application/grpc-web+proto",
            Self::Text => "application/grpc-web-text",
        }
    }
}

/// One metadata value as the caller gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataValue {
    /// Sent as is (for `-bin` keys the caller already encoded it).
    Text(String),
    /// Bytes: only valid for `-bin` keys, sent as unpadded base64 (S9).
    Binary(Vec<u8>),
}

/// The request headers, in order: protocol headers first, then the caller's metadata.
pub fn headers(
    format: Format,
    timeout: Option<Duration>,
    user: Vec<(String, MetadataValue)>,
) -> Result<Vec<(String, String)>, RpcError> {
    let mut out = Vec::with_capacity(user.len() + 4);
    for (name, value) in user {
        let name = name.to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "content-type" | "grpc-timeout" | "x-grpc-web"
        ) {
            // The transport owns these; a caller's copy would contradict the body.
            continue;
        }
        let value = match value {
            MetadataValue::Text(s) => s,
            MetadataValue::Binary(bytes) if metadata::is_bin_name(&name) => {
                metadata::encode_bin_compact(&bytes)
            }
            MetadataValue::Binary(_) => {
                return Err(RpcError::new(
                    Code::InvalidArgument,
                    [
                        "metadata \"",
                        &name,
                        "\" has a binary value but does not end in \"-bin\"",
                    ]
                    .concat(),
                ));
            }
        };
        out.push((name, value));
    }
    out.push(("content-type".to_owned(), format.content_type().to_owned()));
    if format == Format::Text {
        out.push(("accept".to_owned(), format.content_type().to_owned()));
    }
    out.push(("x-grpc-web".to_owned(), "1".to_owned()));
    if let Some(t) = timeout {
        out.push(("grpc-timeout".to_owned(), timeout::format_compact(t)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_headers() {
        let h = headers(
            Format::Text,
            Some(Duration::from_millis(1500)),
            vec![
                ("X-Custom".into(), MetadataValue::Text("v".into())),
                (
                    "trace-bin".into(),
                    MetadataValue::Binary(vec![0xab, 0xab, 0xab, 0x01]),
                ),
                ("content-type".into(), MetadataValue::Text("nope".into())),
            ],
        )
        .unwrap();
        let get = |n: &str| h.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("x-custom"), Some("v"));
        assert_eq!(get("trace-bin"), Some("q6urAQ"));
        assert_eq!(get("content-type"), Some("application/grpc-web-text"));
        assert_eq!(get("accept"), Some("application/grpc-web-text"));
        assert_eq!(
            get("grpc-timeout"),
            Some(timeout::format(Duration::from_millis(1500)).as_str())
        );
        assert_eq!(h.iter().filter(|(k, _)| k == "content-type").count(), 1);
    }

    #[test]
    fn binary_value_needs_bin_suffix() {
        let err = headers(
            Format::Binary,
            None,
            vec![("x".into(), MetadataValue::Binary(vec![1]))],
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
}
