//! `cargo xtask protocol-refs [--fix [PATH...]]`: the wire rules cited in code, tests and
//! docs resolve to sections of `docs/protocol.md`.
//!
//! A citation is a rule id (`S6`, `K1-K4`: a letter of [`LETTERS`] and a number) in a
//! comment (after `//`, `#`, or on a line starting with `*`) or anywhere in a Markdown
//! file. A section is a heading `### S6. ...` in `docs/protocol.md`. The check (also the
//! test `every_cited_rule_has_a_section`, so `cargo test --workspace` runs it)
//! fails on a cited id without a section and on any mention of the old, external
//! `PROTOCOL.md`. `--fix` rewrites the old citations in place (idempotent: a second run
//! changes nothing); without paths it rewrites every file of the tree.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The rules document, from the workspace root.
const DOC: &str = "docs/protocol.md";
/// The first letters of rule ids: requests, framing, responses (S), deadlines, CORS,
/// clients (K), interop service.
const LETTERS: &[char] = &['R', 'F', 'S', 'D', 'C', 'K', 'I'];
/// This file names the old citations it rewrites.
const SELF: &str = "xtask/src/protocol_refs.rs";
/// The document this project's comments cited before `docs/protocol.md` existed.
const OLD_DOC: &str = concat!("PROTOCOL", ".md");

/// Options of `cargo xtask protocol-refs`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// Rewrite old citations instead of only checking.
    pub(crate) fix: bool,
    /// Files or folders to rewrite (from the workspace root); empty: the whole tree.
    pub(crate) paths: Vec<String>,
}

/// `[--fix [PATH...]]`.
pub(crate) fn parse_options(args: &[String]) -> Result<Options> {
    match args.split_first() {
        None => Ok(Options::default()),
        Some((flag, paths)) if flag == "--fix" => Ok(Options {
            fix: true,
            paths: paths.to_vec(),
        }),
        Some((other, _)) => bail!("unknown argument to `protocol-refs`: {other:?}"),
    }
}

pub(crate) fn run(root: &Path, options: &Options) -> Result<()> {
    if options.fix {
        let mut changed = 0;
        for file in files(root)? {
            let in_scope = options.paths.is_empty()
                || options
                    .paths
                    .iter()
                    .any(|p| file.starts_with(p.trim_end_matches('/')));
            if !in_scope || file == Path::new(SELF) {
                continue;
            }
            let path = root.join(&file);
            let Ok(text) = fs::read_to_string(&path) else {
                continue; // not UTF-8 text
            };
            let new = rewrite(&text);
            if new != text {
                fs::write(&path, new).with_context(|| format!("writing {}", path.display()))?;
                println!("rewrote {}", file.display());
                changed += 1;
            }
        }
        println!("{changed} files rewritten");
    }
    let problems = problems(root)?;
    for p in &problems {
        println!("{p}");
    }
    if !problems.is_empty() {
        bail!("{} citation problems (see {DOC})", problems.len());
    }
    println!("every cited rule id has a section in {DOC}");
    Ok(())
}

/// The old citations rewritten: `PROTOCOL.md` and `PROTOCOL S6` name `docs/protocol.md`,
/// its interop section ("Interop protos") is `I1-I3`.
pub(crate) fn rewrite(text: &str) -> String {
    let text = text
        .replace("\"Interop protos\"", "I1-I3")
        .replace(OLD_DOC, DOC);
    // The bare word before ids (`PROTOCOL K1-K4`), not identifiers such as
    // `PROTOCOL_ERROR` nor other files (`PROTOCOL-WEB.md`).
    let word = &OLD_DOC[..OLD_DOC.len() - 3];
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(word) {
        let (before, after) = (&rest[..at], &rest[at + word.len()..]);
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        out.push_str(before);
        let ends_word = after.is_empty() || after.starts_with(char::is_whitespace);
        if before.ends_with(ident) || !ends_word {
            out.push_str(word);
        } else {
            out.push_str(DOC);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Every cited id without a section, and every mention of the old document, as
/// `path:line: what`.
pub(crate) fn problems(root: &Path) -> Result<Vec<String>> {
    let doc = fs::read_to_string(root.join(DOC)).with_context(|| format!("reading {DOC}"))?;
    let sections = sections(&doc);
    if sections.is_empty() {
        bail!("{DOC} has no `### X1. ...` rule sections");
    }
    let mut problems = Vec::new();
    for file in files(root)? {
        if file == Path::new(SELF) {
            continue;
        }
        let Ok(text) = fs::read_to_string(root.join(&file)) else {
            continue;
        };
        let markdown = file.extension().is_some_and(|e| e == "md");
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", file.display(), n + 1);
            if rewrite(line) != line {
                problems.push(format!(
                    "{at}: cites {OLD_DOC}; run `cargo xtask protocol-refs --fix`"
                ));
            }
            let Some(comment) = comment(&file, line, markdown) else {
                continue;
            };
            for id in cited_ids(comment) {
                if !sections.contains(&id) {
                    problems.push(format!("{at}: rule {id} has no section in {DOC}"));
                }
            }
        }
    }
    Ok(problems)
}

/// The ids of the `### X1. Title` headings.
fn sections(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("### ")?.split_once(". ")?.0.parse().ok())
        .filter(|id: &String| parse_id(id).is_some())
        .collect()
}

/// The commented part of `line`: all of it in Markdown, after `//` or `#` in code, a line
/// inside a block comment (`*`, `/*`). `None` for files whose comments we do not read.
fn comment<'a>(file: &Path, line: &'a str, markdown: bool) -> Option<&'a str> {
    if markdown {
        return Some(line);
    }
    let ext = file.extension()?.to_str()?;
    let marker = match ext {
        "rs" | "ts" | "mjs" | "js" | "proto" | "go" => "//",
        "py" | "toml" | "yaml" | "yml" | "sh" => "#",
        _ => return None,
    };
    let trimmed = line.trim_start();
    if marker == "//" && (trimmed.starts_with('*') || trimmed.starts_with("/*")) {
        return Some(trimmed);
    }
    line.find(marker).map(|at| &line[at..])
}

