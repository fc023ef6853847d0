//! `<name>_grpcweb.ts`: per service, one exported descriptor const per method (what a
//! bundler can keep or drop one by one), a service const naming them all, and a typed
//! client class.

use prost_types::{FileDescriptorProto, MethodDescriptorProto};

use crate::context::Context;
use crate::error::Error;
use crate::index::{Comments, module_path};
use crate::names::{NameScope, escape_property, lower_camel, string_literal};
use crate::printer::{Imports, Printer};

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

/// The exported names of one service: its const, its client class and one descriptor
/// per method (`TestService_UnaryCall`).
struct ServiceNames {
    service: String,
    client: String,
    methods: Vec<String>,
}

/// Names every service of a file in one scope: service consts first, then client
/// classes, then method descriptors, so that a clash (`S` + `B_C` and `S_B` + `C`, or a
/// service named `SClient`) renames the later kind (`S_B_C$1`, `SClient$1`).
fn service_names(file: &FileDescriptorProto) -> Vec<ServiceNames> {
    let mut scope = NameScope::default();
    let services: Vec<String> = file
        .service
        .iter()
        .map(|s| scope.claim(s.name(), false))
        .collect();
    let clients: Vec<String> = file
        .service
        .iter()
        .map(|s| scope.claim(&format!("{}Client", s.name()), false))
        .collect();
    file.service
        .iter()
        .zip(services.into_iter().zip(clients))
        .map(|(s, (service, client))| ServiceNames {
            service,
            client,
            methods: s
                .method
                .iter()
                .map(|m| scope.claim(&format!("{}_{}", s.name(), m.name()), false))
                .collect(),
        })
        .collect()
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
    let names = service_names(file);
    for n in &names {
        imports.declare(&n.service);
        imports.declare(&n.client);
        for m in &n.methods {
            imports.declare(m);
        }
    }
    let mut body = Printer::default();
    for (si, (s, n)) in file.service.iter().zip(&names).enumerate() {
        let name = &n.service;
        let fq = match file.package() {
            "" => s.name().to_owned(),
            p => format!("{p}.{}", s.name()),
        };
        let mut resolve = |type_name: &str, what: &str| -> Result<String, Error> {
            let entry = ctx.index.get(type_name, &format!("{fq}: {what}"))?;
            let module = ctx.import_path(&out_path, &entry.file);
            Ok(imports.import(&module, &entry.ts_name))
        };
        let mut methods = Vec::new();
        for (m, desc) in s.method.iter().zip(&n.methods) {
            let input = resolve(m.input_type(), m.name())?;
            let output = resolve(m.output_type(), m.name())?;
            methods.push((
                m,
                escape_property(&lower_camel(m.name())),
                input,
                output,
                desc,
            ));
        }
        let service_doc = comments.get(&[FILE_SERVICE, si as i32]).to_owned();
        let service_dep = s.options.as_ref().and_then(|o| o.deprecated) == Some(true);
        // One exported const per method, so that a bundler keeps only those an app uses.
        for (mi, (m, _, input, output, desc)) in methods.iter().enumerate() {
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
                    "export const {desc} = /*@__PURE__*/ {factory}({}, {}, {input}, {output}{dep});",
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
        for (_, method, _, _, desc) in &methods {
            body.line(2, &format!("{method}: {desc},"));
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
        let client = &n.client;
        body.line(0, &format!("export class {client} {{"));
        body.line(1, &format!("readonly #transport: {transport};"));
        body.line(0, "");
        body.line(1, &format!("constructor(transport: {transport}) {{"));
        body.line(2, "this.#transport = transport;");
        body.line(1, "}");
        for (mi, (m, method, input, output, desc)) in methods.iter().enumerate() {
            body.line(0, "");
            let doc = comments
                .get(&[FILE_SERVICE, si as i32, SERVICE_METHOD, mi as i32])
                .to_owned();
            body.doc(1, &doc, deprecated(m));
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
    imports.print(&mut p, ctx.options.runtime());
    p.line(0, "");
    Ok(Some(p.finish() + &body.finish()))
}
