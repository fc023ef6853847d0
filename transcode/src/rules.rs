//! REST bindings: the `google.api.http` rules of the descriptors' methods, checked once,
//! and the binding an HTTP request takes.

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, MethodDescriptor, Value};
use std::fmt;

use crate::descriptors::{Descriptors, grpc_path};
use crate::failure::TranscodeError;
use crate::template::{Bound, Template};

/// The HTTP methods a binding takes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verb {
    One(http::Method),
    /// `custom { kind: "*" }`.
    Any,
}

/// Where the request message's fields come from, besides the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyRule {
    /// No body: the fields not in the path are query parameters.
    None,
    /// `body: "*"`: every field not in the path is in the body.
    All,
    /// `body: "field"`: the body is that top-level field; the others are query parameters.
    Field(String),
}

/// One HTTP binding of a method.
#[derive(Clone, Debug)]
pub struct Binding {
    method: MethodDescriptor,
    grpc_path: String,
    verb: Verb,
    pattern: String,
    template: Template,
    body: BodyRule,
    response_body: Option<String>,
}

impl Binding {
    /// The method it calls.
    pub fn method(&self) -> &MethodDescriptor {
        &self.method
    }

    /// The method's gRPC path (`/package.Service/Method`).
    pub fn grpc_path(&self) -> &str {
        &self.grpc_path
    }

    /// The body rule.
    pub fn body(&self) -> &BodyRule {
        &self.body
    }

    /// The response field that is the HTTP response body (`None`: the whole message).
    pub fn response_body(&self) -> Option<&str> {
        self.response_body.as_deref()
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match &self.verb {
            Verb::One(m) => m.as_str(),
            Verb::Any => "*",
        };
        write!(f, "{verb} {} ({})", self.pattern, self.method.full_name())
    }
}

/// An HTTP rule given outside the descriptors (grpc-gateway's service-config style): the
/// fields of a `google.api.HttpRule`, for the method `selector` names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSpec {
    /// The method's full name (`acme.v1.Users.Get`).
    pub selector: String,
    /// The HTTP method (`GET`, `POST`, ..., any other name, or `*` for all).
    pub method: String,
    /// The path template.
    pub path: String,
    /// `""`, `"*"` or a top-level field of the request.
    pub body: String,
    /// `""` or a top-level field of the response.
    pub response_body: String,
}

/// An HTTP rule that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The index of the [`RuleSpec`] at fault; `None` for an annotation.
    pub rule: Option<usize>,
    /// What is wrong (naming the method for an annotation).
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for RuleError {}

/// A request's binding and its path variables.
#[derive(Debug)]
pub struct Matched<'a> {
    /// The binding.
    pub binding: &'a Binding,
    /// The path variables: field path and value.
    pub(crate) bound: Vec<Bound>,
}

/// Every REST binding of some descriptors, most specific first.
#[derive(Clone, Debug, Default)]
pub struct RestRoutes {
    bindings: Vec<Binding>,
}

