//! `content-type` classification (R1, R4, S1).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;

/// Binary or base64 text body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `application/grpc-web[+codec]`: frames as raw bytes.
    Binary,
    /// `application/grpc-web-text[+codec]`: frames base64-encoded.
    Text,
}

/// The message codec named by the `+suffix`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Protocol buffers (no suffix, or `+proto`).
    Proto,
    /// `+json`.
    Json,
    /// Any other suffix, lower-cased; forwarded for the backend to judge.
    Other(String),
}

impl Codec {
    fn from_suffix(suffix: Option<&str>) -> Option<Self> {
        match suffix {
            None => Some(Self::Proto),
            Some(s) if s.eq_ignore_ascii_case("proto") => Some(Self::Proto),
            Some(s) if s.eq_ignore_ascii_case("json") => Some(Self::Json),
            Some(s) if is_token(s) => Some(Self::Other(s.to_ascii_lowercase())),
            Some(_) => None,
        }
    }

    /// The suffix name (`proto`, `json`, ...).
    pub fn name(&self) -> &str {
        match self {
            Self::Proto => "proto",
            Self::Json => "json",
            Self::Other(s) => s,
        }
    }
}

/// A gRPC-Web content type: mode and codec.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentType {
    /// Binary or text.
    pub mode: Mode,
    /// Message codec.
    pub codec: Codec,
}

/// What kind of request a `content-type` announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// gRPC-Web, binary or text.
    GrpcWeb(ContentType),
    /// Native gRPC (`application/grpc[+codec]`).
    Grpc(Codec),
}

impl ContentType {
    /// Binary proto, the default gRPC-Web type.
    pub const BINARY_PROTO: Self = Self {
        mode: Mode::Binary,
        codec: Codec::Proto,
    };

    /// Parses a gRPC-Web content type; `None` for anything else (including native gRPC).
    pub fn parse(value: &str) -> Option<Self> {
        match RequestKind::parse(value)? {
            RequestKind::GrpcWeb(ct) => Some(ct),
            RequestKind::Grpc(_) => None,
        }
    }

    /// The response content type for this request type (S1): always with an explicit
    /// codec suffix.
    pub fn response_header(&self) -> String {
        match (self.mode, &self.codec) {
            (Mode::Binary, Codec::Proto) => "application/grpc-web+proto".to_owned(),
            (Mode::Text, Codec::Proto) => "application/grpc-web-text+proto".to_owned(),
            (Mode::Binary, c) => format!("application/grpc-web+{}", c.name()),
            (Mode::Text, c) => format!("application/grpc-web-text+{}", c.name()),
        }
    }

    /// The native gRPC content type to send upstream (R2): `application/grpc` for proto,
    /// `application/grpc+codec` otherwise.
    pub fn upstream_header(&self) -> String {
        match &self.codec {
            Codec::Proto => "application/grpc".to_owned(),
            c => format!("application/grpc+{}", c.name()),
        }
    }
}

/// The mode of a gRPC-Web response `content-type`, any codec suffix accepted: what a
/// client needs to read the body. `None` when it is not gRPC-Web. Works on bytes without
/// building a [`ContentType`], for the wasm client's size.
///
/// ```
/// use grpcweb_protocol::content_type::{response_mode, Mode};
/// assert_eq!(response_mode(b"Application/gRPC-Web-Text+proto; x=1"), Some(Mode::Text));
/// assert_eq!(response_mode(b"application/grpc"), None);
/// ```
pub fn response_mode(value: &[u8]) -> Option<Mode> {
    let media = value.split(|&b| b == b';').next().unwrap_or_default();
    let base = crate::trailers::trim(media)
        .split(|&b| b == b'+')
        .next()
        .unwrap_or_default();
    // One literal in the wasm client for both types, the binary one its prefix.
    const TEXT: &str = "application/grpc-web-text";
    const BINARY: usize = "application/grpc-web".len();
    if is_lowercase(base, TEXT.get(..BINARY).unwrap_or_default()) {
        Some(Mode::Binary)
    } else if is_lowercase(base, TEXT) {
        Some(Mode::Text)
    } else {
        None
    }
}

