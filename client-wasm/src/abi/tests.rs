use super::*;
use grpcweb_protocol::framing::{FrameKind, encode_frame};

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
    assert_eq!(kinds, [(DETAIL, 0), (END, 3)]);
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
        [(ERROR, 8)]
    );
    unsafe { gw_free(call) };

    let call = gw_new(4);
    let n = give(call, b"grpc-status:0\n");
    unsafe { gw_headers(call, 503, n) };
    let end = drain(call);
    assert_eq!(
        end.iter().map(|e| (e.0, e.3)).collect::<Vec<_>>(),
        [(END, 14 | 0x100)]
    );
    unsafe { gw_free(call) };
}

#[test]
fn details_are_handed_out_only_from_a_valid_status() {
    // One valid Any, then a truncated field: no details at all, as `details::decode`.
    for (bin, details) in [("GgkKA3QveBICAQI", 1), ("GgkKA3QveBICAQISBWE", 0)] {
        let call = gw_new(1 << 20);
        let headers = format!("grpc-status:5\ngrpc-status-details-bin:{bin}\n");
        let n = give(call, headers.as_bytes());
        unsafe { gw_headers(call, 200, n) };
        unsafe { gw_end(call) };
        let events = drain(call);
        let kinds: Vec<_> = events.iter().map(|e| e.0).collect();
        assert_eq!(kinds.len(), details + 1, "{bin}: {kinds:?}");
        assert_eq!(events.last().map(|e| (e.0, e.3)), Some((END, 5 | 0x100)));
        unsafe { gw_free(call) };
    }
}
