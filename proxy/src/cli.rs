//! Command-line flags, parsed into [`Config`].

use clap::Parser;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{BackendConfig, Config, LimitsConfig};
use crate::cors::CorsConfig;

/// grpcweb-proxy: lets browsers call gRPC services.
///
/// Accepts gRPC-Web (binary and text, HTTP/1.1 and HTTP/2 cleartext on the same port) and
/// forwards it as gRPC over HTTP/2 to a backend. Native gRPC clients can use the same port.
#[derive(Debug, Parser)]
#[command(name = "grpcweb-proxy", version)]
pub struct Args {
    /// Address to listen on. Port 0 picks a free port; the chosen address is printed as
    /// `listening on ADDR`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The gRPC backend, as `http://host:port` (HTTP/2 cleartext, prior knowledge).
    #[arg(long, value_name = "URL")]
    pub backend: String,

    /// A browser origin allowed to call (repeatable): an exact origin such as
    /// `https://app.example.com`, a pattern such as `https://*.example.com`, or `*` for any.
    /// Pages served from the proxy's own host are always allowed.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,

    /// Allow credentialed cross-origin calls (cookies, HTTP auth). Not with `*`.
    #[arg(long)]
    pub allow_credentials: bool,

    /// Largest request message accepted, in bytes (suffixes KiB and MiB allowed).
    /// Larger messages get RESOURCE_EXHAUSTED and never reach the backend.
    #[arg(long, value_name = "BYTES", default_value = "4MiB", value_parser = parse_size)]
    pub max_message_size: usize,

    /// Most client connections at once; further clients wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Let HTTP/2 clients stream request messages (client-streaming and bidi calls). By
    /// default a gRPC-Web call carries exactly one request message, and a body with none or
    /// several is refused with UNIMPLEMENTED.
    #[arg(long)]
    pub allow_request_streaming: bool,

    /// Cap on every call's deadline, in milliseconds; calls without a deadline get it.
    #[arg(long, value_name = "MS")]
    pub max_timeout_ms: Option<u64>,
}

impl Args {
    /// The configuration these flags describe (not yet validated).
    pub fn into_config(self) -> Config {
        Config {
            listen: self.listen,
            backend: BackendConfig {
                url: self.backend,
                ..BackendConfig::default()
            },
            cors: CorsConfig {
                allowed_origins: self.allowed_origins,
                allow_credentials: self.allow_credentials,
                ..CorsConfig::default()
            },
            limits: LimitsConfig {
                max_message_size: self.max_message_size,
                max_timeout: self.max_timeout_ms.map(Duration::from_millis),
                max_connections: self.max_connections,
                ..LimitsConfig::default()
            },
            allow_request_streaming: self.allow_request_streaming,
        }
    }
}

/// Parses `123`, `64KiB`, `4MiB` (also `K`, `KB`, `M`, `MB`, all binary multiples).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size in bytes"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use KiB or MiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("4m"), Ok(4 << 20));
        assert!(parse_size("4GiB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("-1").is_err());
    }

    #[test]
    fn flags_fill_the_config() {
        let args = Args::try_parse_from([
            "grpcweb-proxy",
            "--backend",
            "http://127.0.0.1:9000",
            "--allowed-origin",
            "https://a.example",
            "--allowed-origin",
            "https://*.b.example",
            "--max-message-size",
            "1KiB",
        ])
        .unwrap();
        let config = args.into_config();
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.backend.url, "http://127.0.0.1:9000");
        assert_eq!(
            config.cors.allowed_origins,
            ["https://a.example", "https://*.b.example"]
        );
        assert_eq!(config.limits.max_message_size, 1024);
        config.validate().unwrap();
        assert!(
            Args::try_parse_from(["grpcweb-proxy"]).is_err(),
            "--backend is required"
        );
    }
}
