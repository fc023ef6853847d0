//! CORS for browsers (docs/protocol.md C1-C5): preflights answered here, never forwarded; requests
//! from origins not on the list refused with 403 before they reach the backend.
//!
//! No origin is trusted for being "the proxy's own": comparing `Origin` with `Host`
//! lets any DNS-rebinding page in (its host name resolves to the proxy, so the two
//! match), so a page served from the proxy's host is allowed only when its origin, scheme
//! included, is listed like any other.
//!
//! Why not tower-http's `CorsLayer`: it only decorates responses, so a browser is what
//! keeps a foreign page from reading them, while the request itself still reaches the
//! backend. Here a POST from an origin not on the list is refused with 403 and
//! PERMISSION_DENIED before anything is forwarded, wildcard patterns refuse to cover a
//! public suffix, and the exposed headers list every header of the response (C4), which
//! gRPC-Web clients need to read metadata.

pub(crate) mod allow_origin;
mod error;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tower_layer::Layer;
use tower_service::Service;

use crate::failure::Failure;
use allow_origin::AllowOrigin;
pub use error::CorsError;

/// Request headers every gRPC-Web client may send (C3).
const GRPC_WEB_HEADERS: &str =
    "content-type,x-grpc-web,x-user-agent,grpc-timeout,grpc-accept-encoding,authorization";
/// Response headers always exposed (C4).
const ALWAYS_EXPOSED: &str = "grpc-status,grpc-message,grpc-status-details-bin";

