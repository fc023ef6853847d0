//! Configuration: plain structs with public fields and defaults, one per subsystem.
//!
//! The TOML file ([`Config::from_toml`], `--config FILE`) and the command-line flags fill
//! the same [`Config`]; [`Config::validate`] checks it before anything starts, and every
//! error names the key at fault. The file layout is documented in `docs/config.md`.

mod descriptors;
mod duration;
mod file;
mod reflection;
mod transcoding;
mod validate;

use http::Uri;
use http::uri::{Authority, Scheme};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use grpcweb_layer::CorsConfig;

use crate::tls::{BackendTlsConfig, TlsConfig};

pub use crate::config_error::ConfigError;
pub use descriptors::{backend_descriptors, transcoding};
pub use duration::{MAX_DURATION, parse_duration, parse_size};
pub use reflection::ReflectionConfig;
pub use transcoding::{RestStreamFormat, TranscodingConfig};

/// Everything the standalone proxy needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (HTTP/1.1 and h2c on the same port).
    pub listen: SocketAddr,
    /// Where to serve `/metrics`, `/healthz` and `/readyz`; off when `None`.
    pub admin_listen: Option<SocketAddr>,
    /// Log line format.
    pub log_format: LogFormat,
    /// TLS on the listener; plain HTTP (HTTP/1.1 and h2c) when `None`.
    pub tls: Option<TlsConfig>,
    /// The gRPC servers calls go to.
    pub backends: Vec<BackendConfig>,
    /// Which service goes to which backend. Empty with one backend: everything goes there.
    pub routes: Vec<RouteConfig>,
    /// Browser cross-origin policy.
    pub cors: CorsConfig,
    /// Size and time limits.
    pub limits: LimitsConfig,
    /// What the backend learns about the client.
    pub forwarding: ForwardingConfig,
    /// Let gRPC-Web clients stream request messages (client-streaming, and bidi over
    /// HTTP/2). Off: every call carries exactly one request message.
    pub allow_request_streaming: bool,
    /// `FileDescriptorSet` files of every backend's services, for JSON and REST calls
    /// (each backend may add its own in [`BackendConfig::descriptor_sets`]).
    pub descriptor_sets: Vec<PathBuf>,
    /// Threads that run the proxy's tasks; `None`: [`default_worker_threads`].
    pub worker_threads: Option<usize>,
    /// How the worker threads share the work.
    pub scheduler: Scheduler,
    /// JSON options, REST headers and HTTP rules of JSON and REST calls.
    pub transcoding: TranscodingConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: None,
            log_format: LogFormat::Text,
            tls: None,
            backends: Vec::new(),
            routes: Vec::new(),
            cors: CorsConfig::default(),
            limits: LimitsConfig::default(),
            forwarding: ForwardingConfig::default(),
            allow_request_streaming: false,
            descriptor_sets: Vec::new(),
            worker_threads: None,
            scheduler: Scheduler::default(),
            transcoding: TranscodingConfig::default(),
        }
    }
}

/// Most worker threads a proxy gets when the configuration does not say.
pub const MAX_DEFAULT_WORKER_THREADS: usize = 2;

/// The worker threads when `worker_threads` is not set: the CPUs this process may use
/// (a container's CPU limit counts), at most [`MAX_DEFAULT_WORKER_THREADS`]. The proxy
/// usually runs as a sidecar next to the application that does the real work, with a
/// CPU share of a core or two (as service-mesh sidecars are sized); one worker per CPU
/// it may use keeps calls from waiting on each other, and more threads than that only
/// add wake-ups, hand-offs between threads and per-thread allocator memory. A proxy
/// that serves a whole fleet on a large machine sets `worker_threads` to its CPUs.
pub fn default_worker_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_DEFAULT_WORKER_THREADS)
}

impl Config {
    /// The worker threads to run: `worker_threads`, or [`default_worker_threads`].
    pub fn worker_threads(&self) -> usize {
        self.worker_threads.unwrap_or_else(default_worker_threads)
    }

