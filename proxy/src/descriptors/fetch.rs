//! One fetch of a backend's descriptors with gRPC server reflection: the services it
//! lists, the files that define them, and the files those import, as the backend's
//! `grpc.reflection.v1.ServerReflection` (or, when that is UNIMPLEMENTED,
//! `grpc.reflection.v1alpha.ServerReflection`) answers, through tonic-reflection's
//! generated clients. What the backend sends is held to a byte budget.

use futures_util::stream;
use prost::Message;
use prost_types::FileDescriptorProto;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use tonic::Code;
use tonic_reflection::pb::{v1, v1alpha};
use v1::server_reflection_request::MessageRequest;
use v1::server_reflection_response::MessageResponse;

use crate::upstream::Upstream;
use names::name_bytes;

mod names;

/// The client the fetch uses: the backend's endpoints, TLS and connection settings.
pub(super) type ReflectionClient = Upstream<tonic::body::Body>;

/// Most requests one fetch sends (services listed plus files asked for).
const MAX_REQUESTS: usize = 4096;

/// Most rounds of asking for imported files that earlier answers lacked.
const MAX_ROUNDS: usize = 32;

/// Most bytes of full names one fetch's files may make the proxy build (their services',
/// messages' and enums'; see [`name_bytes`]).
const MAX_NAME_BYTES: u64 = 64 << 20;

/// Why a fetch gave nothing.
#[derive(Debug)]
pub(super) enum FetchError {
    /// The backend's reflection answered with an error (or the call failed).
    Status(tonic::Status),
    /// The answers went over the byte budget.
    TooLarge { max: usize },
    /// More services or files than [`MAX_REQUESTS`].
    TooMany,
    /// An answer that is not what was asked.
    Malformed(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(s) => write!(f, "{:?}: {}", s.code(), s.message()),
            Self::TooLarge { max } => write!(
                f,
                "the reflection answers are over the budget of {max} bytes (reflection.max_bytes)"
            ),
            Self::TooMany => write!(f, "more than {MAX_REQUESTS} services and files"),
            Self::Malformed(m) => write!(f, "malformed reflection answer: {m}"),
        }
    }
}

/// Which reflection service the backend has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Version {
    V1,
    V1alpha,
}

/// A file as the backend sent it: the serialized `FileDescriptorProto` (whose options,
/// `google.api.http` among them, a decode into `prost_types` would drop), and its imports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RawFile {
    pub(super) dependency: Vec<String>,
    /// The imports of `dependency` that are public.
    pub(super) public_dependency: Vec<String>,
    /// The full names of the services it defines.
    pub(super) services: Vec<String>,
    pub(super) bytes: Vec<u8>,
}

/// What a fetch found.
#[derive(Debug)]
pub(super) struct Fetched {
    pub(super) version: Version,
    /// Every file the backend sent, by name (the first copy of a name wins).
    pub(super) files: BTreeMap<String, RawFile>,
    /// The services the backend lists (the reflection services left out).
    pub(super) services: Vec<String>,
    /// Services for which the backend's reflection had no file: name and its message.
    pub(super) missing_services: Vec<(String, String)>,
}

/// Asks the backend for every service it lists and the files behind them.
pub(super) async fn fetch(
    client: &ReflectionClient,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    let mut session = Session {
        client,
        version: Version::V1,
        budget: max_bytes,
        max_bytes,
        sent: 0,
    };
    let list = vec![request(MessageRequest::ListServices(String::new()))];
    let answers = match session.exchange(list.clone()).await {
        Err(FetchError::Status(s)) if s.code() == Code::Unimplemented => {
            session.version = Version::V1alpha;
            session.exchange(list).await?
        }
        other => other?,
    };
    let mut services = Vec::new();
    for answer in answers {
        match answer.message_response {
            Some(MessageResponse::ListServicesResponse(l)) => {
                services.extend(l.service.into_iter().map(|s| s.name));
            }
            Some(MessageResponse::ErrorResponse(e)) => {
                return Err(FetchError::Status(tonic::Status::new(
                    Code::from(e.error_code),
                    e.error_message,
                )));
            }
            _ => return Err(FetchError::Malformed("no service list".to_owned())),
        }
    }
    services.retain(|s| !s.starts_with("grpc.reflection."));
    // Each service is a request: refused before thousands of them are built.
    if services.len() > MAX_REQUESTS {
        return Err(FetchError::TooMany);
    }
    let mut names_left = MAX_NAME_BYTES;
    let mut fetched = Fetched {
        version: session.version,
        files: BTreeMap::new(),
        services: Vec::new(),
        missing_services: Vec::new(),
    };
    let asks = services
        .iter()
        .map(|s| request(MessageRequest::FileContainingSymbol(s.clone())))
        .collect();
    for (service, answer) in services.iter().zip(session.exchange(asks).await?) {
        if let Some(message) = take_files(answer, &mut fetched.files, &mut names_left)? {
            fetched.missing_services.push((service.clone(), message));
        }
    }
    fetched.services = services;
    // Imports the answers lacked (a server may send a file without its imports).
    let mut asked = BTreeSet::new();
    for _ in 0..MAX_ROUNDS {
        let wanted: Vec<String> = fetched
            .files
            .values()
            .flat_map(|f| f.dependency.iter())
            .filter(|d| !fetched.files.contains_key(*d) && !asked.contains(*d))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            break;
        }
        asked.extend(wanted.iter().cloned());
        let asks = wanted
            .into_iter()
            .map(|f| request(MessageRequest::FileByFilename(f)))
            .collect();
        for answer in session.exchange(asks).await? {
            // A file the backend does not have is reported when the pool is made.
            take_files(answer, &mut fetched.files, &mut names_left)?;
        }
    }
    Ok(fetched)
}

