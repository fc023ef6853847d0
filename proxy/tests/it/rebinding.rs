//! Browser attacks on the origin check: DNS rebinding (a page whose origin names the
//! proxy's own `Host`), scheme confusion, cross-site "simple" requests (XSRF), origin
//! patterns that cover a public suffix, and caches that mix answers for different
//! origins.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_proxy::{Config, Proxy, StartError};
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient, data_frame};
use http::StatusCode;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

async fn setup(origins: &[&str]) -> (FakeBackend, support::Running) {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"hi")]))
        .await
        .unwrap();
    let origins: Vec<String> = origins.iter().map(|s| (*s).to_owned()).collect();
    let proxy = support::proxy(&backend.url(), move |c| c.cors.allowed_origins = origins).await;
    (backend, proxy)
}

#[tokio::test]
async fn a_rebinding_page_is_refused() {
    let (backend, proxy) = setup(&["https://app.example.com"]).await;
    let port = proxy.addr.port();
    // The attacker's name now resolves to the proxy: the browser sends the attacker's
    // host as `Host` and its page's origin as `Origin`, and they match.
    let host = format!("evil.test:{port}");
    let client = WebClient::new(HttpVersion::H1);
    for origin in [
        format!("http://evil.test:{port}"),
        format!("https://evil.test:{port}"),
        format!("http://EVIL.test:{port}"),
    ] {
        let res = client
            .call(proxy.addr, PATH)
            .header("host", &host)
            .header("origin", &origin)
            .message(b"x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(res.grpc_status(), Some(Code::PermissionDenied), "{origin}");
        assert!(res.header("access-control-allow-origin").is_none());
    }
    // The same with the proxy's real address, and with another scheme than the
    // listener's: no origin is the proxy's own unless it is listed.
    for origin in [
        format!("http://{}", proxy.addr),
        format!("https://{}", proxy.addr),
    ] {
        for version in [HttpVersion::H1, HttpVersion::H2] {
            let res = WebClient::new(version)
                .call(proxy.addr, PATH)
                .header("origin", &origin)
                .message(b"x")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{origin} {version:?}");
        }
    }
    assert!(backend.requests().is_empty(), "{:?}", backend.requests());
}

#[tokio::test]
async fn the_own_origin_is_allowed_when_listed_with_its_scheme() {
    let (backend, proxy) = setup(&[]).await;
    drop(proxy);
    let own = "http://grpc.example.com:8080";
    let proxy = support::proxy(&backend.url(), |c| {
        c.cors.allowed_origins = vec![own.into()]
    })
    .await;
    let client = WebClient::new(HttpVersion::H1);
    let call = |origin: &'static str| {
        client
            .call(proxy.addr, PATH)
            .header("host", "grpc.example.com:8080")
            .header("origin", origin)
            .message(b"x")
            .send()
    };
    let res = call(own).await.unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
    assert_eq!(res.header("access-control-allow-origin"), Some(own));
    let res = call("https://grpc.example.com:8080").await.unwrap();
    assert_eq!(res.status, StatusCode::FORBIDDEN, "the scheme is compared");
    assert_eq!(backend.requests().len(), 1);
}

/// What an HTML form or `fetch` without a preflight can send cross-site.
#[tokio::test]
async fn cross_site_simple_requests_never_reach_a_backend() {
    let (backend, proxy) = setup(&["https://app.example.com"]).await;
    let port = proxy.addr.port();
    let own = format!("http://127.0.0.1:{port}");
    let body = data_frame(b"x");
    for version in [HttpVersion::H1, HttpVersion::H2] {
        for content_type in [
            "text/plain",
            "text/plain; charset=utf-8",
            "text/plain; x=application/grpc-web",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "Text/Plain",
        ] {
            for origin in [
                Some("https://evil.example"),
                Some(own.as_str()),
                Some("null"),
                None,
            ] {
                let mut call = WebClient::new(version)
                    .call(proxy.addr, PATH)
                    .content_type(content_type)
                    .raw_body(body.clone());
                if let Some(origin) = origin {
                    call = call.header("origin", origin);
                }
                let res = call.send().await;
                let what = format!("{version:?} {content_type} {origin:?}");
                // An error (the connection closed on an unread body) is a refusal too.
                if let Ok(res) = res {
                    assert!(res.status.is_client_error(), "{what}: {}", res.status);
                    assert!(
                        res.header("access-control-allow-origin").is_none(),
                        "{what}"
                    );
                }
            }
        }
    }
    assert!(backend.requests().is_empty(), "{:?}", backend.requests());
}

#[tokio::test]
async fn answers_that_depend_on_the_origin_say_so() {
    let (_backend, proxy) = setup(&["https://app.example.com"]).await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        // Without `Origin` there is no CORS header, with one there is: a shared cache
        // must not serve one answer for the other.
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .message(b"x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok));
        let vary = res.header("vary").unwrap_or_default().to_ascii_lowercase();
        assert!(vary.contains("origin"), "{version:?}: vary {vary:?}");
    }
}

#[tokio::test]
async fn patterns_covering_a_public_suffix_are_refused() {
    for pattern in [
        "https://*.com",
        "https://*.co.uk",
        "http://*.github.io",
        "https://*.com:8443",
        "https://*.COM",
    ] {
        let mut config = Config::with_backend("http://127.0.0.1:1");
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        config.cors.allowed_origins = vec![pattern.into()];
        match Proxy::bind(config).await {
            Err(StartError::Config(e)) => {
                assert_eq!(e.key(), "cors.allowed_origins", "{pattern}");
                assert!(e.to_string().contains("public suffix"), "{pattern}: {e}");
            }
            other => panic!("{pattern} accepted: {other:?}"),
        }
    }
    for fine in [
        "https://*.example.com",
        "https://*.example.co.uk",
        "https://*.foo.github.io",
    ] {
        let mut config = Config::with_backend("http://127.0.0.1:1");
        config.cors.allowed_origins = vec![fine.into()];
        config.validate().unwrap();
    }
}
