//! HTTP/1.1 connection reuse: a client may send the next call on the same connection as
//! soon as it has read a response, so the proxy must never leave a connection unusable
//! without saying so.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const HEAD: &str = "POST /grpc.testing.TestService/UnimplementedCall HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/grpc-web+proto\r\ntransfer-encoding: chunked\r\n\r\n";

/// Reads until `n` complete responses (each ends with the trailer frame) have arrived or
/// the connection closes; returns what was read.
async fn read_responses(stream: &mut TcpStream, n: usize) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if text.matches("grpc-status:12").count() >= n {
            return text;
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) => return text,
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
            Ok(Err(e)) => panic!("read failed: {e}"),
        }
    }
}

#[tokio::test]
async fn response_waits_for_the_end_of_a_chunked_body_so_the_connection_is_reused() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    for _ in 0..2 {
        // The whole message first; the chunked terminator only 200 ms later, as a client
        // that writes the body and ends it separately may do.
        stream.write_all(HEAD.as_bytes()).await.unwrap();
        stream
            .write_all(b"5\r\n\x00\x00\x00\x00\x00\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stream.write_all(b"0\r\n\r\n").await.unwrap();
        let text = read_responses(&mut stream, 1).await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
        assert!(
            text.contains("grpc-status:12"),
            "UNIMPLEMENTED in the trailer frame: {text:?}"
        );
        assert!(
            !text.to_ascii_lowercase().contains("connection: close"),
            "{text:?}"
        );
    }
}

/// Clients that read `Keep-Alive` (undici, so Node's `fetch`) keep idle connections for
/// their own default otherwise: 4 s, after which every pause costs new connections.
#[tokio::test]
async fn responses_say_how_long_an_idle_connection_is_kept() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.header_read_timeout = Duration::from_secs(20);
        c.limits.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    stream.write_all(HEAD.as_bytes()).await.unwrap();
    stream
        .write_all(b"5\r\n\x00\x00\x00\x00\x00\r\n0\r\n\r\n")
        .await
        .unwrap();
    let text = read_responses(&mut stream, 1).await.to_ascii_lowercase();
    assert!(text.contains("grpc-status:12"), "{text:?}");
    // The shorter of the two: an idle connection closes at the header read timeout.
    assert!(text.contains("\r\nkeep-alive: timeout=20\r\n"), "{text:?}");
}

#[tokio::test]
async fn refused_request_with_unread_body_says_connection_close() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    let head = "POST /x HTTP/1.1\r\nhost: proxy\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 415"), "{text:?}");
    assert!(text.contains("connection: close"), "{text:?}");
    assert!(!text.contains("keep-alive"), "{text:?}");
}

#[tokio::test]
async fn idle_keep_alive_connections_close_after_the_header_read_timeout() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.header_read_timeout = Duration::from_millis(300)
    })
    .await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    stream.write_all(HEAD.as_bytes()).await.unwrap();
    stream
        .write_all(b"5\r\n\x00\x00\x00\x00\x00\r\n0\r\n\r\n")
        .await
        .unwrap();
    let text = read_responses(&mut stream, 1).await;
    assert!(text.contains("grpc-status:12"), "{text:?}");
    // Now idle: the proxy closes the connection once the timeout passes.
    let start = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("connection left open")
        .unwrap_or(0);
    assert_eq!(n, 0, "expected EOF");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn refused_request_with_a_small_body_keeps_the_connection() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    for _ in 0..2 {
        // A wrong verb with a body: read whole and answered 405, connection kept.
        let req = "PUT /grpc.testing.TestService/EmptyCall HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: 5\r\n\r\n\x00\x00\x00\x00\x00";
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 405"), "{text:?}");
        assert!(!text.contains("connection: close"), "{text:?}");
    }
}

/// A client that is still sending when the proxy refuses its call (an over-limit message,
/// the connectrpc conformance suite's client-stream cases): the proxy keeps reading and
/// discarding the rest of the body before it closes the connection, so the close is a FIN
/// after the response, not a reset that makes the client's writes fail and its kernel
/// throw away the response it has not read yet.
#[tokio::test]
async fn refused_request_reads_the_rest_of_the_body_before_closing() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| c.limits.max_message_size = 1024).await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    // One message declaring 64 KiB, over the 1 KiB limit: refused on its prefix.
    let len: u32 = 64 * 1024;
    let head = format!(
        "POST /grpc.testing.TestService/UnaryCall HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: {}\r\n\r\n",
        5 + len
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut prefix = vec![0u8];
    prefix.extend_from_slice(&len.to_be_bytes());
    stream.write_all(&prefix).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&buf).contains("grpc-message") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("no response")
            .expect("reading the response");
        assert_ne!(n, 0, "closed before the response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert!(text.contains("grpc-status:8"), "{text:?}");
    // The rest of the body, as a client still sending it would (a connection closed
    // under it answers with a reset, and the next write fails), then the proxy's end of
    // the connection: a clean EOF.
    for piece in 0..16 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Err(e) = stream.write_all(&[0u8; 4096]).await {
            panic!("writing piece {piece} of the rest of the body: {e}");
        }
    }
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("connection left open");
    assert!(end.is_ok(), "connection reset: {end:?}");
}

/// What the proxy reads and throws away after a refusal is bounded (1 MiB): a client that
/// keeps sending is cut off, not served for ever.
#[tokio::test]
async fn refused_request_drain_is_bounded() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| c.limits.max_message_size = 1024).await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    let len: u32 = 64 * 1024 * 1024;
    let head = format!(
        "POST /grpc.testing.TestService/UnaryCall HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: {}\r\n\r\n",
        5 + len
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut prefix = vec![0u8];
    prefix.extend_from_slice(&len.to_be_bytes());
    stream.write_all(&prefix).await.unwrap();
    // Keep sending: the proxy stops reading after 1 MiB (plus what the socket buffers
    // hold) and closes, so a write fails long before 64 MiB.
    let piece = vec![0u8; 64 * 1024];
    let mut sent = 0usize;
    let failed = tokio::time::timeout(Duration::from_secs(20), async {
        while sent < len as usize {
            if stream.write_all(&piece).await.is_err() {
                return true;
            }
            sent += piece.len();
        }
        false
    })
    .await
    .expect("writes neither failed nor finished");
    assert!(failed, "the proxy read all {sent} bytes");
    assert!(
        sent < 32 * 1024 * 1024,
        "sent {sent} bytes before the close"
    );
}

/// And in time (5 s): a client that stops sending after a refusal does not hold its
/// connection until the idle timeout.
#[tokio::test]
async fn refused_request_drain_ends_in_time() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| c.limits.max_message_size = 1024).await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    let head = "POST /grpc.testing.TestService/UnaryCall HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: 65541\r\n\r\n\x00\x00\x01\x00\x00";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut chunk = [0u8; 4096];
    let mut text = String::new();
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => text.push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after 15 s");
    assert!(text.contains("grpc-status:8"), "{text:?}");
}
