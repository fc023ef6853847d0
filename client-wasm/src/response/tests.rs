use super::*;
use grpcweb_protocol::framing::encode_frame;
use grpcweb_protocol::text::encode_segment;

fn headers(pairs: &[(&'static str, &'static str)]) -> Metadata {
    let mut map = Metadata::new();
    for (k, v) in pairs {
        map.append(k, *v);
    }
    map
}

const BINARY: &[(&str, &str)] = &[("content-type", "application/grpc-web+proto")];
const TEXT: &[(&str, &str)] = &[("content-type", "application/grpc-web-text+proto")];

struct Outcome {
    messages: Vec<Bytes>,
    trailers: Option<Metadata>,
    result: Result<(), RpcError>,
}

/// Feeds `body` in chunks of `chunk` bytes and collects what comes out.
fn run(unary: bool, status: u16, hdrs: &Metadata, body: &[u8], chunk: usize) -> Outcome {
    let mut d = ResponseDecoder::new(unary);
    let mut messages = Vec::new();
    if let Err(e) = d.on_headers(status, hdrs) {
        return Outcome {
            messages,
            trailers: None,
            result: Err(e),
        };
    }
    let mut pieces = body.chunks(chunk.max(1));
    loop {
        match d.next_event() {
            Err(e) => {
                return Outcome {
                    messages,
                    trailers: None,
                    result: Err(e),
                };
            }
            Ok(Some(Event::Message(m))) => messages.push(m),
            Ok(Some(Event::End { trailers, result })) => {
                return Outcome {
                    messages,
                    trailers: Some(trailers),
                    result,
                };
            }
            Ok(None) => match pieces.next() {
                Some(p) => {
                    if let Err(e) = d.push(Bytes::copy_from_slice(p)) {
                        return Outcome {
                            messages,
                            trailers: None,
                            result: Err(e),
                        };
                    }
                }
                None => {
                    return match d.finish() {
                        Ok(Event::End { trailers, result }) => Outcome {
                            messages,
                            trailers: Some(trailers),
                            result,
                        },
                        Ok(Event::Message(_)) => unreachable!("finish returns End"),
                        Err(e) => Outcome {
                            messages,
                            trailers: None,
                            result: Err(e),
                        },
                    };
                }
            },
        }
    }
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

fn code(o: &Outcome) -> Code {
    o.result.as_ref().err().map_or(Code::Ok, RpcError::code)
}

#[test]
fn stream_in_every_chunking() {
    let wire = body(
        &[b"one", b"", b"three"],
        b"grpc-status:0\r\nx-t: a\r\nx-t: b\r\n",
    );
    for chunk in [1, 2, 5, 7, wire.len()] {
        let o = run(false, 200, &headers(BINARY), &wire, chunk);
        assert_eq!(o.result, Ok(()), "chunk {chunk}");
        assert_eq!(o.messages, [&b"one"[..], b"", b"three"], "chunk {chunk}");
        let t = o.trailers.unwrap();
        let xt: Vec<_> = t
            .iter()
            .filter(|(n, _)| *n == "x-t")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(xt, [&b"a"[..], b"b"]);
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
        let o = run(true, 200, &headers(TEXT), &wire, chunk);
        assert_eq!(o.result, Ok(()));
        assert_eq!(o.messages, [&b"hello"[..]]);
    }
}

#[test]
fn in_body_error_status_with_percent_message() {
    let wire = body(&[], b"grpc-status: 2\r\ngrpc-message: a%20b%F0%9F%98%88");
    let o = run(false, 200, &headers(BINARY), &wire, 3);
    let e = o.result.unwrap_err();
    assert_eq!(e.code(), Code::Unknown);
    assert_eq!(e.message(), "a b\u{1F608}");
    assert_eq!(e.metadata().get_str("grpc-status").unwrap(), "2");
}

#[test]
fn trailers_only_in_headers() {
    let h = headers(&[
        ("grpc-status", "12"),
        ("grpc-message", "nope"),
        ("x-a", "1"),
    ]);
    let o = run(true, 200, &h, b"", 1);
    let e = o.result.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::Unimplemented, "nope"));
    assert_eq!(o.trailers.unwrap().get_str("x-a").unwrap(), "1");
}

