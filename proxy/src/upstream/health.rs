//! Active health checks: a TCP connect, or `grpc.health.v1.Health/Check`.

use bytes::{BufMut, Bytes, BytesMut};
use grpcweb_protocol::framing::{FrameDecoder, FrameKind, encode_header};
use grpcweb_protocol::{Code, Status, varint};
use http::{Request, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use std::time::Duration;

use crate::config::EndpointUrl;

/// How endpoints are probed.
#[derive(Clone, Debug)]
pub(crate) enum Probe {
    /// A TCP connect.
    Tcp,
    /// `grpc.health.v1.Health/Check` for `service` ("" for the whole server); healthy when
    /// the answer is SERVING.
    Grpc {
        service: String,
        client: Box<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>,
    },
}

impl Probe {
    /// Checks one endpoint; the error says why it is unhealthy.
    pub(crate) async fn check(&self, url: &EndpointUrl, timeout: Duration) -> Result<(), String> {
        let attempt = async {
            match self {
                Self::Tcp => tokio::net::TcpStream::connect(url.authority.as_str())
                    .await
                    .map(drop)
                    .map_err(|e| format!("connect: {e}")),
                Self::Grpc { service, client } => grpc_check(client, url, service).await,
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()))
    }
}

/// `HealthCheckRequest { string service = 1; }` in a gRPC frame.
fn request_frame(service: &str) -> Bytes {
    let mut message = Vec::new();
    if !service.is_empty() {
        message.push(0x0a);
        varint::put(&mut message, service.len() as u64);
        message.extend_from_slice(service.as_bytes());
    }
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_slice(&encode_header(FrameKind::Data, message.len()));
    frame.put_slice(&message);
    frame.freeze()
}

/// `HealthCheckResponse.status` (field 1, varint) from an encoded message; 0 when absent.
fn serving_status(message: &[u8]) -> Option<u64> {
    let mut status = 0;
    let mut rest = message;
    while let Some((&tag, after)) = rest.split_first() {
        match tag {
            0x08 => (status, rest) = varint::take(after)?,
            // Anything else: the message is not the one we know; do not guess.
            _ => return None,
        }
    }
    Some(status)
}

async fn grpc_check(
    client: &Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: &EndpointUrl,
    service: &str,
) -> Result<(), String> {
    let uri = Uri::builder()
        .scheme(url.scheme.clone())
        .authority(url.authority.clone())
        .path_and_query("/grpc.health.v1.Health/Check")
        .build()
        .map_err(|e| e.to_string())?;
    let req = Request::post(uri)
        .version(http::Version::HTTP_2)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(request_frame(service)))
        .map_err(|e| e.to_string())?;
    let res = client
        .request(req)
        .await
        .map_err(|e| grpcweb_layer::error::chain(&e))?;
    if let Some(status) = Status::from_header_map(res.headers()) {
        return Err(format!("health check answered {status}"));
    }
    let collected = res.into_body().collect().await.map_err(|e| e.to_string())?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    match Status::from_header_map(&trailers) {
        Some(status) if status.code == Code::Ok => {}
        Some(status) => return Err(format!("health check answered {status}")),
        None => return Err("health check answered without grpc-status".to_owned()),
    }
    let mut frames = FrameDecoder::new(64 * 1024);
    frames.push(collected.to_bytes());
    let frame = frames
        .next_frame()
        .map_err(|e| e.to_string())?
        .ok_or("no health check response message")?;
    match serving_status(&frame.payload) {
        Some(1) => Ok(()),
        Some(other) => Err(format!("health check status {other}, not SERVING")),
        None => Err("unreadable health check response".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_encoding() {
        assert_eq!(&request_frame("")[..], &[0, 0, 0, 0, 0]);
        assert_eq!(
            &request_frame("a.B")[..],
            &[0, 0, 0, 0, 5, 0x0a, 3, b'a', b'.', b'B']
        );
        assert_eq!(serving_status(&[]), Some(0));
        assert_eq!(serving_status(&[0x08, 0x01]), Some(1));
        assert_eq!(serving_status(&[0x08, 0x02]), Some(2));
        assert_eq!(serving_status(&[0x08]), None);
        assert_eq!(serving_status(&[0x12, 0x00]), None);
    }
}
