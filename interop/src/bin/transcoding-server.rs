//! `transcoding-server`: serves `grpcweb.transcoding.v1.EchoService` (native gRPC, h2c),
//! which answers every call with the request it got: a backend to try the proxy's REST
//! and JSON transcoding against (build its descriptor set from
//! `protos/transcoding/v1/echo.proto` with `protoc --include_imports`, or let the proxy
//! fetch them: `--reflection` serves gRPC server reflection).
//!
//! Prints exactly one line, `listening on ADDR`, once the port is bound, then serves until
//! SIGINT or SIGTERM; calls in flight get a moment to finish.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use grpcweb_interop::{Reflection, serve_transcoding_with};

/// How long calls in flight may run on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serve grpcweb.transcoding.v1.EchoService (native gRPC over h2c).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Serve gRPC server reflection (grpc.reflection.v1 and v1alpha) over the descriptors
    /// of every proto this crate has; `v1` or `v1alpha` offers that one only.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "both")]
    reflection: Option<ReflectionArg>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ReflectionArg {
    Both,
    V1,
    V1alpha,
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

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reflection = match args.reflection {
        None => Reflection::Off,
        Some(ReflectionArg::Both) => Reflection::Both,
        Some(ReflectionArg::V1) => Reflection::V1,
        Some(ReflectionArg::V1alpha) => Reflection::V1alpha,
    };
    let server = serve_transcoding_with(listener, reflection, async {
        let _ = stopped.await;
    });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return Ok(result?),
        () = shutdown_signal() => {}
    }
    let _ = stop.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => Ok(result?),
        Err(_elapsed) => Ok(()),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
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
        // If the handler cannot be installed, the default action still ends the process.
        result = tokio::signal::ctrl_c() => {
            if result.is_err() {
                std::future::pending::<()>().await;
            }
        }
        () = terminate => {}
    }
}