#[test]
fn body_trailers_win_over_header_status() {
    let mut h = headers(BINARY);
    h.append("grpc-status", "13");
    let o = run(false, 200, &h, &body(&[b"m"], b"grpc-status: 0"), 4);
    assert_eq!(o.result, Ok(()));
}

#[test]
fn unary_rules() {
    let none = run(
        true,
        200,
        &headers(BINARY),
        &body(&[], b"grpc-status: 0"),
        64,
    );
    assert_eq!(code(&none), Code::Unimplemented);
    let two = run(
        true,
        200,
        &headers(BINARY),
        &body(&[b"a", b"b"], b"grpc-status: 0"),
        64,
    );
    assert_eq!(code(&two), Code::Unimplemented);
    let empty_stream = run(
        false,
        200,
        &headers(BINARY),
        &body(&[], b"grpc-status: 0"),
        64,
    );
    assert_eq!(code(&empty_stream), Code::Ok);
}

#[test]
fn missing_status_is_unknown() {
    let o = run(false, 200, &headers(BINARY), &body(&[b"a"], b""), 64);
    assert_eq!(code(&o), Code::Unknown);
    let o = run(
        false,
        200,
        &headers(BINARY),
        &body(&[b"a"], b"x-other: 1"),
        64,
    );
    assert_eq!(code(&o), Code::Unknown);
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
        let o = run(
            false,
            http,
            &headers(&[("content-type", "text/plain")]),
            b"oops",
            64,
        );
        assert_eq!(code(&o), want, "HTTP {http}");
    }
    let with_status = headers(&[("grpc-status", "7"), ("grpc-message", "no")]);
    assert_eq!(
        code(&run(false, 403, &with_status, b"", 1)),
        Code::PermissionDenied
    );
    let o = run(false, 503, &headers(&[("grpc-status", "8")]), b"", 1);
    assert_eq!(code(&o), Code::ResourceExhausted);
}

#[test]
fn not_grpc_web() {
    let o = run(
        false,
        200,
        &headers(&[("content-type", "text/html")]),
        b"<html>",
        64,
    );
    assert_eq!(code(&o), Code::Unknown);
}

#[test]
fn truncated_and_invalid_bodies() {
    let mut wire = body(&[b"abc"], b"");
    wire.pop();
    assert_eq!(
        code(&run(false, 200, &headers(BINARY), &wire, 2)),
        Code::Internal
    );
    assert_eq!(
        code(&run(false, 200, &headers(BINARY), b"\x07\0\0\0\0", 2)),
        Code::Internal
    );
    assert_eq!(
        code(&run(false, 200, &headers(TEXT), b"AA*A", 2)),
        Code::Internal
    );
    assert_eq!(
        code(&run(false, 200, &headers(TEXT), b"AAAAAAJo", 2)),
        Code::Internal
    );
    let huge = [0u8, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(
        code(&run(false, 200, &headers(BINARY), &huge, 5)),
        Code::ResourceExhausted
    );
    let compressed = encode_frame(FrameKind::CompressedData, b"x");
    assert_eq!(
        code(&run(false, 200, &headers(BINARY), &compressed, 64)),
        Code::Internal
    );
}

#[test]
fn messages_are_written_without_fmt() {
    let mut s = String::new();
    for n in [0, 7, 10, 4_194_305, u64::MAX] {
        s.clear();
        push_decimal(&mut s, n);
        assert_eq!(s, n.to_string());
    }
    let e = frame_error(FrameError::TooLarge {
        len: 5_000_000,
        max: MAX_MESSAGE_BYTES,
    });
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(
        e.message(),
        "message of 5000000 bytes is larger than the limit of 4194304 bytes"
    );
    let o = run(false, 200, &headers(BINARY), &body(&[], b"bad line"), 3);
    let e = o.result.unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert_eq!(e.message(), "invalid trailer frame: a line has no ':'");
    let o = run(false, 503, &headers(&[]), b"", 1);
    assert_eq!(o.result.unwrap_err().message(), "HTTP status 503");
    let o = run(
        false,
        200,
        &headers(&[("content-type", "text/html")]),
        b"",
        1,
    );
    assert_eq!(
        o.result.unwrap_err().message(),
        "unexpected response content-type: text/html"
    );
}
