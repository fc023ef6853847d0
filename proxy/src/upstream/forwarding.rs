//! What the backend learns about the client: the request headers as forwarded.
//!
//! - Hop-by-hop headers (`connection` and what it names, `keep-alive`, `proxy-*`,
//!   `upgrade`, `transfer-encoding`, `host`) never pass, for native gRPC as for
//!   gRPC-Web; `te` is `trailers`, as gRPC needs.
//! - Headers in which a client claims an identity ([`IDENTITY_HEADERS`]: its address, the
//!   host and scheme it used, its certificate) pass only when the hop in front is trusted
//!   (`trust_forwarded_for`); otherwise they are dropped, and `x-forwarded-for` is the
//!   client's address alone.
//! - With mTLS, the certificate the listener verified goes in `x-forwarded-client-cert`
//!   ([`ClientCert`]), set by the proxy (appended to a trusted hop's).

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Request};
use std::net::SocketAddr;

use super::PeerAddr;
use crate::call::CallContext;
use crate::config::ForwardingConfig;
use grpcweb_layer::remove_hop_by_hop;

const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
const XFCC: HeaderName = HeaderName::from_static("x-forwarded-client-cert");

/// Headers a client could use to claim another address, host, scheme or certificate;
/// forwarded only from a trusted hop (`x-forwarded-for` is handled on its own).
pub(crate) const IDENTITY_HEADERS: [&str; 6] = [
    "forwarded",
    "x-real-ip",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-client-cert",
];

/// [`IDENTITY_HEADERS`] as header names, removed per call without parsing each name.
const IDENTITY_NAMES: [HeaderName; 6] = [
    HeaderName::from_static(IDENTITY_HEADERS[0]),
    HeaderName::from_static(IDENTITY_HEADERS[1]),
    HeaderName::from_static(IDENTITY_HEADERS[2]),
    HeaderName::from_static(IDENTITY_HEADERS[3]),
    HeaderName::from_static(IDENTITY_HEADERS[4]),
    HeaderName::from_static(IDENTITY_HEADERS[5]),
];

/// Headers gRPC itself needs; never filtered out.
const PROTOCOL_HEADERS: [&str; 5] = [
    "content-type",
    "te",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
];

/// The client certificate the listener verified (mTLS), as an `x-forwarded-client-cert`
/// element in Envoy's format: `Hash=<hex SHA-256 of the DER>;Cert="<URL-encoded PEM>"`.
/// Put in request extensions by the server, once per connection.
#[derive(Clone, Debug)]
pub(crate) struct ClientCert(HeaderValue);

impl ClientCert {
    pub(crate) fn from_der(der: &[u8]) -> Option<Self> {
        use std::fmt::Write as _;
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut value = String::from("Hash=");
        for b in digest.as_ref() {
            let _ = write!(value, "{b:02x}");
        }
        let b64 = grpcweb_protocol::text::encode_segment(der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.chunks(64) {
            pem.push_str(std::str::from_utf8(line).ok()?);
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        value.push_str(";Cert=\"");
        for b in pem.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                value.push(char::from(b));
            } else {
                let _ = write!(value, "%{b:02X}");
            }
        }
        value.push('"');
        HeaderValue::from_str(&value).ok().map(Self)
    }
}

