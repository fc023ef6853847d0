//! `cargo xtask demo --tls`: a self-signed certificate for 127.0.0.1 and localhost, made
//! at every start (no key is kept anywhere but `target/`), that the proxy and the page
//! server both present; and the SHA-256 of its public key, by which Chromium can trust it
//! (`--ignore-certificate-errors-spki-list`) without touching any trust store.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use rcgen::{CertifiedKey, PublicKeyData as _, generate_simple_self_signed};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The demo's certificate, written as PEM files for the proxy.
pub(crate) struct DemoCert {
    /// PEM certificate (`--tls-cert`).
    pub(crate) cert_path: PathBuf,
    /// PEM private key (`--tls-key`).
    pub(crate) key_path: PathBuf,
    /// Base64 SHA-256 of the certificate's SubjectPublicKeyInfo.
    pub(crate) spki_hash: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl DemoCert {
    /// Makes a certificate and key and writes them into `dir` (created if missing).
    pub(crate) fn generate(dir: &Path) -> Result<Self> {
        let CertifiedKey { cert, signing_key } =
            generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .context("generating the demo's TLS certificate")?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        fs::write(&cert_path, cert.pem())
            .with_context(|| format!("writing {}", cert_path.display()))?;
        fs::write(&key_path, signing_key.serialize_pem())
            .with_context(|| format!("writing {}", key_path.display()))?;
        Ok(Self {
            cert_path,
            key_path,
            spki_hash: spki_hash(&signing_key.subject_public_key_info()),
            cert_der: cert.der().clone(),
            key_der: signing_key.serialize_der(),
        })
    }

    /// A TLS server configuration presenting this certificate, for the page's server
    /// (HTTP/1.1 only: the page is plain files).
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .context("the demo's TLS certificate")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The Chromium flag that trusts this certificate (and no other bad one).
    pub(crate) fn chromium_flag(&self) -> String {
        format!("--ignore-certificate-errors-spki-list={}", self.spki_hash)
    }
}

/// Base64 SHA-256 of a DER SubjectPublicKeyInfo: what Chromium's SPKI list takes.
fn spki_hash(spki_der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, spki_der);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_hash_is_base64_sha256() {
        // SHA-256 of the empty input.
        assert_eq!(
            spki_hash(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn writes_pem_files_and_makes_a_server_config() {
        let dir = std::env::temp_dir().join(format!("xtask-demo-tls-{}", std::process::id()));
        let cert = DemoCert::generate(&dir).unwrap();
        assert!(
            fs::read_to_string(&cert.cert_path)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            fs::read_to_string(&cert.key_path)
                .unwrap()
                .contains("PRIVATE KEY-----")
        );
        assert_eq!(cert.spki_hash.len(), 44);
        cert.server_config().unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
