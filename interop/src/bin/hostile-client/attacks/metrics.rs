//! Metrics poisoning: calls to a thousand invented methods, to paths holding a quote or a
//! backslash, and to a 60 KiB path; then one call to a real method no one has called yet
//! (`EmptyCall`), and a scrape of the admin `/metrics`: its size, whether every line is
//! valid Prometheus text, and whether `EmptyCall` still has labels of its own.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use grpcweb_protocol::framing::{FrameKind, encode_frame};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::{Context, Tally, outcome};
use crate::probe::{connect, grpc_web_request};

/// Invented method names sent.
const JUNK_METHODS: usize = 1000;
/// Calls in flight while sending them.
const JUNK_IN_FLIGHT: usize = 64;
/// Length of the long path.
const LONG_PATH: usize = 60 * 1024;
/// Largest scrape read.
const MAX_SCRAPE: usize = 64 << 20;
/// Time for one HTTP/1.1 exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) async fn run(ctx: &Context) -> anyhow::Result<String> {
    let admin = ctx.admin.context("the metrics attack needs --admin")?;
    let mut answers = Tally::default();
    // Quotes, backslashes and length, over HTTP/1.1 (whose request line takes them).
    let long = format!("/x.Long/{}", "a".repeat(LONG_PATH));
    for path in [
        "/grpc.testing.TestService/Un\"quoted",
        "/quote\".Service/Method",
        "/back\\slash.Service/Method",
        &long,
    ] {
        answers.add(match http1_call(ctx.target, path).await {
            Ok(status) => status,
            Err(e) => format!("error ({})", super::short(&e)),
        });
    }
    // Invented but well-formed names, over HTTP/2.
    let client = connect(ctx.target).await?;
    let mut calls = JoinSet::new();
    for i in 0..JUNK_METHODS {
        if calls.len() >= JUNK_IN_FLIGHT {
            answers.record(calls.join_next().await);
        }
        let (mut client, target) = (client.clone(), ctx.target);
        calls.spawn(async move {
            client = client.ready().await?;
            let path = format!("/junk{i}.Service/Method{i}");
            let (response, mut send) =
                client.send_request(grpc_web_request(target, &path)?, false)?;
            send.send_data(empty_message(), true)?;
            outcome(response).await
        });
    }
    answers.join(calls, ctx.until).await;
    // The real method, first called now.
    let mut client = connect(ctx.target).await?;
    let (response, mut send) = client.send_request(
        grpc_web_request(ctx.target, "/grpc.testing.TestService/EmptyCall")?,
        false,
    )?;
    send.send_data(empty_message(), true)?;
    let empty_call = outcome(response).await.unwrap_or_else(|e| super::short(&e));
    let page = scrape(admin).await?;
    let lines = page.lines().filter(|l| !l.starts_with('#')).count();
    let longest = page.lines().map(str::len).max().unwrap_or(0);
    let verdict = match check_exposition(&page) {
        Ok(()) => "parses".to_owned(),
        Err((n, why)) => format!("does not parse (line {n}: {why})"),
    };
    let own = page.contains("method=\"EmptyCall\"");
    tokio::time::sleep_until(ctx.until).await;
    Ok(format!(
        "{JUNK_METHODS} invented methods, 3 paths with a quote or backslash, one of {} KiB \
         (answers: {answers}); then EmptyCall ({empty_call}): {}; scrape {:.1} KB, {lines} \
         samples, longest line {:.1} KB, {verdict}",
        LONG_PATH / 1024,
        if own {
            "has its own labels"
        } else {
            "counted under `other`"
        },
        page.len() as f64 / 1000.0,
        longest as f64 / 1000.0
    ))
}

/// An empty message in one gRPC-Web frame.
fn empty_message() -> Bytes {
    encode_frame(FrameKind::Data, &[])
}

/// A gRPC-Web call over HTTP/1.1 to a raw `path`; the response's status line.
async fn http1_call(target: SocketAddr, path: &str) -> anyhow::Result<String> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {target}\r\ncontent-type: application/grpc-web+proto\r\n\
         x-grpc-web: 1\r\ncontent-length: 5\r\nconnection: close\r\n\r\n\0\0\0\0\0"
    );
    let reply = exchange(target, request.as_bytes(), 64 * 1024).await?;
    let status = reply.lines().next().unwrap_or_default();
    // In the headers, or in the trailer frame at the end of the body.
    let grpc = reply
        .to_ascii_lowercase()
        .split("grpc-status:")
        .nth(1)
        .map(|rest| {
            let code: String = rest
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            format!(" grpc-status {code}")
        })
        .unwrap_or_default();
    Ok(format!(
        "{}{grpc}",
        status.trim_start_matches("HTTP/1.1 ").trim()
    ))
}

