//! Headers in which a client could claim to be someone else (its address, the host or
//! scheme it used, its certificate) reach the backend only from a trusted hop; and native
//! gRPC over HTTP/1.1 loses its hop-by-hop headers like gRPC-Web does.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient, within};
use std::time::Duration;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

const CLAIMS: [(&str, &str); 7] = [
    ("forwarded", "for=10.9.9.9;proto=https;host=bank.example"),
    ("x-real-ip", "10.9.9.9"),
    ("x-forwarded-host", "bank.example"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-port", "443"),
    ("x-forwarded-client-cert", "Hash=abc;Subject=\"CN=admin\""),
    ("x-forwarded-for", "10.9.9.9"),
];

#[tokio::test]
async fn client_claims_are_dropped_unless_the_hop_in_front_is_trusted() {
    for trust in [false, true] {
        let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
        let proxy = support::proxy(&backend.url(), |c| {
            c.forwarding.trust_forwarded_for = trust;
        })
        .await;
        let calls = [
            (HttpVersion::H1, "application/grpc-web+proto"),
            (HttpVersion::H2, "application/grpc-web+proto"),
            (HttpVersion::H2, "application/grpc"),
            (HttpVersion::H1, "application/grpc"),
        ];
        for (version, content_type) in calls {
            let mut call = WebClient::new(version)
                .call(proxy.addr, PATH)
                .content_type(content_type)
                .message(b"x");
            for (name, value) in CLAIMS {
                call = call.header(name, value);
            }
            // hyper's HTTP/1.1 client cannot read native gRPC's trailers: there only what
            // the backend received matters; every other call is answered OK.
            let res = call.send().await;
            if !(version == HttpVersion::H1 && content_type == "application/grpc") {
                let res = res.unwrap();
                assert_eq!(
                    res.grpc_status(),
                    Some(Code::Ok),
                    "trust={trust} {version:?} {content_type}"
                );
            }
        }
        let requests = within(
            Duration::from_secs(10),
            backend.wait_for_requests(calls.len()),
        )
        .await
        .unwrap();
        for (req, (version, content_type)) in requests.iter().zip(calls) {
            let what = format!("trust={trust} {version:?} {content_type}");
            for (name, value) in CLAIMS {
                let got = req.header(name);
                match (trust, name) {
                    (_, "x-forwarded-for") if trust => {
                        assert_eq!(got, Some("10.9.9.9, 127.0.0.1"), "{what}");
                    }
                    (_, "x-forwarded-for") => assert_eq!(got, Some("127.0.0.1"), "{what}"),
                    (true, _) => assert_eq!(got, Some(value), "{what}: {name}"),
                    (false, _) => assert_eq!(got, None, "{what}: {name} passed"),
                }
            }
        }
    }
}

#[tokio::test]
async fn native_grpc_over_http1_loses_hop_by_hop_headers() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    for content_type in ["application/grpc", "application/grpc-web+proto"] {
        let res = WebClient::new(HttpVersion::H1)
            .call(proxy.addr, PATH)
            .content_type(content_type)
            .header("connection", "keep-alive, x-hop")
            .header("x-hop", "1")
            .header("keep-alive", "timeout=5")
            .header("proxy-authorization", "Basic Zm9vOmJhcg==")
            .header("proxy-connection", "keep-alive")
            .header("te", "trailers")
            .header("x-kept", "yes")
            .message(b"x")
            .send()
            .await;
        // Native gRPC's trailers are not readable over hyper's HTTP/1.1 client.
        if content_type != "application/grpc" {
            assert_eq!(res.unwrap().grpc_status(), Some(Code::Ok), "{content_type}");
        }
    }
    let requests = within(Duration::from_secs(10), backend.wait_for_requests(2))
        .await
        .unwrap();
    for req in &requests {
        let ct = req.header("content-type").unwrap_or_default();
        for hop in [
            "connection",
            "x-hop",
            "keep-alive",
            "proxy-authorization",
            "proxy-connection",
            "host",
        ] {
            assert_eq!(req.header(hop), None, "{ct}: {hop} forwarded");
        }
        assert_eq!(req.header("te"), Some("trailers"), "{ct}");
        assert_eq!(req.header("x-kept"), Some("yes"), "{ct}");
    }
}

/// A CA, a server and a client certificate, in PEM files under a temporary folder.
struct MiniPki {
    dir: std::path::PathBuf,
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl MiniPki {
    fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let dir = std::env::temp_dir().join(format!("grpcweb-xfcc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca }
    }

    /// (certificate DER, certificate file, key file).
    fn leaf(
        &self,
        stem: &str,
        name: &str,
        usage: rcgen::ExtendedKeyUsagePurpose,
    ) -> (Vec<u8>, std::path::PathBuf, std::path::PathBuf) {
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.extended_key_usages = vec![usage];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let cert_path = self.dir.join(format!("{stem}.pem"));
        let key_path = self.dir.join(format!("{stem}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert.der().to_vec(), cert_path, key_path)
    }
}

impl Drop for MiniPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One gRPC-Web call over TLS (HTTP/2) that claims a certificate in its headers.
async fn tls_call(
    addr: std::net::SocketAddr,
    pki: &MiniPki,
    client: Option<(&std::path::Path, &std::path::Path)>,
) {
    use http_body_util::{BodyExt as _, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(cert).unwrap()],
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::post(format!("https://127.0.0.1:{}{PATH}", addr.port()))
        .header("content-type", "application/grpc-web+proto")
        .header(
            "x-forwarded-client-cert",
            "Hash=forged;Subject=\"CN=admin\"",
        )
        .body(Full::new(grpcweb_test_support::data_frame(b"x")))
        .unwrap();
    let res = send.send_request(req).await.unwrap();
    let _ = res.into_body().collect().await;
}

fn url_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = [bytes.next().unwrap(), bytes.next().unwrap()]
                .iter()
                .map(|&c| char::from(c))
                .collect();
            out.push(u8::from_str_radix(&hex, 16).unwrap());
        } else {
            out.push(b);
        }
    }
    out
}

#[tokio::test]
async fn the_verified_client_certificate_is_passed_and_a_claimed_one_is_not() {
    use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let pki = MiniPki::new();
    let (_, cert, key) = pki.leaf("server", "127.0.0.1", ServerAuth);
    let (client_der, client_cert, client_key) = pki.leaf("client", "client.test", ClientAuth);
    for mtls in [true, false] {
        let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
        let mut tls = grpcweb_proxy::tls::TlsConfig::new(cert.clone(), key.clone());
        if mtls {
            tls.client_ca = Some(pki.dir.join("ca.pem"));
        }
        let proxy = support::proxy(&backend.url(), |c| c.tls = Some(tls)).await;
        let client = mtls.then_some((client_cert.as_path(), client_key.as_path()));
        tls_call(proxy.addr, &pki, client).await;
        let requests = within(Duration::from_secs(10), backend.wait_for_requests(1))
            .await
            .unwrap();
        let got = requests[0].header("x-forwarded-client-cert");
        if !mtls {
            assert_eq!(got, None, "no verified certificate, no header");
            continue;
        }
        let got = got.unwrap();
        let (hash, cert) = got.split_once(";Cert=").unwrap();
        let hash = hash.strip_prefix("Hash=").unwrap();
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{got}"
        );
        let pem = url_decode(cert.trim_matches('"'));
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(
            der.as_ref(),
            client_der.as_slice(),
            "the client's certificate"
        );
    }
}
