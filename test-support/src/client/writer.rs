//! [`BodyWriter`]: a request body the test writes while the response streams, for
//! client-streaming and bidi calls (send one, read one, send the next).

use anyhow::anyhow;
use bytes::Bytes;
use grpcweb_protocol::Mode;
use grpcweb_protocol::framing::{FrameKind, encode_frame};
use grpcweb_protocol::text::encode_segment;
use http_body_util::channel::{Channel, Sender};
use std::convert::Infallible;
use tokio::sync::mpsc;

/// Writes a request body piece by piece: each [`BodyWriter::message`] goes on the wire
/// as soon as the connection takes it (a chunk of its own: HTTP/1.1 chunked, an HTTP/2
/// DATA frame). Dropping the writer, or [`BodyWriter::finish`], ends the body.
#[derive(Debug)]
pub struct BodyWriter {
    tx: Option<mpsc::UnboundedSender<Bytes>>,
    mode: Mode,
}

impl BodyWriter {
    /// A writer, and the body it feeds (mode: how messages are encoded).
    pub(crate) fn new(mode: Mode) -> (Self, Channel<Bytes, Infallible>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
        let (mut body_tx, body): (Sender<Bytes, Infallible>, _) = Channel::new(1);
        tokio::spawn(async move {
            while let Some(piece) = rx.recv().await {
                if body_tx.send_data(piece).await.is_err() {
                    return;
                }
            }
        });
        (Self { tx: Some(tx), mode }, body)
    }

    /// Sends one message, framed as a 0x00 data frame (in text mode, as its own padded
    /// base64 segment). Fails once the body has ended or the call is gone.
    pub fn message(&self, payload: impl AsRef<[u8]>) -> anyhow::Result<()> {
        let frame = encode_frame(FrameKind::Data, payload.as_ref());
        let bytes = match self.mode {
            Mode::Binary => frame,
            Mode::Text => encode_segment(&frame),
        };
        self.raw(bytes)
    }

    /// Sends one protobuf message, encoded and framed.
    pub fn message_proto(&self, message: &impl prost::Message) -> anyhow::Result<()> {
        self.message(message.encode_to_vec())
    }

    /// Sends these bytes as they are.
    pub fn raw(&self, bytes: impl Into<Bytes>) -> anyhow::Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| anyhow!("the body has ended"))?;
        tx.send(bytes.into())
            .map_err(|_| anyhow!("the call is gone: the body cannot take more"))
    }

    /// Ends the body (after whatever was sent).
    pub fn finish(&mut self) {
        self.tx = None;
    }
}
