//! protoc-gen-grpcweb-ts: a protoc and buf plugin that generates strict, dependency-free
//! TypeScript for browser gRPC-Web clients.
//!
//! For every `.proto` file it writes `<name>_pb.ts` (message interfaces, enums, and a
//! field table per message that the `grpcweb-client` codec turns into create and binary
//! encode/decode; the runtime's free functions `toJson`, `fromJson`, `equals` and `clone`
//! take the same object, so apps that never call them do not bundle them; map, group,
//! closed-enum and required-field handling are referred to by the messages that need
//! them; then one `Extension` const per extension, whose values the runtime's
//! `getExtension` and friends keep in the extendee's unknown fields) and, when the file
//! has services, `<name>_grpcweb.ts` (one exported descriptor
//! per method, which `createClient` takes one by one, and a typed client class per
//! service). Generated code imports only from the `grpcweb-client` package (the
//! well-known types from `grpcweb-client/wkt`).
//!
//! ```sh
//! protoc --plugin=protoc-gen-grpcweb-ts=target/debug/protoc-gen-grpcweb-ts \
//!   --grpcweb-ts_out=gen --grpcweb-ts_opt=int64=bigint,import_extension=js \
//!   -I protos protos/grpc/testing/test.proto
//! ```
//!
//! In Rust, [`generate`] maps a `CodeGeneratorRequest` to a `CodeGeneratorResponse`:
//!
//! ```
//! use prost_types::compiler::CodeGeneratorRequest;
//! let response = protoc_gen_grpcweb_ts::generate(&CodeGeneratorRequest {
//!     parameter: Some("int64=string".to_owned()),
//!     ..Default::default()
//! });
//! assert!(response.error.is_none());
//! ```
//!
//! # Options
//! - `int64=bigint|string|number` (default `bigint`): the TS type of 64-bit integer
//!   fields. A field's `[jstype = JS_STRING | JS_NUMBER | JS_NORMAL]` wins.
//! - `import_extension=js|ts|none` (default `js`): the extension of relative imports.
//! - `enum_prefix=keep|strip` (default `keep`): `strip` drops the prefix an enum's name
//!   gives every member (`COLOR_RED` -> `RED`) as protobuf-es does, unless that leaves an
//!   empty, non-identifier or duplicate member name.
//! - `keep_empty_files=true|false` (default `false`): write `_pb.ts` files that declare
//!   nothing (files of services only).
//! - `json_types=true|false` (default `false`): a `FooJson` type per message and enum,
//!   the shape `toJson` returns.
//! - `unwrap_wrappers=true|false` (default `false`): singular fields of the wrapper
//!   types outside oneofs are optional plain values (`string | undefined`), as
//!   protobuf-es generates them.
//! - `wkt=runtime|generate` (default `runtime`): the well-known types are imported from
//!   `grpcweb-client/wkt`, or written next to the files that import them.
//! - `target=ts|js+dts` (default `ts`): TypeScript, or JavaScript plus declarations
//!   written from the same model.
//! - `descriptors=none|embed` (default `none`): `embed` makes every `_pb` module export
//!   its file's descriptor (`file_a_b`, the encoded `FileDescriptorProto` with its custom
//!   options) for `getOption` and `createFileRegistry` of `grpcweb-client/reflect`. It
//!   needs the encoded request ([`run`]); [`generate`] answers with an error.
//! - `runtime_module=<specifier>` (default `grpcweb-client`): where the runtime (and its
//!   `/wkt` and `/reflect`) is imported from.
//!
//! Unknown keys or values make the plugin answer with an error naming them.
//!
//! # Limitations
//! - Editions: 2023 and 2024 (field presence, repeated encoding, enum type, UTF-8
//!   validation and message encoding features; other editions are an error).
//!   [`generate`] cannot see features (prost-types drops them): use [`run`].
//! - proto2: defaults are recorded in the field table (`def`), not applied to the plain
//!   objects: an unset optional field is `undefined` (the runtime's `withDefaults` view
//!   and `getField` read the default). `required` is checked when encoding (binary and JSON throw when one is
//!   unset), not when decoding, like `@bufbuild/protobuf`.
//! - Client-streaming and bidi methods need a transport with `clientStream` /
//!   `bidiStream` (`createGrpcWebTransport` has both; they need a platform whose `fetch`
//!   streams request bodies and a server that accepts request streams); on a transport
//!   without them those calls fail with UNIMPLEMENTED (code 12).

mod context;
mod descriptors;
mod editions;
mod error;
mod extensions;
mod fields;
mod file_gen;
mod index;
mod json_types;
mod messages;
mod names;
mod options;
mod preamble;
mod printer;
mod raw_files;
mod services;

use prost::Message as _;
use prost_types::FileDescriptorProto;
use prost_types::compiler::code_generator_response::{Feature, File};
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};

pub use error::Error;
pub use options::{
    Descriptors, EnumPrefix, ImportExtension, Int64, OptionError, Options, Target, Wkt,
};

use context::Context;
use printer::Generated;
use raw_files::RawFiles;

use editions::{EDITION_2023, EDITION_2024, EditionsIndex};
use index::TypeIndex;

