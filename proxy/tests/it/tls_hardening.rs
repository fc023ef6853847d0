//! TLS under hostile clients: one header budget from accept (a ClientHello never sent, a
//! handshake finished but no request), a rotated client CA applies to new handshakes, and
//! failed handshakes are counted by reason.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::slowloris::until_closed;
use crate::support;
use crate::support::admin_get;
use crate::tls::{Pki, call, ok_trailer, tls_proxy};

use grpcweb_proxy::tls::TlsConfig;
use grpcweb_test_support::within;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_millis(400);
const CLOSED_WITHIN: Duration = Duration::from_secs(8);

#[tokio::test]
async fn a_client_hello_never_sent_is_closed() {
    let pki = Pki::new("slow-hello");
    let (cert, key) = pki.leaf("server", &["127.0.0.1"], false);
    let backend = support::interop_server(false).await;
    let proxy = start(&backend.url(), TlsConfig::new(cert, key), false).await;
    let tcp = TcpStream::connect(proxy.addr).await.unwrap();
    within(CLOSED_WITHIN, until_closed(tcp)).await.unwrap();
}

/// The handshake is not a request: an h2 connection that never sends HEADERS is cut.
#[tokio::test]
async fn a_handshake_without_a_request_is_closed() {
    let pki = Pki::new("slow-after-hello");
    let (cert, key) = pki.leaf("server", &["127.0.0.1"], false);
    let backend = support::interop_server(false).await;
    let proxy = start(&backend.url(), TlsConfig::new(cert, key), false).await;
    for alpn in [&b"h2"[..], b"http/1.1"] {
        let tcp = TcpStream::connect(proxy.addr).await.unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(pki.client_config(alpn, None)))
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
            .unwrap();
        if alpn == b"h2" {
            use tokio::io::AsyncWriteExt as _;
            tls.write_all(crate::slowloris::H2_PREFACE).await.unwrap();
            tls.write_all(crate::slowloris::H2_SETTINGS).await.unwrap();
        }
        within(CLOSED_WITHIN, until_closed(tls))
            .await
            .unwrap_or_else(|e| panic!("{alpn:?}: {e}"));
    }
}

/// Replaces `path` by `from`'s content; with `keep_mtime`, as `cp -p` or an unpacked
/// archive would, leaving the modification time what it was.
fn replace(path: &Path, from: &Path, keep_mtime: bool) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    let tmp = path.with_extension("new");
    std::fs::copy(from, &tmp).unwrap();
    if keep_mtime {
        std::fs::File::options()
            .write(true)
            .open(&tmp)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn a_rotated_client_ca_applies_to_new_handshakes() {
    for keep_mtime in [false, true] {
        let tag = if keep_mtime {
            "ca-rotate-p"
        } else {
            "ca-rotate"
        };
        let old = Pki::new(tag);
        let new = Pki::new(&format!("{tag}-new"));
        let (cert, key) = old.leaf("server", &["127.0.0.1"], false);
        let old_client = old.leaf("client", &["client.test"], true);
        let new_client = new.leaf("client", &["client.test"], true);
        let ca = old.ca_path().with_file_name("client-ca.pem");
        std::fs::copy(old.ca_path(), &ca).unwrap();
        let mut tls = TlsConfig::new(cert, key);
        tls.client_ca = Some(ca.clone());
        tls.reload_interval = Duration::from_millis(50);
        let backend = support::interop_server(false).await;
        let proxy = tls_proxy(&backend.url(), tls).await;
        let answer = call(
            proxy.addr,
            old.client_config(b"h2", Some(old_client.clone())),
        )
        .await
        .unwrap();
        assert!(ok_trailer(&answer.body));

        replace(&ca, &new.ca_path(), keep_mtime);
        let mut accepted = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if call(
                proxy.addr,
                old.client_config(b"h2", Some(new_client.clone())),
            )
            .await
            .is_ok_and(|a| ok_trailer(&a.body))
            {
                accepted = true;
                break;
            }
        }
        assert!(
            accepted,
            "keep_mtime {keep_mtime}: new CA's client never accepted"
        );
        assert!(
            call(proxy.addr, old.client_config(b"h2", Some(old_client)))
                .await
                .is_err(),
            "keep_mtime {keep_mtime}: old CA's client still accepted"
        );
    }
}

#[tokio::test]
async fn failed_handshakes_are_counted_by_reason() {
    let pki = Pki::new("hs-fail");
    let other = Pki::new("hs-fail-other");
    let (cert, key) = pki.leaf("server", &["127.0.0.1"], false);
    let stranger = other.leaf("stranger", &["stranger.test"], true);
    let mut tls = TlsConfig::new(cert, key);
    tls.client_ca = Some(pki.ca_path());
    let backend = support::interop_server(false).await;
    let proxy = start(&backend.url(), tls, true).await;
    let admin = proxy.admin.unwrap();

    assert!(
        call(proxy.addr, pki.client_config(b"h2", None))
            .await
            .is_err()
    );
    assert!(
        call(proxy.addr, pki.client_config(b"h2", Some(stranger)))
            .await
            .is_err()
    );
    let silent = TcpStream::connect(proxy.addr).await.unwrap();
    within(CLOSED_WITHIN, until_closed(silent)).await.unwrap();
    let mut plain = TcpStream::connect(proxy.addr).await.unwrap();
    {
        use tokio::io::AsyncWriteExt as _;
        plain
            .write_all(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
            .await
            .unwrap();
    }
    within(CLOSED_WITHIN, until_closed(plain)).await.unwrap();

    let want = [
        r#"grpcweb_tls_handshake_failures_total{reason="client_certificate"} 2"#,
        r#"grpcweb_tls_handshake_failures_total{reason="timeout"} 1"#,
        r#"grpcweb_tls_handshake_failures_total{reason="protocol"} 1"#,
    ];
    let mut text = String::new();
    for _ in 0..50 {
        text = admin_get(admin, "/metrics").await.1;
        if want.iter().all(|w| text.lines().any(|l| l == *w)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("want {want:?} in\n{text}");
}

async fn start(backend_url: &str, tls: TlsConfig, admin: bool) -> support::Running {
    support::proxy(backend_url, |c| {
        c.tls = Some(tls);
        c.limits.header_read_timeout = HEADER_TIMEOUT;
        if admin {
            c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        }
    })
    .await
}
