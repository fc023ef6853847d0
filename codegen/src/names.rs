//! TypeScript names: camelCase conversions and escaping of keywords and clashes.

/// Words that cannot name a TS type or a top-level binding, plus the names generated
/// code imports from the runtime and the globals it uses. A clashing name gets a `$`
/// suffix (`$` cannot occur in .proto identifiers, so the result is unique).
const RESERVED_TYPE_NAMES: &[&str] = &[
    // ECMAScript and TypeScript keywords.
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "as",
    "implements",
    "interface",
    "let",
    "package",
    "private",
    "protected",
    "public",
    "static",
    "yield",
    "await",
    "async",
    "type",
    "of",
    "declare",
    "module",
    "namespace",
    "abstract",
    "readonly",
    "keyof",
    "infer",
    "is",
    "asserts",
    "satisfies",
    "unique",
    "global",
    "require",
    "arguments",
    "eval",
    // Built-in type names.
    "any",
    "boolean",
    "number",
    "string",
    "symbol",
    "bigint",
    "never",
    "unknown",
    "object",
    "undefined",
    // Globals that generated code refers to.
    "Object",
    "Array",
    "Uint8Array",
    "Promise",
    "AsyncIterable",
    "Record",
    "BigInt",
    "Number",
    "String",
    "Boolean",
    "Symbol",
    "Error",
    "Date",
    "Map",
    "JSON",
    "Math",
    // Names imported from the runtime.
    "messageType",
    "enumType",
    "methodDescriptor",
    "unaryMethod",
    "serverStreamingMethod",
    "clientStreamingMethod",
    "bidiStreamingMethod",
    "callMethod",
    "unsupportedMethod",
    "createInputs",
    "mapField",
    "closedEnum",
    "groupField",
    "checkRequired",
    "wrapperField",
    "wideScalar",
    "extension",
    "Extension",
    "MessageType",
    "EnumType",
    "FieldInfo",
    "PartialMessage",
    "Transport",
    "CallOptions",
    "MethodDescriptor",
];

/// Property names that would misbehave on plain objects, or clash with `$unknown`.
const RESERVED_PROPERTY_NAMES: &[&str] = &[
    "__proto__",
    "constructor",
    "toString",
    "toJSON",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
];

/// Escapes a type or top-level binding name.
pub(crate) fn escape_type_name(name: &str) -> String {
    if RESERVED_TYPE_NAMES.contains(&name) {
        format!("{name}$")
    } else {
        name.to_owned()
    }
}

/// The top-level names of one generated module. Flattened names can clash (a nested
/// `A.B` and a top-level `A_B` are both `A_B`): the first to claim a name keeps it, a
/// later one gets `$1`, `$2`... (`$` cannot occur in .proto identifiers). Callers claim
/// shallower declarations first, so top-level names never change.
#[derive(Debug, Default)]
pub(crate) struct NameScope {
    taken: std::collections::HashSet<String>,
}

impl NameScope {
    /// Claims the escaped `base`, or the first free `base$N`. With `with_info`, the name
    /// followed by `$` (an enum's reflection const) must be free as well and is claimed.
    pub(crate) fn claim(&mut self, base: &str, with_info: bool) -> String {
        let escaped = escape_type_name(base);
        let mut name = escaped.clone();
        let mut n = 1;
        while self.taken.contains(&name) || (with_info && self.taken.contains(&format!("{name}$")))
        {
            name = format!("{base}${n}");
            n += 1;
        }
        if with_info {
            self.taken.insert(format!("{name}$"));
        }
        self.taken.insert(name.clone());
        name
    }
}

/// Escapes an object property or class member name.
pub(crate) fn escape_property(name: &str) -> String {
    if RESERVED_PROPERTY_NAMES.contains(&name) {
        format!("{name}$")
    } else {
        name.to_owned()
    }
}