/// `(letter, number)` of an id such as `S6`.
fn parse_id(token: &str) -> Option<(char, u32)> {
    let mut chars = token.chars();
    let letter = chars.next().filter(|c| LETTERS.contains(c))?;
    let digits = chars.as_str();
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((letter, digits.parse().ok()?))
}

/// The rule ids in `text`, ranges (`K1-K4`) expanded.
fn cited_ids(text: &str) -> Vec<String> {
    let tokens: Vec<(usize, &str)> = text
        .match_indices(|c: char| c.is_ascii_alphanumeric() || c == '_')
        .fold(Vec::<(usize, usize)>::new(), |mut spans, (at, s)| {
            match spans.last_mut() {
                Some(last) if last.1 == at => last.1 = at + s.len(),
                _ => spans.push((at, at + s.len())),
            }
            spans
        })
        .into_iter()
        .map(|(start, end)| (start, &text[start..end]))
        .collect();
    let mut ids = Vec::new();
    let mut i = 0;
    while let Some(&(start, token)) = tokens.get(i) {
        i += 1;
        let Some((letter, from)) = parse_id(token) else {
            continue;
        };
        let range_end = tokens
            .get(i)
            .filter(|(next, _)| text[start + token.len()..*next] == *"-")
            .and_then(|(_, next)| parse_id(next))
            .filter(|(l, to)| *l == letter && *to > from);
        let to = match range_end {
            Some((_, to)) => {
                i += 1; // the range's end is read
                to
            }
            None => from,
        };
        ids.extend((from..=to).map(|n| format!("{letter}{n}")));
    }
    ids
}

/// The tree's files (tracked, and new ones that are not ignored), from the root.
fn files(root: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .output()
        .context("running `git ls-files` (the check reads the tree's files from git)")?;
    if !out.status.success() {
        bail!(
            "`git ls-files` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = String::from_utf8_lossy(&out.stdout);
    Ok(list
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .filter(|f| root.join(f).is_file())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cited_rule_has_a_section() {
        let problems = problems(&crate::run::workspace_root()).unwrap();
        assert!(
            problems.is_empty(),
            "run `cargo xtask protocol-refs` for the list:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn finds_ids_and_ranges() {
        assert_eq!(cited_ids("(K1-K4, S6)"), ["K1", "K2", "K3", "K4", "S6"]);
        assert_eq!(cited_ids("rules S5-S7, D1"), ["S5", "S6", "S7", "D1"]);
        assert_eq!(cited_ids("F1-K3"), ["F1", "K3"]);
        assert!(cited_ids("S100 X1 S1a s6 I64_x S6x").is_empty());
        assert_eq!(cited_ids("%F0%9F"), ["F0"]);
    }

    #[test]
    fn reads_headings_and_comments() {
        let doc = "## Requests\n### R1. Content types\n### S10. Ten\n### Notes\n";
        assert_eq!(
            sections(doc),
            BTreeSet::from(["R1".to_owned(), "S10".to_owned()])
        );
        let rs = Path::new("a.rs");
        assert_eq!(comment(rs, "let x = 1; // S6", false), Some("// S6"));
        assert_eq!(comment(rs, " * S6", false), Some("* S6"));
        assert_eq!(comment(rs, "assert(\"S1\")", false), None);
        assert_eq!(comment(Path::new("a.py"), "x  # D1", false), Some("# D1"));
        assert_eq!(comment(Path::new("a.json"), "// S6", false), None);
    }

    #[test]
    fn rewrites_old_citations_once() {
        let old = concat!(
            "//! status (PROTO",
            "COL K1-K4, S6)\n",
            "// (see PROTO",
            "COL.md,\n// \"Interop protos\")\n",
            "(PROTO",
            "COL\n//! D1) Reason::PROTO",
            "COL_ERROR PROTO",
            "COL_GRPC_WEB\n",
            "(grpc's doc/PROTO",
            "COL-WEB.md)\n"
        );
        let new = rewrite(old);
        assert_eq!(
            new,
            "//! status (docs/protocol.md K1-K4, S6)\n\
             // (see docs/protocol.md,\n// I1-I3)\n\
             (docs/protocol.md\n//! D1) Reason::PROTOCOL_ERROR PROTOCOL_GRPC_WEB\n\
             (grpc's doc/PROTOCOL-WEB.md)\n"
        );
        assert_eq!(rewrite(&new), new);
        // The check reads line by line: a citation may end one.
        let line = concat!("//! the same deadline (PROTO", "COL");
        assert_eq!(rewrite(line), "//! the same deadline (docs/protocol.md");
    }
}
