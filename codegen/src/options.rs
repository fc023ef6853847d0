//! Plugin options (the `--grpcweb-ts_opt` / buf `opt:` values), parsed into [`Options`].

use std::fmt;

/// How 64-bit integer fields are represented in TypeScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Int64 {
    /// `bigint` (exact; the default).
    #[default]
    BigInt,
    /// Decimal `string` (exact, JSON-friendly).
    String,
    /// `number` (loses precision above 2^53).
    Number,
}

impl Int64 {
    /// The value of `FieldInfo.L` in the generated field table.
    pub(crate) fn repr(self) -> u8 {
        match self {
            Int64::BigInt => 0,
            Int64::String => 1,
            Int64::Number => 2,
        }
    }

    /// The TypeScript type.
    pub(crate) fn ts_type(self) -> &'static str {
        match self {
            Int64::BigInt => "bigint",
            Int64::String => "string",
            Int64::Number => "number",
        }
    }
}

/// The extension written in relative imports between generated files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportExtension {
    /// `./foo_pb.js` (the default; works with Node ESM and bundlers).
    #[default]
    Js,
    /// `./foo_pb.ts` (Deno, or `allowImportingTsExtensions`).
    Ts,
    /// `./foo_pb` (bundlers only).
    None,
}

impl ImportExtension {
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            ImportExtension::Js => ".js",
            ImportExtension::Ts => ".ts",
            ImportExtension::None => "",
        }
    }
}

/// Whether enum members keep the prefix their enum's name gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnumPrefix {
    /// `Color.COLOR_RED` (the .proto name; the default).
    #[default]
    Keep,
    /// `Color.RED`, when every member starts with `COLOR_` (as protobuf-es does).
    Strip,
}

/// What the plugin writes for each module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// `a/b_pb.ts` (the default).
    #[default]
    Ts,
    /// `a/b_pb.js` and `a/b_pb.d.ts`, for projects that do not compile TypeScript.
    JsDts,
}

/// Where the well-known types (google/protobuf/timestamp.proto, ...) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wkt {
    /// Imported from `grpcweb-client/wkt`, never written (the default).
    #[default]
    Runtime,
    /// Written next to the files that import them, imported relatively.
    Generate,
}

/// Whether generated files embed their file descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Descriptors {
    /// No descriptor (the default): output and bundles stay as small as they are.
    #[default]
    None,
    /// `export const file_a_b: FileDesc` in every `_pb` module: the serialized
    /// `FileDescriptorProto` (custom options included) for `getOption` and
    /// `createFileRegistry`.
    Embed,
}

/// Parsed plugin options. Every key is documented in the crate docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `int64=bigint|string|number`: default representation of 64-bit integers
    /// (a field's `jstype` option overrides it).
    pub int64: Int64,
    /// `import_extension=js|ts|none`.
    pub import_extension: ImportExtension,
    /// `enum_prefix=keep|strip`.
    pub enum_prefix: EnumPrefix,
    /// `keep_empty_files=true|false`: write `_pb.ts` files that declare nothing.
    pub keep_empty_files: bool,
    /// `json_types=true|false`: a `FooJson` type per message and enum.
    pub json_types: bool,
    /// `unwrap_wrappers=true|false`: singular fields of the `google/protobuf/wrappers.proto`
    /// types outside oneofs are optional plain values (`string | undefined`).
    pub unwrap_wrappers: bool,
    /// `wkt=runtime|generate`.
    pub wkt: Wkt,
    /// `target=ts|js+dts`.
    pub target: Target,
    /// `descriptors=none|embed`.
    pub descriptors: Descriptors,
    /// `runtime_module=<specifier>`: where generated code imports the runtime from
    /// (`None`: `grpcweb-client`).
    pub runtime_module: Option<String>,
}

impl Options {
    /// The module specifier of the runtime package.
    pub(crate) fn runtime(&self) -> &str {
        self.runtime_module.as_deref().unwrap_or("grpcweb-client")
    }
}

/// The option keys, for the error about an unknown one.
const KEYS: &str = "int64, import_extension, enum_prefix, keep_empty_files, json_types, \
                    unwrap_wrappers, wkt, runtime_module, target, descriptors";