/// Cross-origin policy.
#[derive(Clone, Debug)]
pub struct CorsConfig {
    /// Allowed origins: exact (`https://app.example.com`), patterns
    /// (`https://*.example.com`, not covering a public suffix), or `*` for any (only
    /// without credentials). Requests without `Origin` (not from a browser page) are
    /// allowed; a page on the proxy's own host must be listed like any other.
    pub allowed_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true` (cookies, HTTP auth).
    pub allow_credentials: bool,
    /// Request headers allowed in preflights. `None` (the default) allows every
    /// syntactically valid header the browser asks for; `Some(list)` allows the
    /// gRPC-Web set plus `list`.
    pub allowed_headers: Option<Vec<String>>,
    /// How long browsers may cache a preflight.
    pub max_age: Duration,
    /// Allow every method a preflight asks for, not only `POST`: for a server that also
    /// answers REST calls, whose `google.api.http` rules bind any HTTP method. Origins
    /// are checked all the same.
    pub allow_any_method: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allow_credentials: false,
            allowed_headers: None,
            max_age: Duration::from_secs(86_400),
            allow_any_method: false,
        }
    }
}

impl CorsConfig {
    /// Checks the origin list and the credentials rule.
    pub fn validate(&self) -> Result<(), CorsError> {
        let origins = AllowOrigin::compile(&self.allowed_origins)?;
        if origins.is_any() && self.allow_credentials {
            return Err(CorsError::new(
                "allowed-origin",
                "'*' cannot be combined with credentials; list the origins instead",
            ));
        }
        if let Some(list) = &self.allowed_headers {
            for h in list {
                HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                    CorsError::new("allowed-header", format!("{h:?} is not a header name"))
                })?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Policy {
    origins: AllowOrigin,
    credentials: bool,
    allowed_headers: Option<HeaderValue>,
    max_age: HeaderValue,
    any_method: bool,
}

/// A tower layer applying [`CorsConfig`].
#[derive(Clone, Debug)]
pub struct CorsLayer {
    policy: Arc<Policy>,
}

impl CorsLayer {
    /// Compiles `config`.
    pub fn new(config: &CorsConfig) -> Result<Self, CorsError> {
        config.validate()?;
        let allowed_headers = match &config.allowed_headers {
            None => None,
            Some(list) => {
                let mut all = GRPC_WEB_HEADERS.to_owned();
                for h in list {
                    all.push(',');
                    all.push_str(&h.to_ascii_lowercase());
                }
                Some(
                    HeaderValue::from_str(&all)
                        .map_err(|_| CorsError::new("allowed-header", "invalid header list"))?,
                )
            }
        };
        Ok(Self {
            policy: Arc::new(Policy {
                origins: AllowOrigin::compile(&config.allowed_origins)?,
                credentials: config.allow_credentials,
                allowed_headers,
                max_age: HeaderValue::from(config.max_age.as_secs()),
                any_method: config.allow_any_method,
            }),
        })
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> CorsService<S> {
        CorsService {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// The service made by [`CorsLayer`].
#[derive(Clone, Debug)]
pub struct CorsService<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S, B, ResB> Service<Request<B>> for CorsService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    ResB: Default,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = CorsFuture<S::Future, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
            return CorsFuture::Inner {
                fut: self.inner.call(req),
                cors: None,
            };
        };
        let allowed = origin.to_str().is_ok_and(|o| self.policy.origins.allows(o));
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            return CorsFuture::Ready {
                res: Some(self.preflight(&req, &origin, allowed)),
            };
        }
        if !allowed {
            let mut res = forbidden(&origin);
            if req.version() < http::Version::HTTP_2 {
                // The request body is left unread, so the connection cannot be reused.
                res.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return CorsFuture::Ready { res: Some(res) };
        }
        let mut cors = HeaderMap::with_capacity(3);
        cors.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.policy.credentials {
            cors.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        CorsFuture::Inner {
            fut: self.inner.call(req),
            cors: Some(cors),
        }
    }
}

impl<S> CorsService<S> {
    fn preflight<B, ResB: Default>(
        &self,
        req: &Request<B>,
        origin: &HeaderValue,
        allowed: bool,
    ) -> Response<ResB> {
        if !allowed {
            return forbidden(origin);
        }
        // The method asked for, when allowed: POST, or any method (a token) for REST.
        let method = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .filter(|m| {
                m.as_bytes() == b"POST"
                    || (self.policy.any_method && Method::from_bytes(m.as_bytes()).is_ok())
            });
        let mut res = Response::new(ResB::default());
        add_vary(res.headers_mut(), true);
        let Some(method) = method else {
            *res.status_mut() = StatusCode::FORBIDDEN;
            return res;
        };
        *res.status_mut() = StatusCode::NO_CONTENT;
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
        let requested = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS);
        let allow_headers = match &self.policy.allowed_headers {
            Some(list) => Some(list.clone()),
            None => requested.and_then(valid_header_list),
        };
        if let Some(v) = allow_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        h.insert(header::ACCESS_CONTROL_MAX_AGE, self.policy.max_age.clone());
        if self.policy.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        res
    }
}

/// The requested header list, if every entry is a valid header name.
fn valid_header_list(v: &HeaderValue) -> Option<HeaderValue> {
    let s = v.to_str().ok()?;
    let names: Option<Vec<String>> = s
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            HeaderName::from_bytes(n.as_bytes())
                .ok()
                .map(|h| h.as_str().to_owned())
        })
        .collect();
    HeaderValue::from_str(&names?.join(",")).ok()
}

fn forbidden<ResB: Default>(origin: &HeaderValue) -> Response<ResB> {
    let mut res = Response::new(ResB::default());
    *res.status_mut() = StatusCode::FORBIDDEN;
    add_vary(res.headers_mut(), false);
    Failure::OriginNotAllowed(origin)
        .status()
        .write_to(res.headers_mut());
    res
}

fn add_vary(headers: &mut HeaderMap, preflight: bool) {
    let v = if preflight {
        "origin, access-control-request-method, access-control-request-headers"
    } else {
        "origin"
    };
    headers.append(header::VARY, HeaderValue::from_static(v));
}

pin_project! {
    /// Response future of [`CorsService`].
    #[project = CorsFutureProj]
    #[allow(missing_docs)]
    pub enum CorsFuture<F, ResB> {
        /// Answered here.
        Ready { res: Option<Response<ResB>> },
        /// Forwarded; `cors` headers are added to the response.
        Inner {
            #[pin]
            fut: F,
            cors: Option<HeaderMap>,
        },
    }
}

impl<F, ResB, E> Future for CorsFuture<F, ResB>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = Result<Response<ResB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CorsFutureProj::Ready { res } => match res.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
            CorsFutureProj::Inner { fut, cors } => {
                let mut res = ready!(fut.poll(cx))?;
                if let Some(cors) = cors.take() {
                    let expose = exposed_headers(res.headers());
                    let h = res.headers_mut();
                    h.extend(cors);
                    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
                }
                // With or without `Origin`: the CORS headers (or their absence) depend on
                // it, so a shared cache must not serve this answer to another origin.
                add_vary(res.headers_mut(), false);
                Poll::Ready(Ok(res))
            }
        }
    }
}

/// `grpc-status`, `grpc-message`, `grpc-status-details-bin`, and every header the
/// response carries (C4), so metadata is readable from script.
fn exposed_headers(headers: &HeaderMap) -> HeaderValue {
    let mut list = ALWAYS_EXPOSED.to_owned();
    for name in headers.keys() {
        let n = name.as_str();
        if !matches!(
            n,
            "grpc-status"
                | "grpc-message"
                | "grpc-status-details-bin"
                | "content-type"
                | "content-length"
                | "vary"
        ) && !n.starts_with("access-control-")
        {
            list.push(',');
            list.push_str(n);
        }
    }
    HeaderValue::from_str(&list).unwrap_or_else(|_| HeaderValue::from_static(ALWAYS_EXPOSED))
}
