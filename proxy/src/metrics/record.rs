//! One call's record: fed as the call goes, it updates the metrics and writes the
//! access-log line when the call ends.

use grpcweb_protocol::Code;
use grpcweb_protocol::Mode;
use grpcweb_protocol::content_type::{Codec, ContentType, RequestKind};
use http::{HeaderMap, Request, Version};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::{CLIENT_GONE, MODE_NAMES, MethodMetrics, Metrics, NO_STATUS};
use crate::call::{CallContext, ClientIp};
use grpcweb_layer::MessageCounts;

/// One call, from request to the end of its response: feeds the metrics and writes the
/// access-log line when it is finished or dropped.
#[derive(Debug)]
pub(crate) struct CallRecord {
    metrics: Arc<Metrics>,
    start: Instant,
    /// The method's metrics, when it was known to exist as the call started.
    labels: Option<Arc<MethodMetrics>>,
    /// The path, when `labels` is not known.
    path: Option<String>,
    /// The client, bytes in, and whether the backend answered (set by the router).
    pub(crate) call: CallContext,
    /// The gRPC method path of a REST call, from its binding.
    rest_method: Option<String>,
    mode: usize,
    version: Version,
    peer: Option<SocketAddr>,
    pub(crate) messages: MessageCounts,
    pub(crate) bytes_out: u64,
    header_code: Option<Code>,
    /// Where a streamed REST answer leaves its status ([`StreamStatus`]).
    stream_status: Option<StreamStatus>,
    http_status: u16,
    done: bool,
}

impl CallRecord {
    pub(crate) fn start<B>(
        metrics: &Arc<Metrics>,
        req: &Request<B>,
        client: Option<ClientIp>,
    ) -> Self {
        let peer = client.as_ref().map(|c| c.addr);
        let path = req.uri().path_and_query().map_or("", |p| p.as_str());
        let labels = metrics.known(path);
        let own_path = labels.is_none().then(|| path.to_owned());
        metrics.in_flight.inc();
        Self {
            metrics: metrics.clone(),
            start: Instant::now(),
            labels,
            path: own_path,
            call: CallContext::new(client),
            rest_method: None,
            mode: mode(req.headers()),
            version: req.version(),
            peer,
            messages: MessageCounts::new(),
            bytes_out: 0,
            header_code: None,
            stream_status: None,
            http_status: 0,
            done: false,
        }
    }

    /// Notes the response head: HTTP status, a status in the headers (trailers-only) or
    /// in a [`CallStatus`] (or, a streamed REST answer, to come in a [`StreamStatus`]),
    /// and the method of a REST call ([`RestMethod`]).
    pub(crate) fn response<B>(&mut self, res: &http::Response<B>) {
        self.http_status = res.status().as_u16();
        self.header_code = res
            .headers()
            .get(grpcweb_protocol::status::GRPC_STATUS_HEADER)
            .map(|v| Code::parse(v.as_bytes()).unwrap_or(Code::Unknown))
            .or_else(|| res.extensions().get::<CallStatus>().map(|s| s.0));
        self.stream_status = res.extensions().get::<StreamStatus>().cloned();
        if let Some(RestMethod(method)) = res.extensions().get::<RestMethod>() {
            self.mode = REST;
            // The access log keeps the HTTP path, even one that looks like a method path.
            if let Some(labels) = &self.labels {
                self.path = Some(labels.path().to_owned());
            }
            self.labels = self.metrics.known(method);
            if self.labels.is_none() {
                self.rest_method = Some(method.clone());
            }
        }
    }

