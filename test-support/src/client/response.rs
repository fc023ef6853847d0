//! Reading a response body frame by frame, with arrival times: gRPC-Web bodies through the
//! protocol's client decoder (`grpcweb_protocol::response`), native gRPC bodies through
//! its frame decoder.

use crate::time::within;
use anyhow::{Context as _, anyhow, bail};
use bytes::{Bytes, BytesMut};
use grpcweb_protocol::content_type::RequestKind;
use grpcweb_protocol::framing::{FrameDecoder, FrameKind};
use grpcweb_protocol::response::{Event, ResponseDecoder, ResponseError};
use grpcweb_protocol::{Code, Mode, Status, trailers};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Response, StatusCode, Version};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One frame of a response body and the moment its last byte arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// When the chunk that completed the frame arrived.
    pub at: Instant,
    /// The flag byte's meaning.
    pub kind: FrameKind,
    /// The payload (for text responses, after base64 decoding).
    pub payload: Bytes,
}

/// A complete response, as read by [`crate::CallBuilder::send`] or
/// [`WebStream::finish`].
///
/// The body is split into frames only when the response `content-type` is gRPC-Web
/// (decoded from base64 first for `application/grpc-web-text*`) or native gRPC; any other
/// body is kept in `raw_body` alone.
#[derive(Clone, Debug)]
pub struct WebResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// HTTP version the response came over.
    pub version: Version,
    /// Response headers.
    pub headers: HeaderMap,
    /// When the request was handed to the connection.
    pub sent_at: Instant,
    /// When the response headers arrived.
    pub headers_at: Instant,
    /// When the body ended.
    pub finished_at: Instant,
    /// Every body chunk as it came off the connection: arrival time and length on the wire.
    pub chunks_arrived: Vec<(Instant, usize)>,
    /// Every data frame's payload (0x00 and 0x01) with the moment its last byte arrived.
    pub messages: Vec<(Instant, Bytes)>,
    /// Every frame in order, the trailer frame included.
    pub frames: Vec<ReceivedFrame>,
    /// The parsed 0x80 trailer frame, if the body had one.
    pub trailers: Option<HeaderMap>,
    /// Real HTTP trailers. A gRPC-Web response must not have any (browsers cannot read
    /// them); a native gRPC response carries its status here.
    pub http_trailers: Option<HeaderMap>,
    /// The body exactly as received (still base64 in text mode).
    pub raw_body: Bytes,
}

impl WebResponse {
    /// The gRPC status code.
    ///
    /// For gRPC-Web: from the trailer frame, else (trailers-only) from the headers. For
    /// native gRPC: from the HTTP trailers, else from the headers. A present but
    /// unparsable `grpc-status` reads as [`Code::Unknown`]; absent is `None`.
    pub fn grpc_status(&self) -> Option<Code> {
        self.status().map(|s| s.code)
    }

    /// The percent-decoded `grpc-message` from the same place as [`Self::grpc_status`];
    /// `None` when there is no status or the message is empty.
    pub fn grpc_message(&self) -> Option<String> {
        self.status().map(|s| s.message).filter(|m| !m.is_empty())
    }

    /// The whole status: code, message and details.
    pub fn status(&self) -> Option<Status> {
        let body = if self.is_native_grpc() {
            self.http_trailers.as_ref()
        } else {
            self.trailers.as_ref()
        };
        body.and_then(Status::from_header_map)
            .or_else(|| Status::from_header_map(&self.headers))
    }

    /// The message payloads without their arrival times.
    pub fn message_payloads(&self) -> Vec<Bytes> {
        self.messages.iter().map(|(_, m)| m.clone()).collect()
    }

    /// The messages decoded as protobuf `M`.
    pub fn decode_messages<M: prost::Message + Default>(&self) -> anyhow::Result<Vec<M>> {
        self.messages
            .iter()
            .map(|(_, m)| M::decode(m.clone()).context("decoding a response message"))
            .collect()
    }

    /// A header as a string; `None` when absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The response `content-type`.
    pub fn content_type(&self) -> Option<&str> {
        self.header(CONTENT_TYPE.as_str())
    }

    fn is_native_grpc(&self) -> bool {
        matches!(framing_of(&self.headers), Framing::Native)
    }
}