    /// The per-worker runtimes [`Proxy::serve`](crate::Proxy::serve) runs: the worker
    /// threads with [`Scheduler::PerWorker`], else 1 (all work on the caller's runtime).
    pub fn runtimes(&self) -> usize {
        match self.scheduler {
            Scheduler::PerWorker => self.worker_threads(),
            Scheduler::Shared => 1,
        }
    }

    /// The default configuration with one backend at `url` that gets every call.
    pub fn with_backend(url: impl Into<String>) -> Self {
        Self {
            backends: vec![BackendConfig::new("default", url)],
            ..Self::default()
        }
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// How the proxy's worker threads share the work (`scheduler`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scheduler {
    /// Each worker runs its own current-thread runtime and its own backend connections;
    /// a client connection stays on the worker that accepted it, so a call's client and
    /// backend streams never wake another thread.
    #[default]
    PerWorker,
    /// The workers share every task (tokio's work-stealing multi-thread scheduler).
    Shared,
}

/// One gRPC server (or a set of replicas of it).
#[derive(Clone, Debug)]
pub struct BackendConfig {
    /// Name that routes refer to.
    pub name: String,
    /// `http://host:port` URLs (HTTP/2 cleartext, prior knowledge); calls are balanced
    /// over them, skipping endpoints that fail.
    pub endpoints: Vec<String>,
    /// How long opening a backend connection may take, all told: the name lookup, the TCP
    /// connect, the TLS handshake and the backend's first HTTP/2 SETTINGS.
    pub connect_timeout: Duration,
    /// How often to probe each endpoint (a TCP connect); `None` turns probing off.
    pub health_check_interval: Option<Duration>,
    /// What a probe checks.
    pub health_check: HealthCheck,
    /// Re-resolve endpoint host names this often, using every address as an endpoint
    /// (for Kubernetes headless services). `None`: names are resolved at each connect.
    pub dns_refresh_interval: Option<Duration>,
    /// TLS for `https://` endpoints.
    pub tls: BackendTlsConfig,
    /// Most connections open to each endpoint (default 1024). Calls that find every one
    /// full wait for a stream slot, as pending calls.
    pub max_connections: usize,
    /// Most calls waiting for a connection or a stream slot at each endpoint (default
    /// 1024); a call over it is answered UNAVAILABLE at once.
    pub max_pending_calls: usize,
    /// `FileDescriptorSet` files of this backend's services, next to the top-level
    /// [`Config::descriptor_sets`], for JSON and REST calls.
    pub descriptor_sets: Vec<PathBuf>,
    /// `Some`: the backend's descriptors also come from its gRPC server reflection
    /// service (`descriptors = "reflection"`), fetched at start and again when a call
    /// names a method they lack.
    pub reflection: Option<ReflectionConfig>,
}

/// What a backend probe checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HealthCheck {
    /// That a TCP connection opens.
    #[default]
    Tcp,
    /// That `grpc.health.v1.Health/Check` answers SERVING for `service` ("" for the
    /// whole server).
    Grpc {
        /// The service name to ask about.
        service: String,
    },
}

impl BackendConfig {
    /// A backend with one endpoint and default timeouts.
    pub fn new(name: impl Into<String>, endpoint: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            endpoints: vec![endpoint.into()],
            connect_timeout: Duration::from_secs(5),
            health_check_interval: Some(Duration::from_secs(5)),
            health_check: HealthCheck::Tcp,
            dns_refresh_interval: None,
            tls: BackendTlsConfig::default(),
            max_connections: 1024,
            max_pending_calls: 1024,
            descriptor_sets: Vec::new(),
            reflection: None,
        }
    }
}

/// A parsed endpoint URL.
#[derive(Clone, Debug)]
pub(crate) struct EndpointUrl {
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
}