impl RestRoutes {
    /// The bindings of every method of `sets` that has `google.api.http` rules (a method
    /// in several sets counts once), and of `rules`: a method that `rules` select gets
    /// those in place of its annotations (as a service config overrides annotations).
    /// The error names the method (or rule) and what is wrong.
    pub fn new<'a>(
        sets: impl IntoIterator<Item = &'a Descriptors> + Clone,
        rules: &[RuleSpec],
    ) -> Result<Self, RuleError> {
        Self::build(sets, rules, false).map(|(routes, _)| routes)
    }

    /// As [`RestRoutes::new`], for descriptors that may not have every method yet (they
    /// come from a backend's server reflection): a rule whose method is not in `sets` is
    /// left out, and its index is in the list returned.
    pub fn new_skipping_unknown<'a>(
        sets: impl IntoIterator<Item = &'a Descriptors> + Clone,
        rules: &[RuleSpec],
    ) -> Result<(Self, Vec<usize>), RuleError> {
        Self::build(sets, rules, true)
    }

    fn build<'a>(
        sets: impl IntoIterator<Item = &'a Descriptors> + Clone,
        rules: &[RuleSpec],
        skip_unknown: bool,
    ) -> Result<(Self, Vec<usize>), RuleError> {
        let mut skipped = Vec::new();
        let mut bindings: Vec<Binding> = Vec::new();
        for (i, spec) in rules.iter().enumerate() {
            let method = sets.clone().into_iter().find_map(|d| {
                d.pool()
                    .get_service_by_name(spec.selector.rsplit_once('.')?.0)?
                    .methods()
                    .find(|m| m.full_name() == spec.selector)
            });
            let method = match method {
                Some(m) => m,
                None if skip_unknown => {
                    skipped.push(i);
                    continue;
                }
                None => {
                    return Err(RuleError {
                        rule: Some(i),
                        reason: format!("no method {:?} in the descriptors", spec.selector),
                    });
                }
            };
            let in_rule = |reason: String| RuleError {
                rule: Some(i),
                reason,
            };
            let verb = verb_of(&spec.method).map_err(in_rule)?;
            let rule = Rule {
                verb,
                pattern: spec.path.clone(),
                body: spec.body.clone(),
                response_body: spec.response_body.clone(),
            };
            bindings.push(binding(&method, rule).map_err(in_rule)?);
        }
        // Methods already bound (by a rule, or by an earlier set): a set, so that building
        // the routes of many annotated methods is not quadratic in them.
        let mut bound: std::collections::HashSet<String> = rules
            .iter()
            .map(|r| r.selector.clone())
            .chain(bindings.iter().map(|b| b.method.full_name().to_owned()))
            .collect();
        for set in sets {
            let Some(ext) = set.pool().get_extension_by_name("google.api.http") else {
                continue;
            };
            let mut methods: Vec<_> = set.methods().collect();
            methods.sort_by(|a, b| a.full_name().cmp(b.full_name()));
            for method in methods {
                if bound.contains(method.full_name()) {
                    continue;
                }
                let options = method.options();
                if !options.has_extension(&ext) {
                    continue;
                }
                let Value::Message(rule) = options.get_extension(&ext).into_owned() else {
                    continue;
                };
                let error = |e: String| RuleError {
                    rule: None,
                    reason: format!("google.api.http of {}: {e}", method.full_name()),
                };
                let first = Rule::of(&rule).map_err(error)?;
                bindings.push(binding(method, first).map_err(error)?);
                bound.insert(method.full_name().to_owned());
                for extra in list(&rule, "additional_bindings") {
                    if !list(&extra, "additional_bindings").is_empty() {
                        return Err(error("additional_bindings nest one level only".to_owned()));
                    }
                    let extra = Rule::of(&extra).map_err(error)?;
                    bindings.push(binding(method, extra).map_err(error)?);
                }
            }
        }
        // Most specific first; the first rule wins among equals (a stable sort).
        bindings.sort_by_key(|b| std::cmp::Reverse(b.template.specificity()));
        Ok((Self { bindings }, skipped))
    }

    /// Whether there is no binding.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Every binding.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The binding a request to `method` `path` (no query) takes: `None` when none
    /// does; an error when one does but a path variable does not decode.
    pub fn find(
        &self,
        method: &http::Method,
        path: &str,
    ) -> Option<Result<Matched<'_>, TranscodeError>> {
        // Each binding splits the path: a path of thousands of segments (a 16 KiB header
        // of slashes) is no binding's, and not worth a pass per binding.
        if path.bytes().filter(|&b| b == b'/').count() > MAX_PATH_SEGMENTS {
            return None;
        }
        self.bindings
            .iter()
            .filter(|b| match &b.verb {
                Verb::One(m) => m == method,
                Verb::Any => true,
            })
            .find_map(|b| match b.template.matches(path) {
                Ok(Some(bound)) => Some(Ok(Matched { binding: b, bound })),
                Ok(None) => None,
                Err((field, reason)) => Some(Err(TranscodeError::BadParameter { field, reason })),
            })
    }
}

