//! Editions (2023 and 2024): the resolved features of every field and enum of editions
//! files. 2024 changes no default of the features that shape our output; its new
//! features (`enforce_naming_style`, symbol visibility with `export` / `local`) are
//! checked by the compiler and do not change the generated code.
//!
//! prost-types' descriptors predate editions and drop `edition` and `features`, so
//! [`EditionsIndex::decode`] reads them from the raw request with a few descriptor
//! messages of its own that keep only those fields.

use std::collections::{HashMap, HashSet};

use prost::Message as _;

use crate::error::Error;

/// `Edition.EDITION_2023`.
pub(crate) const EDITION_2023: i32 = 1000;
/// `Edition.EDITION_2024`, the newest edition the plugin declares.
pub(crate) const EDITION_2024: i32 = 1001;

#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(message, repeated, tag = "15")]
    proto_file: Vec<RawFile>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawFile {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    package: Option<String>,
    #[prost(message, repeated, tag = "4")]
    message_type: Vec<RawMessage>,
    #[prost(message, repeated, tag = "5")]
    enum_type: Vec<RawEnum>,
    #[prost(message, repeated, tag = "7")]
    extension: Vec<RawField>,
    #[prost(message, optional, tag = "8")]
    options: Option<RawFileOptions>,
    #[prost(int32, optional, tag = "14")]
    edition: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawFileOptions {
    #[prost(message, optional, tag = "50")]
    features: Option<RawFeatures>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawMessage {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    field: Vec<RawField>,
    #[prost(message, repeated, tag = "3")]
    nested_type: Vec<RawMessage>,
    #[prost(message, repeated, tag = "4")]
    enum_type: Vec<RawEnum>,
    #[prost(message, repeated, tag = "6")]
    extension: Vec<RawField>,
    #[prost(message, optional, tag = "7")]
    options: Option<RawMessageOptions>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawMessageOptions {
    #[prost(message, optional, tag = "12")]
    features: Option<RawFeatures>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawField {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, optional, tag = "8")]
    options: Option<RawFieldOptions>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawFieldOptions {
    #[prost(message, optional, tag = "21")]
    features: Option<RawFeatures>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawEnum {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, optional, tag = "3")]
    options: Option<RawEnumOptions>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawEnumOptions {
    #[prost(message, optional, tag = "7")]
    features: Option<RawFeatures>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawFeatures {
    #[prost(int32, optional, tag = "1")]
    field_presence: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    enum_type: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    repeated_field_encoding: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    utf8_validation: Option<i32>,
    #[prost(int32, optional, tag = "5")]
    message_encoding: Option<i32>,
}

/// Field presence as editions spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Explicit,
    Implicit,
    LegacyRequired,
}

/// The features that change code or encoding, resolved for one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Features {
    pub(crate) presence: Presence,
    pub(crate) closed_enum: bool,
    pub(crate) packed: bool,
    pub(crate) utf8_verify: bool,
    pub(crate) delimited: bool,
}

impl Features {
    /// Edition 2023 and 2024 defaults (equal for these features).
    fn defaults() -> Self {
        Features {
            presence: Presence::Explicit,
            closed_enum: false,
            packed: true,
            utf8_verify: true,
            delimited: false,
        }
    }

    fn merge(mut self, raw: Option<&RawFeatures>) -> Self {
        let Some(raw) = raw else { return self };
        match raw.field_presence {
            Some(1) => self.presence = Presence::Explicit,
            Some(2) => self.presence = Presence::Implicit,
            Some(3) => self.presence = Presence::LegacyRequired,
            _ => {}
        }
        if let Some(v @ (1 | 2)) = raw.enum_type {
            self.closed_enum = v == 2;
        }
        if let Some(v @ (1 | 2)) = raw.repeated_field_encoding {
            self.packed = v == 1;
        }
        if let Some(v @ (2 | 3)) = raw.utf8_validation {
            self.utf8_verify = v == 2;
        }
        if let Some(v @ (1 | 2)) = raw.message_encoding {
            self.delimited = v == 2;
        }
        self
    }
}

/// Resolved features of every field and enum of the editions files in a request, by
/// fully-qualified name without the leading dot (`pkg.Msg.field`, `pkg.Enum`).
#[derive(Debug, Default)]
pub(crate) struct EditionsIndex {
    files: HashSet<String>,
    fields: HashMap<String, Features>,
    enums: HashMap<String, Features>,
}

impl EditionsIndex {
    /// Reads editions and features from an encoded `CodeGeneratorRequest`.
    pub(crate) fn decode(request: &[u8]) -> Result<Self, Error> {
        let raw = RawRequest::decode(request)
            .map_err(|e| Error::new(format!("cannot decode the CodeGeneratorRequest: {e}")))?;
        let mut index = EditionsIndex::default();
        for file in &raw.proto_file {
            let name = file.name.clone().unwrap_or_default();
            match file.edition {
                None => continue,
                Some(EDITION_2023 | EDITION_2024) => {}
                // Proto2 and proto3 files can carry their legacy edition numbers.
                Some(998 | 999) => continue,
                Some(other) => {
                    return Err(Error::new(format!(
                        "{name}: edition {other} is not supported (only 2023 and 2024)"
                    )));
                }
            }
            index.files.insert(name);
            let base =
                Features::defaults().merge(file.options.as_ref().and_then(|o| o.features.as_ref()));
            let scope = file.package.clone().unwrap_or_default();
            for e in &file.enum_type {
                index.add_enum(&scope, e, base);
            }
            for m in &file.message_type {
                index.add_message(&scope, m, base);
            }
            index.add_fields(&scope, &file.extension, base);
        }
        Ok(index)
    }

    fn add_enum(&mut self, scope: &str, e: &RawEnum, parent: Features) {
        let f = parent.merge(e.options.as_ref().and_then(|o| o.features.as_ref()));
        self.enums
            .insert(qualify(scope, e.name.as_deref().unwrap_or_default()), f);
    }

    fn add_message(&mut self, scope: &str, m: &RawMessage, parent: Features) {
        let fq = qualify(scope, m.name.as_deref().unwrap_or_default());
        let own = parent.merge(m.options.as_ref().and_then(|o| o.features.as_ref()));
        self.add_fields(&fq, &m.field, own);
        // Extensions declared in the message are named like its fields (`pkg.Msg.ext`).
        self.add_fields(&fq, &m.extension, own);
        for e in &m.enum_type {
            self.add_enum(&fq, e, own);
        }
        for n in &m.nested_type {
            self.add_message(&fq, n, own);
        }
    }

    /// Fields (or extensions) declared in `scope` (`pkg.Msg`, or a file's package).
    fn add_fields(&mut self, scope: &str, fields: &[RawField], parent: Features) {
        for field in fields {
            let f = parent.merge(field.options.as_ref().and_then(|o| o.features.as_ref()));
            let name = field.name.as_deref().unwrap_or_default();
            self.fields.insert(qualify(scope, name), f);
        }
    }

    /// Whether a file uses editions (and was indexed).
    pub(crate) fn is_editions_file(&self, file: &str) -> bool {
        self.files.contains(file)
    }

    /// Features of a field or extension of an editions file (`pkg.Msg.field`, `pkg.ext`).
    pub(crate) fn field(&self, fq: &str) -> Option<Features> {
        self.fields.get(fq).copied()
    }

    /// Features of an enum of an editions file.
    pub(crate) fn enum_(&self, fq: &str) -> Option<Features> {
        self.enums.get(fq).copied()
    }
}

fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_merge_in_order() {
        let base = Features::defaults();
        let implicit = RawFeatures {
            field_presence: Some(2),
            enum_type: Some(2),
            repeated_field_encoding: Some(2),
            utf8_validation: Some(3),
            message_encoding: Some(2),
        };
        let f = base.merge(Some(&implicit));
        assert_eq!(f.presence, Presence::Implicit);
        assert!(f.closed_enum && !f.packed && !f.utf8_verify && f.delimited);
        let back = f.merge(Some(&RawFeatures {
            field_presence: Some(1),
            ..Default::default()
        }));
        assert_eq!(back.presence, Presence::Explicit);
        assert!(back.delimited, "unset features keep the parent's value");
    }

    fn request(edition: i32) -> Vec<u8> {
        let features = |f: RawFeatures| Some(f);
        RawRequest {
            proto_file: vec![RawFile {
                name: Some("e.proto".to_owned()),
                package: Some("p".to_owned()),
                edition: Some(edition),
                options: Some(RawFileOptions {
                    features: features(RawFeatures {
                        utf8_validation: Some(3),
                        ..Default::default()
                    }),
                }),
                enum_type: vec![RawEnum {
                    name: Some("E".to_owned()),
                    options: Some(RawEnumOptions {
                        features: features(RawFeatures {
                            enum_type: Some(2),
                            ..Default::default()
                        }),
                    }),
                }],
                message_type: vec![RawMessage {
                    name: Some("M".to_owned()),
                    field: vec![RawField {
                        name: Some("x".to_owned()),
                        options: Some(RawFieldOptions {
                            features: features(RawFeatures {
                                field_presence: Some(2),
                                ..Default::default()
                            }),
                        }),
                    }],
                    extension: vec![RawField {
                        name: Some("nested".to_owned()),
                        options: None,
                    }],
                    ..Default::default()
                }],
                extension: vec![RawField {
                    name: Some("ext".to_owned()),
                    options: Some(RawFieldOptions {
                        features: features(RawFeatures {
                            repeated_field_encoding: Some(2),
                            ..Default::default()
                        }),
                    }),
                }],
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn resolves_file_enum_and_field_features() {
        let index = EditionsIndex::decode(&request(EDITION_2023)).expect("decodes");
        assert!(index.is_editions_file("e.proto"));
        let x = index.field("p.M.x").expect("field features");
        assert_eq!(x.presence, Presence::Implicit);
        assert!(!x.utf8_verify, "inherited from the file");
        assert!(x.packed && !x.delimited && !x.closed_enum);
        assert!(index.enum_("p.E").expect("enum features").closed_enum);
    }

    #[test]
    fn resolves_extension_features() {
        let index = EditionsIndex::decode(&request(EDITION_2023)).expect("decodes");
        let ext = index.field("p.ext").expect("file-level extension");
        assert!(!ext.packed, "its own feature");
        assert!(!ext.utf8_verify, "the file's feature");
        let nested = index.field("p.M.nested").expect("extension in a message");
        assert!(nested.packed && !nested.utf8_verify);
    }

    #[test]
    fn edition_2024_resolves_like_2023() {
        let index = EditionsIndex::decode(&request(EDITION_2024)).expect("decodes");
        assert!(index.is_editions_file("e.proto"));
        assert_eq!(
            index.field("p.M.x").expect("field features").presence,
            Presence::Implicit
        );
    }

    #[test]
    fn rejects_other_editions() {
        let e = EditionsIndex::decode(&request(1002)).expect_err("2025 is not supported");
        assert!(e.to_string().contains("e.proto: edition 1002"), "{e}");
        let proto3 = EditionsIndex::decode(&request(999)).expect("proto3 numbering is fine");
        assert!(!proto3.is_editions_file("e.proto"));
    }
}
