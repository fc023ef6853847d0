//! `cargo xtask bench syscalls [-- PROXY_FLAG...]`: syscalls, context switches and CPU
//! time per 1 KiB unary call (`grpc.testing.TestService/UnaryCall`, 1 KiB each way) in the
//! release `grpcweb-proxy` and in nginx's `grpc_pass`, counted by `perf stat` attached to
//! the running proxy (grpcweb_bench::syscalls). The paths and the load are those of
//! `bench callgrind` (one connection, 8 streams; HTTP/1.1: one connection); each path
//! runs [`SMALL`] and then [`LARGE`] calls, the difference divided by the calls between,
//! [`ROUNDS`] times, and the median goes into BENCHMARKS.md between the syscalls
//! markers.
//!
//! With proxy flags (`-- --worker-threads 2`), it measures the proxy's three paths
//! started with those flags and prints the table without writing BENCHMARKS.md, to try a
//! setting.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use grpcweb_bench::h2load::Load;
use grpcweb_bench::markdown;
use grpcweb_bench::procfs::{load_average, with_children};
use grpcweb_bench::requests::{Bodies, JsonBodies, simple_request, simple_request_json};
use grpcweb_bench::syscalls::{self, Counts, Event};

use super::callgrind::Case;
use super::peers;
use crate::children::Children;
use crate::run::{has_tool, run as run_cmd, target_dir, workspace_root};

/// Calls of the small and the large run of each path.
const SMALL: u64 = 2_000;
const LARGE: u64 = 22_000;
/// Pairs of runs per path; the table shows the median.
const ROUNDS: usize = 3;
/// How long `perf stat` gets to attach before the load starts.
const ATTACH: Duration = Duration::from_millis(500);
/// The BENCHMARKS.md markers.
const BEGIN: &str = "<!-- syscalls:begin";
const END: &str = "<!-- syscalls:end -->";

/// One column of the table: a path through a proxy started with `flags`.
struct Column {
    case: Case,
    flags: Vec<String>,
}

impl Column {
    fn label(&self) -> String {
        if self.flags.is_empty() {
            self.case.label().to_owned()
        } else {
            format!("{}, `{}`", self.case.label(), self.flags.join(" "))
        }
    }
}

pub(crate) fn run(flags: &[String]) -> Result<()> {
    let root = workspace_root();
    for (tool, package) in [("perf", "linux-perf"), ("h2load", "nghttp2-client")] {
        if !has_tool(tool) {
            run_cmd(Command::new("apt-get").arg("update"))?;
            run_cmd(Command::new("apt-get").args(["install", "-y", package]))?;
        }
    }
    super::build_release(&root)?;
    let bin_dir = target_dir(&root).join("release");
    let work = target_dir(&root).join("syscalls");
    std::fs::create_dir_all(&work)?;
    let bodies = Bodies::write(&work, "unary-1k", &simple_request(1024))?;
    let json = JsonBodies::write(&work, "unary-1k", &simple_request_json(1024))?;

    let paths = [Case::WebBinary, Case::Native, Case::WebHttp1];
    let mut columns: Vec<Column> = paths
        .iter()
        .map(|&case| Column {
            case,
            flags: flags.to_vec(),
        })
        .collect();
    if flags.is_empty() {
        columns.push(Column {
            case: Case::WebBinary,
            flags: vec!["--scheduler".to_owned(), "shared".to_owned()],
        });
        columns.push(Column {
            case: Case::Nginx,
            flags: vec![],
        });
    }

    let mut backend_set = Children::default();
    backend_set
        .env
        .push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let backend = backend_set.start(&bin_dir, "interop-server", &["--port", "0"])?;
    let mut results = Vec::new();
    for column in &columns {
        // A fresh proxy (or nginx) per column, so that no column inherits another's
        // connections.
        let mut proxy_set = Children::default();
        proxy_set
            .env
            .push(("RUST_LOG".to_owned(), "warn".to_owned()));
        let nginx;
        let (addr, pids) = if column.case == Case::Nginx {
            nginx = peers::start_nginx(&work.join("nginx"), &backend)?;
            (nginx.addr.clone(), with_children(nginx.pid()))
        } else {
            let mut args = vec!["--listen", "127.0.0.1:0", "--backend"];
            let backend_url = format!("http://{backend}");
            args.push(&backend_url);
            args.extend(column.flags.iter().map(String::as_str));
            let addr = proxy_set.start(&bin_dir, "grpcweb-proxy", &args)?;
            let pid = proxy_set.pid("grpcweb-proxy").context("proxy pid")?;
            (addr, vec![pid])
        };
        let (body, content_type) = column.case.body(&bodies, &json);
        let load = |calls: u64| -> Result<Load<'_>> {
            Ok(Load {
                url: format!("http://{addr}{}", column.case.path()),
                body,
                content_type,
                http: column.case.http(),
                calls: u32::try_from(calls)?,
                clients: 1,
                streams: 8,
                rps: None,
                log: None,
            })
        };
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let small = count(&work, &pids, &load(SMALL)?)?;
            let large = count(&work, &pids, &load(LARGE)?)?;
            rounds.push(syscalls::per_call(&small, &large, LARGE - SMALL));
        }
        let median = syscalls::median(&rounds);
        println!(
            "{}: {:.2} syscalls, {:.2} context switches, {:.1} µs CPU per call",
            column.label(),
            median.get(&Event::Syscalls).copied().unwrap_or(0.0),
            median.get(&Event::ContextSwitches).copied().unwrap_or(0.0),
            median.get(&Event::CpuNanos).copied().unwrap_or(0.0) / 1000.0,
        );
        results.push((column.label(), median));
    }
    drop(backend_set);
    let table = table(&results);
    if !flags.is_empty() {
        println!("\n{table}");
        return Ok(());
    }
    markdown::write_section(
        &root,
        BEGIN,
        END,
        &["<!-- callgrind:end -->"],
        &report(&table),
    )
}

