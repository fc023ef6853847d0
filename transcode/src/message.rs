//! One method's messages between the proto3 JSON mapping and protobuf, by `prost-reflect`.

use prost::Message as _;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor, SerializeOptions,
};

use crate::failure::TranscodeError;

/// How messages are written and read as JSON. The defaults are the proto3 JSON mapping's
/// (and Envoy's and grpc-gateway's): lowerCamelCase names, fields at their default value
/// left out, enums by name, and unknown fields refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Write fields at their default value (0, "", false, empty lists) too.
    pub always_print_primitive_fields: bool,
    /// Write fields by their proto names (`user_id`) rather than lowerCamelCase
    /// (`userId`). Both are read either way.
    pub preserve_proto_field_names: bool,
    /// Write enums as numbers rather than names.
    pub enums_as_ints: bool,
    /// Skip unknown fields in JSON input rather than refuse it.
    pub ignore_unknown_fields: bool,
}

impl JsonOptions {
    fn serialize(self) -> SerializeOptions {
        SerializeOptions::new()
            .skip_default_fields(!self.always_print_primitive_fields)
            .use_proto_field_name(self.preserve_proto_field_names)
            .use_enum_numbers(self.enums_as_ints)
    }

    fn deserialize(self) -> DeserializeOptions {
        DeserializeOptions::new().deny_unknown_fields(!self.ignore_unknown_fields)
    }

    /// `json` read as a `desc` message; the error names the field at fault.
    pub fn from_json(
        self,
        desc: &MessageDescriptor,
        json: &[u8],
    ) -> Result<DynamicMessage, TranscodeError> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let options = self.deserialize();
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
        let message = DynamicMessage::deserialize_with_options(desc.clone(), tracked, &options)
            .map_err(|e| TranscodeError::BadJson {
                field: field_path(&track.path()),
                reason: e.to_string(),
            })?;
        de.end().map_err(|e| TranscodeError::BadJson {
            field: String::new(),
            reason: e.to_string(),
        })?;
        Ok(message)
    }

    /// `value` read as a `desc` message; the error names the field at fault.
    pub fn from_value(
        self,
        desc: &MessageDescriptor,
        value: serde_json::Value,
    ) -> Result<DynamicMessage, TranscodeError> {
        let options = self.deserialize();
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(value, &mut track);
        DynamicMessage::deserialize_with_options(desc.clone(), tracked, &options).map_err(|e| {
            TranscodeError::BadJson {
                field: field_path(&track.path()),
                reason: e.to_string(),
            }
        })
    }

    /// `message` written as JSON.
    pub fn to_json(self, message: &DynamicMessage) -> Result<Vec<u8>, TranscodeError> {
        let mut ser = serde_json::Serializer::new(Vec::new());
        message
            .serialize_with_options(&mut ser, &self.serialize())
            .map_err(|e| TranscodeError::BadResponse {
                reason: e.to_string(),
            })?;
        Ok(ser.into_inner())
    }
}

/// serde_path_to_error's path (`a.b[0].c`), `""` for the message itself.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path == "." { String::new() } else { path }
}

/// One method's request and response messages, JSON one side, protobuf the other.
#[derive(Clone, Debug)]
pub struct MethodCodec {
    method: MethodDescriptor,
    options: JsonOptions,
}

impl MethodCodec {
    /// The codec of `method`'s messages.
    pub fn new(method: MethodDescriptor, options: JsonOptions) -> Self {
        Self { method, options }
    }

    /// The method.
    pub fn method(&self) -> &MethodDescriptor {
        &self.method
    }

    /// The JSON options.
    pub fn options(&self) -> JsonOptions {
        self.options
    }

    /// A request message: JSON in, protobuf out.
    pub fn request_to_proto(&self, json: &[u8]) -> Result<Vec<u8>, TranscodeError> {
        let message = self.options.from_json(&self.method.input(), json)?;
        Ok(message.encode_to_vec())
    }

    /// A response message: protobuf in, JSON out.
    pub fn response_to_json(&self, proto: &[u8]) -> Result<Vec<u8>, TranscodeError> {
        let message = decode(&self.method.output(), proto)?;
        self.options.to_json(&message)
    }

    /// A response message, decoded.
    pub fn decode_response(&self, proto: &[u8]) -> Result<DynamicMessage, TranscodeError> {
        decode(&self.method.output(), proto)
    }
}

/// A backend's `desc` message, to be written as JSON: no deeper than
/// [`crate::depth::MAX_DEPTH`], `Any` payloads included.
pub(crate) fn decode(
    desc: &MessageDescriptor,
    proto: &[u8],
) -> Result<DynamicMessage, TranscodeError> {
    crate::depth::check(desc, proto).map_err(|reason| TranscodeError::BadResponse {
        reason: format!("a {} message: {reason}", desc.full_name()),
    })?;
    DynamicMessage::decode(desc.clone(), proto).map_err(|e| TranscodeError::BadResponse {
        reason: format!("not a {} message: {e}", desc.full_name()),
    })
}
