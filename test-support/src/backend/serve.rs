//! The fake backend's connection and stream tasks.

use super::reply::{End, Reply, Script};
use super::{Cancellation, RecordedRequest, State};
use crate::frames::data_frame;
use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Ping, PingPong, Reason, RecvStream, SendStream};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub(super) async fn accept_loop(listener: TcpListener, state: Arc<State>, script: Arc<dyn Script>) {
    // Owning the connection tasks here means aborting this task stops them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    // Out of file descriptors or similar: back off, do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                state.connections.fetch_add(1, Ordering::SeqCst);
                connections.spawn(serve_connection(tcp, state.clone(), script.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(tcp: TcpStream, state: Arc<State>, script: Arc<dyn Script>) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut conn) = h2::server::handshake(tcp).await else {
        return;
    };
    let flusher = Flusher(
        conn.ping_pong()
            .map(|p| Arc::new(tokio::sync::Mutex::new(p))),
    );
    let mut streams = JoinSet::new();
    loop {
        tokio::select! {
            next = conn.accept() => match next {
                Some(Ok((request, respond))) => {
                    streams.spawn(serve_stream(
                        request,
                        respond,
                        state.clone(),
                        script.clone(),
                        flusher.clone(),
                    ));
                }
                Some(Err(_)) | None => break,
            },
            Some(_) = streams.join_next(), if !streams.is_empty() => {}
        }
    }
    // Dropping the connection tells every open stream it is gone; let them record that.
    drop(conn);
    while streams.join_next().await.is_some() {}
}

/// Makes sure DATA frames already queued on the connection have been written, by a PING
/// round trip: h2 writes pending PINGs and then pending stream frames in the same pass,
/// and `send_reset` would otherwise discard DATA that is still queued.
#[derive(Clone)]
struct Flusher(Option<Arc<tokio::sync::Mutex<PingPong>>>);

impl Flusher {
    async fn flush(&self) {
        if let Some(ping_pong) = &self.0 {
            let mut ping_pong = ping_pong.lock().await;
            let _ =
                tokio::time::timeout(Duration::from_secs(5), ping_pong.ping(Ping::opaque())).await;
        }
    }
}

/// Per-stream bookkeeping for cancellation records.
struct Ctx {
    state: Arc<State>,
    path: String,
    sent: usize,
}

impl Ctx {
    fn cancelled(&self, reason: Option<Reason>) {
        self.state.record_cancellation(Cancellation {
            path: self.path.clone(),
            reason,
            messages_sent: self.sent,
            at: Instant::now(),
        });
    }
}

async fn serve_stream(
    request: Request<RecvStream>,
    respond: SendResponse<Bytes>,
    state: Arc<State>,
    script: Arc<dyn Script>,
    flusher: Flusher,
) {
    let (parts, mut body) = request.into_parts();
    let ctx = Ctx {
        state: state.clone(),
        path: parts.uri.path().to_owned(),
        sent: 0,
    };
    let mut data = BytesMut::new();
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                data.extend_from_slice(&chunk);
            }
            Err(err) => return ctx.cancelled(err.reason()),
        }
    }
    let trailers = match body.trailers().await {
        Ok(t) => t,
        Err(err) => return ctx.cancelled(err.reason()),
    };
    let recorded = RecordedRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body: data.freeze(),
        trailers,
        received_at: Instant::now(),
    };
    let reply = script.reply(&recorded);
    state.record_request(recorded);
    play(reply, respond, ctx, &flusher).await;
}

