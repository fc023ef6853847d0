//! Command-line flags, parsed into [`Config`] on top of the optional config file.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{
    BackendConfig, Config, ConfigError, LogFormat, ReflectionConfig, Scheduler, parse_size,
};
use crate::tls::TlsConfig;

/// grpcweb-proxy: lets browsers call gRPC services.
///
/// Accepts gRPC-Web (binary and text, HTTP/1.1 and HTTP/2 cleartext on the same port) and
/// forwards it as gRPC over HTTP/2 to a backend. Native gRPC clients can use the same port.
/// Flags cover the single-backend case; a config file (--config) can say everything, and
/// flags given next to it override its values.
#[derive(Debug, Parser)]
#[command(name = "grpcweb-proxy", version)]
pub struct Args {
    /// A TOML config file (see docs/config.md for every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Check the configuration (file and flags), print the verdict, and exit.
    #[arg(long)]
    pub check_config: bool,

    /// Address to listen on [default: 127.0.0.1:8080]. Port 0 picks a free port; the
    /// chosen address is printed as `listening on ADDR`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Serve /metrics (Prometheus), /healthz and /readyz on this address. Off when not given.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,

    /// Log format [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,

    /// Serve TLS with this PEM certificate chain (needs --tls-key). ALPN offers h2 and
    /// http/1.1; the files are reloaded when they change.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Require client certificates signed by this PEM CA bundle (mTLS).
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,

    /// The gRPC backend, as `http://host:port` (HTTP/2 cleartext, prior knowledge). Every
    /// call goes there. For several backends and routes, use a config file.
    #[arg(long, value_name = "URL")]
    pub backend: Option<String>,

    /// A browser origin allowed to call (repeatable): an exact origin such as
    /// `https://app.example.com`, a pattern such as `https://*.example.com`, or `*` for any.
    /// A page on the proxy's own host must be listed like any other.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,

    /// Allow credentialed cross-origin calls (cookies, HTTP auth). Not with `*`.
    #[arg(long)]
    pub allow_credentials: bool,

    /// Largest request message accepted, in bytes (suffixes KiB and MiB allowed)
    /// [default: 4MiB]. Larger messages get RESOURCE_EXHAUSTED and never reach the backend.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_message_size: Option<usize>,

    /// Most client connections at once [default: 10000]; further clients wait until one
    /// closes.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Let clients stream request messages (client-streaming and bidi calls, over HTTP/2
    /// and HTTP/1.1 chunked bodies; a route's `allow_request_streaming` overrides it). By
    /// default a gRPC-Web call carries exactly one request message, and a body with none or
    /// several is refused with UNIMPLEMENTED.
    #[arg(long)]
    pub allow_request_streaming: bool,

    /// Threads that run the proxy, each with its own event loop and backend connections
    /// [default: the CPUs the process may use, at most 2, as suits a sidecar; see
    /// docs/config.md].
    #[arg(long, value_name = "N")]
    pub worker_threads: Option<usize>,

    /// How the workers share the work: `per-worker` (a client connection and its calls
    /// stay on one worker, the least CPU per call) or `shared` (the workers share every
    /// task, so one busy connection can use them all) [default: per-worker; see
    /// docs/config.md].
    #[arg(long, value_enum)]
    pub scheduler: Option<SchedulerArg>,

    /// Cap on every call's deadline, in milliseconds; calls without a deadline get it.
    #[arg(long, value_name = "MS")]
    pub max_timeout_ms: Option<u64>,

    /// A FileDescriptorSet of the backends' services (repeatable), as written by `protoc
    /// --include_imports --descriptor_set_out` or `buf build -o`: clients may then call
    /// them with JSON messages (application/grpc-web+json, application/grpc+json) and
    /// over REST where the descriptors carry google.api.http rules.
    #[arg(long = "descriptor-set", value_name = "FILE")]
    pub descriptor_sets: Vec<PathBuf>,

    /// Also fetch the --backend's descriptors with gRPC server reflection
    /// (grpc.reflection.v1, else v1alpha), at start and when a call names a method they
    /// lack; the config file's `descriptors = "reflection"` with default budgets.
    #[arg(long, requires = "backend")]
    pub reflection: bool,
}

