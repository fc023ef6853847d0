//! [`GrpcWebLayer`]: the layer and its settings.

use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower_layer::Layer;

use crate::budget::RequestBudget;
use crate::config::WebConfig;
use crate::service::GrpcWebService;

/// Translates gRPC-Web to gRPC in front of any tower/tonic gRPC service.
///
/// Requests:
/// - `application/grpc-web[+proto|+json|+codec]` and `application/grpc-web-text[...]`
///   are translated: the body is base64-decoded (text), checked frame by frame (unknown
///   flags, truncated frames and messages over [`max_message_size`] are refused before
///   the inner service sees them), `content-type` becomes `application/grpc[+codec]`,
///   `te: trailers` is added, `content-length` and hop-by-hop headers are removed,
///   `grpc-accept-encoding` defaults to `identity`. All other metadata passes unchanged.
/// - Native gRPC (`application/grpc...`) passes through, so one port serves browsers
///   and ordinary gRPC clients, held to the same limits: the deadline cap, the message
///   size limit and the body read timeout (for each message, once it started), checked
///   frame by frame as the body streams; a trailer frame in the body is refused. A call
///   that breaks one ends with a status in trailers and its backend stream is reset.
/// - Anything else is refused (405 for a method other than POST, 415 for another content
///   type), unless [`pass_through_other`] is set.
///
/// Responses (gRPC-Web only): status 200, content type `application/grpc-web+proto` (or
/// `-text+proto`, or the request's codec); messages stream through as they arrive; HTTP/2
/// trailers become the final 0x80 frame; a trailers-only response becomes a body of one
/// trailer frame holding the status and all metadata; a backend that answers without
/// gRPC gets a synthesized status (404 -> UNIMPLEMENTED, 503 -> UNAVAILABLE, ...).
/// `grpc-timeout` is enforced: when it passes, the inner call or stream is dropped (which
/// cancels it) and the client gets DEADLINE_EXCEEDED.
///
/// # Example
///
/// ```no_run
/// # async fn doc(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
/// use grpcweb_layer::GrpcWebLayer;
///
/// tonic::transport::Server::builder()
///     .accept_http1(true) // browsers may use HTTP/1.1
///     .layer(GrpcWebLayer::new())
///     .add_routes(routes)
///     .serve("127.0.0.1:50051".parse()?)
///     .await?;
/// # Ok(()) }
/// ```
///
/// [`max_message_size`]: GrpcWebLayer::max_message_size
/// [`pass_through_other`]: GrpcWebLayer::pass_through_other
#[derive(Clone, Debug)]
pub struct GrpcWebLayer {
    config: Arc<WebConfig>,
}

impl Default for GrpcWebLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcWebLayer {
    /// A layer with the defaults: 4 MiB messages, no timeout cap, other requests refused.
    pub fn new() -> Self {
        Self {
            config: Arc::new(WebConfig::default()),
        }
    }

    /// Largest request message accepted, in bytes (default 4 MiB). Larger ones get
    /// RESOURCE_EXHAUSTED without reaching the inner service.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.config).max_message_size = bytes;
        self
    }

    /// Largest response message passed to the client (default: no limit). Frames are
    /// checked as they stream through; a larger one ends the call with
    /// RESOURCE_EXHAUSTED and cancels the backend stream.
    #[must_use]
    pub fn max_response_message_size(mut self, bytes: Option<usize>) -> Self {
        Arc::make_mut(&mut self.config).max_response_message_size = bytes;
        self
    }

    /// Most request bytes all calls through this layer may buffer at once (default
    /// [`DEFAULT_MAX_BUFFERED_REQUEST_BYTES`](crate::DEFAULT_MAX_BUFFERED_REQUEST_BYTES); `None`: no limit). A call whose body would
    /// go over it gets RESOURCE_EXHAUSTED (its backend stream, if any, is reset) rather
    /// than wait. Bodies buffer while a message is assembled (a unary call's message,
    /// before it is forwarded) and while whole frames wait for the backend to take them.
    #[must_use]
    pub fn max_buffered_request_bytes(mut self, bytes: Option<usize>) -> Self {
        Arc::make_mut(&mut self.config).request_budget = bytes.map(RequestBudget::new);
        self
    }

    /// The budget of [`Self::max_buffered_request_bytes`] (`None`: no limit), for a
    /// service that buffers request bodies beside this layer (a REST front) to reserve
    /// from the same one.
    pub fn request_budget(&self) -> Option<Arc<RequestBudget>> {
        self.config.request_budget.clone()
    }

    /// Caps every call's `grpc-timeout` (and gives calls without one this timeout). A
    /// request that carries [`RouteLimits`](crate::RouteLimits) in its extensions is held
    /// to its route's cap too.
    #[must_use]
    pub fn max_timeout(mut self, timeout: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.config).max_timeout = timeout;
        self
    }

    /// How long a client may take to send its request message (default 30 s). A client
    /// that stops sending mid-request gets 408 with DEADLINE_EXCEEDED, and the call never
    /// reaches the inner service. With request streaming, each later message too must
    /// arrive whole within it once its first bytes came (then DEADLINE_EXCEEDED in the
    /// trailer frame, and the inner call dropped). For native gRPC: how long each request
    /// message may take to arrive whole once its first bytes came (then DEADLINE_EXCEEDED
    /// in trailers).
    #[must_use]
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).body_read_timeout = timeout;
        self
    }

    /// Let clients stream request messages (client-streaming calls, and bidi calls over
    /// HTTP/2), a gRPC-Web extension. Off by default: gRPC-Web calls are unary or
    /// server-streaming and send exactly one message, so each request body is read whole
    /// and a body with none or several is refused with UNIMPLEMENTED before the backend
    /// sees it. With streaming on, the call is forwarded once its first message is in, and
    /// each later one as soon as it is whole (see
    /// [`request_idle_timeout`](Self::request_idle_timeout)). A request whose extensions
    /// carry [`RouteLimits`](crate::RouteLimits) with `allow_request_streaming` set follows
    /// its route instead.
    #[must_use]
    pub fn allow_request_streaming(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).allow_request_streaming = enabled;
        self
    }

    /// With request streaming: the longest a client may leave a call between request
    /// messages (from the end of one to the first bytes of the next, or the end of its
    /// stream) while the inner service waits for more (default 60 s). Then the call ends
    /// with DEADLINE_EXCEEDED and the inner call is dropped (its backend stream reset), so
    /// a client that sends a message and goes silent does not hold a backend stream
    /// forever. Each message must still arrive whole within the
    /// [`body_read_timeout`](Self::body_read_timeout) of its first bytes.
    #[must_use]
    pub fn request_idle_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).request_idle_timeout = timeout;
        self
    }

    /// When `token` is cancelled, calls still streaming end at once with UNAVAILABLE (a
    /// trailer frame for gRPC-Web, trailers for native gRPC), as at the end of a drain.
    #[must_use]
    pub fn shutdown_signal(mut self, token: CancellationToken) -> Self {
        Arc::make_mut(&mut self.config).shutdown = Some(token);
        self
    }

    /// Let requests that are neither gRPC-Web nor gRPC through to the inner service
    /// untouched (for servers that mix gRPC with other routes). Default: refuse them.
    #[must_use]
    pub fn pass_through_other(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).pass_through_other = enabled;
        self
    }
}

impl<S> Layer<S> for GrpcWebLayer {
    type Service = GrpcWebService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcWebService::new(inner, self.config.clone())
    }
}
