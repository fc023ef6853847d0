//! A REST request made into the method's request message, and the method's answer
//! made into the HTTP response body.

use prost::Message as _;
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json};

use crate::failure::TranscodeError;
use crate::message::JsonOptions;
use crate::rules::{Binding, BodyRule, Matched, leaf};

/// The request message (protobuf) of a matched request: the body as its rule says, then
/// the path variables, then the query parameters (`query`, without the `?`). Fields set
/// twice take the later value; repeated fields collect every value.
pub fn request_message(
    matched: &Matched<'_>,
    query: Option<&str>,
    body: &[u8],
    options: JsonOptions,
) -> Result<Vec<u8>, TranscodeError> {
    let binding = matched.binding;
    let input = binding.method().input();
    let body_is_empty = body.iter().all(u8::is_ascii_whitespace);
    let mut message = match binding.body() {
        // A body on a binding without one is not read (as Envoy and grpc-gateway do).
        BodyRule::None => DynamicMessage::new(input.clone()),
        BodyRule::All if body_is_empty => DynamicMessage::new(input.clone()),
        BodyRule::All => options.from_json(&input, body)?,
        BodyRule::Field(_) if body_is_empty => DynamicMessage::new(input.clone()),
        BodyRule::Field(field) => {
            // The body is the field's value, one JSON value (parsed alone first, so that
            // it cannot reach other fields), read as `{"field": body}` so that errors name
            // `field.inner`.
            let value: Json =
                serde_json::from_slice(body).map_err(|e| TranscodeError::BadJson {
                    field: String::new(),
                    reason: e.to_string(),
                })?;
            let mut wrapped = Map::new();
            wrapped.insert(field.clone(), value);
            options.from_value(&input, Json::Object(wrapped))?
        }
    };
    let mut params = Map::new();
    for b in &matched.bound {
        set(&mut params, &input, &b.field, &b.value)?;
    }
    if !matches!(binding.body(), BodyRule::All) || options.ignore_unknown_fields {
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match set(&mut params, &input, &name, &value) {
                Err(TranscodeError::BadParameter { .. }) if options.ignore_unknown_fields => {}
                other => other?,
            }
        }
    } else if let Some((name, _)) =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).next()
    {
        return Err(TranscodeError::BadParameter {
            field: name.into_owned(),
            reason: "no query parameters here: the body holds every field (body: \"*\")".to_owned(),
        });
    }
    if !params.is_empty() {
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(Json::Object(params), &mut track);
        let from_params =
            DynamicMessage::deserialize_with_options(input.clone(), tracked, &Default::default())
                .map_err(|e| TranscodeError::BadParameter {
                field: track.path().to_string(),
                reason: e.to_string(),
            })?;
        message
            .merge(from_params.encode_to_vec().as_slice())
            .map_err(|e| TranscodeError::BadParameter {
                field: String::new(),
                reason: e.to_string(),
            })?;
    }
    Ok(message.encode_to_vec())
}