/// A response whose body is read on demand: see [`crate::CallBuilder::send_streaming`].
///
/// Dropping it drops the connection's response stream (HTTP/2: `RST_STREAM CANCEL`;
/// HTTP/1.1: the connection closes), which is how a test plays a client that goes away.
#[derive(Debug)]
pub struct WebStream {
    /// HTTP status.
    pub status: StatusCode,
    /// HTTP version the response came over.
    pub version: Version,
    /// Response headers.
    pub headers: HeaderMap,
    /// When the request was handed to the connection.
    pub sent_at: Instant,
    /// When the response headers arrived.
    pub headers_at: Instant,
    reader: Reader,
    timeout: Duration,
    /// Dropping this ends a request body held open by `keep_body_open`.
    _hold: Option<oneshot::Sender<()>>,
}

impl WebStream {
    pub(crate) fn new(
        response: Response<Incoming>,
        sent_at: Instant,
        timeout: Duration,
        hold: Option<oneshot::Sender<()>>,
    ) -> Self {
        let headers_at = Instant::now();
        let (parts, body) = response.into_parts();
        let framing = framing_of(&parts.headers);
        Self {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            sent_at,
            headers_at,
            reader: Reader::new(body, framing),
            timeout,
            _hold: hold,
        }
    }

    /// The next message's payload; `Ok(None)` once the body has ended.
    ///
    /// Waits at most the call's timeout. Errors (and stays failed) on: a frame with an
    /// unknown flag, invalid base64 in a text response, a data frame or any byte after the
    /// trailer frame, a second trailer frame, an unparsable or compressed trailer frame, a
    /// trailer frame in a native gRPC body, a body that ends inside a frame or a base64
    /// group, and a broken connection or stream reset.
    pub async fn next_message(&mut self) -> anyhow::Result<Option<Bytes>> {
        let timeout = self.timeout;
        within(timeout, self.reader.next_message())
            .await
            .context("waiting for the next message")?
    }

    /// Messages read so far, with arrival times.
    pub fn messages(&self) -> &[(Instant, Bytes)] {
        &self.reader.messages
    }