/// Runs the plugin on an encoded `CodeGeneratorRequest`, returning an encoded
/// `CodeGeneratorResponse` (errors included; never panics on bad input).
pub fn run(request: &[u8]) -> Vec<u8> {
    let decoded = CodeGeneratorRequest::decode(request)
        .map_err(|e| Error::new(format!("cannot decode the CodeGeneratorRequest: {e}")))
        .and_then(|r| {
            Ok((
                r,
                EditionsIndex::decode(request)?,
                RawFiles::decode(request)?,
            ))
        });
    let response = match decoded {
        Ok((request, editions, raw)) => generate_with(&request, &editions, &raw),
        Err(e) => CodeGeneratorResponse {
            error: Some(e.to_string()),
            supported_features: Some(supported_features()),
            ..Default::default()
        },
    };
    let mut out = response.encode_to_vec();
    // CodeGeneratorResponse.minimum_edition (3) and maximum_edition (4), which the
    // prost-types struct lacks: appending fields to an encoded message sets them.
    for (tag, edition) in [(0x18u8, EDITION_2023), (0x20, EDITION_2024)] {
        out.push(tag);
        grpcweb_protocol::varint::put(&mut out, edition as u64);
    }
    out
}

/// FEATURE_SUPPORTS_EDITIONS, which prost-types' `Feature` enum predates.
const FEATURE_SUPPORTS_EDITIONS: u64 = 2;

fn supported_features() -> u64 {
    Feature::Proto3Optional as u64 | FEATURE_SUPPORTS_EDITIONS
}

/// Generates the files of a request. Editions files need their features, which the
/// prost-types descriptors drop: use [`run`] on the encoded request for those.
pub fn generate(request: &CodeGeneratorRequest) -> CodeGeneratorResponse {
    generate_with(request, &EditionsIndex::default(), &RawFiles::default())
}

fn generate_with(
    request: &CodeGeneratorRequest,
    editions: &EditionsIndex,
    raw: &RawFiles,
) -> CodeGeneratorResponse {
    let mut response = CodeGeneratorResponse {
        supported_features: Some(supported_features()),
        ..Default::default()
    };
    match generate_files(request, editions, raw) {
        Ok(files) => response.file = files,
        Err(e) => response.error = Some(e.to_string()),
    }
    response
}

/// The files to generate: those asked for, plus the google/protobuf ones they import
/// that the runtime package does not ship (all of them with `wkt=generate`).
fn files_to_emit<'a>(
    request: &'a CodeGeneratorRequest,
    ctx: &Context<'_>,
) -> Vec<&'a FileDescriptorProto> {
    let by_name = |name: &str| request.proto_file.iter().find(|f| f.name() == name);
    let mut names: Vec<String> = request.file_to_generate.clone();
    let mut i = 0;
    while i < names.len() {
        if let Some(file) = by_name(&names[i]) {
            for dep in &file.dependency {
                if dep.starts_with("google/protobuf/")
                    && !ctx.wkt_from_runtime(dep)
                    && !names.contains(dep)
                {
                    names.push(dep.clone());
                }
            }
        }
        i += 1;
    }
    names.iter().filter_map(|n| by_name(n)).collect()
}

/// Adds a generated module in the forms `target` asks for.
fn push(out: &mut Vec<File>, target: Target, proto: &str, suffix: &str, module: Generated) {
    let forms = match target {
        Target::Ts => vec![(".ts", module.ts)],
        Target::JsDts => vec![(".js", module.js), (".d.ts", module.dts)],
    };
    for (ext, content) in forms {
        out.push(File {
            name: Some(index::module_path(proto, &format!("{suffix}{ext}"))),
            content: Some(content),
            ..Default::default()
        });
    }
}

fn generate_files(
    request: &CodeGeneratorRequest,
    editions: &EditionsIndex,
    raw_files: &RawFiles,
) -> Result<Vec<File>, Error> {
    let parameter = request.parameter.clone().unwrap_or_default();
    let options = Options::parse(&parameter).map_err(|e| Error::new(e.to_string()))?;
    let index = TypeIndex::build(&request.proto_file, editions);
    let ctx = Context {
        options,
        parameter: parameter.replace(['\n', '\r'], " "),
        index: &index,
        editions,
        raw_files,
    };
    for name in &request.file_to_generate {
        if !request.proto_file.iter().any(|f| f.name() == name) {
            return Err(Error::new(format!(
                "{name}: file to generate is missing from proto_file"
            )));
        }
    }
    let mut out = Vec::new();
    for file in files_to_emit(request, &ctx) {
        if file.syntax() == "editions" && !editions.is_editions_file(file.name()) {
            return Err(Error::new(format!(
                "{}: editions files need their features: run the plugin on the encoded request",
                file.name()
            )));
        }
        // A file of services (or imports) only has an empty `_pb.ts`: left out unless
        // `keep_empty_files` (for build systems that declare every output in advance).
        // With `descriptors=embed` every file has its descriptor const.
        let empty = file.message_type.is_empty()
            && file.enum_type.is_empty()
            && file.extension.is_empty()
            && ctx.options.descriptors == Descriptors::None;
        if !empty || ctx.options.keep_empty_files {
            let pb = messages::generate(&ctx, file)?;
            push(&mut out, ctx.options.target, file.name(), "_pb", pb);
        }
        if let Some(client) = services::generate(&ctx, file)? {
            push(
                &mut out,
                ctx.options.target,
                file.name(),
                "_grpcweb",
                client,
            );
        }
    }
    Ok(out)
}
