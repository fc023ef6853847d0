//! Text output: a line printer, TSDoc comments, and the import list of one file.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::names::string_literal;

/// Builds one generated file line by line.
#[derive(Debug, Default)]
pub(crate) struct Printer {
    out: String,
}

impl Printer {
    /// Appends one line (an empty `line` gives an empty line, never trailing spaces).
    pub(crate) fn line(&mut self, indent: usize, line: &str) {
        if !line.is_empty() {
            for _ in 0..indent {
                self.out.push_str("  ");
            }
            self.out.push_str(line);
        }
        self.out.push('\n');
    }

    /// Appends a TSDoc block for `comment` (leading comment text, possibly empty), with
    /// `@deprecated` when asked; nothing when both are empty.
    pub(crate) fn doc(&mut self, indent: usize, comment: &str, deprecated: bool) {
        let mut lines: Vec<String> = comment
            .trim_end()
            .lines()
            .map(|l| {
                l.strip_prefix(' ')
                    .unwrap_or(l)
                    .trim_end()
                    .replace("*/", "*\\/")
            })
            .collect();
        while lines.first().is_some_and(String::is_empty) {
            lines.remove(0);
        }
        if deprecated {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.push("@deprecated".to_owned());
        }
        if lines.is_empty() {
            return;
        }
        if let [only] = lines.as_slice() {
            self.line(indent, &format!("/** {only} */"));
            return;
        }
        self.line(indent, "/**");
        for l in &lines {
            if l.is_empty() {
                self.line(indent, " *");
            } else {
                self.line(indent, &format!(" * {l}"));
            }
        }
        self.line(indent, " */");
    }

    /// The text so far.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// The imports of one generated file, with local aliases that never clash.
#[derive(Debug, Default)]
pub(crate) struct Imports {
    /// Names declared in the file itself, and aliases already handed out.
    taken: HashSet<String>,
    /// module specifier -> (exported name -> local alias)
    values: BTreeMap<String, BTreeMap<String, String>>,
    /// Runtime names: value imports and type-only imports.
    runtime_values: BTreeSet<&'static str>,
    runtime_types: BTreeSet<&'static str>,
    /// (module, exported name) of imports that are types only.
    type_only: HashSet<(String, String)>,
}

impl Imports {
    /// Reserves names declared in this file.
    pub(crate) fn declare(&mut self, name: &str) {
        self.taken.insert(name.to_owned());
    }