fn string(rule: &DynamicMessage, name: &str) -> String {
    rule.get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn list(rule: &DynamicMessage, name: &str) -> Vec<DynamicMessage> {
    rule.get_field_by_name(name)
        .and_then(|v| {
            v.as_list().map(|l| {
                l.iter()
                    .filter_map(|v| v.as_message().cloned())
                    .collect::<Vec<_>>()
            })
        })
        .unwrap_or_default()
}

/// The parts of an HTTP rule, from an annotation or from a [`RuleSpec`].
struct Rule {
    verb: Verb,
    pattern: String,
    body: String,
    response_body: String,
}

impl Rule {
    /// The rule of a `google.api.HttpRule` message.
    fn of(rule: &DynamicMessage) -> Result<Self, String> {
        let mut found = None;
        for (name, verb) in [
            ("get", http::Method::GET),
            ("put", http::Method::PUT),
            ("post", http::Method::POST),
            ("delete", http::Method::DELETE),
            ("patch", http::Method::PATCH),
        ] {
            if rule.has_field_by_name(name) {
                found = Some((Verb::One(verb), string(rule, name)));
            }
        }
        if rule.has_field_by_name("custom")
            && let Some(custom) = rule
                .get_field_by_name("custom")
                .and_then(|v| v.as_message().cloned())
        {
            found = Some((verb_of(&string(&custom, "kind"))?, string(&custom, "path")));
        }
        let (verb, pattern) =
            found.ok_or("no pattern (get, put, post, delete, patch or custom)")?;
        Ok(Self {
            verb,
            pattern,
            body: string(rule, "body"),
            response_body: string(rule, "response_body"),
        })
    }
}

/// An HTTP method by name; `*` for any.
fn verb_of(kind: &str) -> Result<Verb, String> {
    if kind == "*" {
        return Ok(Verb::Any);
    }
    http::Method::from_bytes(kind.as_bytes())
        .map(Verb::One)
        .map_err(|_| format!("{kind:?} is not an HTTP method"))
}

fn binding(method: &MethodDescriptor, rule: Rule) -> Result<Binding, String> {
    let Rule {
        verb,
        pattern,
        body,
        response_body,
    } = rule;
    let template = Template::parse(&pattern)?;
    let input = method.input();
    for field in template.fields() {
        leaf(&input, field).map_err(|e| format!("{pattern:?}: {e}"))?;
    }
    let body = match body.as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::All,
        field => {
            input
                .get_field_by_name(field)
                .ok_or_else(|| format!("body: {} has no field {field:?}", input.full_name()))?;
            BodyRule::Field(field.to_owned())
        }
    };
    let response_body = match response_body.as_str() {
        "" => None,
        field => {
            let output = method.output();
            output.get_field_by_name(field).ok_or_else(|| {
                format!(
                    "response_body: {} has no field {field:?}",
                    output.full_name()
                )
            })?;
            Some(field.to_owned())
        }
    };
    Ok(Binding {
        method: method.clone(),
        grpc_path: grpc_path(method),
        verb,
        pattern,
        template,
        body,
        response_body,
    })
}

/// Most segments a REST path may have to be matched against the bindings.
const MAX_PATH_SEGMENTS: usize = 256;

/// Most fields a field path (`a.b.c`) may name: a query parameter `child.child....` on a
/// message that holds itself would otherwise nest as deep as the URL is long.
const MAX_FIELD_PATH: usize = 32;

/// The leaf field of `path` (`a.b.c`, proto or JSON names) in `desc`: every step but the
/// last a singular message field.
pub(crate) fn leaf(
    desc: &MessageDescriptor,
    path: &str,
) -> Result<prost_reflect::FieldDescriptor, String> {
    if path.split('.').nth(MAX_FIELD_PATH).is_some() {
        return Err(format!(
            "the field path is deeper than {MAX_FIELD_PATH} fields"
        ));
    }
    let mut message = desc.clone();
    let mut steps = path.split('.').peekable();
    while let Some(step) = steps.next() {
        let field = message
            .get_field_by_name(step)
            .or_else(|| message.get_field_by_json_name(step))
            .ok_or_else(|| format!("{} has no field {step:?}", message.full_name()))?;
        if steps.peek().is_none() {
            return Ok(field);
        }
        match field.kind() {
            Kind::Message(m) if !field.is_list() && !field.is_map() => message = m,
            _ => {
                return Err(format!(
                    "{step:?} in {path:?} is not a singular message field"
                ));
            }
        }
    }
    Err(format!("empty field path {path:?}"))
}
