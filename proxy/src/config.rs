//! Configuration: plain structs with public fields and defaults, one per subsystem.
//! The CLI fills them; [`Config::validate`] checks them before anything starts.

use http::Uri;
use http::uri::{Authority, Scheme};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::cors::CorsConfig;

/// Everything the standalone proxy needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (HTTP/1.1 and h2c on the same port).
    pub listen: SocketAddr,
    /// The gRPC backend.
    pub backend: BackendConfig,
    /// Browser cross-origin policy.
    pub cors: CorsConfig,
    /// Size and time limits.
    pub limits: LimitsConfig,
    /// Let HTTP/2 gRPC-Web clients stream request messages (client-streaming and bidi
    /// calls). Off: every call carries exactly one request message.
    pub allow_request_streaming: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            backend: BackendConfig::default(),
            cors: CorsConfig::default(),
            limits: LimitsConfig::default(),
            allow_request_streaming: false,
        }
    }
}

/// The gRPC server the proxy forwards to.
#[derive(Clone, Debug)]
pub struct BackendConfig {
    /// `http://host:port`: HTTP/2 cleartext with prior knowledge.
    pub url: String,
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// Append the client address to `x-forwarded-for`.
    pub forwarded_for: bool,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:50051".to_owned(),
            connect_timeout: Duration::from_secs(5),
            forwarded_for: true,
        }
    }
}

impl BackendConfig {
    pub(crate) fn scheme_and_authority(&self) -> Result<(Scheme, Authority), ConfigError> {
        let bad = |why: &str| ConfigError::new("backend", format!("{:?}: {why}", self.url));
        let uri: Uri = self.url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| bad("missing scheme, expected http://host:port"))?;
        if scheme != Scheme::HTTP {
            return Err(bad(
                "only http:// (HTTP/2 cleartext) backends are supported",
            ));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| bad("missing host"))?;
        if authority.port_u16().is_none() {
            return Err(bad("missing port"));
        }
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(bad("a backend URL has no path"));
        }
        Ok((scheme, authority))
    }
}

/// Limits, all with safe defaults (D3, D4).
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// Largest request message, in bytes (default 4 MiB).
    pub max_message_size: usize,
    /// Largest request header block, in bytes (default 16 KiB).
    pub max_header_size: u32,
    /// Most client connections at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Most concurrent streams per HTTP/2 client connection.
    pub max_concurrent_streams: u32,
    /// Cap on every call's deadline; also the deadline of calls that set none.
    pub max_timeout: Option<Duration>,
    /// Time allowed for a client to send request headers (HTTP/1.1).
    pub header_read_timeout: Duration,
    /// Time allowed for a client to send its request message.
    pub body_read_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_size: grpcweb_protocol::framing::DEFAULT_MAX_FRAME_LEN,
            max_header_size: 16 * 1024,
            max_connections: 10_000,
            max_concurrent_streams: 1000,
            max_timeout: None,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// Checks every field; the first problem found names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.backend.scheme_and_authority()?;
        self.cors.validate()?;
        if self.limits.max_message_size == 0 {
            return Err(ConfigError::new("max-message-size", "must be at least 1"));
        }
        if self.limits.max_connections == 0 {
            return Err(ConfigError::new("max-connections", "must be at least 1"));
        }
        if u32::try_from(self.limits.max_message_size).is_err() {
            return Err(ConfigError::new("max-message-size", "must fit in 32 bits"));
        }
        Ok(())
    }
}

/// An invalid configuration value: which key, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    key: &'static str,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }

    /// The configuration key at fault.
    pub fn key(&self) -> &str {
        self.key
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(url: &str) -> Result<(), ConfigError> {
        BackendConfig {
            url: url.to_owned(),
            ..BackendConfig::default()
        }
        .scheme_and_authority()
        .map(|_| ())
    }

    #[test]
    fn backend_urls() {
        assert!(backend("http://127.0.0.1:50051").is_ok());
        assert!(backend("http://backend.svc:9000/").is_ok());
        for bad in [
            "127.0.0.1:50051",
            "https://x:1",
            "http://x",
            "http://x:1/path",
            "not a url",
        ] {
            let err = backend(bad).unwrap_err();
            assert_eq!(err.key(), "backend", "{bad}");
        }
    }

    #[test]
    fn default_config_is_valid() {
        Config::default().validate().unwrap();
        let mut c = Config::default();
        c.limits.max_message_size = 0;
        assert_eq!(c.validate().unwrap_err().key(), "max-message-size");
    }
}
