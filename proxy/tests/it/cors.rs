//! CORS: preflights answered by the proxy, allowed origins get the headers, others are
//! refused before the backend (docs/protocol.md C1-C5).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient};
use http::{Method, StatusCode};

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

async fn setup(origins: &[&str], credentials: bool) -> (FakeBackend, support::Running) {
    let reply = Reply::ok(vec![Bytes::from_static(b"hi")])
        .with_header("x-backend-meta", "m")
        .with_trailer("x-trail", "t");
    let backend = FakeBackend::start(reply).await.unwrap();
    let origins: Vec<String> = origins.iter().map(|s| (*s).to_owned()).collect();
    let proxy = support::proxy(&backend.url(), move |c| {
        c.cors.allowed_origins = origins;
        c.cors.allow_credentials = credentials;
    })
    .await;
    (backend, proxy)
}

fn preflight(
    client: &WebClient,
    addr: std::net::SocketAddr,
    origin: &str,
) -> grpcweb_test_support::CallBuilder {
    client
        .call(addr, PATH)
        .method(Method::OPTIONS)
        .content_type("")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,x-user-agent,grpc-timeout,x-custom-auth",
        )
}

#[tokio::test]
async fn preflight_from_allowed_origins_is_answered_locally() {
    let (backend, proxy) =
        setup(&["https://app.example.com", "https://*.example.org"], false).await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let client = WebClient::new(version);
        for origin in ["https://app.example.com", "https://a.b.example.org"] {
            let res = preflight(&client, proxy.addr, origin).send().await.unwrap();
            assert_eq!(res.status, StatusCode::NO_CONTENT, "{origin} {version:?}");
            assert_eq!(res.header("access-control-allow-origin"), Some(origin));
            assert_eq!(res.header("access-control-allow-methods"), Some("POST"));
            let allowed = res.header("access-control-allow-headers").unwrap();
            for h in [
                "content-type",
                "x-grpc-web",
                "x-user-agent",
                "grpc-timeout",
                "x-custom-auth",
            ] {
                assert!(allowed.split(',').any(|a| a == h), "{h} not in {allowed}");
            }
            assert_eq!(res.header("access-control-max-age"), Some("86400"));
            assert!(res.header("vary").unwrap().contains("origin"));
            assert!(res.header("access-control-allow-credentials").is_none());
        }
    }
    assert!(
        backend.requests().is_empty(),
        "preflights never reach the backend"
    );
    assert_eq!(backend.connections(), 0);
}

#[tokio::test]
async fn preflight_from_other_origins_is_refused() {
    let (backend, proxy) =
        setup(&["https://app.example.com", "https://*.example.org"], false).await;
    let client = WebClient::new(HttpVersion::H1);
    for origin in [
        "https://evil.example",
        "http://app.example.com",
        "https://example.org",
        "null",
    ] {
        let res = preflight(&client, proxy.addr, origin).send().await.unwrap();
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{origin}");
        assert!(
            res.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
    let res = client
        .call(proxy.addr, PATH)
        .method(Method::OPTIONS)
        .content_type("")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status, StatusCode::FORBIDDEN, "only POST is allowed");
    assert!(backend.requests().is_empty());
}

#[tokio::test]
async fn actual_request_from_allowed_origin_exposes_headers() {
    let (backend, proxy) = setup(&["https://app.example.com"], true).await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .header("origin", "https://app.example.com")
            .message(b"x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok));
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("https://app.example.com")
        );
        assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
        assert!(res.header("vary").unwrap().contains("origin"));
        let exposed: Vec<&str> = res
            .header("access-control-expose-headers")
            .unwrap()
            .split(',')
            .collect();
        for h in [
            "grpc-status",
            "grpc-message",
            "grpc-status-details-bin",
            "x-backend-meta",
        ] {
            assert!(exposed.contains(&h), "{h} not exposed: {exposed:?}");
        }
    }
    assert_eq!(backend.requests().len(), 2);
    assert!(
        backend.requests()[0].header("origin").is_some(),
        "origin is metadata and passes on"
    );
}

#[tokio::test]
async fn actual_request_from_other_origin_never_reaches_the_backend() {
    let (backend, proxy) = setup(&["https://app.example.com"], false).await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .header("origin", "https://evil.example")
            .message(b"x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(res.grpc_status(), Some(Code::PermissionDenied));
        assert!(res.grpc_message().unwrap().contains("https://evil.example"));
        assert!(res.header("access-control-allow-origin").is_none());
    }
    assert!(backend.requests().is_empty());
}

#[tokio::test]
async fn originless_requests_are_allowed_and_the_own_origin_is_not_special() {
    let (backend, proxy) = setup(&[], false).await;
    let client = WebClient::new(HttpVersion::H1);
    let res = client
        .call(proxy.addr, PATH)
        .message(b"x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.grpc_status(),
        Some(Code::Ok),
        "no Origin: not a browser cross-origin call"
    );
    assert!(res.header("access-control-allow-origin").is_none());
    // A page that claims the proxy's own host (as a DNS-rebinding page does) is refused
    // unless its origin is listed (see rebinding.rs).
    for origin in [
        format!("http://{}", proxy.addr),
        "https://elsewhere.example".to_owned(),
    ] {
        let res = client
            .call(proxy.addr, PATH)
            .header("origin", &origin)
            .message(b"x")
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "empty list allows no origin: {origin}"
        );
    }
    assert_eq!(backend.requests().len(), 1);
}

#[tokio::test]
async fn wildcard_origin_allows_any_but_not_with_credentials() {
    let (_backend, proxy) = setup(&["*"], false).await;
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, PATH)
        .header("origin", "https://any.where")
        .message(b"x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://any.where")
    );

    let mut config = grpcweb_proxy::Config::with_backend("http://127.0.0.1:1");
    config.cors.allowed_origins = vec!["*".into()];
    config.cors.allow_credentials = true;
    let err = config.validate().unwrap_err();
    assert_eq!(err.key(), "cors.allowed_origins");
}

/// REST transcoding binds any HTTP method (`google.api.http` rules: GET, PUT, PATCH,
/// DELETE, custom ones), so a proxy that transcodes REST allows the method a preflight
/// asks for (C3); without descriptors only POST. Origins are checked as ever.
#[tokio::test]
async fn a_proxy_that_transcodes_rest_allows_the_methods_of_its_rules() {
    let backend = crate::rest_calls::echo_server().await;
    let proxy = support::proxy(&backend.url(), |c| {
        crate::rest_calls::with_echo_descriptors(c);
        c.cors.allowed_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let client = WebClient::new(HttpVersion::H1);
    let ask = |origin: &'static str, method: &'static str| {
        client
            .call(proxy.addr, "/v1/shelves/9")
            .method(Method::OPTIONS)
            .content_type("")
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    for method in ["GET", "PUT", "PATCH", "DELETE", "SEARCH", "POST"] {
        let res = ask("https://app.example.com", method).await.unwrap();
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{method}");
        assert_eq!(
            res.header("access-control-allow-methods"),
            Some(method),
            "{method}"
        );
        let res = ask("https://evil.example", method).await.unwrap();
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} from elsewhere");
    }
    // The call the preflight was for: answered, with the CORS headers.
    let res = client
        .call(proxy.addr, "/v1/shelves/9?numbers=1")
        .method(Method::DELETE)
        .content_type("application/json")
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{:?}", res.raw_body);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );

    // Without descriptors there is no REST: POST only, as before.
    let (_plain_backend, plain) = setup(&["https://app.example.com"], false).await;
    let res = client
        .call(plain.addr, PATH)
        .method(Method::OPTIONS)
        .content_type("")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}
