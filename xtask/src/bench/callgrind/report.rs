//! The BENCHMARKS.md section of `cargo xtask bench callgrind`.

use grpcweb_bench::markdown;

use super::{Case, Load, Row, STREAM_CALLS, TOP};

/// The section, markers included.
pub(super) fn section(rows: &[Row]) -> String {
    let [small, large] = Load::Unary1K.runs();
    let mut s = format!(
        "<!-- callgrind:begin (written by cargo xtask bench callgrind) -->\n\
         ### Instructions per call\n\n\
         Measured {} with `cargo xtask bench callgrind`: user-space instructions per 1 KiB\n\
         unary call (UnaryCall, 1 KiB each way) counted by callgrind in the release proxy\n\
         (or in nginx, one process) in front of a release interop-server; h2load makes\n\
         {} and then {} calls (one connection, 8 streams; HTTP/1.1: one\n\
         connection) and the difference is divided by the {} calls between, so start-up\n\
         cancels out. The counts hold steady from run to run (about 0.5%), unlike CPU time;\n\
         kernel time (syscalls, loopback TCP) is not in them. The access log is off\n\
         (`RUST_LOG=warn`, as in the rows above) except where the row says so. The\n\
         transcoded rows send the same request with JSON messages (`grpc-web+json`, and\n\
         REST as `POST /v1/unary` by a `google.api.http` rule), the proxy holding the\n\
         method's descriptors (`--descriptor-set`).\n\
         `cargo xtask test` fails when a row with a budget in `xtask/src/bench/callgrind.rs`\n\
         (the gRPC-Web binary and native 1 KiB calls, the gRPC-Web binary streamed message)\n\
         goes over it.\n\n",
        markdown::date(),
        small.calls,
        large.calls,
        large.calls - small.calls
    );
    table(&mut s, rows, Load::Unary1K, "instructions per call");
    top(&mut s, rows, Load::Unary1K, "call");

    let [small, large] = Load::Unary64K.runs();
    s.push_str(&format!(
        "\n### Text mode at 64 KiB: instructions per call\n\n\
         UnaryCall with 64 KiB each way, {} and then {} calls (one connection, 8 streams):\n\
         what base64 adds to a large call in `grpc-web-text` over binary gRPC-Web.\n\n",
        small.calls, large.calls
    ));
    table(&mut s, rows, Load::Unary64K, "instructions per call");
    let of = |case| {
        rows.iter()
            .find(|r| r.path == case && r.load == Load::Unary64K)
            .map(|r| r.per_unit)
    };
    if let (Some(binary), Some(text)) = (of(Case::WebBinary), of(Case::WebText)) {
        s.push_str(&format!(
            "\nText over binary: {:.2}x.\n",
            text as f64 / binary.max(1) as f64
        ));
    }

    let [small, large] = Load::Stream.runs();
    s.push_str(&format!(
        "\n### Server streaming: instructions per message\n\n\
         StreamingOutputCall, {STREAM_CALLS} calls at once on one connection, each asking for\n\
         {} and then {} responses of 1 KiB (the backend sends them as fast as it can); the\n\
         difference is divided by the {} messages between, so the per-call cost cancels out.\n\n",
        small.messages,
        large.messages,
        large.units() - small.units()
    ));
    table(&mut s, rows, Load::Stream, "instructions per message");
    top(&mut s, rows, Load::Stream, "message");
    s.push_str("<!-- callgrind:end -->\n");
    s
}

/// The rows of `load`, with the ratio to nginx's row of the same load when there is one.
fn table(s: &mut String, rows: &[Row], load: Load, unit: &str) {
    let nginx = rows
        .iter()
        .find(|r| r.path == Case::Nginx && r.load == load)
        .map(|r| r.per_unit);
    s.push_str(&format!("| path | {unit} | vs nginx |\n|---|---:|---:|\n"));
    for r in rows.iter().filter(|r| r.load == load) {
        let ratio = nginx.map_or_else(
            || "-".to_owned(),
            |n| format!("{:.2}", r.per_unit as f64 / n.max(1) as f64),
        );
        s.push_str(&format!(
            "| {} | {} | {ratio} |\n",
            r.path.label(),
            r.per_unit
        ));
    }
}

/// The gRPC-Web binary row's top functions by own instructions.
fn top(s: &mut String, rows: &[Row], load: Load, unit: &str) {
    let Some(web) = rows
        .iter()
        .find(|r| r.path == Case::WebBinary && r.load == load)
    else {
        return;
    };
    s.push_str(&format!(
        "\nWhere a gRPC-Web binary {unit}'s {} instructions go: the {TOP} functions with the\n\
         most instructions of their own per {unit} (not counting what they call).\n\n\
         | function | instructions per {unit} | share |\n|---|---:|---:|\n",
        web.per_unit
    ));
    for f in &web.frames {
        s.push_str(&format!(
            "| `{}` | {} | {:.1}% |\n",
            f.function.replace('|', "\\|"),
            f.instructions,
            100.0 * f.instructions as f64 / web.per_unit.max(1) as f64
        ));
    }
}
