//! `start` with the certificates a conformance runner hands over: self-signed server and
//! client certificates, the client's own certificate being the client CA (as
//! `connectconformance` makes them). The proxy serves TLS with them, requires the client
//! certificate, and the files it read them from are removed when the server stops.

#![cfg(conformance_protos)]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use grpcweb_conformance::{Options, ServerTls, start};
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyPair};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A self-signed certificate and its key, PEM.
fn self_signed(names: &[&str], purpose: ExtendedKeyUsagePurpose) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    params.extended_key_usages = vec![purpose];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// One gRPC-Web call over TLS and HTTP/1.1; the response's head, or the error.
async fn call(
    addr: SocketAddr,
    server_cert: &str,
    client: Option<&(String, String)>,
) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(server_cert.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await?;
    let request = "POST /connectrpc.conformance.v1.ConformanceService/Unary HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: 5\r\n\r\n\x00\x00\x00\x00\x00";
    tls.write_all(request.as_bytes()).await?;
    let mut head = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut head))
        .await
        .expect("no answer in 5 s")?;
    Ok(String::from_utf8_lossy(&head[..n]).into_owned())
}

#[tokio::test]
async fn serves_tls_with_the_runners_certificates_and_requires_client_certificates() {
    let (server_cert, server_key) = self_signed(
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let client = self_signed(&[], ExtendedKeyUsagePurpose::ClientAuth);
    let running = start(Options {
        tls: Some(ServerTls {
            cert: server_cert.clone().into_bytes(),
            key: server_key.into_bytes(),
            client_ca: Some(client.0.clone().into_bytes()),
        }),
        ..Options::default()
    })
    .await
    .unwrap();
    let dir = running.tls_dir().unwrap().to_owned();
    assert!(dir.join("key.pem").is_file());

    let head = call(running.proxy, &server_cert, Some(&client))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head:?}");
    // With TLS 1.3 the server checks the client's certificate after the client's side of
    // the handshake is done: the refusal comes as the answer to the request.
    let refused = call(running.proxy, &server_cert, None).await;
    assert!(
        refused.as_ref().is_err() || refused.as_ref().is_ok_and(String::is_empty),
        "served without a client certificate: {refused:?}"
    );

    drop(running);
    assert!(!dir.exists(), "{} left behind", dir.display());
}
