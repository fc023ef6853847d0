//! `cargo xtask fmt-ts [--write]`: Prettier (pinned in js-tests/package.json, configured by
//! `.prettierrc.json` and `.prettierignore` at the root) over the TypeScript of the npm
//! package (client-wasm/npm/src) and js-tests. The check is a step of `cargo xtask test`.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::run::run as run_cmd;
use crate::setup::setup_js;

/// The files Prettier reads, from the workspace root (generated ones are in
/// `.prettierignore`).
const FILES: [&str; 2] = ["client-wasm/npm/src/**/*.ts", "js-tests/**/*.{ts,mjs}"];

/// Checks the formatting, or rewrites the files when `write`.
pub(crate) fn run(root: &Path, write: bool) -> Result<()> {
    setup_js(&root.join("js-tests"))?;
    run_cmd(
        Command::new(root.join("js-tests/node_modules/.bin/prettier"))
            .current_dir(root)
            .arg(if write { "--write" } else { "--check" })
            .args(FILES),
    )
}
