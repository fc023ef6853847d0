use super::*;

#[test]
fn a_scrape_reads_calls_in_flight_before_finished_calls() {
    // A call is counted, then leaves the gauge: reading in the other order, a scrape
    // could see neither (no call in flight and none counted).
    let metrics = Metrics::new();
    let ok = Code::Ok.as_i32() as usize;
    metrics
        .admit("/a.S/M", ok, true)
        .calls(&metrics.calls, ok, 0)
        .inc();
    let text = metrics.encode_with(std::iter::empty());
    let at = |name: &str| text.find(name).unwrap_or(usize::MAX);
    assert!(
        at("grpcweb_in_flight_calls ") < at("grpcweb_calls_total{"),
        "{text}"
    );
}

#[test]
fn endpoints_dropped_by_dns_refresh_lose_their_series() {
    let metrics = Metrics::new();
    let scrape = |endpoints: &[&str]| {
        let list = endpoints.iter().map(|e| ((*e).to_owned(), true)).collect();
        let text = metrics.encode_with([("b".to_owned(), 1, list, 0)].into_iter());
        text.lines()
            .filter(|l| l.starts_with("grpcweb_backend_endpoint_healthy{"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(scrape(&["x (10.0.0.1)", "x (10.0.0.2)"]).len(), 2);
    assert_eq!(
        scrape(&["x (10.0.0.2)"]),
        [r#"grpcweb_backend_endpoint_healthy{backend="b",endpoint="x (10.0.0.2)"} 1"#]
    );
}

#[test]
fn only_methods_a_backend_answered_get_series() {
    let metrics = Metrics::new();
    let ok = Code::Ok.as_i32() as usize;
    let unimplemented = Code::Unimplemented.as_i32() as usize;
    let other = |m: &Arc<MethodMetrics>| Arc::ptr_eq(m, &metrics.other);
    assert!(other(&metrics.admit("/a.S/M", unimplemented, true)));
    assert!(other(&metrics.admit("/a.S/M", ok, false)), "not answered");
    assert!(other(&metrics.admit("/a.S/M", CLIENT_GONE, false)));
    assert!(other(&metrics.admit("/a.S/M", NO_STATUS, true)));
    assert!(other(&metrics.admit("/a.S/M/x", ok, true)));
    assert!(other(&metrics.admit("/a.S/M?x", ok, true)));
    let long = format!("/a.S/{}", "M".repeat(MAX_PATH_LABEL));
    assert!(other(&metrics.admit(&long, ok, true)));
    let m = metrics.admit("/a.S/M", ok, true);
    assert!(!other(&m));
    assert_eq!((m.service.as_str(), m.method.as_str()), ("a.S", "M"));
    assert!(metrics.known("/a.S/M").is_some_and(|k| Arc::ptr_eq(&k, &m)));
    for i in 1..MAX_METHODS {
        metrics.admit(&format!("/a.S/M{i}"), ok, true);
    }
    assert!(other(&metrics.admit("/a.S/Full", ok, true)), "no room left");
}
