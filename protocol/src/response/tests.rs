use super::*;
use crate::framing::encode_frame;
use crate::text::TextError;
use crate::text::encode_segment;
use proptest::prelude::*;

const MAX: usize = 4 << 20;
const BINARY: &[(&str, &str)] = &[("content-type", "application/grpc-web+proto")];
const TEXT: &[(&str, &str)] = &[("Content-Type", "application/grpc-web-text+proto")];

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    messages: Vec<Vec<u8>>,
    trailers: Option<Vec<(String, Vec<u8>)>>,
    end: Result<ResponseEnd, ResponseError>,
}

impl Outcome {
    fn code(&self) -> Code {
        match &self.end {
            Ok(end) => end.code,
            Err(e) => e.code(),
        }
    }
}

/// Feeds `body` in the given chunk sizes (cycled) and collects what comes out.
fn run_split(status: u16, headers: &[(&str, &str)], body: &[u8], sizes: &[usize]) -> Outcome {
    let mut d = ResponseDecoder::new(MAX);
    d.headers(status, headers.iter().map(|(n, v)| (*n, v.as_bytes())));
    let mut messages = Vec::new();
    let mut trailers = None;
    let mut rest = body;
    let mut sizes = sizes.iter().copied().cycle();
    loop {
        match d.next_event() {
            Some(Event::Message(m)) => messages.push(m.to_vec()),
            Some(Event::CompressedMessage(_)) => panic!("not asked for"),
            Some(Event::Trailers(t)) => {
                assert!(trailers.is_none(), "two trailer events");
                trailers = Some(
                    t.entries()
                        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
                        .collect(),
                );
            }
            Some(Event::End(end)) => {
                assert!(d.next_event().is_none(), "an event after the end");
                return Outcome {
                    messages,
                    trailers,
                    end: Ok(end),
                };
            }
            Some(Event::Error(e)) => {
                assert!(d.next_event().is_none(), "an event after the error");
                return Outcome {
                    messages,
                    trailers,
                    end: Err(e),
                };
            }
            None if rest.is_empty() => d.end(),
            None => {
                let n = sizes.next().unwrap_or(1).clamp(1, rest.len());
                d.push(&rest[..n]);
                rest = &rest[n..];
            }
        }
    }
}

fn run(status: u16, headers: &[(&str, &str)], body: &[u8], chunk: usize) -> Outcome {
    run_split(status, headers, body, &[chunk])
}

fn body(messages: &[&[u8]], trailer: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(&encode_frame(FrameKind::Data, m));
    }
    if !trailer.is_empty() {
        out.extend_from_slice(&encode_frame(FrameKind::Trailers, trailer));
    }
    out
}

#[test]
fn stream_in_every_chunking() {
    let wire = body(
        &[b"one", b"", b"three"],
        b"grpc-status:0\r\nx-t: a\r\nX-T: b\r\n",
    );
    for chunk in [1, 2, 5, 7, wire.len()] {
        let o = run(200, BINARY, &wire, chunk);
        let end = o.end.unwrap();
        assert_eq!(end.code, Code::Ok, "chunk {chunk}");
        assert!(!end.from_headers);
        assert_eq!(o.messages, [&b"one"[..], b"", b"three"], "chunk {chunk}");
        let t = o.trailers.unwrap();
        let xt: Vec<_> = t
            .iter()
            .filter(|(n, _)| n == "x-t")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(xt, [b"a", b"b"]);
    }
}

#[test]
fn text_mode_with_padding_mid_body() {
    // Each frame its own padded segment, as the proxy writes them (K4).
    let mut wire = Vec::new();
    wire.extend_from_slice(&encode_segment(&encode_frame(FrameKind::Data, b"hello")));
    wire.extend_from_slice(&encode_segment(&encode_frame(
        FrameKind::Trailers,
        b"grpc-status: 0",
    )));
    for chunk in [1, 3, 4, wire.len()] {
        let o = run(200, TEXT, &wire, chunk);
        assert_eq!(o.code(), Code::Ok);
        assert_eq!(o.messages, [&b"hello"[..]]);
    }
}

#[test]
fn in_body_error_status_with_percent_message_and_details() {
    // google.rpc.Status { code: 3, details: [Any { "t/x", [1, 2] }] }, unpadded base64.
    let details = "CAMaCQoDdC94EgIBAg";
    let block = format!(
        "grpc-status: 2\r\ngrpc-message: a%20b%F0%9F%98%88\r\ngrpc-status-details-bin: {details}"
    );
    let o = run(200, BINARY, &body(&[], block.as_bytes()), 3);
    let end = o.end.unwrap();
    assert_eq!(end.code, Code::Unknown);
    assert_eq!(end.message(), "a b\u{1F608}");
    assert_eq!(
        end.details(),
        [Any {
            type_url: b"t/x".to_vec(),
            value: vec![1, 2]
        }]
    );
    assert_eq!(
        o.trailers.unwrap()[0],
        ("grpc-status".into(), b"2".to_vec())
    );
}