async fn play(reply: Reply, mut respond: SendResponse<Bytes>, mut ctx: Ctx, flusher: &Flusher) {
    match reply {
        Reply::Http {
            status,
            headers,
            body,
        } => {
            let end = body.is_empty();
            match respond.send_response(response(status, headers), end) {
                Ok(mut stream) if !end => {
                    let _ = stream.send_data(body, true);
                }
                Ok(_) => {}
                Err(err) => ctx.cancelled(err.reason()),
            }
        }
        Reply::TrailersOnly { headers } => {
            if let Err(err) = respond.send_response(grpc_response(headers), true) {
                ctx.cancelled(err.reason());
            }
        }
        Reply::Grpc {
            headers,
            messages,
            raw,
            interval,
            end,
        } => {
            let mut stream = match respond.send_response(grpc_response(headers), false) {
                Ok(s) => s,
                Err(err) => return ctx.cancelled(err.reason()),
            };
            let count = messages.len();
            let end_on_data = matches!(end, End::NoTrailers);
            for (i, message) in messages.into_iter().enumerate() {
                if i > 0
                    && let Some(Gone(reason)) = sleep_or_reset(&mut stream, interval).await
                {
                    return ctx.cancelled(reason);
                }
                let data = if raw { message } else { data_frame(message) };
                if let Err(err) = stream.send_data(data, end_on_data && i + 1 == count) {
                    return ctx.cancelled(
                        poll_reset_now(&mut stream)
                            .and_then(|g| g.0)
                            .or(err.reason()),
                    );
                }
                ctx.sent += 1;
            }
            if count > 0
                && let Some(Gone(reason)) = sleep_or_reset(&mut stream, interval).await
            {
                return ctx.cancelled(reason);
            }
            match end {
                End::Trailers(trailers) => {
                    if let Err(err) = stream.send_trailers(trailers) {
                        ctx.cancelled(
                            poll_reset_now(&mut stream)
                                .and_then(|g| g.0)
                                .or(err.reason()),
                        );
                    }
                }
                End::Reset(reason) => {
                    flusher.flush().await;
                    stream.send_reset(reason);
                }
                End::NoTrailers if count == 0 => {
                    let _ = stream.send_data(Bytes::new(), true);
                }
                End::NoTrailers => {}
                End::Hang => {
                    let reason = wait_reset(&mut stream).await;
                    ctx.cancelled(reason);
                }
            }
        }
        Reply::Forever {
            headers,
            message,
            every,
        } => {
            let mut stream = match respond.send_response(grpc_response(headers), false) {
                Ok(s) => s,
                Err(err) => return ctx.cancelled(err.reason()),
            };
            let frame = data_frame(message);
            loop {
                if let Err(err) = stream.send_data(frame.clone(), false) {
                    return ctx.cancelled(
                        poll_reset_now(&mut stream)
                            .and_then(|g| g.0)
                            .or(err.reason()),
                    );
                }
                ctx.sent += 1;
                if let Some(Gone(reason)) = sleep_or_reset(&mut stream, every).await {
                    return ctx.cancelled(reason);
                }
            }
        }
        Reply::Hang => {
            let reason = poll_fn(|cx| respond.poll_reset(cx)).await;
            ctx.cancelled(reason_of(reason));
        }
    }
}

fn response(status: StatusCode, headers: HeaderMap) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn grpc_response(mut headers: HeaderMap) -> Response<()> {
    headers
        .entry(CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/grpc"));
    response(StatusCode::OK, headers)
}

/// The stream was reset (with this reason) or its connection is gone (`None`).
struct Gone(Option<Reason>);

/// Sleeps `duration`, unless the stream goes away first. Also checks for a reset already
/// received when `duration` is zero.
async fn sleep_or_reset(stream: &mut SendStream<Bytes>, duration: Duration) -> Option<Gone> {
    if duration.is_zero() {
        return poll_reset_now(stream);
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => None,
        reason = wait_reset(stream) => Some(Gone(reason)),
    }
}

async fn wait_reset(stream: &mut SendStream<Bytes>) -> Option<Reason> {
    reason_of(poll_fn(|cx| stream.poll_reset(cx)).await)
}

/// `Some` if the stream has already been reset or its connection is gone.
fn poll_reset_now(stream: &mut SendStream<Bytes>) -> Option<Gone> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match stream.poll_reset(&mut cx) {
        Poll::Ready(result) => Some(Gone(reason_of(result))),
        Poll::Pending => None,
    }
}

fn reason_of(result: Result<Reason, h2::Error>) -> Option<Reason> {
    match result {
        Ok(reason) => Some(reason),
        Err(err) => err.reason(),
    }
}
