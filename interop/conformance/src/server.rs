//! Starting the backend and the proxy in front of it.

use grpcweb_proxy::{Config, Proxy};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::pb::conformance_service_server::ConformanceServiceServer;
use crate::service::{ConformanceServer, ExtraTrailers};

/// The backend and the proxy, running until dropped (with the runtime).
#[derive(Debug)]
pub struct Running {
    /// Where the proxy listens: the address to give the suite.
    pub proxy: SocketAddr,
    /// Where the native gRPC backend listens.
    pub backend: SocketAddr,
}

/// Starts the backend and the proxy on free loopback ports. `message_limit` (0 for none)
/// caps request messages at the proxy and the backend; `allow_request_streaming` is the
/// proxy's option of that name (client-streaming and bidi calls).
pub async fn start(message_limit: usize, allow_request_streaming: bool) -> anyhow::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let backend = listener.local_addr()?;
    let mut service = ConformanceServiceServer::new(ConformanceServer)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    if message_limit > 0 {
        service = service.max_decoding_message_size(message_limit);
    }
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(async move {
        let result = Server::builder()
            .layer(tower::util::MapResponseLayer::new(add_response_trailers))
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
        if let Err(e) = result {
            eprintln!("conformance backend failed: {e}");
        }
    });

    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::with_backend(format!("http://{backend}"))
    };
    config.allow_request_streaming = allow_request_streaming;
    if message_limit > 0 {
        config.limits.max_message_size = message_limit;
    }
    let proxy = Proxy::bind(config).await?;
    let proxy_addr = proxy.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = proxy.serve(std::future::pending()).await {
            eprintln!("proxy failed: {e}");
        }
    });
    Ok(Running {
        proxy: proxy_addr,
        backend,
    })
}

fn add_response_trailers(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    match response.extensions_mut().remove::<ExtraTrailers>() {
        Some(ExtraTrailers(extra)) => grpcweb_interop::trailers::add_trailers(response, extra),
        None => response,
    }
}
