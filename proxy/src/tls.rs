//! TLS for the listener (ALPN h2 and http/1.1, optional client certificates, certificates
//! reloaded when their files change) and for backends (`https://` endpoints).

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config_error::ConfigError;

/// TLS on the listener.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA bundle; when set, clients must present a certificate it signed (mTLS).
    pub client_ca: Option<PathBuf>,
    /// How often to check the files for changes (cert-manager rotates them in place).
    pub reload_interval: Duration,
}

impl TlsConfig {
    /// A listener with `cert` and `key`, reloaded every 10 s when they change.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
            client_ca: None,
            reload_interval: Duration::from_secs(10),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn load_certs(
    key: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| ConfigError::new(key, format!("cannot read {}: {e}", path.display())))?
        .collect();
    let certs = certs.map_err(|e| ConfigError::new(key, format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ConfigError::new(
            key,
            format!("{}: no PEM certificate in it", path.display()),
        ));
    }
    Ok(certs)
}

fn load_key(key: &str, path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| ConfigError::new(key, format!("{}: {e}", path.display())))
}

pub(crate) fn load_roots(key: &str, path: &Path) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(key, path)? {
        roots
            .add(cert)
            .map_err(|e| ConfigError::new(key, format!("{}: {e}", path.display())))?;
    }
    Ok(roots)
}

/// Builds the listener's rustls configuration from the files.
pub(crate) fn server_config(tls: &TlsConfig) -> Result<ServerConfig, ConfigError> {
    let certs = load_certs("tls.cert", &tls.cert)?;
    let key = load_key("tls.key", &tls.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new("tls", e.to_string()))?;
    let builder = match &tls.client_ca {
        Some(ca) => {
            let roots = load_roots("tls.client_ca", ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| ConfigError::new("tls.client_ca", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| ConfigError::new("tls.key", format!("does not match the certificate: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The listener's current TLS configuration, swapped when the files change.
#[derive(Debug)]
pub(crate) struct Reloading {
    tls: TlsConfig,
    current: RwLock<Arc<ServerConfig>>,
}

impl Reloading {
    pub(crate) fn new(tls: &TlsConfig) -> Result<Arc<Self>, ConfigError> {
        let config = server_config(tls)?;
        Ok(Arc::new(Self {
            tls: tls.clone(),
            current: RwLock::new(Arc::new(config)),
        }))
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let config = self
            .current
            .read()
            .map_or_else(|p| p.into_inner().clone(), |c| c.clone());
        tokio_rustls::TlsAcceptor::from(config)
    }

    /// The files' contents: a change of content counts, whatever the modification times
    /// say (`cp -p`, unpacked archives and coarse clocks keep them).
    fn stamp(&self) -> Vec<Option<Vec<u8>>> {
        [
            Some(&self.tls.cert),
            Some(&self.tls.key),
            self.tls.client_ca.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|p| std::fs::read(p).ok())
        .collect()
    }

    /// Checks the files every interval and swaps in a new configuration when they change.
    /// A broken new file is logged and the old configuration kept. New handshakes use the
    /// new certificate and client CA; established connections are not touched.
    pub(crate) async fn watch(self: Arc<Self>) {
        let mut last = self.stamp();
        loop {
            tokio::time::sleep(self.tls.reload_interval).await;
            let now = self.stamp();
            if now == last {
                continue;
            }
            last = now;
            match server_config(&self.tls) {
                Ok(config) => {
                    if let Ok(mut current) = self.current.write() {
                        *current = Arc::new(config);
                    }
                    tracing::info!(cert = %self.tls.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS files changed but cannot be loaded; keeping the old certificate")
                }
            }
        }
    }
}

/// Why a client's TLS handshake failed: a small fixed set, for a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandshakeFailure {
    /// Not finished within `header_read_timeout` of accept.
    Timeout,
    /// No client certificate, or one the client CA does not vouch for.
    ClientCertificate,
    /// The client aborted with an alert (often: it does not trust our certificate).
    PeerAlert,
    /// Not TLS, malformed, or nothing in common (versions, ciphers).
    Protocol,
    /// The connection failed or closed mid-handshake.
    Io,
}

impl HandshakeFailure {
    /// Classifies an error from the acceptor (rustls errors come wrapped in `io::Error`).
    pub(crate) fn of(e: &std::io::Error) -> Self {
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::NoCertificatesPresented | rustls::Error::InvalidCertificate(_)) => {
                Self::ClientCertificate
            }
            Some(rustls::Error::AlertReceived(_)) => Self::PeerAlert,
            Some(_) => Self::Protocol,
            None => Self::Io,
        }
    }

    /// The `reason` label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::ClientCertificate => "client_certificate",
            Self::PeerAlert => "peer_alert",
            Self::Protocol => "protocol",
            Self::Io => "io",
        }
    }
}

/// TLS toward one backend.
#[derive(Clone, Debug, Default)]
pub struct BackendTlsConfig {
    /// PEM CA bundle to verify the backend with (required for `https://` endpoints).
    pub ca: Option<PathBuf>,
    /// PEM client certificate and key, for backends that require mTLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Name to verify the backend's certificate against (SNI), instead of the URL's host.
    pub server_name: Option<String>,
}

/// The rustls client configuration for a backend; errors name `{at}.ca` and so on (`at`
/// is the backend's key, `backends[0]`).
pub(crate) fn client_config(at: &str, tls: &BackendTlsConfig) -> Result<ClientConfig, ConfigError> {
    let key = |k: &str| format!("{at}.{k}");
    let ca = tls.ca.as_ref().ok_or_else(|| {
        ConfigError::new(
            key("ca"),
            "https:// endpoints need a CA bundle to verify the backend",
        )
    })?;
    let roots = load_roots(&key("ca"), ca)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new(key("ca"), e.to_string()))?
        .with_root_certificates(roots);
    let config = match &tls.client_cert {
        Some((cert, k)) => builder
            .with_client_auth_cert(
                load_certs(&key("client_cert"), cert)?,
                load_key(&key("client_key"), k)?,
            )
            .map_err(|e| ConfigError::new(key("client_key"), e.to_string()))?,
        None => builder.with_no_client_auth(),
    };
    // ALPN (h2) is set by the connector.
    Ok(config)
}
