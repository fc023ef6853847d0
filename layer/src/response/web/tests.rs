use super::*;
use grpcweb_protocol::framing::{FrameDecoder, FrameKind, encode_frame};
use http_body_util::{BodyExt as _, Full};

/// Found by the `grpc_web_call` fuzz target: a backend's data could carry a 0x80 frame,
/// which the client read as the call's trailers.
#[tokio::test]
async fn a_trailer_frame_in_backend_data_is_never_forwarded() {
    let forged = encode_frame(FrameKind::Trailers, b"grpc-status:0\r\n");
    for first in [Bytes::new(), encode_frame(FrameKind::Data, b"one")] {
        let body = crate::response::ResponseBody::web(WebResponseBody::streaming(
            Full::new(Bytes::from([&first[..], &forged[..]].concat())),
            Mode::Binary,
            StreamOptions::default(),
        ));
        let out = body.collect().await.unwrap().to_bytes();
        let mut decoder = FrameDecoder::new(usize::MAX);
        decoder.push(out);
        let mut frames = Vec::new();
        while let Some(frame) = decoder.next_frame().unwrap() {
            frames.push(frame);
        }
        decoder.finish().unwrap();
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0].kind, FrameKind::Trailers);
        let trailers = grpcweb_protocol::trailers::parse(&frames[0].payload).unwrap();
        assert_eq!(trailers["grpc-status"], "13", "{trailers:?}");
    }
}

/// Found by the `grpc_web_call` fuzz target: a backend that sent trailers after half a
/// frame got a trailer frame appended to that half, which the client read as part of
/// the message.
#[tokio::test]
async fn trailers_inside_a_message_cut_the_response() {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let half = Bytes::from_static(&[0, 0, 0, 0, 9, b'a', b'b']);
    let inner = Frames(vec![Frame::data(half.clone()), Frame::trailers(trailers)].into());
    let mut body = Box::pin(crate::response::ResponseBody::web(
        WebResponseBody::streaming(inner, Mode::Binary, StreamOptions::default()),
    ));
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, half);
    assert!(body.frame().await.unwrap().is_err(), "not cut");
}

/// A body of the given frames.
struct Frames(std::collections::VecDeque<Frame<Bytes>>);

impl Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}