#[test]
fn trailers_only_in_headers() {
    let h = [
        ("grpc-status", "12"),
        ("grpc-message", "nope"),
        ("x-a", "1"),
    ];
    let o = run(200, &h, b"", 1);
    let end = o.end.unwrap();
    assert_eq!(
        (end.code, end.message().as_str()),
        (Code::Unimplemented, "nope")
    );
    assert!(end.from_headers);
    assert_eq!(o.trailers, None);
}

#[test]
fn body_trailers_win_over_header_status() {
    let h = [BINARY[0], ("grpc-status", "13")];
    let o = run(200, &h, &body(&[b"m"], b"grpc-status: 0"), 4);
    assert_eq!(o.code(), Code::Ok);
    assert!(!o.end.unwrap().from_headers);
}

#[test]
fn streams_may_be_empty() {
    let o = run(200, BINARY, &body(&[], b"grpc-status: 0"), 64);
    assert_eq!((o.code(), o.messages.len()), (Code::Ok, 0));
}

#[test]
fn missing_status_is_unknown() {
    let o = run(200, BINARY, &body(&[b"a"], b""), 64);
    assert_eq!(o.end, Err(ResponseError::NoStatus));
    assert_eq!(o.code(), Code::Unknown);
    let o = run(200, BINARY, &body(&[b"a"], b"x-other: 1"), 64);
    assert_eq!(o.end, Err(ResponseError::NoStatus));
}

#[test]
fn http_status_table() {
    for (http, want) in [
        (400, Code::Internal),
        (401, Code::Unauthenticated),
        (403, Code::PermissionDenied),
        (404, Code::Unimplemented),
        (429, Code::Unavailable),
        (502, Code::Unavailable),
        (503, Code::Unavailable),
        (504, Code::Unavailable),
        (500, Code::Unknown),
    ] {
        let o = run(http, &[("content-type", "text/plain")], b"oops", 64);
        assert_eq!(o.code(), want, "HTTP {http}");
        let end = o.end.unwrap();
        assert!(end.from_headers);
        assert_eq!(end.message(), format!("HTTP status {http}"));
        assert_eq!((end.http_status, &end.message[..]), (http, &b""[..]));
    }
    let with_status = [("grpc-status", "7"), ("grpc-message", "no")];
    assert_eq!(
        run(403, &with_status, b"", 1).code(),
        Code::PermissionDenied
    );
    let o = run(503, &[("grpc-status", "8")], b"", 1);
    assert_eq!(o.code(), Code::ResourceExhausted);
    // grpc-status 0 on an HTTP error does not make it a success.
    assert_eq!(
        run(503, &[("grpc-status", "0")], b"", 1).code(),
        Code::Unavailable
    );
    assert_eq!(run(7, &[], b"", 1).end.unwrap().message(), "HTTP status 7");
}

#[test]
fn not_grpc_web() {
    let o = run(200, &[("content-type", "text/html")], b"<html>", 64);
    assert_eq!(o.end, Err(ResponseError::ContentType));
    assert_eq!(o.code(), Code::Unknown);
    let o = run(200, &[("content-type", "application/grpc")], b"", 64);
    assert_eq!(o.end, Err(ResponseError::ContentType));
}

#[test]
fn truncated_and_invalid_bodies() {
    let mut wire = body(&[b"abc"], b"");
    wire.pop();
    let o = run(200, BINARY, &wire, 2);
    assert!(matches!(
        o.end,
        Err(ResponseError::Frame(FrameError::Truncated { .. }))
    ));
    assert_eq!(o.code(), Code::Internal);
    let o = run(200, BINARY, b"\x07\0\0\0\0", 2);
    assert_eq!(o.end, Err(ResponseError::Frame(FrameError::UnknownFlag(7))));
    assert_eq!(run(200, TEXT, b"AA*A", 2).code(), Code::Internal);
    let o = run(200, TEXT, b"AAAAAAJo", 2);
    assert!(matches!(
        o.end,
        Err(ResponseError::Frame(FrameError::Truncated { .. }))
    ));
    let o = run(200, TEXT, b"AAAAAAJoa", 2);
    assert!(matches!(
        o.end,
        Err(ResponseError::Text(TextError::Incomplete { .. }))
    ));
    let o = run(200, BINARY, &body(&[], b"bad line"), 3);
    assert!(matches!(o.end, Err(ResponseError::Trailers(_))));
    assert_eq!(o.end.unwrap_err().message(), "invalid trailer frame");
}

#[test]
fn compressed_frames_are_refused() {
    for kind in [FrameKind::CompressedData, FrameKind::CompressedTrailers] {
        let o = run(200, BINARY, &encode_frame(kind, b"x"), 64);
        assert_eq!(o.end, Err(ResponseError::Compressed));
        assert_eq!(o.code(), Code::Internal);
    }
}

