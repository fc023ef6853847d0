use super::*;

fn round(calls: u64, per_sec: f64, proxy_us: Option<f64>) -> UnaryRow {
    UnaryRow {
        label: "path",
        role: Role::Other,
        payload: 1024,
        summary: Summary {
            calls_per_sec: per_sec,
            mean_ms: per_sec / 1000.0,
            sd_ms: per_sec / 10_000.0,
            succeeded: calls,
            failed: 0,
        },
        proxy_cpu_us: proxy_us,
        backend_cpu_us: Some(1.0),
    }
}

#[test]
fn rounds_combine_over_their_calls_and_time() {
    // 1,000 calls in 1 s at 10 µs each, then 1,000 in 2 s at 20 µs each.
    let row = UnaryRow::combine(vec![
        round(1000, 1000.0, Some(10.0)),
        round(1000, 500.0, Some(20.0)),
    ])
    .unwrap();
    assert!((row.summary.calls_per_sec - 2000.0 / 3.0).abs() < 1e-9);
    assert_eq!(row.proxy_cpu_us, Some(15.0));
    assert_eq!(row.backend_cpu_us, Some(1.0));
    assert!((row.summary.mean_ms - 0.75).abs() < 1e-9);
    assert!((row.summary.sd_ms - 0.1).abs() < 1e-9);
    assert_eq!(row.summary.succeeded, 2000);
    // A path without a proxy has no proxy CPU; no rounds, no row.
    let direct = UnaryRow::combine(vec![round(10, 100.0, None)]).unwrap();
    assert_eq!(direct.proxy_cpu_us, None);
    assert!(UnaryRow::combine(Vec::new()).is_none());
}

#[test]
fn latency_added_over_direct_and_against_nginx() {
    let row = |label, role, p50_ms, p99_ms| LatencyRow {
        label,
        role,
        rate: 1000,
        p50_ms,
        p99_ms,
        failed: 0,
    };
    let report = Report {
        latency: vec![
            row("direct", Role::Direct, 0.25, 0.5),
            row("nginx", Role::Nginx, 0.35, 0.9),
            row("proxy", Role::Other, 0.45, 1.1),
        ],
        ..Report::default()
    };
    let text = report.markdown();
    assert!(text.contains("| direct | 0.25 ms | 0.50 ms | - | - | - | - | 0 |"));
    assert!(text.contains("| nginx | 0.35 ms | 0.90 ms | 0.10 ms | 1.00 | 0.40 ms | 1.00 | 0 |"));
    assert!(text.contains("| proxy | 0.45 ms | 1.10 ms | 0.20 ms | 2.00 | 0.60 ms | 1.50 | 0 |"));
}

#[test]
fn stream_rounds_combine_over_their_messages_and_time() {
    let round = |messages, per_sec, proxy_us| StreamRow {
        label: "path",
        messages,
        messages_per_sec: per_sec,
        proxy_cpu_us_per_message: proxy_us,
        backend_cpu_us_per_message: Some(1.0),
        failed: 1,
    };
    // 1,000 messages in 1 s at 1 µs each, then 3,000 in 1 s at 2 µs each.
    let row = StreamRow::combine(vec![
        round(1000.0, 1000.0, Some(1.0)),
        round(3000.0, 3000.0, Some(2.0)),
    ])
    .unwrap();
    assert!((row.messages_per_sec - 2000.0).abs() < 1e-9);
    assert_eq!(row.proxy_cpu_us_per_message, Some(1.75));
    assert_eq!(row.backend_cpu_us_per_message, Some(1.0));
    assert_eq!((row.messages, row.failed), (4000.0, 2));
    assert!(
        StreamRow::combine(vec![round(10.0, 10.0, None)])
            .unwrap()
            .proxy_cpu_us_per_message
            .is_none()
    );
    assert!(StreamRow::combine(Vec::new()).is_none());
}
