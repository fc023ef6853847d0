use super::*;
use crate::budget::RequestBudget;
use grpcweb_protocol::framing::{FrameKind, encode_frame};
use std::task::Waker;

/// A client body: these chunks, then the end (or nothing more, ever, when `open`); with
/// `sized`, it says it has ended as soon as its last chunk is read (as a `content-length`
/// body does).
struct Chunks {
    chunks: VecDeque<Bytes>,
    open: bool,
    sized: bool,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.chunks.pop_front() {
            Some(c) => Poll::Ready(Some(Ok(Frame::data(c)))),
            None if self.open => Poll::Pending,
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.sized && !self.open && self.chunks.is_empty()
    }
}

fn body(chunks: Vec<Bytes>, open: bool, limits: BodyLimits) -> Pin<Box<WebRequestBody<Chunks>>> {
    let chunks = Chunks {
        chunks: chunks.into(),
        open,
        sized: false,
    };
    Box::pin(WebRequestBody::new(chunks, Mode::Binary, limits))
}

/// Every chunk the body yields until it ends, fails or waits.
fn drain(body: &mut Pin<Box<WebRequestBody<Chunks>>>) -> (Vec<Bytes>, Option<String>) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(f))) => out.push(f.into_data().unwrap()),
            Poll::Ready(Some(Err(e))) => return (out, Some(e.to_string())),
            Poll::Ready(None) | Poll::Pending => return (out, None),
        }
    }
}

fn limits(single: bool, budget: Option<Arc<RequestBudget>>) -> BodyLimits {
    BodyLimits {
        max_message_size: 1 << 20,
        single,
        budget,
        ..BodyLimits::default()
    }
}

#[test]
fn small_frames_of_one_chunk_are_passed_on_as_one_chunk() {
    let wire = Bytes::from(vec![0u8; 5 * 1000]);
    let mut b = body(vec![wire.clone()], false, limits(false, None));
    let (chunks, err) = drain(&mut b);
    assert_eq!(err, None);
    assert_eq!(chunks, [wire], "1000 empty messages, one chunk");
    assert_eq!(b.messages_read(), 1000);
    // A big payload still goes through as it came, between the small ones.
    let big = Bytes::from(vec![7u8; 20_000]);
    let wire = [
        &encode_frame(FrameKind::Data, b"a")[..],
        &encode_frame(FrameKind::Data, &big)[..],
        &encode_frame(FrameKind::Data, b"b")[..],
    ]
    .concat();
    let mut b = body(vec![Bytes::from(wire.clone())], false, limits(false, None));
    let (chunks, _) = drain(&mut b);
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[1], big);
    assert_eq!(chunks.concat(), wire);
}

#[test]
fn a_big_payload_in_several_chunks_is_passed_on_as_those_chunks_uncopied() {
    let payload = Bytes::from(vec![7u8; 40_000]);
    let wire = Bytes::from(encode_frame(FrameKind::Data, &payload).to_vec());
    // As an HTTP/2 client sends it: 16 KiB DATA frames.
    let pieces = [
        wire.slice(..16_384),
        wire.slice(16_384..32_768),
        wire.slice(32_768..),
    ];
    let mut b = body(pieces.to_vec(), false, limits(true, None));
    let (chunks, err) = drain(&mut b);
    assert_eq!(err, None);
    assert_eq!(chunks.concat(), wire);
    assert_eq!(chunks.len(), 4, "the header, then the payload as it came");
    assert_eq!(chunks[0], wire.slice(..5));
    for (chunk, piece) in chunks[1..]
        .iter()
        .zip([&pieces[0].slice(5..), &pieces[1], &pieces[2]])
    {
        assert_eq!(chunk.as_ptr(), piece.as_ptr(), "copied");
        assert_eq!(chunk.len(), piece.len());
    }
    // In many small pieces it is joined into one chunk: the backend gets one DATA frame,
    // not a thousand tiny ones.
    let pieces: Vec<Bytes> = wire.chunks(40).map(Bytes::copy_from_slice).collect();
    let mut b = body(pieces, false, limits(true, None));
    let (chunks, err) = drain(&mut b);
    assert_eq!(err, None);
    assert_eq!(chunks.concat(), wire);
    assert_eq!(chunks.len(), 2, "the header, then the payload");
}

