//! grpcweb-client's cargo features, each checked alone and none at all, for the host and
//! for wasm32: a feature that only builds together with another is caught here.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::run::{cargo, run as run_cmd};
use crate::setup::WASM_TARGET;

/// `cargo check -p grpcweb-client --no-default-features [--features F]` for no feature and
/// each feature of client-wasm/Cargo.toml, on the host and on wasm32.
pub(crate) fn check(root: &Path) -> Result<()> {
    let manifest = fs::read_to_string(root.join("client-wasm/Cargo.toml"))
        .context("reading client-wasm/Cargo.toml")?;
    let features = features(&manifest);
    for target in [None, Some(WASM_TARGET)] {
        for feature in std::iter::once(None).chain(features.iter().map(Some)) {
            let mut cmd = cargo();
            cmd.current_dir(root)
                .args(["check", "-p", "grpcweb-client", "--no-default-features"]);
            if let Some(feature) = feature {
                cmd.args(["--features", feature]);
            }
            if let Some(target) = target {
                cmd.args(["--target", target]);
            }
            run_cmd(&mut cmd)?;
        }
    }
    Ok(())
}

/// The names declared in a manifest's `[features]` table, `default` left out.
fn features(manifest: &str) -> Vec<&str> {
    let mut in_table = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[features]";
            continue;
        }
        if !in_table || line.starts_with('#') {
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let bare = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if bare && name != "default" {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_feature_names() {
        let manifest = "[package]\nname = \"x\"\n\n[features]\n# a comment\ndefault = [\"a\"]\na = [\n  \"dep:b\",\n]\nc-d = []\n\n[dependencies]\ne = \"1\"\n";
        assert_eq!(features(manifest), ["a", "c-d"]);
        let root = crate::run::workspace_root();
        let client = fs::read_to_string(root.join("client-wasm/Cargo.toml")).unwrap();
        assert!(features(&client).contains(&"tower"));
    }
}
