//! What the command line parses to.

use super::*;
use crate::test::{Options, Part};

fn parse_strs(args: &[&str]) -> Result<Task> {
    parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
}

#[test]
fn no_args_prints_usage() {
    assert_eq!(parse_strs(&[]).unwrap(), Task::Help);
    assert_eq!(parse_strs(&["--help"]).unwrap(), Task::Help);
    assert_eq!(parse_strs(&["bench", "--help"]).unwrap(), Task::Help);
    assert_eq!(parse_strs(&["soak", "-h"]).unwrap(), Task::Help);
}

#[test]
fn test_options() {
    assert_eq!(
        parse_strs(&["test"]).unwrap(),
        Task::Test(Options::default())
    );
    assert_eq!(
        parse_strs(&["test", "js", "--skip-lint"]).unwrap(),
        Task::Test(Options {
            part: Part::Js,
            skip_lint: true
        })
    );
    assert_eq!(
        parse_strs(&["test", "rust"]).unwrap(),
        Task::Test(Options {
            part: Part::Rust,
            skip_lint: false
        })
    );
}

#[test]
fn rejects_unknown_input() {
    assert!(parse_strs(&["tset"]).is_err());
    assert!(parse_strs(&["test", "--fast"]).is_err());
    assert!(parse_strs(&["demo", "x"]).is_err());
    assert!(parse_strs(&["demo", "--page-port"]).is_err());
    assert!(parse_strs(&["demo", "--proxy-port", "http"]).is_err());
    assert!(parse_strs(&["interop", "--readme"]).is_err());
    assert!(parse_strs(&["protobuf-conformance", "--verbose"]).is_err());
    assert_eq!(
        parse_strs(&["protobuf-conformance"]).unwrap(),
        Task::ProtobufConformance
    );
    assert!(parse_strs(&["bench", "--slow"]).is_err());
    assert_eq!(
        parse_strs(&["bench", "--quick"]).unwrap(),
        Task::Bench { quick: true }
    );
    let hostile = |quick, only: Option<&str>| {
        Task::Hostile(bench::hostile::Options {
            quick,
            only: only.map(str::to_owned),
        })
    };
    assert_eq!(
        parse_strs(&["bench", "hostile", "--quick"]).unwrap(),
        hostile(true, None)
    );
    assert_eq!(
        parse_strs(&["bench", "hostile"]).unwrap(),
        hostile(false, None)
    );
    assert_eq!(
        parse_strs(&["bench", "hostile", "--only", "slowloris", "--quick"]).unwrap(),
        hostile(true, Some("slowloris"))
    );
    assert!(parse_strs(&["bench", "hostile", "--slow"]).is_err());
    assert_eq!(
        parse_strs(&["bench", "callgrind"]).unwrap(),
        Task::Callgrind { check: false }
    );
    assert_eq!(
        parse_strs(&["bench", "callgrind", "--check"]).unwrap(),
        Task::Callgrind { check: true }
    );
    assert!(parse_strs(&["bench", "callgrind", "--quick"]).is_err());
    assert_eq!(parse_strs(&["bench", "idle"]).unwrap(), Task::Idle);
    assert_eq!(
        parse_strs(&["bench", "syscalls"]).unwrap(),
        Task::Syscalls { flags: vec![] }
    );
    assert_eq!(
        parse_strs(&["bench", "syscalls", "--", "--worker-threads", "2"]).unwrap(),
        Task::Syscalls {
            flags: vec!["--worker-threads".to_owned(), "2".to_owned()]
        }
    );
    assert!(parse_strs(&["bench", "syscalls", "--"]).is_err());
    assert!(parse_strs(&["bench", "syscalls", "--quick"]).is_err());
    assert!(parse_strs(&["bench", "hostile", "--only"]).is_err());
    assert!(parse_strs(&["bench", "hostile", "--only", "meteor"]).is_err());
}

#[test]
fn interop_options() {
    assert_eq!(
        parse_strs(&["interop"]).unwrap(),
        Task::Interop(interop::Options::default())
    );
    assert_eq!(
        parse_strs(&["interop", "--update-readme"]).unwrap(),
        Task::Interop(interop::Options {
            update_readme: true
        })
    );
}

#[test]
fn fuzz_options() {
    assert_eq!(
        parse_strs(&["fuzz"]).unwrap(),
        Task::Fuzz(fuzz::Options::default())
    );
    assert_eq!(
        parse_strs(&["fuzz", "router_path", "--seconds", "10"]).unwrap(),
        Task::Fuzz(fuzz::Options {
            seconds: 10,
            target: Some("router_path".to_owned())
        })
    );
    assert!(parse_strs(&["fuzz", "--minutes", "1"]).is_err());
}

#[test]
fn soak_options() {
    let seconds = |args: &[&str]| match parse_strs(args) {
        Ok(Task::Soak(o)) => Some(o.duration.as_secs_f64()),
        _ => None,
    };
    assert_eq!(seconds(&["soak"]), Some(600.0));
    assert_eq!(seconds(&["soak", "--minutes", "2"]), Some(120.0));
    assert_eq!(seconds(&["soak", "--minutes", "0.5"]), Some(30.0));
    assert_eq!(seconds(&["soak", "--seconds", "60"]), Some(60.0));
    assert_eq!(seconds(&["soak", "--seconds", "5"]), None);
    assert_eq!(seconds(&["soak", "--seconds"]), None);
    assert_eq!(seconds(&["soak", "--minutes", "x"]), None);
    assert_eq!(seconds(&["soak", "--hours", "1"]), None);
}

#[test]
fn demo_options() {
    assert_eq!(
        parse_strs(&["demo"]).unwrap(),
        Task::Demo(demo::Options::default())
    );
    assert_eq!(
        parse_strs(&[
            "demo",
            "--page-port",
            "0",
            "--no-build",
            "--proxy-port",
            "9001",
            "--tls"
        ])
        .unwrap(),
        Task::Demo(demo::Options {
            page_port: 0,
            proxy_port: 9001,
            build: false,
            tls: true,
        })
    );
}