/// `value` equals `lowercase` ASCII case-insensitively: one function rather than a loop
/// inlined at each comparison (the wasm client counts its bytes).
#[inline(never)]
pub(crate) fn is_lowercase(value: &[u8], lowercase: &str) -> bool {
    value.eq_ignore_ascii_case(lowercase.as_bytes())
}

impl RequestKind {
    /// Classifies a `content-type` value: media type matched case-insensitively,
    /// parameters ignored.
    pub fn parse(value: &str) -> Option<Self> {
        // The types clients send, as they send them, without splitting and folding case.
        let proto = |mode| {
            Some(Self::GrpcWeb(ContentType {
                mode,
                codec: Codec::Proto,
            }))
        };
        match value {
            "application/grpc-web+proto" | "application/grpc-web" => return proto(Mode::Binary),
            "application/grpc-web-text+proto" | "application/grpc-web-text" => {
                return proto(Mode::Text);
            }
            "application/grpc" | "application/grpc+proto" => return Some(Self::Grpc(Codec::Proto)),
            _ => {}
        }
        let media = value.split(';').next().unwrap_or("").trim();
        let (base, suffix) = match media.split_once('+') {
            Some((b, s)) => (b, Some(s)),
            None => (media, None),
        };
        let codec = Codec::from_suffix(suffix)?;
        if base.eq_ignore_ascii_case("application/grpc-web") {
            Some(Self::GrpcWeb(ContentType {
                mode: Mode::Binary,
                codec,
            }))
        } else if base.eq_ignore_ascii_case("application/grpc-web-text") {
            Some(Self::GrpcWeb(ContentType {
                mode: Mode::Text,
                codec,
            }))
        } else if base.eq_ignore_ascii_case("application/grpc") {
            Some(Self::Grpc(codec))
        } else {
            None
        }
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(mode: Mode, codec: Codec) -> Option<RequestKind> {
        Some(RequestKind::GrpcWeb(ContentType { mode, codec }))
    }

    #[test]
    fn classifies_request_types() {
        use Mode::*;
        let table = [
            ("application/grpc-web", web(Binary, Codec::Proto)),
            ("application/grpc-web+proto", web(Binary, Codec::Proto)),
            ("application/grpc-web+json", web(Binary, Codec::Json)),
            ("application/grpc-web-text", web(Text, Codec::Proto)),
            ("application/grpc-web-text+proto", web(Text, Codec::Proto)),
            ("Application/GRPC-Web-Text+Proto", web(Text, Codec::Proto)),
            (
                "application/grpc-web; charset=utf-8",
                web(Binary, Codec::Proto),
            ),
            (
                "application/grpc-web+proto ; x=y",
                web(Binary, Codec::Proto),
            ),
            (
                "application/grpc-web+thrift",
                web(Binary, Codec::Other("thrift".into())),
            ),
            ("application/grpc", Some(RequestKind::Grpc(Codec::Proto))),
            (
                "application/grpc+json",
                Some(RequestKind::Grpc(Codec::Json)),
            ),
            ("application/json", None),
            ("text/plain", None),
            ("application/grpc-webx", None),
            ("application/grpc-web+", None),
            ("application/grpc-web+a b", None),
            ("", None),
        ];
        for (value, want) in table {
            assert_eq!(RequestKind::parse(value), want, "{value}");
        }
    }

    #[test]
    fn response_and_upstream_headers() {
        let text = ContentType {
            mode: Mode::Text,
            codec: Codec::Proto,
        };
        assert_eq!(text.response_header(), "application/grpc-web-text+proto");
        assert_eq!(text.upstream_header(), "application/grpc");
        assert_eq!(
            ContentType::BINARY_PROTO.response_header(),
            "application/grpc-web+proto"
        );
        let json = ContentType {
            mode: Mode::Binary,
            codec: Codec::Json,
        };
        assert_eq!(json.response_header(), "application/grpc-web+json");
        assert_eq!(json.upstream_header(), "application/grpc+json");
        assert_eq!(ContentType::parse("application/grpc"), None);
    }
}
