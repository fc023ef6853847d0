//! A peer gRPC-Web server that nobody here wrote: tonic-web's `GrpcWebLayer` in front of
//! the interop `TestService`, on a free loopback port (`listening on ADDR` on stdout).
//! js-tests (`runtime-peers.test.ts`) runs the runtime's interop cases against it.
//!
//! `cargo run -p grpcweb-client --example tonic_web_peer`

#[cfg(not(target_arch = "wasm32"))]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use std::io::Write as _;

    use tokio::net::TcpListener;
    use tonic::transport::Server;
    use tonic::transport::server::TcpIncoming;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    Server::builder()
        .accept_http1(true)
        .layer(tonic_web::GrpcWebLayer::new())
        .add_service(grpcweb_interop::test_service())
        // TCP_NODELAY, as any real server sets: without it small responses wait on Nagle.
        .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
        .await?;
    Ok(())
}

/// Host only: there is no server in the browser.
#[cfg(target_arch = "wasm32")]
fn main() {}
