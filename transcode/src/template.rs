//! `google.api.http` path templates: parsed once, matched against request paths.
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```

use percent_encoding::percent_decode_str;

/// One segment of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: one segment.
    One,
    /// `**`: zero or more segments, last.
    Rest,
}

/// A variable: the field path it sets and the segments it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Variable {
    field: String,
    start: usize,
    end: usize,
}

/// A parsed path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

/// A variable's value in a matched path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bound {
    /// The field path (`shelf.name`).
    pub(crate) field: String,
    /// The value, percent-decoded (multi-segment values keep `%2F`).
    pub(crate) value: String,
}

impl Template {
    /// Parses `text`; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| format!("{text:?} does not start with /"))?;
        let mut parser = Parser {
            input: rest.as_bytes(),
            pos: 0,
            template: Self {
                segments: Vec::new(),
                variables: Vec::new(),
                verb: None,
            },
        };
        parser
            .segments(false)
            .map_err(|e| format!("{text:?}: {e}"))?;
        if parser.peek() == Some(b':') {
            let verb = &rest[parser.pos + 1..];
            if verb.is_empty() || verb.contains(['/', '{', '}', '*']) {
                return Err(format!("{text:?}: bad verb {verb:?}"));
            }
            parser.template.verb = Some(verb.to_owned());
            parser.pos = rest.len();
        }
        if parser.pos != rest.len() {
            return Err(format!(
                "{text:?}: unexpected {:?} at {}",
                &rest[parser.pos..],
                parser.pos + 1
            ));
        }
        let t = parser.template;
        if let Some(i) = t.segments.iter().position(|s| *s == Segment::Rest)
            && i + 1 != t.segments.len()
        {
            return Err(format!("{text:?}: ** must be the last segment"));
        }
        Ok(t)
    }

    /// The field paths of its variables.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|v| v.field.as_str())
    }

    /// How specific the template is, to try the most specific first: a verb, then more
    /// literal segments, then no `**`.
    pub(crate) fn specificity(&self) -> (bool, usize, bool, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let rest = self.segments.contains(&Segment::Rest);
        (self.verb.is_some(), literals, !rest, self.segments.len())
    }

    /// The variables' values when `path` (without its query) matches; `Ok(None)` when it
    /// does not; an error when it matches but a value does not decode.
    pub(crate) fn matches(&self, path: &str) -> Result<Option<Vec<Bound>>, (String, String)> {
        let Some(mut path) = path.strip_prefix('/') else {
            return Ok(None);
        };
        if let Some(verb) = &self.verb {
            let Some(p) = path
                .strip_suffix(verb.as_str())
                .and_then(|p| p.strip_suffix(':'))
            else {
                return Ok(None);
            };
            path = p;
        }
        let parts: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        let mut i = 0;
        for segment in &self.segments {
            match segment {
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return Ok(None);
                    }
                    i += 1;
                }
                Segment::One => {
                    if parts.get(i).is_none_or(|p| p.is_empty()) {
                        return Ok(None);
                    }
                    i += 1;
                }
                Segment::Rest => i = parts.len(),
            }
        }
        if i != parts.len() {
            return Ok(None);
        }
        let mut bound = Vec::with_capacity(self.variables.len());
        for v in &self.variables {
            // A `**` variable ends at the end of the path.
            let end = if self.segments[v.start..v.end].contains(&Segment::Rest) {
                parts.len()
            } else {
                v.end
            };
            let raw = &parts[v.start.min(parts.len())..end.min(parts.len())];
            let value = if end.saturating_sub(v.start) == 1 && raw.len() == 1 {
                decode(raw[0], false)
            } else {
                raw.iter()
                    .map(|p| decode(p, true))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|parts| parts.join("/"))
            };
            let value = value.map_err(|e| (v.field.clone(), e))?;
            bound.push(Bound {
                field: v.field.clone(),
                value,
            });
        }
        Ok(Some(bound))
    }
}

/// Percent-decodes one path segment; `keep_slash` leaves `%2F` encoded (multi-segment
/// variables, as the http.proto rules say).
fn decode(segment: &str, keep_slash: bool) -> Result<String, String> {
    let decoded = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| format!("{segment:?} is not UTF-8 once percent-decoded"))
    };
    if !keep_slash {
        return decoded(segment);
    }
    let mut out = String::new();
    let mut rest = segment;
    while let Some(at) = encoded_slash(rest) {
        out.push_str(&decoded(&rest[..at])?);
        out.push_str(&rest[at..at + 3]);
        rest = &rest[at + 3..];
    }
    out.push_str(&decoded(rest)?);
    Ok(out)
}

/// Where the first `%2F` or `%2f` starts: one scan, either case.
fn encoded_slash(s: &str) -> Option<usize> {
    s.as_bytes()
        .windows(3)
        .position(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    template: Template,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// Segments separated by `/`, up to `}` (in a variable), `:` (the verb) or the end.
    fn segments(&mut self, in_variable: bool) -> Result<(), String> {
        loop {
            self.segment(in_variable)?;
            if self.peek() == Some(b'/') {
                self.pos += 1;
            } else {
                return Ok(());
            }
        }
    }

    fn segment(&mut self, in_variable: bool) -> Result<(), String> {
        match self.peek() {
            Some(b'*') if self.input.get(self.pos + 1) == Some(&b'*') => {
                self.pos += 2;
                self.template.segments.push(Segment::Rest);
            }
            Some(b'*') => {
                self.pos += 1;
                self.template.segments.push(Segment::One);
            }
            Some(b'{') if !in_variable => {
                self.pos += 1;
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                {
                    self.pos += 1;
                }
                let field = String::from_utf8_lossy(&self.input[start..self.pos]).into_owned();
                if field.is_empty() || field.split('.').any(str::is_empty) {
                    return Err(format!("bad field path {field:?}"));
                }
                let first = self.template.segments.len();
                if self.peek() == Some(b'=') {
                    self.pos += 1;
                    self.segments(true)?;
                } else {
                    self.template.segments.push(Segment::One);
                }
                if self.peek() != Some(b'}') {
                    return Err(format!("variable {field:?} is not closed by }}"));
                }
                self.pos += 1;
                let end = self.template.segments.len();
                self.template.variables.push(Variable {
                    field,
                    start: first,
                    end,
                });
            }
            Some(b'{') => return Err("a variable inside a variable".to_owned()),
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, b'/' | b'{' | b'}' | b':' | b'*'))
                {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(format!("empty segment at {}", start + 1));
                }
                let literal = String::from_utf8_lossy(&self.input[start..self.pos]).into_owned();
                self.template.segments.push(Segment::Literal(literal));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn bound(t: &str, path: &str) -> Option<Vec<(String, String)>> {
        Template::parse(t)
            .unwrap()
            .matches(path)
            .unwrap()
            .map(|b| b.into_iter().map(|b| (b.field, b.value)).collect())
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            p.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn variables_bind_their_segments() {
        assert_eq!(
            bound("/v1/shelves/{id}", "/v1/shelves/7"),
            pairs(&[("id", "7")])
        );
        assert_eq!(bound("/v1/shelves/{id}", "/v1/shelves/7/x"), None);
        assert_eq!(bound("/v1/shelves/{id}", "/v1/shelves/"), None);
        assert_eq!(
            bound(
                "/v1/{name=shelves/*}/books/{book.id}",
                "/v1/shelves/a%20b/books/3"
            ),
            pairs(&[("name", "shelves/a b"), ("book.id", "3")])
        );
        assert_eq!(
            bound("/v1/files/{path=**}", "/v1/files/a/b%2Fc/d"),
            pairs(&[("path", "a/b%2Fc/d")])
        );
        assert_eq!(
            bound("/v1/files/{path=**}", "/v1/files"),
            pairs(&[("path", "")])
        );
        assert_eq!(bound("/v1/{id}", "/v1/a%2Fb"), pairs(&[("id", "a/b")]));
        assert_eq!(bound("/v1/*/x", "/v1/q/x"), pairs(&[]));
    }

    /// A multi-segment variable keeps every encoded slash encoded, in either case and in
    /// any order: a lowercase `%2f` before an uppercase `%2F` must not become a `/` that
    /// the template's shape excludes.
    #[test]
    fn encoded_slashes_stay_encoded_in_either_case() {
        assert_eq!(
            bound("/v1/{name=shelves/*}", "/v1/shelves/a%2fbooks%2fx%2F"),
            pairs(&[("name", "shelves/a%2fbooks%2fx%2F")])
        );
        assert_eq!(
            bound("/v1/files/{path=**}", "/v1/files/a%2fb%20c/%2F"),
            pairs(&[("path", "a%2fb c/%2F")])
        );
    }

    #[test]
    fn verbs_are_matched_at_the_end() {
        let t = "/v1/shelves/{id}:archive";
        assert_eq!(bound(t, "/v1/shelves/7:archive"), pairs(&[("id", "7")]));
        assert_eq!(bound(t, "/v1/shelves/7"), None);
        assert_eq!(bound(t, "/v1/shelves/7:other"), None);
    }

    #[test]
    fn malformed_templates_are_refused() {
        for t in [
            "v1",
            "/v1/{id",
            "/v1/{}",
            "/v1/{a={b}}",
            "/v1/**/x",
            "/v1//x",
            "/v1/x:",
        ] {
            assert!(Template::parse(t).is_err(), "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_template_and_path_is_handled_without_a_panic(
            template in "/[a-z{}=*./:%0-9]{0,24}",
            path in "/[a-z{}=*./:%0-9ÿ]{0,24}",
        ) {
            if let Ok(t) = Template::parse(&template) {
                let _ = t.matches(&path);
            }
        }
    }

    #[test]
    fn values_that_do_not_decode_name_their_field() {
        let t = Template::parse("/v1/{id}").unwrap();
        let (field, _) = t.matches("/v1/%ff").unwrap_err();
        assert_eq!(field, "id");
    }
}
