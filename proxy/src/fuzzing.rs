//! Entry points for the fuzz targets in `fuzz/` to internals that have no public API of
//! their own. Not a stable API: hidden from the docs, may change with any release.

pub use grpcweb_layer::fuzzing::origin_allowed;