/// The admin listener's `/metrics` page.
async fn scrape(admin: SocketAddr) -> anyhow::Result<String> {
    let request = format!("GET /metrics HTTP/1.1\r\nhost: {admin}\r\nconnection: close\r\n\r\n");
    let reply = exchange(admin, request.as_bytes(), MAX_SCRAPE).await?;
    let (head, body) = reply.split_once("\r\n\r\n").context("no end of headers")?;
    anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "scrape: {head}");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(body));
    }
    Ok(body.to_owned())
}

/// Writes `request` on a new connection and reads until the peer closes (at most `limit`
/// bytes, within [`EXCHANGE_TIMEOUT`]).
async fn exchange(target: SocketAddr, request: &[u8], limit: usize) -> anyhow::Result<String> {
    tokio::time::timeout(EXCHANGE_TIMEOUT, async {
        let mut tcp = TcpStream::connect(target).await?;
        tcp.write_all(request).await?;
        let mut reply = Vec::new();
        (&mut tcp)
            .take(limit as u64)
            .read_to_end(&mut reply)
            .await?;
        anyhow::Ok(String::from_utf8_lossy(&reply).into_owned())
    })
    .await
    .context("timed out")?
}

/// A chunked body's data (HTTP/1.1 chunked transfer coding), as far as it is well formed.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Whether every line of `page` is valid in the Prometheus text format (and OpenMetrics'
/// `# EOF`): comments, or `name{label="value",...} value [timestamp]` with names of the
/// allowed characters and values escaped (`\\`, `\"`, `\n` only). The first bad line's
/// number and why, otherwise.
pub(super) fn check_exposition(page: &str) -> Result<(), (usize, String)> {
    for (i, line) in page.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        check_sample(line).map_err(|why| (i + 1, why.to_owned()))?;
    }
    Ok(())
}

fn check_sample(line: &str) -> Result<(), &'static str> {
    let is_name = |c: char, first: bool| {
        c == '_' || c == ':' || c.is_ascii_alphabetic() || (!first && c.is_ascii_digit())
    };
    let mut chars = line.char_indices().peekable();
    let mut first = true;
    while chars.next_if(|&(_, c)| is_name(c, first)).is_some() {
        first = false;
    }
    if first {
        return Err("no metric name");
    }
    if chars.next_if(|&(_, c)| c == '{').is_some() {
        loop {
            if chars.next_if(|&(_, c)| c == '}').is_some() {
                break;
            }
            let mut first = true;
            while chars
                .next_if(|&(_, c)| c != ':' && is_name(c, first))
                .is_some()
            {
                first = false;
            }
            if first {
                return Err("bad label name");
            }
            if chars.next().map(|(_, c)| c) != Some('=')
                || chars.next().map(|(_, c)| c) != Some('"')
            {
                return Err("label without =\"");
            }
            loop {
                match chars.next().map(|(_, c)| c) {
                    None => return Err("unterminated label value"),
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('\\' | '"' | 'n') => {}
                        _ => return Err("bad escape in a label value"),
                    },
                    Some(_) => {}
                }
            }
            match chars.next().map(|(_, c)| c) {
                Some(',') => {}
                Some('}') => break,
                _ => return Err("label value not followed by , or }"),
            }
        }
    }
    let rest = match chars.next() {
        Some((at, ' ')) => &line[at + 1..],
        _ => return Err("no space before the value"),
    };
    let mut fields = rest.split(' ');
    let value = fields.next().unwrap_or("");
    let number = value.parse::<f64>().is_ok() || matches!(value, "+Inf" | "-Inf" | "NaN");
    if !number {
        return Err("value is not a number");
    }
    match (fields.next(), fields.next()) {
        (None, _) => Ok(()),
        (Some(ts), None) if ts.parse::<f64>().is_ok() => Ok(()),
        _ => Err("junk after the value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_prometheus_text() {
        let good = "# HELP a x\n# TYPE a counter\na_total{m=\"x\\\"y\",n=\"\\\\\"} 3\nb 1.5e3 1700000000\nc{} NaN\n# EOF\n";
        assert_eq!(check_exposition(good), Ok(()));
        for bad in [
            "a{m=\"x\"y\"} 1",
            "a{m=\"x} 1",
            "a{m=\"\\q\"} 1",
            "a{1m=\"x\"} 1",
            "a 1 2 3",
            "a x",
            "{m=\"x\"} 1",
        ] {
            assert!(check_exposition(bad).is_err(), "{bad}");
        }
        assert_eq!(
            dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            "hello world"
        );
    }
}
