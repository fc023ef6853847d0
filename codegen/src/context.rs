//! What every generator step needs: options and the indexes of the whole request.

use crate::editions::EditionsIndex;
use crate::index::{TypeIndex, module_path};
use crate::options::{Options, Wkt};
use crate::printer::relative_import;
use crate::raw_files::RawFiles;

/// The well-known types that `grpcweb-client/wkt` exports (client-wasm/npm/src/wkt/ is
/// this plugin's output for them; a golden test keeps it so).
pub(crate) const RUNTIME_WKT: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/compiler/plugin.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
];

/// What every generator step needs: options and the type index of the whole request.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) options: Options,
    pub(crate) parameter: String,
    pub(crate) index: &'a TypeIndex,
    pub(crate) editions: &'a EditionsIndex,
    /// The encoded files of the request (for `descriptors=embed`).
    pub(crate) raw_files: &'a RawFiles,
}

impl Context<'_> {
    /// Whether the types of `proto` are imported from `grpcweb-client/wkt`.
    pub(crate) fn wkt_from_runtime(&self, proto: &str) -> bool {
        self.options.wkt == Wkt::Runtime && RUNTIME_WKT.contains(&proto)
    }

    /// The specifier the generated module `from` (`a/b_pb`) imports the `_pb` module of
    /// `proto` with.
    pub(crate) fn import_path(&self, from: &str, proto: &str) -> String {
        if self.wkt_from_runtime(proto) {
            return format!("{}/wkt", self.options.runtime());
        }
        relative_import(
            from,
            &module_path(proto, "_pb"),
            self.options.import_extension.suffix(),
        )
    }
}