pub(crate) fn parse_endpoint(url: &str) -> Result<EndpointUrl, String> {
    let uri: Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| format!("{url:?}: missing scheme, expected http://host:port"))?;
    if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
        return Err(format!(
            "{url:?}: expected http:// (HTTP/2 cleartext) or https://"
        ));
    }
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| format!("{url:?}: missing host"))?;
    if authority.port_u16().is_none() {
        return Err(format!("{url:?}: missing port"));
    }
    if uri.path() != "/" && !uri.path().is_empty() {
        return Err(format!("{url:?}: a backend URL has no path"));
    }
    Ok(EndpointUrl { scheme, authority })
}

/// Which calls a route takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// One service, by full name (`acme.users.v1.UserService`).
    Service(String),
    /// Every service in a package or its sub-packages (`acme.billing`).
    Package(String),
    /// Every call (the single-backend case).
    All,
}

/// Sends the calls that `matches` takes to `backend`.
#[derive(Clone, Debug)]
pub struct RouteConfig {
    /// Which calls.
    pub matches: RouteMatch,
    /// The backend's name.
    pub backend: String,
    /// Longest a call on this route may last, streams included (off when `None`): the
    /// call's deadline is capped, and calls without one get it.
    pub max_duration: Option<Duration>,
    /// Whether calls on this route may stream request messages; `None` (the default):
    /// as [`Config::allow_request_streaming`] says.
    pub allow_request_streaming: Option<bool>,
}

/// What the backend learns about the client.
#[derive(Clone, Debug)]
pub struct ForwardingConfig {
    /// Tell the backend the client's address in `x-forwarded-for`.
    pub forwarded_for: bool,
    /// The hop in front is a trusted proxy: keep the `x-forwarded-for` it sent, appending
    /// to it, and pass its `forwarded`, `x-real-ip`, `x-forwarded-host`,
    /// `x-forwarded-proto`, `x-forwarded-port` and `x-forwarded-client-cert`. Off (the
    /// default): a client cannot claim another address, host, scheme or certificate;
    /// `x-forwarded-for` is replaced and the others are dropped.
    pub trust_forwarded_for: bool,
    /// Request headers never sent to backends (lower-case names).
    pub remove_headers: Vec<String>,
    /// When set, the only request metadata sent to backends, besides what gRPC itself
    /// needs (`content-type`, `te`, `grpc-timeout`, `grpc-encoding`,
    /// `grpc-accept-encoding`) and `x-forwarded-for`.
    pub allow_headers: Option<Vec<String>>,
}

impl Default for ForwardingConfig {
    fn default() -> Self {
        Self {
            forwarded_for: true,
            trust_forwarded_for: false,
            remove_headers: Vec::new(),
            allow_headers: None,
        }
    }
}

/// Limits, all with safe defaults (D3, D4).
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// Largest request message, in bytes (default 4 MiB).
    pub max_message_size: usize,
    /// Largest response message passed to clients; no limit when `None` (the default).
    pub max_response_message_size: Option<usize>,
    /// Most request bytes all calls may buffer at once (default 64 MiB; `None`: no
    /// limit). A call that would go over it gets RESOURCE_EXHAUSTED.
    pub max_buffered_request_bytes: Option<usize>,
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
    /// Time allowed for a client to send its request message (with request streaming:
    /// each request message, once its first bytes came).
    pub body_read_timeout: Duration,
    /// With request streaming: longest wait for a client's next request message (or the
    /// end of its stream) after the last one (default 60 s). Then the call ends with
    /// DEADLINE_EXCEEDED and its backend stream is reset.
    pub request_idle_timeout: Duration,
    /// How long a connection may stay open with no call in progress (a live stream is
    /// never idle).
    pub idle_timeout: Duration,
    /// How long calls in flight may run on after shutdown starts.
    pub drain_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_size: grpcweb_protocol::framing::DEFAULT_MAX_FRAME_LEN,
            max_response_message_size: None,
            max_buffered_request_bytes: Some(grpcweb_layer::DEFAULT_MAX_BUFFERED_REQUEST_BYTES),
            max_header_size: 16 * 1024,
            max_connections: 10_000,
            max_concurrent_streams: 1000,
            max_timeout: None,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            request_idle_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(300),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests;
