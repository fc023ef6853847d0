//! `<name>_grpcweb.ts`: per service, one exported descriptor const per method (what a
//! bundler can keep or drop one by one), a service const naming them all, and a typed
//! client class.

use prost_types::{FileDescriptorProto, MethodDescriptorProto};

use crate::context::Context;
use crate::error::Error;
use crate::index::{Comments, module_path};
use crate::names::{escape_property, escape_type_name, lower_camel, string_literal};
use crate::printer::{Imports, Printer, relative_import};

const FILE_SERVICE: i32 = 6;
const SERVICE_METHOD: i32 = 2;

fn kind(m: &MethodDescriptorProto) -> &'static str {
    match (m.client_streaming(), m.server_streaming()) {
        (false, false) => "unary",
        (false, true) => "server_streaming",
        (true, false) => "client_streaming",
        (true, true) => "bidi_streaming",
    }
}

/// The runtime factory of a method's descriptor: one per kind, so that an app bundles the
/// calls of the kinds it uses only.
fn factory(m: &MethodDescriptorProto) -> &'static str {
    match kind(m) {
        "unary" => "unaryMethod",
        "server_streaming" => "serverStreamingMethod",
        "client_streaming" => "clientStreamingMethod",
        _ => "bidiStreamingMethod",
    }
}

/// The name of a method's exported descriptor: `TestService_UnaryCall`.
fn method_const(service: &str, method: &str) -> String {
    escape_type_name(&format!("{service}_{method}"))
}

/// A method descriptor's TSDoc: the method's comment, then which RPC it describes.
fn method_doc(comment: &str, fq_method: &str) -> String {
    let what = format!("Descriptor of the RPC {fq_method}.");
    if comment.trim().is_empty() {
        what
    } else {
        format!("{}\n\n{what}", comment.trim_end())
    }
}

fn deprecated(m: &MethodDescriptorProto) -> bool {
    m.options.as_ref().and_then(|o| o.deprecated) == Some(true)
}

/// Generates the `_grpcweb.ts` file of `file`, or `None` when it has no services.
pub(crate) fn generate(
    ctx: &Context<'_>,
    file: &FileDescriptorProto,
) -> Result<Option<String>, Error> {
    if file.service.is_empty() {
        return Ok(None);
    }
    let out_path = module_path(file.name(), "_grpcweb");
    let comments = Comments::of(file);
    let mut imports = Imports::default();
    for s in &file.service {
        let name = escape_type_name(s.name());
        imports.declare(&name);
        imports.declare(&escape_type_name(&format!("{}Client", s.name())));
        for m in &s.method {
            imports.declare(&method_const(s.name(), m.name()));
        }
    }
    let mut body = Printer::default();
    let ext = ctx.options.import_extension.suffix();
    for (si, s) in file.service.iter().enumerate() {
        let name = escape_type_name(s.name());
        let fq = match file.package() {
            "" => s.name().to_owned(),
            p => format!("{p}.{}", s.name()),
        };
        let mut resolve = |type_name: &str, what: &str| -> Result<String, Error> {
            let entry = ctx.index.get(type_name, &format!("{fq}: {what}"))?;
            let module = relative_import(&out_path, &module_path(&entry.file, "_pb"), ext);
            Ok(imports.import(&module, &entry.ts_name))
        };
        let mut methods = Vec::new();
        for m in &s.method {
            let input = resolve(m.input_type(), m.name())?;
            let output = resolve(m.output_type(), m.name())?;
            methods.push((m, escape_property(&lower_camel(m.name())), input, output));
        }
        let service_doc = comments.get(&[FILE_SERVICE, si as i32]).to_owned();
        let service_dep = s.options.as_ref().and_then(|o| o.deprecated) == Some(true);
        // One exported const per method, so that a bundler keeps only those an app uses.
        for (mi, (m, _, input, output)) in methods.iter().enumerate() {
            let doc = comments
                .get(&[FILE_SERVICE, si as i32, SERVICE_METHOD, mi as i32])
                .to_owned();
            let doc = method_doc(&doc, &format!("{fq}.{}", m.name()));
            body.doc(0, &doc, deprecated(m));
            let dep = if deprecated(m) { ", true" } else { "" };
            let factory = imports.runtime(factory(m));
            body.line(
                0,
                &format!(
                    "export const {} = /*@__PURE__*/ {factory}({}, {}, {input}, {output}{dep});",
                    method_const(s.name(), m.name()),
                    string_literal(&fq),
                    string_literal(m.name()),
                ),
            );
        }
        body.line(0, "");
        body.doc(0, &service_doc, service_dep);
        body.line(0, &format!("export const {name} = {{"));
        body.line(1, &format!("typeName: {},", string_literal(&fq)));
        body.line(1, "methods: {");
        for (m, method, _, _) in &methods {
            body.line(
                2,
                &format!("{method}: {},", method_const(s.name(), m.name())),
            );
        }
        body.line(1, "},");
        body.line(0, "} as const;");
        body.line(0, "");
        let transport = imports.runtime_type("Transport");
        let call_options = imports.runtime_type("CallOptions");
        let partial = imports.runtime_type("PartialMessage");
        let call_method = imports.runtime("callMethod");
        let mut client_doc = format!("Client of the service {fq}.");
        if !service_doc.trim().is_empty() {
            client_doc = format!("{}\n\n{client_doc}", service_doc.trim_end());
        }
        body.doc(0, &client_doc, service_dep);
        let client = escape_type_name(&format!("{}Client", s.name()));
        body.line(0, &format!("export class {client} {{"));
        body.line(1, &format!("readonly #transport: {transport};"));
        body.line(0, "");
        body.line(1, &format!("constructor(transport: {transport}) {{"));
        body.line(2, "this.#transport = transport;");
        body.line(1, "}");
        for (mi, (m, method, input, output)) in methods.iter().enumerate() {
            body.line(0, "");
            let doc = comments
                .get(&[FILE_SERVICE, si as i32, SERVICE_METHOD, mi as i32])
                .to_owned();
            body.doc(1, &doc, deprecated(m));
            let desc = method_const(s.name(), m.name());
            let partial_input = format!("{partial}<{input}>");
            let (arg, arg_type, ret) = match kind(m) {
                "unary" => ("request", partial_input, format!("Promise<{output}>")),
                "server_streaming" => {
                    ("request", partial_input, format!("AsyncIterable<{output}>"))
                }
                "client_streaming" => (
                    "requests",
                    format!("AsyncIterable<{partial_input}>"),
                    format!("Promise<{output}>"),
                ),
                _ => (
                    "requests",
                    format!("AsyncIterable<{partial_input}>"),
                    format!("AsyncIterable<{output}>"),
                ),
            };
            body.line(
                1,
                &format!("{method}({arg}: {arg_type}, options?: {call_options}): {ret} {{"),
            );
            body.line(
                2,
                &format!("return {call_method}(this.#transport, {desc}, {arg}, options);"),
            );
            body.line(1, "}");
        }
        body.line(0, "}");
        body.line(0, "");
    }
    let mut p = Printer::default();
    crate::preamble::header(&mut p, ctx, file);
    imports.print(&mut p);
    p.line(0, "");
    Ok(Some(p.finish() + &body.finish()))
}
