//! Response headers and trailers as the runtime keeps them: `(name, value)` pairs in
//! arrival order, names lower-case. A plain list instead of `http::HeaderMap` keeps the
//! `http` crate's header-name tables and hashing out of the wasm.

use alloc::string::String;
use alloc::vec::Vec;

/// Response headers or trailers: lower-case names, raw values, in order, duplicates kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(Vec<(String, Vec<u8>)>);

impl Metadata {
    /// No entries.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds an entry after the others; the name is lower-cased.
    pub fn append(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.0.push((name.to_ascii_lowercase(), value.into()));
    }

    /// The first value of `name` (matched ASCII case-insensitively).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The first value of `name` when it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The entries of a block of `name: value` lines (a trailer frame's payload), in
    /// order; the first invalid line is an error.
    pub fn from_block(block: &[u8]) -> Result<Self, grpcweb_protocol::trailers::TrailerError> {
        // A loop rather than `collect::<Result<_, _>>()`: the adapter costs the wasm 1 KB.
        let mut out = Self::new();
        for entry in grpcweb_protocol::trailers::entries(block) {
            let (name, value) = entry?;
            out.append(name, value);
        }
        Ok(out)
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + Clone {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `grpc-status`, `grpc-message` and `grpc-status-details-bin` entries as a
    /// status; `None` without `grpc-status`.
    pub fn status(&self) -> Option<grpcweb_protocol::Status> {
        grpcweb_protocol::Status::from_entries(self.iter())
    }

    /// As an `http::HeaderMap`, leaving out entries `http` rejects.
    #[cfg(any(test, feature = "tower"))]
    pub fn to_header_map(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::with_capacity(self.len());
        for (name, value) in self.iter() {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }
}

impl<'a> FromIterator<(&'a str, &'a [u8])> for Metadata {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a [u8])>>(iter: I) -> Self {
        let mut out = Self::new();
        for (name, value) in iter {
            out.append(name, value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_lowercases_and_finds_first() {
        let mut m = Metadata::new();
        m.append("X-A", "1");
        m.append("x-a", b"2".to_vec());
        m.append("grpc-status", "5");
        assert_eq!(m.get("x-a"), Some(&b"1"[..]));
        assert_eq!(m.get_str("X-A"), Some("1"));
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ["x-a", "x-a", "grpc-status"]
        );
        assert_eq!(
            m.status().map(|s| s.code),
            Some(grpcweb_protocol::Code::NotFound)
        );
        let map = m.to_header_map();
        assert_eq!(map.get_all("x-a").iter().count(), 2);
        assert!(Metadata::new().is_empty());
    }
}