fn boolean(value: &str) -> Option<bool> {
    match value {
        "true" | "" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A bad plugin parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError(String);

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OptionError {}

impl Options {
    /// Parses a comma-separated `key=value` list; unknown keys and values are errors.
    pub fn parse(parameter: &str) -> Result<Self, OptionError> {
        let mut options = Options::default();
        for item in parameter
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            let bad = |expected: &str| {
                OptionError(format!(
                    "invalid value {value:?} for option {key:?}: expected {expected}"
                ))
            };
            match key.trim() {
                "int64" => {
                    options.int64 = match value.trim() {
                        "bigint" => Int64::BigInt,
                        "string" => Int64::String,
                        "number" => Int64::Number,
                        _ => return Err(bad("bigint, string or number")),
                    }
                }
                "import_extension" => {
                    options.import_extension = match value.trim() {
                        "js" | ".js" => ImportExtension::Js,
                        "ts" | ".ts" => ImportExtension::Ts,
                        "none" | "" => ImportExtension::None,
                        _ => return Err(bad("js, ts or none")),
                    }
                }
                "enum_prefix" => {
                    options.enum_prefix = match value.trim() {
                        "keep" => EnumPrefix::Keep,
                        "strip" => EnumPrefix::Strip,
                        _ => return Err(bad("keep or strip")),
                    }
                }
                "keep_empty_files" => {
                    options.keep_empty_files =
                        boolean(value.trim()).ok_or_else(|| bad("true or false"))?;
                }
                "json_types" => {
                    options.json_types =
                        boolean(value.trim()).ok_or_else(|| bad("true or false"))?;
                }
                "unwrap_wrappers" => {
                    options.unwrap_wrappers =
                        boolean(value.trim()).ok_or_else(|| bad("true or false"))?;
                }
                "wkt" => {
                    options.wkt = match value.trim() {
                        "runtime" => Wkt::Runtime,
                        "generate" => Wkt::Generate,
                        _ => return Err(bad("runtime or generate")),
                    }
                }
                "target" => {
                    options.target = match value.trim() {
                        "ts" => Target::Ts,
                        "js+dts" | "dts+js" => Target::JsDts,
                        _ => return Err(bad("ts or js+dts")),
                    }
                }
                "descriptors" => {
                    options.descriptors = match value.trim() {
                        "none" => Descriptors::None,
                        "embed" => Descriptors::Embed,
                        _ => return Err(bad("none or embed")),
                    }
                }
                "runtime_module" => {
                    let spec = value.trim();
                    if spec.is_empty() || spec.contains(['"', '\\', '\n', '\r']) {
                        return Err(bad("a module specifier"));
                    }
                    options.runtime_module = Some(spec.to_owned());
                }
                other => {
                    return Err(OptionError(format!(
                        "unknown option {other:?} (known: {KEYS})"
                    )));
                }
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_keys() {
        assert_eq!(Options::parse(""), Ok(Options::default()));
        let o = Options::parse("int64=string, import_extension=none").expect("valid");
        assert_eq!(o.int64, Int64::String);
        assert_eq!(o.import_extension, ImportExtension::None);
        let o = Options::parse("import_extension=ts,int64=number").expect("valid");
        assert_eq!(
            (o.int64, o.import_extension),
            (Int64::Number, ImportExtension::Ts)
        );
        let o =
            Options::parse("enum_prefix=strip,keep_empty_files,json_types=true").expect("valid");
        assert_eq!(o.enum_prefix, EnumPrefix::Strip);
        assert!(o.keep_empty_files && o.json_types);
        assert!(
            Options::parse("unwrap_wrappers")
                .expect("valid")
                .unwrap_wrappers
        );
        assert!(Options::parse("unwrap_wrappers=maybe").is_err());
        let o = Options::parse("wkt=generate,runtime_module=../rt.js").expect("valid");
        assert_eq!((o.wkt, o.runtime()), (Wkt::Generate, "../rt.js"));
        assert!(Options::parse("runtime_module=").is_err());
        assert!(Options::parse("wkt=copy").is_err());
        let o = Options::parse("descriptors=embed").expect("valid");
        assert_eq!(o.descriptors, Descriptors::Embed);
        assert_eq!(
            Options::parse("descriptors=none").expect("valid"),
            Options::default()
        );
        let e = Options::parse("descriptors").expect_err("no value");
        assert!(e.to_string().contains("none or embed"), "{e}");
        let o = Options::parse("keep_empty_files=false,enum_prefix=keep").expect("valid");
        assert_eq!(o, Options::default());
    }

    #[test]
    fn rejects_unknown_keys_and_values() {
        let e = Options::parse("rewrite_imports=x").expect_err("unknown key");
        assert!(e.to_string().contains("\"rewrite_imports\""), "{e}");
        let e = Options::parse("target=js").expect_err("js alone is not a target");
        assert!(e.to_string().contains("ts or js+dts"), "{e}");
        let o = Options::parse("target=js+dts").expect("valid");
        assert_eq!(o.target, Target::JsDts);
        let e = Options::parse("json_types=yes").expect_err("bad value");
        assert!(e.to_string().contains("true or false"), "{e}");
        let e = Options::parse("enum_prefix=drop").expect_err("bad value");
        assert!(e.to_string().contains("keep or strip"), "{e}");
        let e = Options::parse("int64=long").expect_err("bad value");
        assert!(
            e.to_string().contains("int64") && e.to_string().contains("long"),
            "{e}"
        );
    }
}