    /// The trailer frame, once it has been read.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.reader.trailers.as_ref()
    }

    /// Reads the rest of the body and returns the whole response (messages already
    /// returned by [`Self::next_message`] included). Waits at most the call's timeout.
    pub async fn finish(mut self) -> anyhow::Result<WebResponse> {
        let timeout = self.timeout;
        within(timeout, self.reader.read_to_end())
            .await
            .context("reading the response body")??;
        let r = self.reader;
        Ok(WebResponse {
            status: self.status,
            version: self.version,
            headers: self.headers,
            sent_at: self.sent_at,
            headers_at: self.headers_at,
            finished_at: r.finished_at.unwrap_or_else(Instant::now),
            chunks_arrived: r.chunks,
            messages: r.messages,
            frames: r.frames,
            trailers: r.trailers,
            http_trailers: r.http_trailers,
            raw_body: r.raw.freeze(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// Not gRPC: the body is kept raw.
    None,
    /// gRPC-Web, binary or text.
    Web(Mode),
    /// Native gRPC (`application/grpc*`): frames, status in HTTP trailers.
    Native,
}

fn framing_of(headers: &HeaderMap) -> Framing {
    match headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestKind::parse)
    {
        Some(RequestKind::GrpcWeb(ct)) => Framing::Web(ct.mode),
        Some(RequestKind::Grpc(_)) => Framing::Native,
        None => Framing::None,
    }
}

#[derive(Debug)]
struct Reader {
    body: Incoming,
    framing: Framing,
    /// gRPC-Web bodies.
    web: ResponseDecoder,
    /// Native gRPC bodies.
    decoder: FrameDecoder,
    raw: BytesMut,
    chunks: Vec<(Instant, usize)>,
    frames: Vec<ReceivedFrame>,
    messages: Vec<(Instant, Bytes)>,
    /// Index in `messages` of the next one `next_message` returns.
    unread: usize,
    trailers: Option<HeaderMap>,
    http_trailers: Option<HeaderMap>,
    finished_at: Option<Instant>,
    failed: Option<String>,
}

impl Reader {
    fn new(body: Incoming, framing: Framing) -> Self {
        Self {
            body,
            framing,
            web: web_decoder(framing),
            decoder: FrameDecoder::new(u32::MAX as usize),
            raw: BytesMut::new(),
            chunks: Vec::new(),
            frames: Vec::new(),
            messages: Vec::new(),
            unread: 0,
            trailers: None,
            http_trailers: None,
            finished_at: None,
            failed: None,
        }
    }

    async fn next_message(&mut self) -> anyhow::Result<Option<Bytes>> {
        loop {
            if let Some((_, m)) = self.messages.get(self.unread) {
                self.unread += 1;
                return Ok(Some(m.clone()));
            }
            if !self.read_more().await? {
                return Ok(None);
            }
        }
    }

    async fn read_to_end(&mut self) -> anyhow::Result<()> {
        while self.read_more().await? {}
        Ok(())
    }

    /// Reads one body frame; `false` once the body has ended.
    async fn read_more(&mut self) -> anyhow::Result<bool> {
        if let Some(err) = &self.failed {
            bail!("{err}");
        }
        if self.finished_at.is_some() {
            return Ok(false);
        }
        let result = match self.body.frame().await {
            None => self.on_end().map(|()| false),
            Some(Err(err)) => Err(anyhow!(err).context("the response body failed")),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => self.on_data(data).map(|()| true),
                Err(frame) => match frame.into_trailers() {
                    Ok(t) if self.http_trailers.is_none() => {
                        self.http_trailers = Some(t);
                        Ok(true)
                    }
                    Ok(_) => Err(anyhow!("two sets of HTTP trailers")),
                    Err(_) => Ok(true),
                },
            },
        };
        if let Err(err) = &result {
            self.failed = Some(format!("{err:#}"));
        }
        result
    }

    fn on_data(&mut self, data: Bytes) -> anyhow::Result<()> {
        let at = Instant::now();
        self.chunks.push((at, data.len()));
        self.raw.extend_from_slice(&data);
        match self.framing {
            Framing::None => Ok(()),
            Framing::Web(_) => {
                self.web.push(&data);
                self.web_events(at)
            }
            Framing::Native => {
                self.decoder.push(data);
                self.native_frames(at)
            }
        }
    }

    /// Records what the gRPC-Web decoder has found so far.
    fn web_events(&mut self, at: Instant) -> anyhow::Result<()> {
        while let Some(event) = self.web.next_event() {
            let (kind, payload) = match event {
                Event::Message(m) => (FrameKind::Data, Bytes::copy_from_slice(m)),
                Event::CompressedMessage(m) => {
                    (FrameKind::CompressedData, Bytes::copy_from_slice(m))
                }
                Event::Trailers(t) => {
                    let block = Bytes::copy_from_slice(t.as_bytes());
                    let map = trailers::parse(&block).context("invalid trailer frame")?;
                    self.trailers = Some(map);
                    (FrameKind::Trailers, block)
                }
                // The status is read from the headers and trailers kept here; a body
                // without one is still a body to look at.
                Event::End(_) | Event::Error(ResponseError::NoStatus) => return Ok(()),
                Event::Error(e) => bail!("{e}"),
            };
            if kind != FrameKind::Trailers {
                self.messages.push((at, payload.clone()));
            }
            self.frames.push(ReceivedFrame { at, kind, payload });
        }
        Ok(())
    }

    fn native_frames(&mut self, at: Instant) -> anyhow::Result<()> {
        while let Some(frame) = self.decoder.next_frame().context("invalid frame")? {
            match frame.kind {
                FrameKind::Data | FrameKind::CompressedData => {
                    self.messages.push((at, frame.payload.clone()));
                }
                _ => bail!("a trailer frame in a native gRPC body"),
            }
            self.frames.push(ReceivedFrame {
                at,
                kind: frame.kind,
                payload: frame.payload,
            });
        }
        Ok(())
    }

    fn on_end(&mut self) -> anyhow::Result<()> {
        let at = Instant::now();
        self.finished_at = Some(at);
        match self.framing {
            Framing::None => Ok(()),
            Framing::Web(_) => {
                self.web.end();
                self.web_events(at)
            }
            Framing::Native => self.decoder.finish().context("body ends inside a frame"),
        }
    }
}

/// The client decoder for a gRPC-Web body (no size limit, compressed messages kept). It
/// is told only the content type: the HTTP status and `grpc-status` are read from what
/// [`WebResponse`] keeps, and the frames are wanted whatever they say.
fn web_decoder(framing: Framing) -> ResponseDecoder {
    let mut decoder = ResponseDecoder::new(u32::MAX as usize).with_compressed_messages();
    let content_type: &[u8] = match framing {
        Framing::Web(Mode::Text) => b"application/grpc-web-text",
        _ => b"application/grpc-web",
    };
    decoder.headers(200, [("content-type", content_type)]);
    decoder
}
