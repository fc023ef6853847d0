//! What a gRPC method path is: the one decision about which `:path`s may reach a backend
//! (the router) and which may name a metrics series (the metrics).
//!
//! A gRPC call's path is `/` *service* `/` *method*, where the service is the dotted
//! full name of a protobuf service (`acme.users.v1.UserService`) and the method a
//! protobuf identifier. Anything else (`/admin`, `/a/b/c`, `..`, `//`, `%2F`, a query) is
//! not a gRPC call, and the proxy never forwards it.

/// A valid gRPC method path, split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodPath<'a> {
    /// `acme.users.v1.UserService`.
    pub service: &'a str,
    /// `GetUser`.
    pub method: &'a str,
}

impl<'a> MethodPath<'a> {
    /// Splits `path` (the request target's path and query, as sent) when it is exactly
    /// `/<dotted identifier>/<identifier>`; `None` for anything else, a query included.
    ///
    /// Identifiers are protobuf's: an ASCII letter or `_`, then letters, digits and `_`.
    pub fn parse(path: &'a str) -> Option<Self> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        (service.split('.').all(is_identifier) && is_identifier(method))
            .then_some(Self { service, method })
    }
}

fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_method_paths() {
        for (path, service, method) in [
            ("/a.b.Svc/Method", "a.b.Svc", "Method"),
            ("/Svc/M", "Svc", "M"),
            ("/_x.v1_2.S_/m_3", "_x.v1_2.S_", "m_3"),
            (
                "/grpc.testing.TestService/EmptyCall",
                "grpc.testing.TestService",
                "EmptyCall",
            ),
        ] {
            assert_eq!(
                MethodPath::parse(path),
                Some(MethodPath { service, method }),
                "{path}"
            );
        }
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "",
            "/",
            "/admin",
            "/Svc",
            "/Svc/",
            "//M",
            "/a/b/c",
            "Svc/M",
            "/a.b.Svc/Method/",
            "/../Svc/M",
            "/a..b/M",
            "/.a/M",
            "/a./M",
            "/a.b/..",
            "/a.b/.",
            "/a%2Fb/M",
            "/a.b/M%2F",
            "/a.b/M?x=1",
            "/a.b/M?",
            "/a.b/M#f",
            "/a b/M",
            "/a.b/M ",
            "/1a.b/M",
            "/a.b/1M",
            "/a-b.S/M",
            "/a.b/M\"",
            "/a.b/M\n",
            "/a.é/M",
            "/a.b//M",
            "//a.b/M",
        ] {
            assert_eq!(MethodPath::parse(bad), None, "{bad:?}");
        }
    }
}
