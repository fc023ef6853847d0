//! The TOML configuration file. Every key is optional; unknown keys are errors.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::duration::{count_value, size_value};
use super::{
    BackendConfig, Config, ConfigError, ForwardingConfig, HealthCheck, LimitsConfig, LogFormat,
    RouteConfig, RouteMatch, Scheduler, parse_duration,
};
use grpcweb_layer::CorsConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    admin_listen: Option<String>,
    log_format: Option<String>,
    allow_request_streaming: Option<bool>,
    worker_threads: Option<toml::Value>,
    scheduler: Option<toml::Value>,
    #[serde(default)]
    descriptor_sets: Vec<PathBuf>,
    #[serde(default)]
    backends: Vec<FileBackend>,
    #[serde(default)]
    routes: Vec<FileRoute>,
    cors: Option<FileCors>,
    limits: Option<FileLimits>,
    forwarding: Option<FileForwarding>,
    tls: Option<FileTls>,
    transcoding: Option<super::transcoding::FileTranscoding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    reload_interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBackend {
    name: String,
    endpoints: Vec<String>,
    connect_timeout: Option<String>,
    /// `"off"` or a duration.
    health_check_interval: Option<String>,
    health_check: Option<String>,
    health_check_service: Option<String>,
    dns_refresh_interval: Option<String>,
    ca: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    server_name: Option<String>,
    max_connections: Option<usize>,
    max_pending_calls: Option<usize>,
    #[serde(default)]
    descriptor_sets: Vec<PathBuf>,
    /// `"files"` (the default) or `"reflection"`.
    descriptors: Option<String>,
    reflection: Option<super::reflection::FileReflection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    service: Option<String>,
    package: Option<String>,
    #[serde(default)]
    all: bool,
    backend: String,
    max_duration: Option<String>,
    allow_request_streaming: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCors {
    allowed_origins: Option<Vec<String>>,
    allow_credentials: Option<bool>,
    allowed_headers: Option<Vec<String>>,
    max_age: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    // Sizes and counts are read as any TOML value so that a wrong one (negative, too large,
    // a float) is reported with its key, not just its line.
    max_message_size: Option<toml::Value>,
    max_response_message_size: Option<toml::Value>,
    max_buffered_request_bytes: Option<toml::Value>,
    max_header_size: Option<toml::Value>,
    max_connections: Option<toml::Value>,
    max_concurrent_streams: Option<toml::Value>,
    max_timeout: Option<String>,
    header_read_timeout: Option<String>,
    body_read_timeout: Option<String>,
    request_idle_timeout: Option<String>,
    drain_timeout: Option<String>,
    idle_timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForwarding {
    forwarded_for: Option<bool>,
    trust_forwarded_for: Option<bool>,
    remove_headers: Option<Vec<String>>,
    allow_headers: Option<Vec<String>>,
}

impl Config {
    /// Reads a TOML configuration (`docs/config.md` lists every key). The result is not yet
    /// validated: flags may still change it.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let message = e.message().to_owned();
            let key = e.span().map_or_else(
                || "config file".to_owned(),
                |span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("config file line {line}")
                },
            );
            ConfigError::new(key, message)
        })?;
        let mut config = Self::default();
        if let Some(v) = file.listen {
            config.listen = addr("listen", &v)?;
        }
        if let Some(v) = file.admin_listen {
            config.admin_listen = Some(addr("admin_listen", &v)?);
        }
        if let Some(v) = file.log_format {
            config.log_format = log_format(&v)?;
        }
        if let Some(v) = file.allow_request_streaming {
            config.allow_request_streaming = v;
        }
        if let Some(v) = file.worker_threads {
            config.worker_threads = Some(count("worker_threads", &v)?);
        }
        if let Some(v) = file.scheduler {
            config.scheduler = scheduler(&v)?;
        }
        config.descriptor_sets = file.descriptor_sets;
        if let Some(t) = file.transcoding {
            super::transcoding::apply(&mut config.transcoding, t)?;
        }
        for (i, b) in file.backends.into_iter().enumerate() {
            let key = format!("backends[{i}]");
            let mut backend = BackendConfig::new(b.name, String::new());
            backend.endpoints = b.endpoints;
            if let Some(v) = b.connect_timeout {
                backend.connect_timeout = duration(&format!("{key}.connect_timeout"), &v)?;
            }
            if let Some(v) = b.health_check_interval {
                backend.health_check_interval = match v.as_str() {
                    "off" => None,
                    v => Some(duration(&format!("{key}.health_check_interval"), v)?),
                };
            }
            backend.health_check = match (b.health_check.as_deref(), b.health_check_service) {
                (None | Some("tcp"), None) => HealthCheck::Tcp,
                (Some("grpc"), service) => HealthCheck::Grpc {
                    service: service.unwrap_or_default(),
                },
                (Some("tcp") | None, Some(_)) => {
                    return Err(ConfigError::new(
                        format!("{key}.health_check_service"),
                        "needs health_check = \"grpc\"",
                    ));
                }
                (Some(other), _) => {
                    return Err(ConfigError::new(
                        format!("{key}.health_check"),
                        format!("{other:?}: expected \"tcp\" or \"grpc\""),
                    ));
                }
            };
            if let Some(v) = b.dns_refresh_interval {
                backend.dns_refresh_interval =
                    Some(duration(&format!("{key}.dns_refresh_interval"), &v)?);
            }
            if let Some(v) = b.max_connections {
                backend.max_connections = v;
            }
            if let Some(v) = b.max_pending_calls {
                backend.max_pending_calls = v;
            }
            backend.descriptor_sets = b.descriptor_sets;
            backend.reflection =
                super::reflection::from_file(&key, b.descriptors.as_deref(), b.reflection)?;
            backend.tls.ca = b.ca;
            backend.tls.server_name = b.server_name;
            backend.tls.client_cert = match (b.client_cert, b.client_key) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => {
                    return Err(ConfigError::new(
                        format!("{key}.client_cert"),
                        "client_cert and client_key go together",
                    ));
                }
            };
            config.backends.push(backend);
        }
        for (i, r) in file.routes.into_iter().enumerate() {
            let matches = match (r.service, r.package, r.all) {
                (Some(s), None, false) => RouteMatch::Service(s),
                (None, Some(p), false) => RouteMatch::Package(p),
                (None, None, true) => RouteMatch::All,
                _ => {
                    return Err(ConfigError::new(
                        format!("routes[{i}]"),
                        "give exactly one of service = \"pkg.Service\", package = \"pkg\" or all = true",
                    ));
                }
            };
            let max_duration = match r.max_duration {
                Some(v) => Some(duration(&format!("routes[{i}].max_duration"), &v)?),
                None => None,
            };
            config.routes.push(RouteConfig {
                matches,
                backend: r.backend,
                max_duration,
                allow_request_streaming: r.allow_request_streaming,
            });
        }
        if let Some(c) = file.cors {
            apply_cors(&mut config.cors, c)?;
        }
        if let Some(l) = file.limits {
            apply_limits(&mut config.limits, l)?;
        }
        if let Some(t) = file.tls {
            let mut tls = crate::tls::TlsConfig::new(t.cert, t.key);
            tls.client_ca = t.client_ca;
            if let Some(v) = t.reload_interval {
                tls.reload_interval = duration("tls.reload_interval", &v)?;
            }
            config.tls = Some(tls);
        }
        if let Some(f) = file.forwarding {
            let d = ForwardingConfig::default();
            config.forwarding = ForwardingConfig {
                forwarded_for: f.forwarded_for.unwrap_or(d.forwarded_for),
                trust_forwarded_for: f.trust_forwarded_for.unwrap_or(d.trust_forwarded_for),
                remove_headers: f
                    .remove_headers
                    .unwrap_or_default()
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
                allow_headers: f
                    .allow_headers
                    .map(|l| l.iter().map(|h| h.to_ascii_lowercase()).collect()),
            };
        }
        Ok(config)
    }
}