/// protoc's JSON name: underscores removed, the letter after each one upper-cased.
pub(crate) fn json_name(proto_name: &str) -> String {
    let mut out = String::with_capacity(proto_name.len());
    let mut upper = false;
    for c in proto_name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The .proto name the runtime assumes for a field table entry without `proto`: the
/// property name with each ASCII capital turned into `_` and its lowercase
/// (`responseSize` -> `response_size`), as `messageType` in the npm codec does.
pub(crate) fn snake_case(property: &str) -> String {
    let mut out = String::with_capacity(property.len() + 4);
    for c in property.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// lowerCamelCase of a field or method name (`UnaryCall` -> `unaryCall`,
/// `response_size` -> `responseSize`).
pub(crate) fn lower_camel(name: &str) -> String {
    let camel = json_name(name);
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => camel,
    }
}

/// A field's property name in the generated interface.
pub(crate) fn property_name(proto_name: &str) -> String {
    escape_property(&lower_camel(proto_name))
}

/// The TS member names of an enum's values. With `strip`, the prefix the enum's name
/// gives its values goes when every value has it, as protobuf-es does (`Color` ->
/// `COLOR_`, compared case-insensitively; `HTTPCode` -> `H_T_T_P_CODE_`); the .proto
/// names stay when one value lacks it, or stripping would leave an empty name, a name
/// that is not an identifier (`COLOR_1`) or two equal names.
pub(crate) fn enum_members(enum_name: &str, values: &[&str], strip: bool) -> Vec<String> {
    let keep = || values.iter().map(|v| (*v).to_owned()).collect();
    if !strip {
        return keep();
    }
    let mut prefix = String::new();
    for (i, c) in enum_name.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            prefix.push('_');
        }
        prefix.extend(c.to_lowercase());
    }
    prefix.push('_');
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let short = match v.get(..prefix.len()) {
            Some(head) if head.to_lowercase() == prefix => &v[prefix.len()..],
            _ => return keep(),
        };
        if !is_identifier(short) || out.iter().any(|o| o == short) {
            return keep();
        }
        out.push(short.to_owned());
    }
    out
}

/// A TS string literal (double quotes, JSON escaping).
pub(crate) fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `name` can be written as a bare property key in an object literal or type.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_cases() {
        assert_eq!(json_name("response_size"), "responseSize");
        assert_eq!(json_name("field_name_1"), "fieldName1");
        assert_eq!(json_name("_leading"), "Leading");
        assert_eq!(json_name("a__b"), "aB");
        assert_eq!(lower_camel("UnaryCall"), "unaryCall");
        assert_eq!(lower_camel("FullDuplexCall"), "fullDuplexCall");
    }

    #[test]
    fn snake_cases_as_the_runtime_does() {
        assert_eq!(snake_case("responseSize"), "response_size");
        assert_eq!(snake_case("fillOauthScope"), "fill_oauth_scope");
        assert_eq!(snake_case("value"), "value");
        // Not the .proto name: the table then spells it out.
        assert_ne!(snake_case(&json_name("field_name_1")), "field_name_1");
        assert_ne!(snake_case("constructor$"), "constructor");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_type_name("Object"), "Object$");
        assert_eq!(escape_type_name("interface"), "interface$");
        assert_eq!(escape_type_name("Simple"), "Simple");
        assert_eq!(property_name("constructor"), "constructor$");
        assert_eq!(property_name("to_string"), "toString$");
        assert_eq!(property_name("default"), "default");
        assert_eq!(string_literal("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
    }

    #[test]
    fn strips_enum_prefixes_like_protobuf_es() {
        let strip = |e: &str, v: &[&str]| enum_members(e, v, true);
        assert_eq!(
            strip("Color", &["COLOR_RED", "color_Blue"]),
            ["RED", "Blue"]
        );
        assert_eq!(strip("HTTPCode", &["H_T_T_P_CODE_OK"]), ["OK"]);
        assert_eq!(strip("FooBar", &["FOO_BAR_X"]), ["X"]);
        // One value without the prefix, an empty rest, a digit, a clash: all kept.
        assert_eq!(strip("Color", &["COLOR_RED", "RED"]), ["COLOR_RED", "RED"]);
        assert_eq!(strip("Color", &["COLOR_"]), ["COLOR_"]);
        assert_eq!(strip("Color", &["COLOR_1"]), ["COLOR_1"]);
        assert_eq!(
            strip("Color", &["COLOR_A", "color_A"]),
            ["COLOR_A", "color_A"]
        );
        assert_eq!(strip("Mode", &["MODÉ_X"]), ["MODÉ_X"]);
        assert_eq!(enum_members("Color", &["COLOR_RED"], false), ["COLOR_RED"]);
    }

    #[test]
    fn scopes_number_clashing_names() {
        let mut s = NameScope::default();
        assert_eq!(s.claim("A_B", false), "A_B");
        assert_eq!(s.claim("A_B", false), "A_B$1");
        assert_eq!(s.claim("A_B", true), "A_B$2");
        assert_eq!(s.claim("Object", false), "Object$");
        // An enum needs its reflection const's name free too.
        assert_eq!(s.claim("Object", true), "Object$1");
        assert_eq!(s.claim("E", true), "E");
        assert_eq!(s.claim("E", false), "E$1");
    }
}