    /// A value (and type) from the runtime package.
    pub(crate) fn runtime(&mut self, name: &'static str) -> &'static str {
        self.runtime_values.insert(name);
        name
    }

    /// A type-only name from the runtime package.
    pub(crate) fn runtime_type(&mut self, name: &'static str) -> &'static str {
        self.runtime_types.insert(name);
        name
    }

    /// Imports `name` from `module` (a relative specifier) and returns its local alias.
    pub(crate) fn import(&mut self, module: &str, name: &str) -> String {
        if let Some(alias) = self.values.get(module).and_then(|m| m.get(name)) {
            return alias.clone();
        }
        let mut alias = name.to_owned();
        let mut n = 1;
        while self.taken.contains(&alias) {
            alias = format!("{name}${n}");
            n += 1;
        }
        self.taken.insert(alias.clone());
        self.values
            .entry(module.to_owned())
            .or_default()
            .insert(name.to_owned(), alias.clone());
        alias
    }

    /// Imports the type `name` from `module` (`import type`, as `verbatimModuleSyntax`
    /// wants) and returns its local alias.
    pub(crate) fn import_type(&mut self, module: &str, name: &str) -> String {
        self.type_only.insert((module.to_owned(), name.to_owned()));
        self.import(module, name)
    }

    /// Imports `name` from `module` under a chosen alias (the reflection const of an enum
    /// follows its enum's alias); `None` when that alias is taken by something else.
    pub(crate) fn import_as(&mut self, module: &str, name: &str, alias: &str) -> Option<String> {
        if let Some(existing) = self.values.get(module).and_then(|m| m.get(name)) {
            return (existing == alias).then(|| existing.clone());
        }
        if !self.taken.insert(alias.to_owned()) {
            return None;
        }
        self.values
            .entry(module.to_owned())
            .or_default()
            .insert(name.to_owned(), alias.to_owned());
        Some(alias.to_owned())
    }

    /// Writes the import statements.
    pub(crate) fn print(&self, p: &mut Printer, runtime: &str) {
        let runtime = string_literal(runtime);
        if !self.runtime_values.is_empty() {
            let names: Vec<&str> = self.runtime_values.iter().copied().collect();
            p.line(
                0,
                &format!("import {{ {} }} from {runtime};", names.join(", ")),
            );
        }
        if !self.runtime_types.is_empty() {
            let names: Vec<&str> = self.runtime_types.iter().copied().collect();
            p.line(
                0,
                &format!("import type {{ {} }} from {runtime};", names.join(", ")),
            );
        }
        for (module, names) in &self.values {
            let is_type = |name: &String| self.type_only.contains(&(module.clone(), name.clone()));
            // Only types: `import type { ... }`; some: `import { A, type AJson }`.
            let all_types = names.keys().all(is_type);
            let list: Vec<String> = names
                .iter()
                .map(|(name, alias)| {
                    let prefix = if is_type(name) && !all_types {
                        "type "
                    } else {
                        ""
                    };
                    if name == alias {
                        format!("{prefix}{name}")
                    } else {
                        format!("{prefix}{name} as {alias}")
                    }
                })
                .collect();
            let kw = if all_types { "import type" } else { "import" };
            p.line(
                0,
                &format!(
                    "{kw} {{ {} }} from {};",
                    list.join(", "),
                    string_literal(module)
                ),
            );
        }
    }
}

/// The relative import specifier from the generated file `from` to `to` (both paths
/// relative to the output root, without extension), with `ext` appended.
pub(crate) fn relative_import(from: &str, to: &str, ext: &str) -> String {
    let from_dir: Vec<&str> = from.split('/').collect();
    let from_dir = &from_dir[..from_dir.len().saturating_sub(1)];
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from_dir
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count()
        .min(to_parts.len().saturating_sub(1));
    let mut out = String::new();
    if from_dir.len() == common {
        out.push_str("./");
    } else {
        for _ in common..from_dir.len() {
            out.push_str("../");
        }
    }
    out.push_str(&to_parts[common..].join("/"));
    out.push_str(ext);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_imports() {
        assert_eq!(relative_import("a/b_pb", "a/c_pb", ".js"), "./c_pb.js");
        assert_eq!(relative_import("a/b/c_pb", "a/d_pb", ""), "../d_pb");
        assert_eq!(
            relative_import("x_pb", "google/protobuf/any_pb", ".ts"),
            "./google/protobuf/any_pb.ts"
        );
        assert_eq!(
            relative_import("a/b/x_pb", "c/y_pb", ".js"),
            "../../c/y_pb.js"
        );
    }

    #[test]
    fn doc_comments() {
        let mut p = Printer::default();
        p.doc(1, " First line.\n\n Second */ line.\n", true);
        assert_eq!(
            p.finish(),
            "  /**\n   * First line.\n   *\n   * Second *\\/ line.\n   *\n   * @deprecated\n   */\n"
        );
        let mut p = Printer::default();
        p.doc(0, " One line.\n", false);
        assert_eq!(p.finish(), "/** One line. */\n");
        let mut p = Printer::default();
        p.doc(0, "", false);
        assert_eq!(p.finish(), "");
    }

    #[test]
    fn aliases_clashing_imports() {
        let mut i = Imports::default();
        i.declare("Foo");
        assert_eq!(i.import("./a_pb.js", "Foo"), "Foo$1");
        assert_eq!(i.import("./b_pb.js", "Foo"), "Foo$2");
        assert_eq!(i.import("./a_pb.js", "Foo"), "Foo$1");
        assert_eq!(i.import("./a_pb.js", "Bar"), "Bar");
    }
}
