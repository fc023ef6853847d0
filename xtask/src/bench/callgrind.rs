//! `cargo xtask bench callgrind [--check]`: user-space instructions per call, and per
//! server-streamed message, in the release `grpcweb-proxy` on each of its paths, and in
//! nginx's `grpc_pass` for scale, counted by callgrind (grpcweb_bench::callgrind). The
//! proxy (or nginx, one process) runs under valgrind in front of a release
//! `interop-server`; h2load makes the calls; each row runs twice, a small and a large run
//! of the same load ([`Load::runs`]), and the difference of the totals is divided by the
//! difference in units (calls, or messages), so start-up and shutdown cancel out.
//!
//! The loads: a 1 KiB unary call (`UnaryCall`, 1 KiB each way) on every path, including
//! the same call with JSON messages (gRPC-Web+json, and REST by a `google.api.http` rule
//! on a copy of the service, [`measure::BENCH_PROTO`]) with the proxy holding that
//! descriptor set (compiled by `protoc`); a 64 KiB unary call in gRPC-Web binary and text
//! (the text/binary ratio); and server streaming (`StreamingOutputCall`, 1 KiB
//! messages) per message. The tables and the top functions of the gRPC-Web binary rows
//! go into BENCHMARKS.md between the callgrind markers; the callgrind files stay in
//! `target/callgrind` for `callgrind_annotate`.
//!
//! `GRPCWEB_CALLGRIND_ONLY=WebText.Stream,Unary64K` runs only the rows so named (see
//! [`ONLY_ENV`]), for profiling; BENCHMARKS.md then gets only those rows.
//!
//! `--check` (a step of `cargo xtask test`) measures the budgeted rows only and fails
//! when one is over its budget in [`BUDGETS`]: a change that makes every call cost more
//! must raise the budget in the same commit, on purpose.

mod measure;
mod report;

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};
use grpcweb_bench::callgrind::{self, Frame};
use grpcweb_bench::h2load::Http;
use grpcweb_bench::markdown;
use grpcweb_bench::requests::{Bodies, JsonBodies, Wire};

use crate::run::{has_tool, run as run_cmd, target_dir, workspace_root};

/// Top functions listed for the gRPC-Web binary rows.
const TOP: usize = 15;

/// Most instructions per unit (call, or message) each budgeted row may take (measured,
/// plus about 3% for run-to-run spread and toolchain drift).
pub(crate) const BUDGETS: [(Case, Load, u64); 3] = [
    (Case::WebBinary, Load::Unary1K, 86_500),
    (Case::Native, Load::Unary1K, 81_700),
    (Case::WebBinary, Load::Stream, 1_075),
];

/// The paths measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    WebBinary,
    WebText,
    Native,
    WebHttp1,
    /// gRPC-Web binary with the access log on (`RUST_LOG=info`, text format).
    WebLogged,
    /// gRPC-Web with JSON messages (`application/grpc-web+json`), transcoded to protobuf.
    WebJson,
    /// The same call as REST (`POST /v1/unary`, JSON), by a `google.api.http` rule.
    Rest,
    Nginx,
}

