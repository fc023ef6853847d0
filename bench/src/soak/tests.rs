use super::markdown::splice;
use super::*;

const BEGIN: &str = "<!-- soak:begin (written by cargo xtask soak) -->";
const END: &str = "<!-- soak:end -->";

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn load() -> Tally {
    Tally::parse(&lines(
        "summary seconds=60.00 started=110 finished=110 skipped=0 calls_per_sec=1.8 \
         unary_p50_ms=0.4 unary_p99_ms=3.1\n\
         count unary-bin-16B OK 100\n\
         count abort-bin CLIENT_ABORT 5\n\
         count unary-bin-16B UNAVAILABLE 4\n\
         count stream-bin-5x1KiB INTERNAL 1\n",
    ))
    .unwrap()
}

#[test]
fn parses_driver_output() {
    let t = load();
    assert_eq!((t.finished, t.skipped), (110, 0));
    assert!((t.calls_per_sec - 1.8).abs() < 1e-9);
    assert!((t.p99_ms - 3.1).abs() < 1e-9);
    assert_eq!(t.client_aborts(), 5);
    assert_eq!(t.failed(), 5);
    assert!(Tally::parse(&lines("count a OK 1")).is_err());
}

#[test]
fn unavailable_counts_only_in_the_restart_window() {
    let mut r = Report {
        load: load(),
        restart: Some(Restart::new(30.0, 10_000, 12_000)),
        ..Report::default()
    };
    let events = "UNAVAILABLE\tunary-bin-16B\t9990\t10005\tconnection lost\n\
                  UNAVAILABLE\tunary-bin-16B\t11000\t11001\tunreachable\n\
                  UNAVAILABLE\tunary-bin-16B\t17000\t17001\tunreachable\n\
                  UNAVAILABLE\tunary-bin-16B\t5000\t5001\ttoo early\n\
                  INTERNAL\tstream-bin-5x1KiB\t9000\t10001\tbackend stream failed\n";
    r.classify(events, Duration::from_secs(6));
    let restart = r.restart.clone().unwrap();
    assert_eq!((restart.in_flight, restart.later), (1, 2));
    assert_eq!(restart.last_after_ready_ms, Some(5001));
    assert_eq!(r.unexpected.get("UNAVAILABLE"), Some(&1));
    assert_eq!(r.unexpected.get("INTERNAL"), Some(&1));
    assert_eq!(r.unexpected_total(), 2);
    assert_eq!(r.examples.len(), 2);
}

#[test]
fn unlogged_and_peak_failures_are_unexpected() {
    let mut r = Report {
        load: load(),
        peak: Tally::parse(&lines(
            "summary seconds=10 finished=3 calls_per_sec=0.3\n\
             count a OK 2\ncount a INTERNAL 1\n",
        ))
        .unwrap(),
        ..Report::default()
    };
    r.classify("", Duration::from_secs(6));
    assert_eq!(r.unexpected.get("UNLOGGED"), Some(&5));
    assert_eq!(r.unexpected.get("INTERNAL (peak run)"), Some(&1));
}

#[test]
fn splices_the_section_after_the_proxy_one() {
    let doc = "# B\n<!-- proxy:begin -->\nP\n<!-- proxy:end -->\n## Later\n";
    let once = splice(doc, &format!("{BEGIN}\nS1\n{END}"));
    assert_eq!(
        once,
        format!("# B\n<!-- proxy:begin -->\nP\n<!-- proxy:end -->\n{BEGIN}\nS1\n{END}\n## Later\n")
    );
    let twice = splice(&once, &format!("{BEGIN}\nS2\n{END}"));
    assert_eq!(twice, once.replace("S1", "S2"));
    assert_eq!(
        splice("# B\n", &format!("{BEGIN}\nS\n{END}")),
        format!("# B\n{BEGIN}\nS\n{END}\n")
    );
}
