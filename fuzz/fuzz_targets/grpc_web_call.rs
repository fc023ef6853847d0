//! The proxy's gRPC-Web layer end to end, with a scripted client body and a scripted
//! backend: arbitrary bytes (or well-formed frames) in arbitrary chunks, pauses, resets,
//! request trailers, `grpc-timeout`s and limits, on a tokio clock that jumps ahead when
//! everything waits (so deadlines fire at once).
//!
//! Invariants:
//! - nothing panics, and every call ends (no hang, whatever the scripts do);
//! - the backend receives only whole, well-formed data frames (never a trailer-flagged
//!   one), and they are exactly the frames the client sent, in order (a prefix of them
//!   when the call stopped early); a unary call reaches the backend only with exactly
//!   one message;
//! - the client receives well-formed frames: the backend's data frames in order (a prefix),
//!   none over the response limit, then at most one trailer frame, last, that parses and
//!   carries `grpc-status`; a body that ends cleanly has that trailer frame (or the
//!   status is in the headers).
#![no_main]

use bytes::{Bytes, BytesMut};
use grpcweb_fuzz::{Backend, Scripted, Seen, Step, cut};
use grpcweb_protocol::framing::{Frame, FrameDecoder, FrameKind, encode_frame};
use grpcweb_protocol::text::{Base64Decoder, encode_segment};
use grpcweb_layer::GrpcWebLayer;
use http::{HeaderMap, HeaderValue, Request};
use http_body_util::BodyExt as _;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tower_layer::Layer as _;
use tower_service::Service;

const LIMITS: [usize; 6] = [0, 1, 5, 64, 4096, 1 << 20];
const FLAGS: [u8; 6] = [0x00, 0x01, 0x80, 0x81, 0x02, 0x40];

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
}

/// A body as frames (some with odd flags) or raw bytes, cut into chunks.
fn body_bytes(u: &mut Unstructured<'_>) -> Result<Bytes> {
    if u.arbitrary::<bool>()? {
        let mut out = BytesMut::new();
        for _ in 0..u.int_in_range(0..=4)? {
            let flag = FLAGS[u.choose_index(FLAGS.len())?];
            let len = usize::from(u.int_in_range(0u16..=300)?);
            let payload = u.bytes(len.min(u.len()))?;
            let mut frame = encode_frame(FrameKind::Data, payload).to_vec();
            frame[0] = flag;
            out.extend_from_slice(&frame);
        }
        Ok(out.freeze())
    } else {
        let len = usize::from(u.int_in_range(0u16..=600)?);
        Ok(Bytes::copy_from_slice(u.bytes(len.min(u.len()))?))
    }
}

/// `bytes` cut into chunks with pauses between them, then an end: clean, a reset, or
/// trailers.
fn script(u: &mut Unstructured<'_>, bytes: &[u8], trailers: HeaderMap) -> Result<Vec<Step>> {
    let points = (0..u.int_in_range(0..=6)?)
        .map(|_| Ok(usize::from(u.arbitrary::<u16>()?) % (bytes.len() + 1)))
        .collect::<Result<Vec<_>>>()?;
    let mut steps = Vec::new();
    for chunk in cut(bytes, points) {
        if u.ratio(1, 4)? {
            steps.push(Step::Wait(Duration::from_millis(
                u.int_in_range(0..=120_000)?,
            )));
        }
        steps.push(Step::Data(Bytes::copy_from_slice(chunk)));
    }
    match u.int_in_range(0..=3)? {
        0 => steps.push(Step::Fail),
        1 => steps.push(Step::Trailers(trailers)),
        _ => {}
    }
    Ok(steps)
}

/// Every whole frame at the start of `bytes`, and whether the bytes were all whole frames.
fn frames(bytes: &[u8], max: usize) -> (Vec<Frame>, bool) {
    let mut decoder = FrameDecoder::new(max);
    decoder.push(Bytes::copy_from_slice(bytes));
    let mut out = Vec::new();
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => out.push(frame),
            Ok(None) => return (out, decoder.finish().is_ok()),
            Err(_) => return (out, false),
        }
    }
}

/// The binary form of a (possibly text) body: as much as decodes.
fn unbase64(bytes: &[u8]) -> (Bytes, bool) {
    let mut decoder = Base64Decoder::new();
    let mut out = BytesMut::new();
    let ok = decoder.decode(bytes, &mut out).is_ok() && decoder.finish().is_ok();
    (out.freeze(), ok)
}

fn grpc_trailers(code: u8) -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert("grpc-status", HeaderValue::from(u16::from(code % 20)));
    t.insert("grpc-message", HeaderValue::from_static("scripted"));
    t
}