impl Case {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::WebBinary => "grpcweb-proxy, gRPC-Web binary",
            Self::WebText => "grpcweb-proxy, gRPC-Web text",
            Self::Native => "grpcweb-proxy, native gRPC passthrough",
            Self::WebHttp1 => "grpcweb-proxy, gRPC-Web binary, HTTP/1.1",
            Self::WebLogged => "grpcweb-proxy, gRPC-Web binary, access log on",
            Self::WebJson => "grpcweb-proxy, gRPC-Web+json, transcoded",
            Self::Rest => "grpcweb-proxy, REST/JSON (google.api.http), transcoded",
            Self::Nginx => "nginx grpc_pass, native gRPC",
        }
    }

    /// The protobuf wire, for the paths that send protobuf.
    fn wire(self) -> Option<Wire> {
        match self {
            Self::WebText => Some(Wire::WebText),
            Self::Native | Self::Nginx => Some(Wire::Grpc),
            Self::WebBinary | Self::WebHttp1 | Self::WebLogged => Some(Wire::WebBinary),
            Self::WebJson | Self::Rest => None,
        }
    }

    /// The request body file and its `content-type`: from `bodies` for a protobuf path,
    /// else the JSON ones.
    pub(crate) fn body<'a>(
        self,
        bodies: &'a Bodies,
        json: &'a JsonBodies,
    ) -> (&'a Path, &'static str) {
        match (self, self.wire()) {
            (_, Some(wire)) => (bodies.for_wire(wire), wire.content_type()),
            (Self::Rest, None) => (&json.rest, JsonBodies::REST_CONTENT_TYPE),
            (_, None) => (&json.web, JsonBodies::WEB_CONTENT_TYPE),
        }
    }

    /// The request path of the unary call.
    pub(crate) fn path(self) -> &'static str {
        if self == Self::Rest {
            REST_PATH
        } else {
            "/grpc.testing.TestService/UnaryCall"
        }
    }

    /// Whether the proxy needs the descriptor set (JSON and REST calls are transcoded).
    fn transcoded(self) -> bool {
        matches!(self, Self::WebJson | Self::Rest)
    }

    pub(crate) fn http(self) -> Http {
        if self == Self::WebHttp1 {
            Http::H1
        } else {
            Http::H2
        }
    }
}

/// What each run of a row sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Load {
    /// `UnaryCall`, 1 KiB each way; per call.
    Unary1K,
    /// `UnaryCall`, 64 KiB each way; per call.
    Unary64K,
    /// `StreamingOutputCall`, [`STREAM_CALLS`] calls of 1 KiB messages at once; per
    /// message.
    Stream,
}

/// Calls of each streaming run, all in flight at once on one connection.
const STREAM_CALLS: u64 = 4;

/// One run of a row: how many calls, and how many units (calls, or messages) they make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    calls: u64,
    /// Messages per streaming call (`0` for unary loads).
    messages: u64,
}

impl Run {
    /// Calls, or messages for the streaming load.
    fn units(self) -> u64 {
        if self.messages == 0 {
            self.calls
        } else {
            self.calls * self.messages
        }
    }
}

impl Load {
    /// The small and the large run.
    fn runs(self) -> [Run; 2] {
        let unary = |calls| Run { calls, messages: 0 };
        let stream = |messages| Run {
            calls: STREAM_CALLS,
            messages,
        };
        match self {
            Self::Unary1K => [unary(200), unary(1200)],
            Self::Unary64K => [unary(20), unary(120)],
            Self::Stream => [stream(50), stream(1050)],
        }
    }

    /// The request path of `path` with this load.
    fn url_path(self, path: Case) -> &'static str {
        match self {
            Self::Unary1K | Self::Unary64K => path.path(),
            Self::Stream => "/grpc.testing.TestService/StreamingOutputCall",
        }
    }

    /// Concurrent streams on the one connection (HTTP/2).
    fn streams(self) -> u32 {
        match self {
            Self::Unary1K | Self::Unary64K => 8,
            Self::Stream => STREAM_CALLS as u32,
        }
    }
}

/// The REST binding's path ([`measure::BENCH_PROTO`]).
const REST_PATH: &str = "/v1/unary";

/// Every row of the full run, in the order of the tables.
const ROWS: [(Case, Load); 14] = [
    (Case::WebBinary, Load::Unary1K),
    (Case::WebText, Load::Unary1K),
    (Case::Native, Load::Unary1K),
    (Case::WebHttp1, Load::Unary1K),
    (Case::WebLogged, Load::Unary1K),
    (Case::WebJson, Load::Unary1K),
    (Case::Rest, Load::Unary1K),
    (Case::Nginx, Load::Unary1K),
    (Case::WebBinary, Load::Unary64K),
    (Case::WebText, Load::Unary64K),
    (Case::WebBinary, Load::Stream),
    (Case::WebText, Load::Stream),
    (Case::Native, Load::Stream),
    (Case::Nginx, Load::Stream),
];

