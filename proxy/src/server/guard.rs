//! What guards every call:
//!
//! - Credentials are marked sensitive, by tower-http's [`SetSensitiveRequestHeaders`]:
//!   the values of `authorization`, `proxy-authorization` and `cookie` print as
//!   `Sensitive` in any log or debug output, and HTTP/2 sends them to the backend never
//!   indexed.
//! - Panics are caught ([`catch_panic`]): a bug in one call answers that call with HTTP
//!   500 and INTERNAL ([`grpcweb_layer::failure::panicked`]) and never takes down the
//!   connection, or the other calls on it. A panic while a response body streams is not
//!   caught; it ends that stream.
//!
//! The panic guard is not tower-http's `CatchPanic`: that one boxes every response body
//! (an allocation per call, a dynamic call per frame) and needs a service it can clone
//! per call, which together cost about 2.4 % more instructions per 1 KiB gRPC-Web call
//! (measured with callgrind). Here the call's future is wrapped where it is made, and the
//! answer to a panic is the other side of an [`Either`] body, with no allocation.
//!
//! Not used from tower-http either: request ids (they would add a header to every
//! forwarded request and every response) and `TraceLayer` (each call's record is the
//! access log that `metrics::CallRecord` writes, with its status, sizes and duration).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use bytes::Bytes;
use futures_util::FutureExt as _;
use http::Response;
use http::header::{AUTHORIZATION, COOKIE, HeaderName, PROXY_AUTHORIZATION};
use http_body_util::{Either, Empty};
use tower_http::sensitive_headers::SetSensitiveRequestHeaders;

/// Headers whose values never reach a log.
const SENSITIVE: [HeaderName; 3] = [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE];

/// `inner`, with the credentials of each request marked sensitive.
pub(super) fn sensitive<S>(inner: S) -> SetSensitiveRequestHeaders<S> {
    SetSensitiveRequestHeaders::new(inner, SENSITIVE)
}

/// A call's response body, or the empty body of the answer to a panic.
pub(super) type Guarded<B> = Either<B, Empty<Bytes>>;

/// `call`, with a panic while it runs answered with INTERNAL; the panic goes to the log.
pub(super) fn catch_panic<F, B, E>(call: F) -> impl Future<Output = Result<Response<Guarded<B>>, E>>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    AssertUnwindSafe(call)
        .catch_unwind()
        .map(|outcome| match outcome {
            Ok(result) => result.map(|res| res.map(Either::Left)),
            Err(panic) => {
                tracing::error!(
                    panic = panic_message(&*panic),
                    "a call panicked: answered with INTERNAL"
                );
                Ok(grpcweb_layer::failure::panicked::<Empty<Bytes>>().map(Either::Right))
            }
        })
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, StatusCode};
    use http_body_util::{BodyExt as _, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt as _;

    /// A panic in one call is answered with INTERNAL, and the next call on the same
    /// HTTP/1.1 connection (where the panic would otherwise take the connection task
    /// down) is served; the `authorization` value never shows in debug output.
    #[tokio::test]
    async fn a_panicking_call_gets_internal_and_its_connection_survives() {
        let seen = Arc::new(Mutex::new(String::new()));
        let seen_in = seen.clone();
        let handler = sensitive(tower::service_fn(
            move |req: Request<hyper::body::Incoming>| {
                if let Ok(mut seen) = seen_in.lock() {
                    *seen = format!("{:?}", req.headers());
                }
                async move {
                    assert_ne!(req.uri().path(), "/panic", "a bug in a call");
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                }
            },
        ));
        let service =
            hyper::service::service_fn(move |req| catch_panic(handler.clone().oneshot(req)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
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
                .body(Empty::<Bytes>::new())
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