/// Puts `value` (a path variable or query parameter, as text) at `path` in `params`, as
/// the JSON value the field's type reads.
fn set(
    params: &mut Map<String, Json>,
    input: &MessageDescriptor,
    path: &str,
    value: &str,
) -> Result<(), TranscodeError> {
    let bad = |reason: String| TranscodeError::BadParameter {
        field: path.to_owned(),
        reason,
    };
    let field = leaf(input, path).map_err(bad)?;
    if field.is_map() {
        return Err(bad("a map field cannot be set from the URL".to_owned()));
    }
    let json = match field.kind() {
        Kind::Bool => match value {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => return Err(bad(format!("{value:?} is not true or false"))),
        },
        Kind::Enum(_) => value
            .parse::<i32>()
            .map_or_else(|_| Json::String(value.to_owned()), Json::from),
        Kind::Message(m) if m.full_name() == "google.protobuf.BoolValue" => match value {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => return Err(bad(format!("{value:?} is not true or false"))),
        },
        Kind::Message(m) if !m.full_name().starts_with("google.protobuf.") => {
            return Err(bad(format!(
                "a {} message cannot be set from the URL: set its fields ({path}.field=...)",
                m.full_name()
            )));
        }
        // Numbers, strings, bytes (base64) and the well-known types' JSON forms are read
        // from strings.
        _ => Json::String(value.to_owned()),
    };
    let steps: Vec<&str> = path.split('.').collect();
    let (last, parents) = steps.split_last().ok_or_else(|| bad("empty".to_owned()))?;
    let mut map = params;
    for step in parents {
        let entry = map
            .entry((*step).to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        map = match entry {
            Json::Object(m) => m,
            _ => return Err(bad(format!("{step:?} is set as a value and a message"))),
        };
    }
    if field.is_list() {
        match map
            .entry((*last).to_owned())
            .or_insert_with(|| Json::Array(Vec::new()))
        {
            Json::Array(items) => items.push(json),
            _ => return Err(bad("set as a value and a list".to_owned())),
        }
    } else {
        map.insert((*last).to_owned(), json);
    }
    Ok(())
}

/// The HTTP response body of the method's response message `proto`: the message, or
/// its `response_body` field, as JSON.
pub fn response_body(
    binding: &Binding,
    proto: &[u8],
    options: JsonOptions,
) -> Result<Vec<u8>, TranscodeError> {
    let output = binding.method().output();
    let message = crate::message::decode(&output, proto)?;
    let Some(field) = binding.response_body() else {
        return options.to_json(&message);
    };
    let desc = output
        .get_field_by_name(field)
        .ok_or_else(|| TranscodeError::BadResponse {
            reason: format!("{} has no field {field:?}", output.full_name()),
        })?;
    let name = if options.preserve_proto_field_names {
        desc.name()
    } else {
        desc.json_name()
    };
    let field_of = |options: JsonOptions| -> Result<Option<Json>, TranscodeError> {
        let whole: Json = serde_json::from_slice(&options.to_json(&message)?).map_err(|e| {
            TranscodeError::BadResponse {
                reason: e.to_string(),
            }
        })?;
        Ok(whole.get(name).cloned())
    };
    // A field at its default value is left out of the message: answer its default
    // (`[]`, `{}`, 0, "") rather than nothing.
    let value = match field_of(options)? {
        Some(v) => v,
        None if desc.is_list() => Json::Array(Vec::new()),
        None if desc.is_map() || matches!(desc.kind(), prost_reflect::Kind::Message(_)) => {
            Json::Object(Map::new())
        }
        None => field_of(JsonOptions {
            always_print_primitive_fields: true,
            ..options
        })?
        .unwrap_or(Json::Null),
    };
    serde_json::to_vec(&value).map_err(|e| TranscodeError::BadResponse {
        reason: e.to_string(),
    })
}

/// The JSON form of `google.rpc.Status` for a call that ended with `code` and `message`:
/// `{"code": 5, "message": "...", "details": [...]}`. The details come from
/// `grpc-status-details-bin` (`details_bin`, decoded) when the descriptors have
/// `google.rpc.Status` and the details' types; else the list is empty.
pub fn status_body(
    pool: Option<&prost_reflect::DescriptorPool>,
    code: i32,
    message: &str,
    details_bin: Option<&[u8]>,
) -> Vec<u8> {
    let details = details_bin
        .zip(pool.and_then(|p| p.get_message_by_name("google.rpc.Status")))
        .and_then(|(bin, desc)| crate::message::decode(&desc, bin).ok())
        .and_then(|status| JsonOptions::default().to_json(&status).ok())
        .and_then(|json| serde_json::from_slice::<Json>(&json).ok())
        .and_then(|json| json.get("details").cloned())
        .unwrap_or_else(|| Json::Array(Vec::new()));
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "details": details,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}
