use super::*;
use grpcweb_protocol::framing::{FrameKind, encode_frame};
use grpcweb_protocol::response::ResponseError;

/// Feeds `input` through the exports, as TypeScript does.
fn give(call: *mut Call, input: &[u8]) -> u32 {
    let len = input.len() as u32;
    let buf = unsafe { gw_buf(call, len) };
    unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), buf, input.len()) };
    len
}

/// Every event as (kind, first bytes, second bytes, extra).
fn drain(call: *mut Call) -> Vec<(u32, Vec<u8>, Vec<u8>, u32)> {
    let mut out = Vec::new();
    loop {
        let kind = unsafe { gw_next(call) };
        if kind == NONE {
            return out;
        }
        let r = unsafe { std::slice::from_raw_parts(gw_out(call), 5) };
        let bytes = |p: u32, n: u32| unsafe {
            std::slice::from_raw_parts(p as usize as *const u8, n as usize).to_vec()
        };
        // Pointers are 32-bit on wasm32 only; on the host read them before they move.
        let (a, b) = if cfg!(target_pointer_width = "32") {
            (bytes(r[0], r[1]), bytes(r[2], r[3]))
        } else {
            (Vec::new(), Vec::new())
        };
        out.push((kind, a, b, r[4]));
    }
}

#[test]
fn a_stream_with_trailers_and_details() {
    let call = gw_new(1 << 20);
    let headers = b"content-type:application/grpc-web+proto\nx-a:1\n";
    let n = give(call, headers);
    unsafe { gw_headers(call, 200, n) };
    let mut body = encode_frame(FrameKind::Data, b"hi").to_vec();
    body.extend_from_slice(&encode_frame(
        FrameKind::Trailers,
        b"grpc-status: 3\r\nx-t: v\r\ngrpc-status-details-bin: GgkKA3QveBICAQI\r\n",
    ));
    let n = give(call, &body);
    unsafe { gw_push(call, n) };
    let events = drain(call);
    let kinds: Vec<_> = events.iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        [MESSAGE, TRAILER, TRAILER, TRAILER],
        "the end waits for the body's end"
    );
    unsafe { gw_end(call) };
    let events = drain(call);
    let kinds: Vec<_> = events.iter().map(|e| (e.0, e.3)).collect();
    assert_eq!(kinds, [(END, 3)]);
    assert_eq!(unsafe { gw_next(call) }, NONE);
    unsafe { gw_free(call) };
}

#[test]
fn errors_and_headers_only_ends() {
    let call = gw_new(4);
    let n = give(call, b"content-type:application/grpc-web-text\n");
    unsafe { gw_headers(call, 200, n) };
    // A 5-byte message against a limit of 4, in text mode.
    let n = give(call, b"AAAAAAU=");
    unsafe { gw_push(call, n) };
    assert_eq!(
        drain(call).iter().map(|e| (e.0, e.3)).collect::<Vec<_>>(),
        [(ERROR, 8 | 4 << 8)]
    );
    unsafe { gw_free(call) };

    let call = gw_new(4);
    let n = give(call, b"grpc-status:0\n");
    unsafe { gw_headers(call, 503, n) };
    let end = drain(call);
    assert_eq!(
        end.iter().map(|e| (e.0, e.3)).collect::<Vec<_>>(),
        [(END, 14 | 0x100 | 503 << 16)],
        "the code and the HTTP status it comes from"
    );
    unsafe { gw_free(call) };
}

#[test]
fn the_end_hands_out_the_status_details_bytes_unread() {
    // A valid `google.rpc.Status`, one with a truncated field after a valid Any (the
    // TypeScript codec refuses it), and a value that is not base64 (no bytes).
    for (bin, len) in [
        ("GgkKA3QveBICAQI", 11),
        ("GgkKA3QveBICAQISBWE", 14),
        ("G!", 0),
    ] {
        let call = gw_new(1 << 20);
        let headers = format!("grpc-status:5\ngrpc-status-details-bin:{bin}\n");
        let n = give(call, headers.as_bytes());
        unsafe { gw_headers(call, 200, n) };
        unsafe { gw_end(call) };
        assert_eq!(unsafe { gw_next(call) }, END, "{bin}");
        let r = unsafe { std::slice::from_raw_parts(gw_out(call), 5) };
        assert_eq!((r[3], r[4]), (len, 5 | 0x100), "{bin}");
        if cfg!(target_pointer_width = "32") {
            let details =
                unsafe { std::slice::from_raw_parts(r[2] as usize as *const u8, len as usize) };
            let mut decoded = b"\x1a\x09\x0a\x03t/x\x12\x02\x01\x02".to_vec();
            if len == 14 {
                decoded.extend_from_slice(b"\x12\x05a");
            }
            assert_eq!(details, &decoded[..len as usize], "{bin}");
        }
        assert_eq!(unsafe { gw_next(call) }, NONE);
        unsafe { gw_free(call) };
    }
}

#[test]
fn typescript_has_the_protocol_error_messages_in_order() {
    // ERROR events carry an index into ResponseError::MESSAGES; npm/src/decoder.ts keeps
    // the texts (`ERRORS`), one string literal per line.
    let ts = include_str!("../../npm/src/decoder.ts");
    let table = ts
        .split_once("export const ERRORS = [")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map(|(table, _)| table)
        .expect("decoder.ts has ERRORS");
    let texts: Vec<&str> = table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end_matches(',').trim_matches('"'))
        .collect();
    assert_eq!(texts, ResponseError::MESSAGES);
}

#[test]
fn errors_carry_their_message_index() {
    let call = gw_new(1 << 20);
    let n = give(call, b"content-type:text/html\n");
    unsafe { gw_headers(call, 200, n) };
    assert_eq!(unsafe { gw_next(call) }, ERROR);
    let r = unsafe { std::slice::from_raw_parts(gw_out(call), 5) };
    let error = ResponseError::ContentType;
    assert_eq!(
        r[4],
        error.code() as u32 | (error.message_index() as u32) << 8
    );
    unsafe { gw_free(call) };
}