fn apply_cors(cors: &mut CorsConfig, c: FileCors) -> Result<(), ConfigError> {
    if let Some(v) = c.allowed_origins {
        cors.allowed_origins = v;
    }
    if let Some(v) = c.allow_credentials {
        cors.allow_credentials = v;
    }
    if c.allowed_headers.is_some() {
        cors.allowed_headers = c.allowed_headers;
    }
    if let Some(v) = c.max_age {
        cors.max_age = duration("cors.max_age", &v)?;
    }
    Ok(())
}

fn apply_limits(limits: &mut LimitsConfig, l: FileLimits) -> Result<(), ConfigError> {
    if let Some(v) = l.max_message_size {
        limits.max_message_size = size("limits.max_message_size", &v)?;
    }
    if let Some(v) = l.max_response_message_size {
        limits.max_response_message_size = Some(size("limits.max_response_message_size", &v)?);
    }
    if let Some(v) = l.max_buffered_request_bytes {
        let key = "limits.max_buffered_request_bytes";
        limits.max_buffered_request_bytes = match v.as_str() {
            Some("unlimited") => None,
            _ => Some(size(key, &v)?),
        };
    }
    if let Some(v) = l.max_header_size {
        limits.max_header_size = u32_of(
            "limits.max_header_size",
            size("limits.max_header_size", &v)?,
        )?;
    }
    if let Some(v) = l.max_connections {
        limits.max_connections = count("limits.max_connections", &v)?;
    }
    if let Some(v) = l.max_concurrent_streams {
        let key = "limits.max_concurrent_streams";
        limits.max_concurrent_streams = u32_of(key, count(key, &v)?)?;
    }
    if let Some(v) = l.max_timeout {
        limits.max_timeout = Some(duration("limits.max_timeout", &v)?);
    }
    if let Some(v) = l.header_read_timeout {
        limits.header_read_timeout = duration("limits.header_read_timeout", &v)?;
    }
    if let Some(v) = l.body_read_timeout {
        limits.body_read_timeout = duration("limits.body_read_timeout", &v)?;
    }
    if let Some(v) = l.request_idle_timeout {
        limits.request_idle_timeout = duration("limits.request_idle_timeout", &v)?;
    }
    if let Some(v) = l.idle_timeout {
        limits.idle_timeout = duration("limits.idle_timeout", &v)?;
    }
    if let Some(v) = l.drain_timeout {
        limits.drain_timeout = duration("limits.drain_timeout", &v)?;
    }
    Ok(())
}