/// `--log-format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `--scheduler` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchedulerArg {
    /// Each worker its own runtime and backend connections.
    PerWorker,
    /// Work-stealing across the workers.
    Shared,
}

impl Args {
    /// The configuration the file (if any) and the flags describe, not yet validated.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::new("config", format!("cannot read {}: {e}", path.display()))
                })?;
                Config::from_toml(&text).map_err(|e| {
                    ConfigError::new(format!("{} ({})", e.key(), path.display()), e.to_string())
                })?
            }
            None => Config::default(),
        };
        if let Some(url) = self.backend {
            if !config.backends.is_empty() {
                return Err(ConfigError::new(
                    "backend",
                    "--backend cannot be combined with [[backends]] in the config file",
                ));
            }
            let mut backend = BackendConfig::new("default", url);
            if self.reflection {
                backend.reflection = Some(ReflectionConfig::default());
            }
            config.backends.push(backend);
        }
        match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => {
                let mut tls = config
                    .tls
                    .take()
                    .unwrap_or_else(|| TlsConfig::new(&cert, &key));
                tls.cert = cert;
                tls.key = key;
                config.tls = Some(tls);
            }
            (None, None) => {}
            _ => {
                return Err(ConfigError::new(
                    "tls",
                    "--tls-cert and --tls-key go together",
                ));
            }
        }
        if let Some(ca) = self.tls_client_ca {
            let tls = config.tls.as_mut().ok_or_else(|| {
                ConfigError::new(
                    "tls.client_ca",
                    "--tls-client-ca needs --tls-cert and --tls-key",
                )
            })?;
            tls.client_ca = Some(ca);
        }
        if let Some(v) = self.listen {
            config.listen = v;
        }
        if let Some(v) = self.admin_listen {
            config.admin_listen = Some(v);
        }
        if let Some(v) = self.log_format {
            config.log_format = match v {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            };
        }
        config.cors.allowed_origins.extend(self.allowed_origins);
        config.cors.allow_credentials |= self.allow_credentials;
        if let Some(v) = self.max_message_size {
            config.limits.max_message_size = v;
        }
        if let Some(v) = self.max_connections {
            config.limits.max_connections = v;
        }
        config.allow_request_streaming |= self.allow_request_streaming;
        if let Some(n) = self.worker_threads {
            config.worker_threads = Some(n);
        }
        if let Some(v) = self.scheduler {
            config.scheduler = match v {
                SchedulerArg::PerWorker => Scheduler::PerWorker,
                SchedulerArg::Shared => Scheduler::Shared,
            };
        }
        config.descriptor_sets.extend(self.descriptor_sets);
        if let Some(ms) = self.max_timeout_ms {
            config.limits.max_timeout = Some(Duration::from_millis(ms));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "--log-format",
            "json",
            "--worker-threads",
            "3",
        ])
        .unwrap();
        let config = args.into_config().unwrap();
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.backends[0].endpoints, ["http://127.0.0.1:9000"]);
        assert_eq!(
            config.cors.allowed_origins,
            ["https://a.example", "https://*.b.example"]
        );
        assert_eq!(config.limits.max_message_size, 1024);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.worker_threads(), 3);
        config.validate().unwrap();
        let none = Args::try_parse_from(["grpcweb-proxy"])
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(
            none.validate().unwrap_err().key(),
            "backends",
            "a backend is required"
        );
        assert_eq!(none.worker_threads, None);
        assert!((1..=2).contains(&none.worker_threads()));
    }

    #[test]
    fn reflection_flag_sets_the_backend_s_descriptor_source() {
        let config = Args::try_parse_from([
            "grpcweb-proxy",
            "--backend",
            "http://127.0.0.1:9000",
            "--reflection",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!(
            config.backends[0].reflection,
            Some(ReflectionConfig::default())
        );
        config.validate().unwrap();
        assert!(Args::try_parse_from(["grpcweb-proxy", "--reflection"]).is_err());
    }
}