#[test]
fn compressed_messages_on_request() {
    let mut wire = encode_frame(FrameKind::CompressedData, b"z").to_vec();
    wire.extend_from_slice(&body(&[b"m"], b"grpc-status: 0"));
    let mut d = ResponseDecoder::new(MAX).with_compressed_messages();
    d.headers(200, [("content-type", &b"application/grpc-web"[..])]);
    d.push(&wire);
    assert_eq!(d.next_event(), Some(Event::CompressedMessage(b"z")));
    assert_eq!(d.next_event(), Some(Event::Message(b"m")));
    assert!(matches!(d.next_event(), Some(Event::Trailers(_))));
    d.end();
    assert!(matches!(d.next_event(), Some(Event::End(_))));
    // Compressed trailers stay an error.
    let mut d = ResponseDecoder::new(MAX).with_compressed_messages();
    d.headers(200, [("content-type", &b"application/grpc-web"[..])]);
    d.push(&encode_frame(FrameKind::CompressedTrailers, b"x"));
    assert_eq!(
        d.next_event(),
        Some(Event::Error(ResponseError::Compressed))
    );
}

#[test]
fn trailers_without_status_are_handed_out_then_fail() {
    let o = run(200, BINARY, &body(&[], b"x-other: 1"), 64);
    assert_eq!(o.trailers, Some(vec![("x-other".into(), b"1".to_vec())]));
    assert_eq!(o.end, Err(ResponseError::NoStatus));
}

#[test]
fn max_message_size_is_the_callers() {
    let wire = body(&[&[0; 10]], b"grpc-status: 0");
    let mut d = ResponseDecoder::new(9);
    d.headers(200, [("content-type", &b"application/grpc-web"[..])]);
    // Refused from the header alone, before the payload arrives.
    d.push(&wire[..5]);
    let Some(Event::Error(e)) = d.next_event() else {
        panic!("expected an error");
    };
    assert_eq!(
        e,
        ResponseError::Frame(FrameError::TooLarge { len: 10, max: 9 })
    );
    assert_eq!(e.code(), Code::ResourceExhausted);
    let o = run(200, BINARY, &[0, 0xff, 0xff, 0xff, 0xff], 5);
    assert_eq!(o.code(), Code::ResourceExhausted);
}

#[test]
fn data_after_trailers_is_an_error() {
    let mut wire = body(&[b"a"], b"grpc-status: 0");
    wire.extend_from_slice(&encode_frame(FrameKind::Data, b"late"));
    for chunk in [1, 6, wire.len()] {
        let o = run(200, BINARY, &wire, chunk);
        assert_eq!(
            o.end,
            Err(ResponseError::DataAfterTrailers),
            "chunk {chunk}"
        );
        assert!(o.trailers.is_some());
    }
    let o = run(
        200,
        BINARY,
        &body(&[], b"grpc-status: 0\r\n\r\ngrpc-status: 0"),
        64,
    );
    assert_eq!(o.code(), Code::Ok, "one block, a blank line inside");
}

#[test]
fn nothing_before_headers_or_after_the_end() {
    let mut d = ResponseDecoder::new(MAX);
    d.push(b"ignored");
    d.end();
    assert_eq!(d.next_event(), None);
    d.headers(500, [("x", &b"1"[..])]);
    d.push(b"ignored");
    assert!(matches!(d.next_event(), Some(Event::End(_))));
    assert_eq!(d.next_event(), None);
}

#[test]
fn error_messages_and_display() {
    assert_eq!(
        ResponseError::Frame(FrameError::TooLarge { len: 5, max: 4 }).to_string(),
        "response message larger than the configured limit: message of 5 bytes is larger \
         than the limit of 4 bytes"
    );
    assert_eq!(
        ResponseError::NoStatus.to_string(),
        "response has no grpc-status"
    );
}

fn arb_body() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<u8>)> {
    (
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..5),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
}

proptest! {
    #[test]
    fn chunk_boundaries_do_not_matter(
        (messages, _) in arb_body(),
        sizes in proptest::collection::vec(1usize..17, 1..8),
        text in any::<bool>(),
    ) {
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let binary = body(&refs, b"grpc-status: 5\r\nx-k: v");
        let (headers, wire) = if text {
            // One padded segment per frame, as the proxy writes them.
            let mut wire = Vec::new();
            for frame in framing::tests_split(&binary) {
                wire.extend_from_slice(&encode_segment(frame));
            }
            (TEXT, wire)
        } else {
            (BINARY, binary)
        };
        let whole = run(200, headers, &wire, wire.len());
        let split = run_split(200, headers, &wire, &sizes);
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(&split.messages, &messages);
        prop_assert_eq!(split.code(), Code::NotFound);
    }

    #[test]
    fn hostile_bodies_never_panic(
        wire in proptest::collection::vec(any::<u8>(), 0..200),
        sizes in proptest::collection::vec(1usize..17, 1..8),
        text in any::<bool>(),
    ) {
        let headers = if text { TEXT } else { BINARY };
        let split = run_split(200, headers, &wire, &sizes);
        // Text errors surface per pushed chunk, so only binary outcomes match exactly.
        if !text {
            prop_assert_eq!(split, run(200, headers, &wire, wire.len().max(1)));
        }
    }
}

mod framing {
    use crate::framing::HEADER_LEN;

    /// The frames of a valid binary body, each with its header.
    pub(super) fn tests_split(mut body: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while body.len() >= HEADER_LEN {
            let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
            let (frame, rest) = body.split_at(HEADER_LEN + len);
            out.push(frame);
            body = rest;
        }
        out
    }
}
