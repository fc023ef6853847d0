//! BENCHMARKS.md is written in sections, each between an HTML-comment begin and end
//! marker, so that each task replaces its own section and leaves the rest alone.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

/// Writes `section` (markers `begin` and `end` included) into BENCHMARKS.md at `root`; see
/// [`splice`].
pub fn write_section(
    root: &Path,
    begin: &str,
    end: &str,
    after: &[&str],
    section: &str,
) -> Result<()> {
    let path = root.join("BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    std::fs::write(
        &path,
        splice(&current, begin, end, after, section.trim_end()),
    )?;
    println!("wrote {}", path.display());
    Ok(())
}

/// `current` with the text from `begin` to `end` replaced by `section`; when there is
/// none, `section` goes after the first of the markers `after` found, or at the end.
pub fn splice(current: &str, begin: &str, end: &str, after: &[&str], section: &str) -> String {
    if let (Some(b), Some(e)) = (current.find(begin), current.find(end))
        && e > b
    {
        return format!("{}{section}{}", &current[..b], &current[e + end.len()..]);
    }
    match after
        .iter()
        .find_map(|a| current.find(a).map(|at| at + a.len()))
    {
        Some(at) => format!("{}\n{section}{}", &current[..at], &current[at..]),
        None => format!("{}\n{section}\n", current.trim_end()),
    }
}

/// Today, `YYYY-MM-DD`.
pub fn date() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map_or_else(
            || "today".to_owned(),
            |out| String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_section_or_places_a_new_one() {
        let doc = "# B\n<!-- a:begin -->\nold\n<!-- a:end -->\ntail\n";
        let new = "<!-- a:begin -->\nnew\n<!-- a:end -->";
        let replaced = splice(doc, "<!-- a:begin -->", "<!-- a:end -->", &[], new);
        assert_eq!(
            replaced,
            "# B\n<!-- a:begin -->\nnew\n<!-- a:end -->\ntail\n"
        );
        let section = "<!-- b:begin -->\nb\n<!-- b:end -->";
        let placed = splice(
            doc,
            "<!-- b:begin -->",
            "<!-- b:end -->",
            &["<!-- a:end -->"],
            section,
        );
        assert_eq!(
            placed,
            "# B\n<!-- a:begin -->\nold\n<!-- a:end -->\n<!-- b:begin -->\nb\n<!-- b:end -->\ntail\n"
        );
        let appended = splice(
            "# B\n\n",
            "<!-- b:begin -->",
            "<!-- b:end -->",
            &[],
            section,
        );
        assert_eq!(appended, format!("# B\n{section}\n"));
    }
}