/// Names rows to run, for profiling one of them: `Path.Load` names (`WebText.Stream`)
/// containing one of this variable's comma-separated words (`Stream,WebText.Unary64K`).
const ONLY_ENV: &str = "GRPCWEB_CALLGRIND_ONLY";

/// The rows `only` names (all when it is `None`).
fn only(rows: Vec<(Case, Load)>, only: Option<&str>) -> Vec<(Case, Load)> {
    let Some(only) = only else { return rows };
    rows.into_iter()
        .filter(|(p, l)| {
            let name = format!("{p:?}.{l:?}");
            only.split(',').any(|w| !w.is_empty() && name.contains(w))
        })
        .collect()
}

/// One row's result.
pub(crate) struct Row {
    path: Case,
    load: Load,
    /// Instructions per call, or per message.
    per_unit: u64,
    frames: Vec<Frame>,
}

pub(crate) fn run(check: bool) -> Result<()> {
    let root = workspace_root();
    // `--check` measures no transcoded path, so needs no protoc.
    let tools = [
        ("valgrind", "valgrind"),
        ("h2load", "nghttp2-client"),
        ("protoc", "protobuf-compiler"),
    ];
    for (tool, package) in tools.into_iter().take(if check { 2 } else { 3 }) {
        if !has_tool(tool) {
            run_cmd(Command::new("apt-get").arg("update"))?;
            run_cmd(Command::new("apt-get").args(["install", "-y", package]))?;
        }
    }
    super::build_release(&root)?;
    let bin_dir = target_dir(&root).join("release");
    let rows: Vec<(Case, Load)> = if check {
        BUDGETS.iter().map(|(p, l, _)| (*p, *l)).collect()
    } else {
        ROWS.to_vec()
    };
    let rows = only(rows, std::env::var(ONLY_ENV).ok().as_deref());
    let bench = measure::Bench::start(&root, &bin_dir, !check)?;
    let mut results = Vec::new();
    for (path, load) in rows {
        let [small, large] = load.runs();
        let (small_ir, small_frames) = bench.run_once(path, load, small)?;
        let (large_ir, large_frames) = bench.run_once(path, load, large)?;
        let per_unit = callgrind::per_call((small.units(), small_ir), (large.units(), large_ir))?;
        let frames = callgrind::per_call_frames(
            &small_frames,
            &large_frames,
            large.units() - small.units(),
            TOP,
        );
        println!(
            "{} ({load:?}): {per_unit} instructions per unit",
            path.label()
        );
        results.push(Row {
            path,
            load,
            per_unit,
            frames,
        });
    }
    drop(bench);

    if check {
        let mut over = Vec::new();
        for (path, load, budget) in BUDGETS {
            if let Some(row) = results.iter().find(|r| r.path == path && r.load == load)
                && row.per_unit > budget
            {
                over.push(format!(
                    "{} ({load:?}): {} instructions, budget {budget}",
                    path.label(),
                    row.per_unit
                ));
            }
        }
        if !over.is_empty() {
            bail!(
                "the proxy's instructions per call or message are over budget (xtask/src/bench/callgrind.rs BUDGETS):\n{}",
                over.join("\n")
            );
        }
        println!("callgrind: every budgeted row is within its budget");
        return Ok(());
    }
    markdown::write_section(
        &root,
        "<!-- callgrind:begin",
        "<!-- callgrind:end -->",
        &["<!-- proxy:end -->"],
        &report::section(&results),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_picks_rows_by_name() {
        let rows = ROWS.to_vec();
        assert_eq!(only(rows.clone(), None), rows);
        assert_eq!(
            only(rows.clone(), Some("WebText.Stream,Unary64K")),
            [
                (Case::WebBinary, Load::Unary64K),
                (Case::WebText, Load::Unary64K),
                (Case::WebText, Load::Stream),
            ]
        );
        assert!(only(rows, Some(",")).is_empty());
    }

    #[test]
    fn units_are_calls_or_messages() {
        assert_eq!(Load::Unary1K.runs().map(Run::units), [200, 1200]);
        assert_eq!(
            Load::Stream.runs().map(Run::units),
            [STREAM_CALLS * 50, STREAM_CALLS * 1050]
        );
    }
}
