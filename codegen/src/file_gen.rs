//! The state of generating one `_pb.ts` file: the request context, the file, its
//! imports, comments and body. `messages` writes the body; `fields` resolves field types
//! (importing the types they name) for it.

use prost_types::FileDescriptorProto;

use crate::context::Context;
use crate::index::{Comments, module_path};
use crate::printer::{Imports, Out};

pub(crate) struct FileGen<'a> {
    pub(crate) ctx: &'a Context<'a>,
    pub(crate) file: &'a FileDescriptorProto,
    /// Module path of the file being written (`a/b_pb`), for relative imports.
    pub(crate) out_path: String,
    pub(crate) imports: Imports,
    pub(crate) comments: Comments,
    pub(crate) body: Out,
}

impl<'a> FileGen<'a> {
    pub(crate) fn new(ctx: &'a Context<'a>, file: &'a FileDescriptorProto) -> Self {
        FileGen {
            ctx,
            file,
            out_path: module_path(file.name(), "_pb"),
            comments: Comments::of(file),
            imports: Imports::default(),
            body: Out::default(),
        }
    }
}
