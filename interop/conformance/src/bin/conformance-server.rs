//! The suite's server-under-test program: reads a size-delimited `ServerCompatRequest`
//! on stdin, starts the backend and the proxy, writes a size-delimited
//! `ServerCompatResponse` with the proxy's address on stdout, and serves until killed.
//!
//! `--allow-request-streaming` starts the proxy with that option, for the client-streaming
//! and bidi cases.

#[cfg(conformance_protos)]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use anyhow::{Context as _, bail};
    use grpcweb_conformance::pb::{ServerCompatRequest, ServerCompatResponse};
    use prost::Message as _;
    use std::io::{Read as _, Write as _};

    let mut stdin = std::io::stdin().lock();
    let mut len = [0u8; 4];
    stdin
        .read_exact(&mut len)
        .context("reading the request size")?;
    let mut buf = vec![0u8; usize::try_from(u32::from_be_bytes(len))?];
    stdin.read_exact(&mut buf).context("reading the request")?;
    let request = ServerCompatRequest::decode(&buf[..]).context("decoding ServerCompatRequest")?;
    if request.use_tls {
        bail!("TLS was requested, but this server under test declares supports_tls: false");
    }
    let allow_request_streaming = std::env::args().any(|a| a == "--allow-request-streaming");
    let limit = usize::try_from(request.message_receive_limit)?;
    let running = grpcweb_conformance::start(limit, allow_request_streaming).await?;
    let response = ServerCompatResponse {
        host: running.proxy.ip().to_string(),
        port: u32::from(running.proxy.port()),
        pem_cert: Vec::new(),
    };
    let bytes = response.encode_to_vec();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&u32::try_from(bytes.len())?.to_be_bytes())?;
    stdout.write_all(&bytes)?;
    stdout.flush()?;
    // Serve until the runner stops us.
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

#[cfg(not(conformance_protos))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "conformance-server was built without the connectrpc conformance protos; \
         run `cargo xtask test`, which downloads them and rebuilds"
    );
    std::process::ExitCode::FAILURE
}
