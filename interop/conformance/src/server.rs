//! Starting the backend and the proxy in front of it.

use anyhow::Context as _;
use grpcweb_proxy::tls::TlsConfig;
use grpcweb_proxy::{Config, Proxy};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::pb::conformance_service_server::ConformanceServiceServer;
use crate::service::{ConformanceServer, ExtraTrailers};

/// What the runner asks of the server under test.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Caps request messages at the proxy and the backend; 0 for none.
    pub message_limit: usize,
    /// The proxy's option of that name (client-streaming and bidi calls).
    pub allow_request_streaming: bool,
    /// Serve the proxy over TLS with these certificates; plaintext (HTTP/1.1 and h2c)
    /// when `None`.
    pub tls: Option<ServerTls>,
}

/// The certificates the runner hands the server under test, PEM encoded.
#[derive(Clone, Debug, Default)]
pub struct ServerTls {
    /// The proxy's certificate chain.
    pub cert: Vec<u8>,
    /// Its private key.
    pub key: Vec<u8>,
    /// When set, clients must present a certificate this CA bundle signed (mTLS).
    pub client_ca: Option<Vec<u8>>,
}

/// The backend and the proxy, running until dropped (with the runtime).
#[derive(Debug)]
pub struct Running {
    /// Where the proxy listens: the address to give the suite.
    pub proxy: SocketAddr,
    /// Where the native gRPC backend listens.
    pub backend: SocketAddr,
    /// The files the proxy reads (it takes paths): the suite's descriptor set and, over
    /// TLS, the PEM files (which it watches for changes); removed when this is dropped.
    files: TempDir,
    /// Whether `files` holds the TLS files.
    tls: bool,
}

impl Running {
    /// The private directory holding the proxy's TLS files, while it exists.
    pub fn tls_dir(&self) -> Option<&std::path::Path> {
        self.tls.then(|| self.files.path())
    }
}

/// The suite's protos as a `FileDescriptorSet` (imports included), written by the build
/// script: the proxy transcodes `CODEC_JSON` calls with it.
const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/conformance.binpb"));

/// Starts the backend and the proxy on free loopback ports.
pub async fn start(options: Options) -> anyhow::Result<Running> {
    let Options {
        message_limit,
        allow_request_streaming,
        tls,
    } = options;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let backend = listener.local_addr()?;
    let mut service = ConformanceServiceServer::new(ConformanceServer)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    if message_limit > 0 {
        service = service.max_decoding_message_size(message_limit);
    }
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(async move {
        let result = Server::builder()
            .layer(tower::util::MapResponseLayer::new(add_response_trailers))
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
        if let Err(e) = result {
            eprintln!("conformance backend failed: {e}");
        }
    });

    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::with_backend(format!("http://{backend}"))
    };
    config.allow_request_streaming = allow_request_streaming;
    let files = tempfile::Builder::new()
        .prefix("grpcweb-conformance-")
        .tempdir()
        .context("creating a directory for the proxy's files")?;
    let descriptors = files.path().join("conformance.binpb");
    std::fs::write(&descriptors, DESCRIPTOR_SET)
        .with_context(|| format!("writing {}", descriptors.display()))?;
    config.descriptor_sets = vec![descriptors];
    if let Some(tls) = &tls {
        config.tls = Some(write_tls_files(files.path(), tls)?);
    }
    if message_limit > 0 {
        config.limits.max_message_size = message_limit;
    }
    let proxy = Proxy::bind(config).await?;
    let proxy_addr = proxy.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = proxy.serve(std::future::pending()).await {
            eprintln!("proxy failed: {e}");
        }
    });
    Ok(Running {
        proxy: proxy_addr,
        backend,
        files,
        tls: tls.is_some(),
    })
}

/// Writes the runner's PEMs into `dir` (private: a fresh temporary directory, mode 0700)
/// for the proxy's `[tls]` configuration, which names files.
fn write_tls_files(dir: &Path, tls: &ServerTls) -> anyhow::Result<TlsConfig> {
    let write = |name: &str, pem: &[u8]| -> anyhow::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    let mut config = TlsConfig::new(write("cert.pem", &tls.cert)?, write("key.pem", &tls.key)?);
    if let Some(ca) = &tls.client_ca {
        config.client_ca = Some(write("client-ca.pem", ca)?);
    }
    Ok(config)
}

fn add_response_trailers(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    match response.extensions_mut().remove::<ExtraTrailers>() {
        Some(ExtraTrailers(extra)) => grpcweb_interop::trailers::add_trailers(response, extra),
        None => response,
    }
}
