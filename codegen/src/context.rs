//! What every generator step needs: options and the indexes of the whole request.

use crate::editions::EditionsIndex;
use crate::index::TypeIndex;
use crate::options::Options;

/// What every generator step needs: options and the type index of the whole request.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) options: Options,
    pub(crate) parameter: String,
    pub(crate) index: &'a TypeIndex,
    pub(crate) editions: &'a EditionsIndex,
}