fn request(message: MessageRequest) -> v1::ServerReflectionRequest {
    v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    }
}

/// Adds the files of a file answer to `files`; an error answer gives its message.
fn take_files(
    answer: v1::ServerReflectionResponse,
    files: &mut BTreeMap<String, RawFile>,
    names_left: &mut u64,
) -> Result<Option<String>, FetchError> {
    match answer.message_response {
        Some(MessageResponse::FileDescriptorResponse(r)) => {
            for bytes in r.file_descriptor_proto {
                let file = FileDescriptorProto::decode(bytes.as_slice())
                    .map_err(|e| FetchError::Malformed(format!("a file descriptor: {e}")))?;
                // A file sent again (shared imports come with every answer) is not taken
                // again, nor counted again.
                if files.contains_key(file.name()) {
                    continue;
                }
                *names_left = names_left.checked_sub(name_bytes(&file)).ok_or_else(|| {
                    FetchError::Malformed(format!(
                        "the files' full names would take over {} MiB",
                        MAX_NAME_BYTES >> 20
                    ))
                })?;
                let name = file.name().to_owned();
                let package = file.package();
                let services = file
                    .service
                    .iter()
                    .map(|s| match package {
                        "" => s.name().to_owned(),
                        p => format!("{p}.{}", s.name()),
                    })
                    .collect();
                let public_dependency = file
                    .public_dependency
                    .iter()
                    .filter_map(|&i| file.dependency.get(usize::try_from(i).ok()?))
                    .cloned()
                    .collect();
                files.entry(name).or_insert(RawFile {
                    dependency: file.dependency,
                    public_dependency,
                    services,
                    bytes,
                });
            }
            Ok(None)
        }
        Some(MessageResponse::ErrorResponse(e)) => Ok(Some(e.error_message)),
        _ => Err(FetchError::Malformed(
            "a file was asked for, something else came".to_owned(),
        )),
    }
}

/// The reflection calls of one fetch, sharing its budget.
struct Session<'a> {
    client: &'a ReflectionClient,
    version: Version,
    /// Bytes of answers still allowed.
    budget: usize,
    max_bytes: usize,
    /// Requests sent so far.
    sent: usize,
}

impl Session<'_> {
    /// Sends `requests` on one reflection stream and reads one answer to each.
    async fn exchange(
        &mut self,
        requests: Vec<v1::ServerReflectionRequest>,
    ) -> Result<Vec<v1::ServerReflectionResponse>, FetchError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        self.sent += requests.len();
        if self.sent > MAX_REQUESTS {
            return Err(FetchError::TooMany);
        }
        let expected = requests.len();
        let mut answers = Vec::with_capacity(expected);
        match self.version {
            Version::V1 => {
                let mut client =
                    v1::server_reflection_client::ServerReflectionClient::new(self.client.clone())
                        .max_decoding_message_size(self.budget.max(1));
                let mut stream = client
                    .server_reflection_info(stream::iter(requests))
                    .await
                    .map_err(|s| self.status(s))?
                    .into_inner();
                self.read(&mut stream, expected, &mut answers, Ok).await?;
            }
            Version::V1alpha => {
                let requests = requests
                    .iter()
                    .map(convert::<_, v1alpha::ServerReflectionRequest>)
                    .collect::<Result<Vec<_>, _>>()?;
                let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(
                    self.client.clone(),
                )
                .max_decoding_message_size(self.budget.max(1));
                let mut stream = client
                    .server_reflection_info(stream::iter(requests))
                    .await
                    .map_err(|s| self.status(s))?
                    .into_inner();
                self.read(&mut stream, expected, &mut answers, |a| convert(&a))
                    .await?;
            }
        }
        if answers.len() < expected {
            return Err(FetchError::Malformed(format!(
                "{} answers to {expected} requests",
                answers.len()
            )));
        }
        Ok(answers)
    }

    /// Reads answers from `stream` into `answers` until there are `expected`, or the
    /// stream ends; each is held to the budget, then made a v1 answer by `to_v1`.
    async fn read<T: Message + Default>(
        &mut self,
        stream: &mut tonic::Streaming<T>,
        expected: usize,
        answers: &mut Vec<v1::ServerReflectionResponse>,
        to_v1: impl Fn(T) -> Result<v1::ServerReflectionResponse, FetchError>,
    ) -> Result<(), FetchError> {
        while answers.len() < expected {
            let Some(answer) = stream.message().await.map_err(|s| self.status(s))? else {
                break;
            };
            self.spend(answer.encoded_len())?;
            answers.push(to_v1(answer)?);
        }
        Ok(())
    }

    fn spend(&mut self, len: usize) -> Result<(), FetchError> {
        self.budget = self.budget.checked_sub(len).ok_or(FetchError::TooLarge {
            max: self.max_bytes,
        })?;
        Ok(())
    }

    /// A failed call; a message over the decoding limit is the budget's error.
    fn status(&self, status: tonic::Status) -> FetchError {
        if status.code() == Code::OutOfRange && status.message().contains("too large") {
            FetchError::TooLarge {
                max: self.max_bytes,
            }
        } else {
            FetchError::Status(status)
        }
    }
}

/// The same message in the other version's types: v1 and v1alpha have one wire form.
fn convert<A: Message, B: Message + Default>(a: &A) -> Result<B, FetchError> {
    B::decode(a.encode_to_vec().as_slice())
        .map_err(|e| FetchError::Malformed(format!("v1alpha message: {e}")))
}

#[cfg(test)]
mod tests;