#[test]
fn a_unary_body_is_refused_at_the_second_header_and_trailer_frames_always() {
    let mut wire = encode_frame(FrameKind::Data, b"one").to_vec();
    // A second frame that announces 1000 bytes: refused from its header alone.
    wire.extend_from_slice(&[0, 0, 0, 0x03, 0xe8]);
    let mut b = body(vec![Bytes::from(wire)], true, limits(true, None));
    let (_, err) = drain(&mut b);
    assert!(err.unwrap().contains("exactly one"));

    for single in [true, false] {
        let wire = [
            &encode_frame(FrameKind::Data, b"one")[..],
            &encode_header(FrameKind::Trailers, 100)[..],
        ]
        .concat();
        let mut b = body(vec![Bytes::from(wire)], true, limits(single, None));
        let (chunks, err) = drain(&mut b);
        // No byte of the trailer frame passes: at most the data frame before it.
        let passed = chunks.concat();
        assert!(
            encode_frame(FrameKind::Data, b"one").starts_with(&passed),
            "single: {single}: {passed:?}"
        );
        assert!(
            err.unwrap().contains("no trailer frame"),
            "single: {single}"
        );
    }
}

#[test]
fn buffered_bytes_are_reserved_until_passed_on_and_given_back() {
    let budget = RequestBudget::new(1000);
    // Half a message of 800 bytes: 600 buffered, within the budget.
    let mut wire = encode_header(FrameKind::Data, 800).to_vec();
    wire.extend_from_slice(&[1; 600]);
    let mut held = body(
        vec![Bytes::from(wire)],
        true,
        limits(true, Some(budget.clone())),
    );
    assert_eq!(drain(&mut held), (vec![], None));
    assert_eq!(budget.used(), 600);
    // Another call's 500 bytes go over it.
    let wire = encode_frame(FrameKind::Data, &[2; 495]);
    let mut other = body(vec![wire], true, limits(true, Some(budget.clone())));
    let (_, err) = drain(&mut other);
    assert!(err.unwrap().contains("try again later"));
    drop(other);
    assert_eq!(budget.used(), 600);
    drop(held);
    assert_eq!(budget.used(), 0);
    // Passed on: given back.
    let wire = encode_frame(FrameKind::Data, &[2; 995]);
    let mut b = body(vec![wire], true, limits(true, Some(budget.clone())));
    let (chunks, err) = drain(&mut b);
    assert_eq!((chunks.len(), err), (1, None));
    assert_eq!(budget.used(), 0);
}

#[test]
fn the_end_is_seen_once_the_client_body_has_ended() {
    let message = Bytes::from(encode_frame(FrameKind::Data, b"a").to_vec());
    let mut cx = Context::from_waker(Waker::noop());
    // (open, sized): whether the end is seen once the message is in, and after a drain.
    for (open, sized, at_once, after) in [
        (false, false, false, true),
        (false, true, true, true),
        (true, false, false, false),
    ] {
        let chunks = Chunks {
            chunks: VecDeque::from([message.clone()]),
            open,
            sized,
        };
        let mut b = Box::pin(WebRequestBody::new(
            chunks,
            Mode::Binary,
            limits(false, None),
        ));
        // Streaming: the call is forwarded once the first message is in.
        let prefetched = b.as_mut().poll_prefetch(&mut cx, None);
        assert!(matches!(prefetched, Poll::Ready(Ok(()))));
        let end = b.watch_end();
        assert_eq!(end.reached(), at_once, "open {open}, sized {sized}");
        let (chunks, err) = drain(&mut b);
        assert_eq!((chunks, err), (vec![message.clone()], None));
        assert_eq!(end.reached(), after, "open {open}, sized {sized}");
    }
}
