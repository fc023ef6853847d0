//! `interop-server`: serves `grpc.testing.TestService` for interop tests.
//!
//! Prints exactly one line, `listening on ADDR`, once the port is bound (harnesses read it
//! to learn the port when `--port 0` is used), then serves until SIGINT or SIGTERM,
//! after which calls in flight get a few seconds to finish and the process exits with 0.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use grpcweb_interop::{ServeOptions, serve};

/// How long calls in flight may run on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serve grpc.testing.TestService (h2c, optionally gRPC-Web).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Also accept gRPC-Web over HTTP/1.1 and HTTP/2.
    #[arg(long)]
    grpc_web: bool,
    /// With --grpc-web: a browser origin allowed to call cross-origin (repeatable; exact,
    /// `https://*.example.com`, or `*`).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// With --grpc-web: let gRPC-Web clients stream requests (client-streaming and bidi
    /// calls).
    #[arg(long)]
    allow_request_streaming: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind((args.host, args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()?;
    drop(stdout);

    let options = ServeOptions {
        grpc_web: args.grpc_web,
        allowed_origins: args.allowed_origins,
        allow_request_streaming: args.allow_request_streaming,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = serve(listener, options, async {
        let _ = stopped.await;
    });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return Ok(result?),
        () = shutdown_signal() => {}
    }
    // Drain calls in flight, but do not let a long-lived stream keep the process alive.
    let _ = stop.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => Ok(result?),
        Err(_elapsed) => Ok(()),
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        // If the handler cannot be installed, the default action still ends the process.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