pub(crate) fn addr(key: &str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse()
        .map_err(|_| ConfigError::new(key, format!("{v:?} is not an address like 127.0.0.1:8080")))
}

pub(crate) fn log_format(v: &str) -> Result<LogFormat, ConfigError> {
    match v {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(ConfigError::new(
            "log_format",
            format!("{v:?}: expected \"text\" or \"json\""),
        )),
    }
}

fn scheduler(v: &toml::Value) -> Result<Scheduler, ConfigError> {
    match v.as_str() {
        Some("per-worker") => Ok(Scheduler::PerWorker),
        Some("shared") => Ok(Scheduler::Shared),
        other => {
            let given = other.map_or_else(|| format!("{v:?}"), |s| format!("{s:?}"));
            Err(ConfigError::new(
                "scheduler",
                format!("{given}: expected the string \"per-worker\" or \"shared\""),
            ))
        }
    }
}

fn duration(key: &str, v: &str) -> Result<std::time::Duration, ConfigError> {
    parse_duration(v).map_err(|m| ConfigError::new(key, m))
}

/// A size: a string (`"4MiB"`) or a TOML integer of bytes.
pub(crate) fn size(key: &str, v: &toml::Value) -> Result<usize, ConfigError> {
    size_value(v).map_err(|m| ConfigError::new(key, m))
}

/// A count: a TOML integer, not negative.
pub(crate) fn count(key: &str, v: &toml::Value) -> Result<usize, ConfigError> {
    match v {
        toml::Value::Integer(n) => count_value(*n).map_err(|m| ConfigError::new(key, m)),
        _ => Err(ConfigError::new(
            key,
            format!("expected a whole number, found a {}", v.type_str()),
        )),
    }
}

/// A size or count that goes to HTTP/2 as a `u32` setting.
pub(crate) fn u32_of(key: &str, n: usize) -> Result<u32, ConfigError> {
    u32::try_from(n)
        .map_err(|_| ConfigError::new(key, format!("{n} is too large: at most {}", u32::MAX)))
}
