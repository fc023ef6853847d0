//! Origin matching: exact origins, `scheme://*.domain[:port]` patterns, or any.
//!
//! A pattern may not cover a public suffix (`https://*.com`, `https://*.co.uk`,
//! `https://*.github.io`): anyone can register a name under one. The Public Suffix List
//! is the `psl` crate's, compiled in.

use super::error::CorsError;

/// A compiled allow-list of origins.
#[derive(Clone, Debug, Default)]
pub(crate) struct AllowOrigin {
    any: bool,
    exact: Vec<String>,
    /// (`https://`, `.example.com`) for `https://*.example.com`.
    patterns: Vec<(String, String)>,
}

impl AllowOrigin {
    pub(crate) fn compile(list: &[String]) -> Result<Self, CorsError> {
        let mut out = Self::default();
        for entry in list {
            let entry = entry.trim().to_ascii_lowercase();
            if entry == "*" {
                out.any = true;
                continue;
            }
            let Some((scheme, rest)) = entry.split_once("://") else {
                return Err(CorsError::new(
                    "allowed-origin",
                    format!("{entry:?}: expected scheme://host[:port], scheme://*.domain or *"),
                ));
            };
            if scheme.is_empty() || rest.is_empty() || rest.contains('/') {
                return Err(CorsError::new(
                    "allowed-origin",
                    format!("{entry:?}: an origin is scheme://host[:port] with no path"),
                ));
            }
            if let Some(suffix) = rest.strip_prefix('*') {
                if !suffix.starts_with('.') || suffix.len() < 2 || suffix.contains('*') {
                    return Err(CorsError::new(
                        "allowed-origin",
                        format!(
                            "{entry:?}: a wildcard must be a whole leading label, as in https://*.example.com"
                        ),
                    ));
                }
                let domain = suffix[1..].split(':').next().unwrap_or_default();
                if is_public_suffix(domain) {
                    return Err(CorsError::new(
                        "allowed-origin",
                        format!(
                            "{entry:?}: *.{domain} covers a public suffix (anyone can register a name under it); list the origins, or use a pattern under a domain you own"
                        ),
                    ));
                }
                out.patterns
                    .push((format!("{scheme}://"), suffix.to_owned()));
            } else if rest.contains('*') {
                return Err(CorsError::new(
                    "allowed-origin",
                    format!(
                        "{entry:?}: '*' may only stand for leading labels, as in https://*.example.com"
                    ),
                ));
            } else {
                out.exact.push(entry);
            }
        }
        Ok(out)
    }

    pub(crate) fn is_any(&self) -> bool {
        self.any
    }

    pub(crate) fn allows(&self, origin: &str) -> bool {
        if self.any {
            return true;
        }
        let origin = origin.to_ascii_lowercase();
        if self.exact.contains(&origin) {
            return true;
        }
        self.patterns.iter().any(|(scheme, suffix)| {
            origin
                .strip_prefix(scheme.as_str())
                .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                .is_some_and(|labels| {
                    !labels.is_empty()
                        && !labels.starts_with('.')
                        && !labels.ends_with('.')
                        && labels
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                })
        })
    }
}

/// True when `domain` is itself a public suffix (an ICANN or private entry of the list,
/// or a single label, which the list's default rule makes one).
fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes()).is_some_and(|s| s.as_bytes() == domain.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(list: &[&str]) -> AllowOrigin {
        AllowOrigin::compile(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn exact_and_wildcard_origins() {
        let a = compile(&[
            "https://app.example.org",
            "https://*.example.com",
            "http://*.local.test:8080",
        ]);
        assert!(a.allows("https://app.example.org"));
        assert!(a.allows("HTTPS://APP.EXAMPLE.ORG"));
        assert!(!a.allows("http://app.example.org"), "scheme matters");
        assert!(!a.allows("https://app.example.org:444"), "port matters");
        assert!(a.allows("https://a.example.com"));
        assert!(a.allows("https://a.b.example.com"));
        assert!(!a.allows("https://example.com"), "wildcard needs a label");
        assert!(!a.allows("https://.example.com"));
        assert!(!a.allows("https://evil-example.com"));
        assert!(!a.allows("https://example.com.evil.net"));
        assert!(
            !a.allows("https://a.example.com:8443"),
            "no port in the pattern, none allowed"
        );
        assert!(!a.allows("https://x/y.example.com"));
        assert!(a.allows("http://dev.local.test:8080"));
        assert!(!a.allows("http://dev.local.test"));
        assert!(!a.allows("null"));
        assert!(!a.is_any());
        assert!(compile(&["*"]).allows("https://anything.example"));
        assert!(compile(&["https://*.example.co.uk"]).allows("https://a.example.co.uk"));
    }

    #[test]
    fn bad_entries_name_the_key() {
        for bad in [
            "example.com",
            "https://",
            "https://a.com/path",
            "https://a*.com",
            "https://*example.com",
            "https://*.",
            "https://x.*.com",
            "https://*.com",
            "https://*.co.uk",
            "https://*.github.io",
            "http://*.localhost:3000",
        ] {
            let err = AllowOrigin::compile(&[bad.to_owned()]).unwrap_err();
            assert_eq!(err.key(), "allowed-origin", "{bad}");
        }
    }
}