async fn call(u: &mut Unstructured<'_>) -> Result<()> {
    let flags: u8 = u.arbitrary()?;
    let text = flags & 1 != 0;
    let streaming = flags & 2 != 0;
    let max_message = LIMITS[u.choose_index(LIMITS.len())?];
    let max_response = u
        .arbitrary::<bool>()?
        .then(|| LIMITS[usize::from(flags >> 5) % LIMITS.len()]);
    let body_read_timeout = Duration::from_millis(u.int_in_range(1..=60_000)?);
    let timeout = match u.int_in_range(0..=3)? {
        0 => None,
        1 => Some(format!("{}m", u.int_in_range(0..=200_000)?)),
        2 => Some("99999999H".to_owned()),
        _ => {
            let len = u.int_in_range(0..=10)?;
            Some(String::from_utf8_lossy(u.bytes(len.min(u.len()))?).into_owned())
        }
    };

    // The client's request.
    let sent = body_bytes(u)?;
    let wire = if text && u.arbitrary::<bool>()? {
        let mut out = BytesMut::new();
        for piece in cut(
            &sent,
            vec![usize::from(u.arbitrary::<u8>()?) % (sent.len() + 1)],
        ) {
            out.extend_from_slice(&encode_segment(piece));
        }
        out.freeze()
    } else {
        sent.clone()
    };
    let request_steps = script(u, &wire, HeaderMap::new())?;

    // The backend's answer.
    let backend_body = body_bytes(u)?;
    let trailers = grpc_trailers(u.arbitrary()?);
    let response_steps = script(u, &backend_body, trailers)?;
    let backend = Backend::new(u.int_in_range(0..=3)?, u.arbitrary()?, response_steps);

    let layer = GrpcWebLayer::new()
        .max_message_size(max_message)
        .max_response_message_size(max_response)
        .body_read_timeout(body_read_timeout)
        .allow_request_streaming(streaming);
    let mut service = layer.layer(backend.clone());
    let content_type = if text {
        "application/grpc-web-text"
    } else {
        "application/grpc-web+proto"
    };
    let mut req = Request::post("/grpc.testing.TestService/UnaryCall")
        .header("content-type", content_type)
        .version(if streaming {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        });
    if let Some(t) = timeout
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        req = req.header("grpc-timeout", t);
    }
    let req = req.body(Scripted::new(request_steps)).expect("a request");

    let exchange = async {
        std::future::poll_fn(|cx| Service::<Request<Scripted>>::poll_ready(&mut service, cx))
            .await
            .expect("infallible");
        let res = service.call(req).await.expect("infallible");
        let (parts, body) = res.into_parts();
        let mut body = Box::pin(body);
        let mut bytes = BytesMut::new();
        let mut clean = true;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        bytes.extend_from_slice(&data);
                    }
                }
                Err(_) => {
                    clean = false;
                    break;
                }
            }
        }
        (parts, bytes.freeze(), clean)
    };
    // Every script ends within minutes of virtual time; a day means a hang.
    let (parts, bytes, clean) = tokio::time::timeout(Duration::from_secs(86_400), exchange)
        .await
        .expect("the call never ended");

    check_request(&backend.seen(), &wire, text, streaming, max_message);
    check_response(&parts, &bytes, clean, &backend_body, max_response);
    Ok(())
}

fn check_request(seen: &Seen, wire: &[u8], text: bool, streaming: bool, max: usize) {
    let Some(forwarded) = seen.request.as_ref() else {
        return;
    };
    // Only whole, well-formed data frames reach the backend.
    let (got, whole) = frames(forwarded, max);
    assert!(
        whole,
        "a partial or malformed frame was forwarded: {forwarded:?}"
    );
    for f in &got {
        assert!(
            !f.kind.is_trailers(),
            "a trailer-flagged frame was forwarded: {forwarded:?}"
        );
    }
    // They are the client's frames, in order.
    let (binary, _) = if text {
        unbase64(wire)
    } else {
        (Bytes::copy_from_slice(wire), true)
    };
    let (sent, _) = frames(&binary, max);
    assert!(
        got.len() <= sent.len() && got[..] == sent[..got.len()],
        "forwarded {got:?}, the client sent {sent:?}"
    );
    if !streaming && seen.reached {
        assert_eq!(
            got.len(),
            1,
            "a unary call reached the backend with {got:?}"
        );
    }
}

fn check_response(
    parts: &http::response::Parts,
    bytes: &[u8],
    clean: bool,
    backend_body: &[u8],
    max_response: Option<usize>,
) {
    let ct = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/grpc-web") {
        assert!(bytes.is_empty() || parts.status != 200, "{parts:?}");
        return;
    }
    let (binary, decoded) = if ct.starts_with("application/grpc-web-text") {
        unbase64(bytes)
    } else {
        (Bytes::copy_from_slice(bytes), true)
    };
    assert!(
        decoded || !clean,
        "the text body is not valid base64: {bytes:?}"
    );
    let (got, whole) = frames(&binary, usize::MAX);
    assert!(whole || !clean, "the body is not whole frames: {binary:?}");
    let trailer_at = got.iter().position(|f| f.kind.is_trailers());
    if let Some(i) = trailer_at {
        assert_eq!(i + 1, got.len(), "frames after the trailer frame: {got:?}");
        let block =
            grpcweb_protocol::trailers::parse(&got[i].payload).expect("the trailer frame parses");
        assert!(block.contains_key("grpc-status"), "{block:?}");
    } else if clean && parts.status == 200 {
        assert!(
            parts.headers.contains_key("grpc-status"),
            "a clean body without a status: {parts:?} {got:?}"
        );
    }
    // The backend's data frames, in order, and nothing it did not send as data.
    let (backend_frames, _) = frames(backend_body, usize::MAX);
    let backend_data: Vec<&Frame> = backend_frames
        .iter()
        .take_while(|f| !f.kind.is_trailers())
        .collect();
    let data: Vec<&Frame> = got.iter().filter(|f| !f.kind.is_trailers()).collect();
    assert!(
        data.len() <= backend_data.len() && data[..] == backend_data[..data.len()],
        "the client got {data:?}, the backend sent {backend_frames:?}"
    );
    if let Some(max) = max_response {
        assert!(data.iter().all(|f| f.payload.len() <= max), "{data:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    RUNTIME.with(|rt| {
        let _ = rt.block_on(call(&mut u));
    });
});