/// Rewrites `req`'s headers for the backend, as the module docs say.
pub(super) fn forward_headers<B>(req: &mut Request<B>, forwarding: &ForwardingConfig) {
    let trust = forwarding.trust_forwarded_for;
    let client_cert = req.extensions().get::<ClientCert>().map(|c| c.0.clone());
    let client = req
        .extensions()
        .get::<CallContext>()
        .and_then(CallContext::client);
    let (addr, cached) = match client {
        Some(ip) => (Some(ip.addr), ip.value.clone()),
        None => (req.extensions().get::<PeerAddr>().map(|p| p.0), None),
    };
    let headers = req.headers_mut();
    // One look at the names first: removing a header that is not there costs a hash
    // and a probe each, and most requests carry none of these.
    let (host, identity) = headers
        .keys()
        .fold((false, false), |(host, identity), name| {
            (
                host || name == header::HOST,
                identity || (!trust && is_identity(name)),
            )
        });
    if host {
        headers.remove(header::HOST);
    }
    strip_hop_by_hop(headers);
    if identity {
        for name in &IDENTITY_NAMES {
            headers.remove(name);
        }
    }
    if let Some(cert) = client_cert {
        set_client_cert(headers, cert, trust);
    }
    filter_headers(headers, forwarding);
    if forwarding.forwarded_for {
        match cached {
            // The common case: the header is the client's address alone.
            Some(ip) if !(trust && headers.contains_key(XFF)) => {
                headers.insert(XFF, ip);
            }
            _ => {
                if let Some(addr) = addr {
                    set_forwarded_for(headers, addr, trust);
                }
            }
        }
    } else if !trust {
        headers.remove(XFF);
    }
}

/// Whether `name` is one of [`IDENTITY_NAMES`] (all start with `f` or `x`).
fn is_identity(name: &HeaderName) -> bool {
    let name = name.as_str();
    matches!(name.as_bytes().first(), Some(b'f' | b'x')) && IDENTITY_HEADERS.contains(&name)
}

/// Hop-by-hop headers out (gRPC-Web requests have none left by now; native gRPC ones
/// come as the client sent them), and `te: trailers` back.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let te_trailers = {
        let mut te = headers.get_all(header::TE).iter();
        te.next().is_some_and(|v| v == "trailers") && te.next().is_none()
    };
    let clean = te_trailers
        && !headers.keys().any(|n| {
            n != header::TE
                && matches!(
                    n.as_str(),
                    "connection"
                        | "keep-alive"
                        | "transfer-encoding"
                        | "upgrade"
                        | "trailer"
                        | "proxy-connection"
                        | "proxy-authenticate"
                        | "proxy-authorization"
                )
        });
    if clean {
        return;
    }
    remove_hop_by_hop(headers);
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
}

/// `x-forwarded-client-cert`: the verified certificate alone, or appended to a trusted
/// hop's value (Envoy's SANITIZE_SET and APPEND_FORWARD).
fn set_client_cert(headers: &mut HeaderMap, cert: HeaderValue, trust: bool) {
    let value = match headers.get(XFCC) {
        Some(prev) if trust && !prev.is_empty() => {
            let mut joined = prev.as_bytes().to_vec();
            joined.push(b',');
            joined.extend_from_slice(cert.as_bytes());
            HeaderValue::from_bytes(&joined).unwrap_or(cert)
        }
        _ => cert,
    };
    headers.insert(XFCC, value);
}

fn set_forwarded_for(headers: &mut HeaderMap, addr: SocketAddr, trust_client: bool) {
    let ip = addr.ip().to_string();
    let value = match headers.get(XFF).and_then(|v| v.to_str().ok()) {
        Some(prev) if trust_client && !prev.trim().is_empty() => format!("{prev}, {ip}"),
        _ => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(XFF, v);
    }
}

fn filter_headers(headers: &mut HeaderMap, forwarding: &ForwardingConfig) {
    for name in &forwarding.remove_headers {
        if !PROTOCOL_HEADERS.contains(&name.as_str()) {
            headers.remove(name.as_str());
        }
    }
    if let Some(allow) = &forwarding.allow_headers {
        let drop: Vec<HeaderName> = headers
            .keys()
            .filter(|n| {
                let n = n.as_str();
                !PROTOCOL_HEADERS.contains(&n)
                    && n != XFF
                    && n != XFCC
                    && !allow.iter().any(|a| a == n)
            })
            .cloned()
            .collect();
        for name in drop {
            headers.remove(name);
        }
    }
}