/// One run: `perf stat` attached to `pids` while h2load makes the calls; the counts.
fn count(work: &Path, pids: &[u32], load: &Load<'_>) -> Result<Counts> {
    let (events, args) = syscalls::perf_events();
    let out = work.join("perf.csv");
    let _ = std::fs::remove_file(&out);
    let pid_list: Vec<String> = pids.iter().map(u32::to_string).collect();
    let mut perf = Command::new("perf")
        .args(["stat", "-x,", "-o"])
        .arg(&out)
        .args(&args)
        .arg("-p")
        .arg(pid_list.join(","))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("starting perf stat")?;
    std::thread::sleep(ATTACH);
    let summary = load.run();
    // perf writes its counts when it gets SIGINT.
    run_cmd(Command::new("kill").args(["-INT", &perf.id().to_string()]))?;
    let status = perf.wait()?;
    let summary = summary?;
    if summary.failed > 0 || summary.succeeded != u64::from(load.calls) {
        bail!(
            "{}: {} of {} calls succeeded",
            load.url,
            summary.succeeded,
            load.calls
        );
    }
    let text = std::fs::read_to_string(&out)
        .with_context(|| format!("perf stat ({status}) wrote no counts"))?;
    syscalls::parse(&text, &events)
}

/// The per-call table: a row per event (syscalls that no column makes are left out), a
/// column per path.
fn table(results: &[(String, Counts)]) -> String {
    let mut s = String::from("| per call |");
    for (label, _) in results {
        s.push_str(&format!(" {label} |"));
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(results.len()));
    s.push('\n');
    let (events, _) = syscalls::perf_events();
    let mut seen = Vec::new();
    for event in events {
        if seen.contains(&event) {
            continue;
        }
        seen.push(event.clone());
        let values: Vec<f64> = results
            .iter()
            .map(|(_, c)| c.get(&event).copied().unwrap_or(0.0))
            .collect();
        if matches!(event, Event::Syscall(_)) && values.iter().all(|v| *v < 0.005) {
            continue;
        }
        s.push_str(&format!("| {} |", event.label()));
        for v in values {
            if event == Event::CpuNanos {
                s.push_str(&format!(" {:.1} |", v / 1000.0));
            } else {
                s.push_str(&format!(" {v:.2} |"));
            }
        }
        s.push('\n');
    }
    s
}

/// The BENCHMARKS.md section.
fn report(table: &str) -> String {
    format!(
        "{BEGIN} (written by cargo xtask bench syscalls) -->\n\
         ### Syscalls per call\n\n\
         Measured {} with `cargo xtask bench syscalls` (load average at the end: {}):\n\
         per 1 KiB unary call, the syscalls the proxy's threads make (nginx: its master\n\
         and workers), counted by `perf stat` attached to the running process, with the\n\
         times its threads were switched out and its CPU time (user and system). h2load\n\
         makes {SMALL} and then {LARGE} calls as in Instructions per call (one\n\
         connection, 8 streams; HTTP/1.1: one connection), the difference is divided by\n\
         the calls between, and the table shows the median of {ROUNDS} such pairs. Counts\n\
         depend on how calls batch into reads and writes, so they move a few percent\n\
         between runs; CPU time moves more on a shared machine.\n\n{table}{END}\n",
        markdown::date(),
        load_average().unwrap_or_else(|| "unknown".to_owned()),
    )
}
