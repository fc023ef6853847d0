//! `grpcweb-proxy`: parse flags, start the proxy, stop on SIGINT or SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use grpcweb_proxy::Proxy;
use grpcweb_proxy::cli::Args;
use std::io::Write as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Args::parse().into_config();
    let backend = config.backend.url.clone();
    let proxy = Proxy::bind(config).await?;
    let addr = proxy.local_addr().context("reading the bound address")?;
    // Test harnesses read this line to learn the port.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()?;
    tracing::info!(%addr, %backend, "grpcweb-proxy ready");
    proxy.serve(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: draining in-flight calls");
}
