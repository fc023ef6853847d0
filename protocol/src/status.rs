//! gRPC status codes and [`Status`], which owns how a status is written to and read from
//! headers or trailers (`grpc-status`, `grpc-message`, `grpc-status-details-bin`).

use crate::{metadata, percent};
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
#[cfg(feature = "http")]
use http::{HeaderMap, HeaderValue};

/// Header name of the status code.
pub const GRPC_STATUS: &str = "grpc-status";
/// Header name of the percent-encoded status message.
pub const GRPC_MESSAGE: &str = "grpc-message";
/// [`GRPC_STATUS`] as an [`http::HeaderName`]: map look-ups with it need no parsing.
#[cfg(feature = "http")]
pub const GRPC_STATUS_HEADER: http::HeaderName = http::HeaderName::from_static(GRPC_STATUS);
/// [`GRPC_MESSAGE`] as an [`http::HeaderName`].
#[cfg(feature = "http")]
pub const GRPC_MESSAGE_HEADER: http::HeaderName = http::HeaderName::from_static(GRPC_MESSAGE);
/// Header name of the serialized `google.rpc.Status`.
pub const GRPC_STATUS_DETAILS_BIN: &str = "grpc-status-details-bin";

/// A gRPC status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Code {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl Code {
    const ALL: [Self; 17] = [
        Self::Ok,
        Self::Cancelled,
        Self::Unknown,
        Self::InvalidArgument,
        Self::DeadlineExceeded,
        Self::NotFound,
        Self::AlreadyExists,
        Self::PermissionDenied,
        Self::ResourceExhausted,
        Self::FailedPrecondition,
        Self::Aborted,
        Self::OutOfRange,
        Self::Unimplemented,
        Self::Internal,
        Self::Unavailable,
        Self::DataLoss,
        Self::Unauthenticated,
    ];

    /// The code for a number; numbers outside 0-16 are [`Code::Unknown`].
    pub fn from_i32(n: i32) -> Self {
        usize::try_from(n)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(Self::Unknown)
    }

    /// Parses a `grpc-status` value, spaces and tabs around it ignored (a field value's
    /// optional whitespace, RFC 9110); anything but a decimal number is `None`.
    pub fn parse(value: &[u8]) -> Option<Self> {
        // Byte by byte rather than `str::parse`: the wasm client counts this code's size.
        let digits = crate::trailers::trim(value);
        if digits.is_empty() {
            return None;
        }
        // Capped: any number past the codes is UNKNOWN, however large.
        let mut n: u32 = 0;
        for &d in digits {
            let d = u32::from(d.wrapping_sub(b'0'));
            if d > 9 {
                return None;
            }
            n = (n * 10 + d).min(100);
        }
        Some(Self::from_i32(n as i32))
    }

    /// The number.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// The `grpc-status` header value.
    #[cfg(feature = "http")]
    pub fn header_value(self) -> HeaderValue {
        const VALUES: [&str; 17] = [
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
            "16",
        ];
        HeaderValue::from_static(VALUES[self as usize])
    }

    /// The canonical upper-case name, as in `grpc/status.h`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Cancelled => "CANCELLED",
            Self::Unknown => "UNKNOWN",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::Aborted => "ABORTED",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::Unimplemented => "UNIMPLEMENTED",
            Self::Internal => "INTERNAL",
            Self::Unavailable => "UNAVAILABLE",
            Self::DataLoss => "DATA_LOSS",
            Self::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code for an HTTP status when a response carries no `grpc-status` (S6,
    /// `http-grpc-status-mapping.md`).
    pub fn from_http_status(status: u16) -> Self {
        match status {
            200 => Self::Unknown,
            400 => Self::Internal,
            401 => Self::Unauthenticated,
            403 => Self::PermissionDenied,
            404 => Self::Unimplemented,
            429 | 502..=504 => Self::Unavailable,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A gRPC status: code, message, and optional serialized `google.rpc.Status` details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The code.
    pub code: Code,
    /// Human-readable message (not yet percent-encoded).
    pub message: String,
    /// Serialized `google.rpc.Status`, empty when absent.
    pub details: Bytes,
}

impl Status {
    /// A status with a code and message and no details.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Bytes::new(),
        }
    }

    /// Writes `grpc-status`, `grpc-message` (when not empty) and
    /// `grpc-status-details-bin` (when details are present) into `map`, replacing any
    /// values there.
    #[cfg(feature = "http")]
    pub fn write_to(&self, map: &mut HeaderMap) {
        map.insert(GRPC_STATUS_HEADER, self.code.header_value());
        if self.message.is_empty() {
            map.remove(GRPC_MESSAGE_HEADER);
        } else if let Ok(v) = HeaderValue::from_str(&percent::encode(&self.message)) {
            map.insert(GRPC_MESSAGE_HEADER, v);
        }
        if self.details.is_empty() {
            map.remove(GRPC_STATUS_DETAILS_BIN);
        } else if let Ok(v) = HeaderValue::from_str(&metadata::encode_bin(&self.details)) {
            map.insert(GRPC_STATUS_DETAILS_BIN, v);
        }
    }

    /// The status as a fresh header map.
    #[cfg(feature = "http")]
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(3);
        self.write_to(&mut map);
        map
    }

    /// Reads a status from headers or trailers; `None` when there is no `grpc-status`.
    /// An unparsable `grpc-status` reads as [`Code::Unknown`]; bad details are dropped.
    #[cfg(feature = "http")]
    pub fn from_header_map(map: &HeaderMap) -> Option<Self> {
        let raw = map.get(GRPC_STATUS_HEADER)?;
        let details = map
            .get(GRPC_STATUS_DETAILS_BIN)
            .and_then(|v| metadata::decode_bin(v.as_bytes()).ok());
        Some(Self::from_values(
            raw.as_bytes(),
            map.get(GRPC_MESSAGE_HEADER).map(HeaderValue::as_bytes),
            details,
        ))
    }

    /// Reads a status from `(name, value)` pairs, such as [`crate::trailers::entries`]
    /// yields or a client's own header list, without an `http::HeaderMap`. Names match
    /// ASCII case-insensitively and the first value of each name counts, so the result
    /// is what [`Status::from_header_map`] returns for the same entries: `None` when
    /// there is no `grpc-status`, an unparsable one reads as [`Code::Unknown`], bad
    /// details are dropped.
    ///
    /// ```
    /// use grpcweb_protocol::{Code, Status};
    ///
    /// let entries = [("Grpc-Status", &b"5"[..]), ("grpc-message", &b"no%20such"[..])];
    /// let status = Status::from_entries(entries).unwrap();
    /// assert_eq!((status.code, status.message.as_str()), (Code::NotFound, "no such"));
    /// assert_eq!(Status::from_entries([("x", &b"1"[..])]), None);
    /// ```
    pub fn from_entries<'a, I>(entries: I) -> Option<Self>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let (mut status, mut message, mut details) = (None, None, None);
        for (name, value) in entries {
            let slot = if name.eq_ignore_ascii_case(GRPC_STATUS) {
                &mut status
            } else if name.eq_ignore_ascii_case(GRPC_MESSAGE) {
                &mut message
            } else if name.eq_ignore_ascii_case(GRPC_STATUS_DETAILS_BIN) {
                &mut details
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        let details = details.and_then(|v| metadata::decode_bin_compact(v).ok());
        Some(Self::from_values(status?, message, details))
    }

    /// The status from the raw `grpc-status` and `grpc-message` values and the decoded
    /// `grpc-status-details-bin` values (kept only when there is exactly one).
    fn from_values(status: &[u8], message: Option<&[u8]>, details: Option<Vec<Bytes>>) -> Self {
        let code = Code::parse(status).unwrap_or(Code::Unknown);
        let message = message.map(percent::decode).unwrap_or_default();
        let details = details
            .and_then(|mut v| if v.len() == 1 { v.pop() } else { None })
            .unwrap_or_default();
        Self {
            code,
            message,
            details,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

impl core::error::Error for Status {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_clamp() {
        for n in 0..=16 {
            assert_eq!(Code::from_i32(n).as_i32(), n);
            assert_eq!(
                Code::parse(Code::from_i32(n).header_value().as_bytes()),
                Some(Code::from_i32(n))
            );
        }
        assert_eq!(Code::from_i32(17), Code::Unknown);
        assert_eq!(Code::from_i32(-1), Code::Unknown);
        assert_eq!(Code::parse(b"99999999999"), Some(Code::Unknown));
        assert_eq!(
            Code::parse(b"99999999999x"),
            None,
            "not a number, however long"
        );
        assert_eq!(Code::parse(b"abc"), None);
        assert_eq!(Code::parse(b""), None);
        assert_eq!(Code::parse(b" 5 "), Some(Code::NotFound));
        assert_eq!(Code::parse(b"\t5 \t"), Some(Code::NotFound));
    }

    #[test]
    fn from_entries_takes_first_value_of_each_name_in_any_case() {
        let entries = [
            ("x-other", &b"1"[..]),
            ("GRPC-STATUS", &b"abc"[..]),
            ("grpc-status", &b"3"[..]),
            ("Grpc-Message", &b"a%20b"[..]),
            ("grpc-message", &b"second"[..]),
            ("grpc-status-details-bin", &b"CAMSAXg"[..]),
        ];
        let status = Status::from_entries(entries).unwrap();
        assert_eq!(status.code, Code::Unknown);
        assert_eq!(status.message, "a b");
        assert_eq!(&status.details[..], b"\x08\x03\x12\x01x");
        let bad_details = [
            ("grpc-status", &b"0"[..]),
            ("grpc-status-details-bin", &b"!"[..]),
        ];
        assert!(
            Status::from_entries(bad_details)
                .unwrap()
                .details
                .is_empty()
        );
        assert_eq!(Status::from_entries([]), None);
    }

    #[test]
    fn http_status_table() {
        let table = [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
            (500, Code::Unknown),
            (418, Code::Unknown),
            (200, Code::Unknown),
        ];
        for (http, code) in table {
            assert_eq!(Code::from_http_status(http), code, "{http}");
        }
    }

    #[test]
    fn status_round_trips_through_headers() {
        let status = Status {
            code: Code::InvalidArgument,
            message: "bad\r\n100% ☺".to_owned(),
            details: Bytes::from_static(b"\x08\x03\x12\x01x"),
        };
        let map = status.to_header_map();
        assert_eq!(map.get(GRPC_STATUS).unwrap(), "3");
        assert_eq!(map.get(GRPC_MESSAGE).unwrap(), "bad%0D%0A100%25 %E2%98%BA");
        assert_eq!(Status::from_header_map(&map), Some(status.clone()));
        assert_eq!(Status::from_header_map(&HeaderMap::new()), None);
        let entries: Vec<_> = map
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        assert_eq!(Status::from_entries(entries), Some(status));
        let ok = Status::new(Code::Ok, "");
        assert_eq!(ok.to_header_map().len(), 1);
    }
}
