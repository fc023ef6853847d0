//! TLS: the listener with ALPN h2 and http/1.1 from a real TLS client, client
//! certificates (mTLS) accepted and refused, certificate reload without a restart, and a
//! TLS backend with a server-name override.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_proxy::Config;
use grpcweb_proxy::tls::TlsConfig;
use grpcweb_test_support::data_frame;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// A throwaway CA that writes PEM files into its own temporary folder.
pub(crate) struct Pki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub(crate) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("grpcweb-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, "grpcweb test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca }
    }

    pub(crate) fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Writes `stem.pem` and `stem.key` for a leaf with these names.
    pub(crate) fn leaf(&self, stem: &str, names: &[&str], client: bool) -> (PathBuf, PathBuf) {
        let mut params =
            CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let (cert_path, key_path) = (
            self.dir.join(format!("{stem}.pem")),
            self.dir.join(format!("{stem}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    pub(crate) fn client_config(
        &self,
        alpn: &[u8],
        client_cert: Option<(PathBuf, PathBuf)>,
    ) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let mut config = match client_cert {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_file_iter(cert)
                        .unwrap()
                        .map(Result::unwrap)
                        .collect(),
                    PrivateKeyDer::from_pem_file(key).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![alpn.to_vec()];
        config
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) struct Answer {
    pub(crate) alpn: Option<Vec<u8>>,
    pub(crate) peer_cert: Vec<u8>,
    pub(crate) status: http::StatusCode,
    pub(crate) body: Bytes,
}

/// One gRPC-Web EmptyCall over TLS, on HTTP/2 or HTTP/1.1 as ALPN decides.
pub(crate) async fn call(addr: SocketAddr, config: rustls::ClientConfig) -> anyhow::Result<Answer> {
    let tcp = TcpStream::connect(addr).await?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let peer_cert = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    let req = http::Request::post(format!(
        "https://127.0.0.1:{}/grpc.testing.TestService/EmptyCall",
        addr.port()
    ))
    .header("content-type", "application/grpc-web+proto")
    .body(Full::new(data_frame(b"")))?;
    let res = if alpn.as_deref() == Some(b"h2") {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        send.send_request(req).await?
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        send.send_request(req).await?
    };
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok(Answer {
        alpn,
        peer_cert,
        status,
        body,
    })
}

pub(crate) fn ok_trailer(body: &Bytes) -> bool {
    body.windows(b"grpc-status:0\r\n".len())
        .any(|w| w == b"grpc-status:0\r\n")
}

pub(crate) async fn tls_proxy(backend_url: &str, tls: TlsConfig) -> support::Running {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::with_backend(backend_url)
    };
    config.backends[0].health_check_interval = None;
    config.tls = Some(tls);
    support::start_proxy(config).await
}

#[tokio::test]
async fn alpn_offers_h2_and_http1() {
    let pki = Pki::new("alpn");
    let (cert, key) = pki.leaf("server", &["127.0.0.1", "localhost"], false);
    let backend = support::interop_server(false).await;
    let proxy = tls_proxy(&backend.url(), TlsConfig::new(cert, key)).await;
    for proto in [&b"h2"[..], b"http/1.1"] {
        let answer = call(proxy.addr, pki.client_config(proto, None))
            .await
            .unwrap();
        assert_eq!(answer.alpn.as_deref(), Some(proto));
        assert_eq!(answer.status, 200);
        assert!(ok_trailer(&answer.body), "{:?}", answer.body);
    }
    // A plaintext client is not served on a TLS port.
    let res = grpcweb_test_support::WebClient::new(grpcweb_test_support::HttpVersion::H1)
        .call(proxy.addr, "/grpc.testing.TestService/EmptyCall")
        .message(b"")
        .send()
        .await;
    assert!(
        res.is_err(),
        "plaintext request answered on the TLS listener"
    );
}

#[tokio::test]
async fn client_certificates_are_required_with_a_client_ca() {
    let pki = Pki::new("mtls");
    let (cert, key) = pki.leaf("server", &["127.0.0.1"], false);
    let client = pki.leaf("client", &["client.test"], true);
    let other = Pki::new("mtls-other");
    let stranger = other.leaf("stranger", &["stranger.test"], true);
    let backend = support::interop_server(false).await;
    let mut tls = TlsConfig::new(cert, key);
    tls.client_ca = Some(pki.ca_path());
    let proxy = tls_proxy(&backend.url(), tls).await;

    let answer = call(proxy.addr, pki.client_config(b"h2", Some(client)))
        .await
        .unwrap();
    assert!(ok_trailer(&answer.body));
    assert!(
        call(proxy.addr, pki.client_config(b"h2", None))
            .await
            .is_err(),
        "no client certificate"
    );
    assert!(
        call(proxy.addr, pki.client_config(b"h2", Some(stranger)))
            .await
            .is_err(),
        "certificate from another CA"
    );
}

#[tokio::test]
async fn certificates_reload_when_the_files_change() {
    let pki = Pki::new("reload");
    let (cert, key) = pki.leaf("server", &["127.0.0.1"], false);
    let backend = support::interop_server(false).await;
    let mut tls = TlsConfig::new(&cert, &key);
    tls.reload_interval = Duration::from_millis(50);
    let proxy = tls_proxy(&backend.url(), tls).await;
    let first = call(proxy.addr, pki.client_config(b"h2", None))
        .await
        .unwrap();

    // Rotate in place, as cert-manager does.
    tokio::time::sleep(Duration::from_millis(20)).await;
    pki.leaf("server", &["127.0.0.1"], false);
    let mut rotated = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let answer = call(proxy.addr, pki.client_config(b"h2", None))
            .await
            .unwrap();
        assert!(ok_trailer(&answer.body));
        if answer.peer_cert != first.peer_cert {
            rotated = true;
            break;
        }
    }
    assert!(rotated, "the new certificate was never served");

    // A broken file keeps the last good certificate.
    std::fs::write(&cert, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = call(proxy.addr, pki.client_config(b"h2", None))
        .await
        .unwrap();
    assert!(ok_trailer(&answer.body));
}

/// Terminates TLS (ALPN h2, a certificate for `backend.test` only) and pipes the bytes to
/// `target`: a TLS backend in front of the cleartext interop server.
async fn tls_shim(pki: &Pki, target: SocketAddr) -> SocketAddr {
    let (cert, key) = pki.leaf("backend", &["backend.test"], false);
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        CertificateDer::pem_file_iter(cert)
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        PrivateKeyDer::from_pem_file(key).unwrap(),
    )
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn tls_backend_with_a_server_name_override() {
    let pki = Pki::new("backend");
    let backend = support::interop_server(false).await;
    let shim = tls_shim(&pki, backend.addr).await;
    let proxy = support::proxy(&format!("https://127.0.0.1:{}", shim.port()), |c| {
        c.backends[0].tls.ca = Some(pki.ca_path());
        c.backends[0].tls.server_name = Some("backend.test".into());
    })
    .await;
    let res = grpcweb_test_support::WebClient::new(grpcweb_test_support::HttpVersion::H2)
        .call(proxy.addr, "/grpc.testing.TestService/EmptyCall")
        .message(b"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.grpc_status(),
        Some(grpcweb_test_support::Code::Ok),
        "{:?}",
        res.status()
    );

    // Without the override the certificate does not match 127.0.0.1: UNAVAILABLE.
    let strict = support::proxy(&format!("https://127.0.0.1:{}", shim.port()), |c| {
        c.backends[0].tls.ca = Some(pki.ca_path());
    })
    .await;
    let res = grpcweb_test_support::WebClient::new(grpcweb_test_support::HttpVersion::H2)
        .call(strict.addr, "/grpc.testing.TestService/EmptyCall")
        .message(b"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.grpc_status(),
        Some(grpcweb_test_support::Code::Unavailable),
        "{:?}",
        res.status()
    );
}

#[test]
fn https_backend_without_a_ca_is_a_config_error() {
    let config = Config::with_backend("https://backend:443");
    assert_eq!(config.validate().unwrap_err().key(), "backends[0].ca");
}
