//! The `[transcoding]` table: JSON print and parse options, the request headers REST
//! calls send as metadata, and HTTP rules for methods without `google.api.http`
//! annotations.

use grpcweb_transcode::{JsonOptions, RuleSpec};
use serde::Deserialize;

use super::ConfigError;

/// How JSON calls and REST calls are transcoded.
#[derive(Clone, Debug, Default)]
pub struct TranscodingConfig {
    /// JSON options for every JSON and REST call.
    pub json: JsonOptions,
    /// Request headers (lower-case names) a REST call sends its backend as metadata;
    /// others are not sent.
    pub rest_headers: Vec<String>,
    /// HTTP rules in the config file; a method they select gets these in place of its
    /// annotations.
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTranscoding {
    always_print_primitive_fields: Option<bool>,
    preserve_proto_field_names: Option<bool>,
    enums_as_ints: Option<bool>,
    ignore_unknown_fields: Option<bool>,
    rest_headers: Option<Vec<String>>,
    #[serde(default)]
    rules: Vec<FileRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    selector: String,
    get: Option<String>,
    put: Option<String>,
    post: Option<String>,
    delete: Option<String>,
    patch: Option<String>,
    custom: Option<FileCustom>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    response_body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCustom {
    kind: String,
    path: String,
}

/// Reads the `[transcoding]` table into `config`.
pub(super) fn apply(
    config: &mut TranscodingConfig,
    file: FileTranscoding,
) -> Result<(), ConfigError> {
    let json = &mut config.json;
    json.always_print_primitive_fields = file
        .always_print_primitive_fields
        .unwrap_or(json.always_print_primitive_fields);
    json.preserve_proto_field_names = file
        .preserve_proto_field_names
        .unwrap_or(json.preserve_proto_field_names);
    json.enums_as_ints = file.enums_as_ints.unwrap_or(json.enums_as_ints);
    json.ignore_unknown_fields = file
        .ignore_unknown_fields
        .unwrap_or(json.ignore_unknown_fields);
    if let Some(headers) = file.rest_headers {
        config.rest_headers = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    }
    for (i, r) in file.rules.into_iter().enumerate() {
        let mut patterns = [
            ("GET", r.get),
            ("PUT", r.put),
            ("POST", r.post),
            ("DELETE", r.delete),
            ("PATCH", r.patch),
        ]
        .into_iter()
        .filter_map(|(m, p)| Some((m.to_owned(), p?)))
        .chain(r.custom.map(|c| (c.kind, c.path)));
        let (Some((method, path)), None) = (patterns.next(), patterns.next()) else {
            return Err(ConfigError::new(
                format!("transcoding.rules[{i}]"),
                "give exactly one of get, put, post, delete, patch or custom = { kind, path }",
            ));
        };
        config.rules.push(RuleSpec {
            selector: r.selector,
            method,
            path,
            body: r.body,
            response_body: r.response_body,
        });
    }
    Ok(())
}

/// Headers the proxy sets on the gRPC calls it makes of REST calls.
const OWN_HEADERS: [&str; 9] = [
    "content-type",
    "content-length",
    "te",
    "host",
    "connection",
    "transfer-encoding",
    "upgrade",
    "keep-alive",
    "proxy-connection",
];

/// Checks the `[transcoding]` keys that need no descriptors.
pub(super) fn validate(config: &TranscodingConfig) -> Result<(), ConfigError> {
    for (i, name) in config.rest_headers.iter().enumerate() {
        let key = format!("transcoding.rest_headers[{i}]");
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(ConfigError::new(
                key,
                format!("{name:?} is not a header name"),
            ));
        }
        if OWN_HEADERS.contains(&name.as_str()) {
            return Err(ConfigError::new(
                key,
                format!("{name:?} is set by the proxy, not passed on"),
            ));
        }
    }
    Ok(())
}
