//! The suite's server-under-test program: reads a size-delimited `ServerCompatRequest`
//! on stdin, starts the backend and the proxy (over TLS with the runner's certificates
//! when it asks for TLS, and then requiring client certificates when it hands over a
//! client CA), writes a size-delimited `ServerCompatResponse` with the proxy's address
//! (and its certificate) on stdout, and serves until SIGTERM or SIGINT.
//!
//! `--allow-request-streaming` starts the proxy with that option, for the client-streaming
//! and bidi cases.

#[cfg(conformance_protos)]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use anyhow::{Context as _, bail};
    use grpcweb_conformance::pb::{ServerCompatRequest, ServerCompatResponse};
    use grpcweb_conformance::{Options, ServerTls};
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
    let tls = if request.use_tls {
        let Some(creds) = request.server_creds else {
            bail!(
                "TLS was requested without server_creds: this server has no certificate of its own"
            );
        };
        let client_ca = (!request.client_tls_cert.is_empty()).then_some(request.client_tls_cert);
        Some(ServerTls {
            cert: creds.cert,
            key: creds.key,
            client_ca,
        })
    } else {
        None
    };
    let pem_cert = tls.as_ref().map(|t| t.cert.clone()).unwrap_or_default();
    let options = Options {
        message_limit: usize::try_from(request.message_receive_limit)?,
        allow_request_streaming: std::env::args().any(|a| a == "--allow-request-streaming"),
        tls,
    };
    let running = grpcweb_conformance::start(options).await?;
    let response = ServerCompatResponse {
        host: running.proxy.ip().to_string(),
        port: u32::from(running.proxy.port()),
        pem_cert,
    };
    let bytes = response.encode_to_vec();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&u32::try_from(bytes.len())?.to_be_bytes())?;
    stdout.write_all(&bytes)?;
    stdout.flush()?;
    // Serve until the runner stops us (it sends SIGTERM), then return, so that `running`
    // is dropped and removes the TLS files.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(running);
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