    /// Records the finished call. `body_code` is the status from the body, if it ended;
    /// `None` and not `completed` means the client went away first.
    pub(crate) fn finish(&mut self, body_code: Option<Code>, completed: bool) {
        if self.done {
            return;
        }
        self.done = true;
        let metrics = &self.metrics;
        let code = self
            .header_code
            .or(body_code)
            .or_else(|| self.stream_status.as_ref().and_then(StreamStatus::get));
        let code = match (code, completed) {
            (Some(code), _) => code.as_i32() as usize,
            (None, false) => CLIENT_GONE,
            (None, true) => NO_STATUS,
        };
        let elapsed = self.start.elapsed();
        let bytes_in = self.call.bytes_in();
        metrics.bytes_in.inc_by(bytes_in);
        metrics.bytes_out.inc_by(self.bytes_out);
        metrics.messages_in.inc_by(self.messages.requests());
        metrics.messages_out.inc_by(self.messages.responses());
        let labels = match &self.labels {
            Some(labels) => labels.clone(),
            None => metrics.admit(
                self.rest_method
                    .as_deref()
                    .or(self.path.as_deref())
                    .unwrap_or_default(),
                code,
                self.call.answered(),
            ),
        };
        labels.calls(&metrics.calls, code, self.mode).inc();
        labels.duration.observe(elapsed.as_secs_f64());
        // Last, so a scrape that sees no call in flight sees this one counted.
        metrics.in_flight.dec();
        tracing::info!(
            target: crate::log::ACCESS_TARGET,
            path = %self.path.as_deref().unwrap_or_else(|| labels.path()),
            grpc_status = match code {
                CLIENT_GONE => "CLIENT_GONE",
                NO_STATUS => "NONE",
                n => Code::from_i32(n as i32).name(),
            },
            http_status = self.http_status,
            http_version = ?self.version,
            mode = MODE_NAMES[self.mode],
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            bytes_in,
            bytes_out = self.bytes_out,
            peer = %Peer(self.peer),
        );
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        self.finish(None, false);
    }
}

/// The client's address in the access log, `-` when unknown.
struct Peer(Option<SocketAddr>);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(peer) => peer.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// A REST call's gRPC method path (`/service/method`), from the binding it matched: put
/// in the response's extensions by the REST layer. The call counts in mode `rest` under
/// that method.
#[derive(Clone, Debug)]
pub(crate) struct RestMethod(pub(crate) String);

/// The gRPC status of an answer that carries it in neither headers nor body (a REST
/// answer): put in the response's extensions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallStatus(pub(crate) Code);

/// The status a streamed REST answer ended with, whose body carries none: put in the
/// response's extensions by the REST layer, set by the stream as it ends (a stream the
/// client left leaves it unset).
#[derive(Clone, Debug, Default)]
pub(crate) struct StreamStatus(Arc<OnceLock<Code>>);

impl StreamStatus {
    /// Notes the stream's status; the first one noted stays.
    pub(crate) fn set(&self, code: Code) {
        let _ = self.0.set(code);
    }

    fn get(&self) -> Option<Code> {
        self.0.get().copied()
    }
}

/// The [`MODE_NAMES`] index of REST calls.
const REST: usize = 7;

/// The index in [`MODE_NAMES`] of a request's mode, by its content type (REST calls are
/// told by their answer, see [`RestMethod`]).
pub(super) fn mode(headers: &HeaderMap) -> usize {
    let kind = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestKind::parse);
    let (mode, codec) = match kind {
        Some(RequestKind::GrpcWeb(ContentType {
            mode: Mode::Binary,
            codec,
        })) => (0, codec),
        Some(RequestKind::GrpcWeb(ContentType {
            mode: Mode::Text,
            codec,
        })) => (1, codec),
        Some(RequestKind::Grpc(codec)) => (2, codec),
        None => return 3,
    };
    match codec {
        Codec::Json => mode + 4,
        Codec::Proto | Codec::Other(_) => mode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_by_content_type() {
        let name = |ct: &str| {
            let mut headers = HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(ct) {
                headers.insert(http::header::CONTENT_TYPE, v);
            }
            MODE_NAMES[mode(&headers)]
        };
        assert_eq!(name("application/grpc-web"), "grpc-web");
        assert_eq!(name("application/grpc-web+proto"), "grpc-web");
        assert_eq!(name("application/grpc-web+thrift"), "grpc-web");
        assert_eq!(name("application/grpc-web-text"), "grpc-web-text");
        assert_eq!(name("application/grpc"), "grpc");
        assert_eq!(name("application/grpc-web+json"), "grpc-web+json");
        assert_eq!(name("application/grpc-web-text+json"), "grpc-web-text+json");
        assert_eq!(name("application/grpc+json"), "grpc+json");
        assert_eq!(name("application/json"), "other");
        assert_eq!(name(""), "other");
        assert_eq!(MODE_NAMES[REST], "rest");
    }
}
