//! `grpcweb.transcoding.v1.EchoService`: the backend of the proxy's REST transcoding
//! tests. Every method answers with the request it got (and its metadata), so a test
//! sees how the proxy bound the HTTP request; `Fail` fails as asked; `ListShelves`
//! streams `nested.count` answers.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use tokio::net::TcpListener;
use tokio_stream::Stream;
use tonic::metadata::KeyAndValueRef;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::transcoding_pb::echo_service_server::{EchoService, EchoServiceServer};
use crate::transcoding_pb::{EchoRequest, EchoResponse, FailRequest};

/// Most answers `ListShelves` streams.
pub const MAX_LIST: i32 = 100;

/// The service.
#[derive(Clone, Copy, Debug, Default)]
pub struct EchoServiceImpl;

/// The service, ready for tonic's `Server::add_service`.
pub fn echo_service() -> EchoServiceServer<EchoServiceImpl> {
    EchoServiceServer::new(EchoServiceImpl)
}

/// Serves `EchoService` (native gRPC over h2c) on `listener` until `shutdown` completes.
///
/// # Errors
///
/// When the transport fails.
pub async fn serve_transcoding<F>(
    listener: TcpListener,
    shutdown: F,
) -> Result<(), tonic::transport::Error>
where
    F: Future<Output = ()>,
{
    serve_transcoding_with(listener, Reflection::Off, shutdown).await
}

/// [`serve_transcoding`], with gRPC server reflection as `reflection` says.
///
/// # Errors
///
/// When the transport fails.
pub async fn serve_transcoding_with<F>(
    listener: TcpListener,
    reflection: Reflection,
    shutdown: F,
) -> Result<(), tonic::transport::Error>
where
    F: Future<Output = ()>,
{
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut router = Server::builder().add_service(echo_service());
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
    };
    if matches!(reflection, Reflection::V1 | Reflection::Both) {
        router = router.add_service(builder().build_v1().expect("the built-in descriptor set"));
    }
    if matches!(reflection, Reflection::V1alpha | Reflection::Both) {
        router = router.add_service(
            builder()
                .build_v1alpha()
                .expect("the built-in descriptor set"),
        );
    }
    router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// The descriptor set of every proto this crate serves (`grpc.testing`, the demo's, the
/// transcoding tests'), with their imports: what server reflection serves.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/interop_descriptors.binpb"));

/// Which gRPC server reflection services a server offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reflection {
    /// None.
    #[default]
    Off,
    /// `grpc.reflection.v1.ServerReflection` only.
    V1,
    /// `grpc.reflection.v1alpha.ServerReflection` only (as older servers have).
    V1alpha,
    /// Both.
    Both,
}

fn echo(request: Request<EchoRequest>) -> EchoResponse {
    let mut metadata: HashMap<String, String> = HashMap::new();
    for entry in request.metadata().iter() {
        if let KeyAndValueRef::Ascii(key, value) = entry {
            let Ok(value) = value.to_str() else { continue };
            metadata
                .entry(key.as_str().to_owned())
                .and_modify(|joined| {
                    joined.push_str(", ");
                    joined.push_str(value);
                })
                .or_insert_with(|| value.to_owned());
        }
    }
    let request = request.into_inner();
    EchoResponse {
        shelf: request.shelf.clone(),
        numbers: request.numbers.clone(),
        request: Some(request),
        metadata,
    }
}

/// The stream `ListShelves` answers with.
pub type ShelfStream = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EchoService for EchoServiceImpl {
    async fn get_shelf(&self, r: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn get_file(&self, r: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn create_shelf(
        &self,
        r: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn update_shelf(
        &self,
        r: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn patch_shelf(&self, r: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn delete_shelf(
        &self,
        r: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn archive_shelf(
        &self,
        r: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn search_shelves(
        &self,
        r: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }

    async fn fail(&self, r: Request<FailRequest>) -> Result<Response<EchoResponse>, Status> {
        let r = r.into_inner();
        Err(Status::new(tonic::Code::from_i32(r.code), r.message))
    }

    type ListShelvesStream = ShelfStream;

    async fn list_shelves(&self, r: Request<EchoRequest>) -> Result<Response<ShelfStream>, Status> {
        let first = echo(r);
        let count = first
            .request
            .as_ref()
            .and_then(|r| r.nested.as_ref())
            .map_or(0, |n| n.count)
            .clamp(0, MAX_LIST);
        let answers: Vec<_> = (0..count)
            .map(|i| {
                let mut answer = first.clone();
                if let Some(request) = answer.request.as_mut() {
                    request.id = i64::from(i);
                }
                Ok(answer)
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(answers))))
    }

    async fn plain(&self, r: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(echo(r)))
    }
}
