//! `grpcweb-proxy`: parse flags (and the config file), start the proxy, stop on SIGINT or
//! SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use grpcweb_proxy::cli::Args;
use grpcweb_proxy::{LogFormat, Proxy};
use std::io::Write as _;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let check_only = args.check_config;
    let config = match args.into_config().and_then(|c| c.validate().map(|()| c)) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("grpcweb-proxy: {e}");
            return ExitCode::from(2);
        }
    };
    if check_only {
        println!(
            "configuration OK: {} backend(s), {} route(s)",
            config.backends.len(),
            config.routes.len()
        );
        return ExitCode::SUCCESS;
    }
    init_logging(config.log_format);
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("grpcweb-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: grpcweb_proxy::Config) -> anyhow::Result<()> {
    let proxy = Proxy::bind(config).await?;
    let addr = proxy.local_addr().context("reading the bound address")?;
    // Test harnesses read this line to learn the port.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()?;
    tracing::info!(%addr, "grpcweb-proxy ready");
    proxy.serve(shutdown_signal()).await?;
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
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
