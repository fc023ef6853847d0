//! A scripted gRPC server reflection service (v1) for the reflection tests.

use grpcweb_test_support::{RecordedRequest, Reply};
use prost::Message as _;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{
    FileDescriptorResponse, ListServiceResponse, ServerReflectionRequest, ServerReflectionResponse,
    ServiceResponse,
};

/// The v1 reflection method's path.
pub const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";

/// The answers to the reflection stream `req`: `service` for a list request, every one of
/// `files` for any file request.
pub fn answers(req: &RecordedRequest, service: &str, files: &[Vec<u8>]) -> Reply {
    let answers = req
        .messages()
        .unwrap()
        .into_iter()
        .map(|m| {
            let answer = match ServerReflectionRequest::decode(m).unwrap().message_request {
                Some(MessageRequest::ListServices(_)) => {
                    MessageResponse::ListServicesResponse(ListServiceResponse {
                        service: vec![ServiceResponse {
                            name: service.to_owned(),
                        }],
                    })
                }
                _ => MessageResponse::FileDescriptorResponse(FileDescriptorResponse {
                    file_descriptor_proto: files.to_vec(),
                }),
            };
            ServerReflectionResponse {
                message_response: Some(answer),
                ..ServerReflectionResponse::default()
            }
            .encode_to_vec()
            .into()
        })
        .collect();
    Reply::ok(answers)
}
