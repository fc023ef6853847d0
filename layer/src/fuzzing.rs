//! Entry points for the fuzz targets in `fuzz/` to internals that have no public API of
//! their own. Not a stable API: hidden from the docs, may change with any release.

use crate::cors::CorsError;
use crate::cors::allow_origin::AllowOrigin;

/// Compiles `patterns` as [`CorsConfig::allowed_origins`](crate::CorsConfig) does, and
/// says whether `origin` passes.
pub fn origin_allowed(patterns: &[String], origin: &str) -> Result<bool, CorsError> {
    Ok(AllowOrigin::compile(patterns)?.allows(origin))
}
