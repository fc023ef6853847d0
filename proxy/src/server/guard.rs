//! What every call passes first, from tower-http:
//!
//! - Panics are caught ([`CatchPanic`]): a bug in one call answers that call with HTTP
//!   500 and INTERNAL ([`grpcweb_layer::failure::panicked`]) and never takes down the
//!   connection, or the other calls on it. A panic while a response body streams is not
//!   caught; it ends that stream.
//! - Credentials are marked sensitive ([`SetSensitiveRequestHeaders`]): the values of
//!   `authorization`, `proxy-authorization` and `cookie` print as `Sensitive` in any log
//!   or debug output, and HTTP/2 sends them to the backend never indexed.
//!
//! Not used from tower-http: request ids (they would add a header to every forwarded
//! request and every response) and `TraceLayer` (each call's record is the access log
//! the call's record writes (`metrics::CallRecord`), with its status, sizes and duration).

use std::any::Any;

use http::Response;
use http::header::{AUTHORIZATION, COOKIE, HeaderName, PROXY_AUTHORIZATION};
use http_body_util::Full;
use tower_http::catch_panic::CatchPanic;
use tower_http::sensitive_headers::SetSensitiveRequestHeaders;

/// Headers whose values never reach a log.
const SENSITIVE: [HeaderName; 3] = [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE];

/// A service behind the guards.
pub(super) type Guarded<S> = SetSensitiveRequestHeaders<CatchPanic<S, PanicAnswer>>;

/// `inner` behind the guards.
pub(super) fn guard<S>(inner: S) -> Guarded<S> {
    SetSensitiveRequestHeaders::new(CatchPanic::custom(inner, PanicAnswer), SENSITIVE)
}

/// The answer to a call that panicked; the panic itself goes to the log.
#[derive(Clone, Copy, Debug)]
pub(super) struct PanicAnswer;

impl tower_http::catch_panic::ResponseForPanic for PanicAnswer {
    type ResponseBody = Full<bytes::Bytes>;

    fn response_for_panic(
        &mut self,
        err: Box<dyn Any + Send + 'static>,
    ) -> Response<Self::ResponseBody> {
        let message = err
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = message, "a call panicked: answered with INTERNAL");
        grpcweb_layer::failure::panicked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, StatusCode};
    use http_body_util::{BodyExt as _, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    /// A panic in one call is answered with INTERNAL, and the next call on the same
    /// HTTP/1.1 connection (where the panic would otherwise take the connection task
    /// down) is served; the `authorization` value never shows in debug output.
    #[tokio::test]
    async fn a_panicking_call_gets_internal_and_its_connection_survives() {
        let seen = Arc::new(Mutex::new(String::new()));
        let seen_in = seen.clone();
        let service = tower::service_fn(move |req: Request<hyper::body::Incoming>| {
            if let Ok(mut seen) = seen_in.lock() {
                *seen = format!("{:?}", req.headers());
            }
            assert_ne!(req.uri().path(), "/panic", "a bug in a call");
            std::future::ready(Ok::<_, Infallible>(Response::new(Full::new(
                bytes::Bytes::from_static(b"ok"),
            ))))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(
                    TokioIo::new(stream),
                    TowerToHyperService::new(guard(service)),
                )
                .await
        });
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut client, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let call = |path: &str| {
            Request::builder()
                .uri(path)
                .header("host", "proxy")
                .header("authorization", "Bearer s3cret")
                .body(Empty::<bytes::Bytes>::new())
                .unwrap()
        };

        let res = client.send_request(call("/panic")).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()["grpc-status"], "13");

        client.ready().await.expect("the connection survived");
        let res = client.send_request(call("/ok")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "ok");
        let seen = seen.lock().unwrap().clone();
        assert!(seen.contains("authorization"), "{seen}");
        assert!(!seen.contains("s3cret"), "{seen}");
        drop(client);
        let _ = server.await;
    }
}
