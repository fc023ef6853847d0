use super::*;

fn valid(text: &str) -> Config {
    let config = Config::from_toml(text).unwrap();
    config.validate().unwrap();
    config
}

fn invalid_key(text: &str) -> String {
    match Config::from_toml(text) {
        Err(e) => e.key().to_owned(),
        Ok(c) => c.validate().unwrap_err().key().to_owned(),
    }
}

#[test]
fn full_file_fills_every_field() {
    let c = valid(
        r#"
        listen = "0.0.0.0:8443"
        admin_listen = "127.0.0.1:9901"
        log_format = "json"
        allow_request_streaming = true

        [[backends]]
        name = "users"
        endpoints = ["http://10.0.0.1:50051", "http://10.0.0.2:50051"]
        connect_timeout = "2s"
        health_check_interval = "off"

        [[backends]]
        name = "billing"
        endpoints = ["http://billing:9000"]

        [[routes]]
        service = "acme.users.v1.UserService"
        backend = "users"

        [[routes]]
        package = "acme.billing"
        backend = "billing"

        [cors]
        allowed_origins = ["https://app.example.com", "https://*.example.org"]
        allow_credentials = true
        max_age = "10m"

        [limits]
        max_message_size = "1MiB"
        max_buffered_request_bytes = "16MiB"
        max_header_size = "32KiB"
        max_connections = 500
        max_concurrent_streams = 64
        max_timeout = "30s"
        header_read_timeout = "5s"
        body_read_timeout = "10s"
        drain_timeout = "20s"

        [forwarding]
        forwarded_for = true
        trust_forwarded_for = true
        "#,
    );
    assert_eq!(c.listen, "0.0.0.0:8443".parse().unwrap());
    assert_eq!(c.admin_listen, Some("127.0.0.1:9901".parse().unwrap()));
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(c.allow_request_streaming);
    assert_eq!(c.backends.len(), 2);
    assert_eq!(c.backends[0].endpoints.len(), 2);
    assert_eq!(c.backends[0].connect_timeout, Duration::from_secs(2));
    assert_eq!(c.backends[0].health_check_interval, None);
    assert_eq!(
        c.backends[1].health_check_interval,
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        c.routes[0].matches,
        RouteMatch::Service("acme.users.v1.UserService".into())
    );
    assert_eq!(
        c.routes[1].matches,
        RouteMatch::Package("acme.billing".into())
    );
    assert!(c.cors.allow_credentials);
    assert_eq!(c.cors.max_age, Duration::from_secs(600));
    assert_eq!(c.limits.max_message_size, 1 << 20);
    assert_eq!(c.limits.max_buffered_request_bytes, Some(16 << 20));
    assert_eq!(c.limits.max_header_size, 32 * 1024);
    assert_eq!(c.limits.max_connections, 500);
    assert_eq!(c.limits.max_concurrent_streams, 64);
    assert_eq!(c.limits.max_timeout, Some(Duration::from_secs(30)));
    assert_eq!(c.limits.drain_timeout, Duration::from_secs(20));
    assert!(c.forwarding.trust_forwarded_for);
}

#[test]
fn one_backend_needs_no_routes() {
    let c = valid("[[backends]]\nname = \"only\"\nendpoints = [\"http://127.0.0.1:1\"]\n");
    assert!(c.routes.is_empty());
}

#[test]
fn errors_name_the_key() {
    let b = "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
    let cases = [
        ("listen = \"nowhere\"\n".to_owned() + b, "listen"),
        ("log_format = \"xml\"\n".to_owned() + b, "log_format"),
        (String::new(), "backends"),
        (
            "[[backends]]\nname = \"a\"\nendpoints = [\"ftp://x:1\"]\n".to_owned(),
            "backends[0].endpoints[0]",
        ),
        (
            "[[backends]]\nname = \"a\"\nendpoints = [\"https://x:1\"]\n".to_owned(),
            "backends[0].ca",
        ),
        (
            "[[backends]]\nname = \"a\"\nendpoints = [\"https://x:1\"]\nca = \"/nonexistent/ca.pem\"\n".to_owned(),
            "backends[0].ca",
        ),
        (
            format!("{b}[tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"\n"),
            "tls.cert",
        ),
        (
            "[[backends]]\nname = \"a\"\nendpoints = []\n".to_owned(),
            "backends[0].endpoints",
        ),
        (format!("{b}{b}"), "backends[1].name"),
        (
            format!("{b}[[backends]]\nname = \"b\"\nendpoints = [\"http://127.0.0.1:2\"]\n"),
            "routes",
        ),
        (
            format!("{b}[[routes]]\nservice = \"x.Y\"\nbackend = \"nope\"\n"),
            "routes[0].backend",
        ),
        (
            format!("{b}[[routes]]\nservice = \"x..Y\"\nbackend = \"a\"\n"),
            "routes[0]",
        ),
        (
            format!("{b}[[routes]]\nservice = \"x.Y\"\npackage = \"x\"\nbackend = \"a\"\n"),
            "routes[0]",
        ),
        (
            format!("{b}[cors]\nallowed_origins = [\"example.com\"]\n"),
            "cors.allowed_origins",
        ),
        (
            format!("{b}[limits]\nmax_message_size = \"lots\"\n"),
            "limits.max_message_size",
        ),
        (
            format!("{b}[limits]\nmax_timeout = \"1 day\"\n"),
            "limits.max_timeout",
        ),
        (
            format!("{b}[limits]\nmax_connections = 0\n"),
            "limits.max_connections",
        ),
        (
            format!("{b}[limits]\nmax_buffered_request_bytes = \"1MiB\"\n"),
            "limits.max_buffered_request_bytes",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(invalid_key(&text), key, "{text}");
    }
}

#[test]
fn unknown_keys_and_bad_toml_are_errors_with_a_line() {
    let err = Config::from_toml("listen = \"127.0.0.1:1\"\nlisten_on = 3\n").unwrap_err();
    assert_eq!(err.key(), "config file line 2");
    assert!(err.to_string().contains("listen_on"), "{err}");
    let err = Config::from_toml("[[backends]\n").unwrap_err();
    assert!(err.key().starts_with("config file"), "{err}");
}

#[test]
fn with_backend_is_valid() {
    Config::with_backend("http://127.0.0.1:50051")
        .validate()
        .unwrap();
}

#[test]
fn overflowing_durations_are_refused_naming_the_key() {
    let b = "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
    let keys = [
        ("[limits]\nmax_timeout", "limits.max_timeout"),
        (
            "[limits]\nheader_read_timeout",
            "limits.header_read_timeout",
        ),
        ("[limits]\nbody_read_timeout", "limits.body_read_timeout"),
        ("[limits]\nidle_timeout", "limits.idle_timeout"),
        ("[limits]\ndrain_timeout", "limits.drain_timeout"),
        ("[cors]\nmax_age", "cors.max_age"),
    ];
    let backend_keys = [
        "connect_timeout",
        "health_check_interval",
        "dns_refresh_interval",
    ];
    let route = "[[routes]]\nall = true\nbackend = \"a\"\nmax_duration";
    for huge in [
        "18446744073709551615s",
        "18446744073709551615ms",
        "9999999999999h",
        "307445734561825861m",
        "99999999999999999999999s",
    ] {
        for (table_key, key) in keys {
            let text = format!("{b}{table_key} = \"{huge}\"\n");
            assert_eq!(invalid_key(&text), key, "{text}");
        }
        for key in backend_keys {
            let text = format!("{b}{key} = \"{huge}\"\n");
            assert_eq!(invalid_key(&text), format!("backends[0].{key}"), "{text}");
        }
        let text = format!("{b}{route} = \"{huge}\"\n");
        assert_eq!(invalid_key(&text), "routes[0].max_duration", "{text}");
        let text = format!("{b}[tls]\ncert = \"c\"\nkey = \"k\"\nreload_interval = \"{huge}\"\n");
        assert_eq!(invalid_key(&text), "tls.reload_interval", "{text}");
    }
    // A zero period would make its loop spin.
    for (text, key) in [
        (
            format!("{b}health_check_interval = \"0s\"\n"),
            "backends[0].health_check_interval",
        ),
        (
            format!("{b}dns_refresh_interval = \"0ms\"\n"),
            "backends[0].dns_refresh_interval",
        ),
    ] {
        assert_eq!(invalid_key(&text), key, "{text}");
    }
    // The longest accepted duration is a year; that much still fits every deadline.
    let c = valid(&format!("{b}[limits]\nidle_timeout = \"8760h\"\n"));
    assert_eq!(c.limits.idle_timeout, MAX_DURATION);
    assert_eq!(
        invalid_key(&format!("{b}[limits]\nidle_timeout = \"8761h\"\n")),
        "limits.idle_timeout"
    );
}

#[test]
fn overflowing_counts_and_sizes_are_refused_naming_the_key() {
    let b = "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
    let cases = [
        // tokio's Semaphore panics above its MAX_PERMITS (2^61 - 1).
        (
            "max_connections = 4611686018427387904",
            "limits.max_connections",
        ),
        (
            "max_connections = 9223372036854775807",
            "limits.max_connections",
        ),
        ("max_connections = -1", "limits.max_connections"),
        (
            "max_concurrent_streams = 4294967296",
            "limits.max_concurrent_streams",
        ),
        (
            "max_concurrent_streams = -1",
            "limits.max_concurrent_streams",
        ),
        (
            "max_concurrent_streams = 0",
            "limits.max_concurrent_streams",
        ),
        ("max_message_size = \"4097MiB\"", "limits.max_message_size"),
        ("max_message_size = -1", "limits.max_message_size"),
        ("max_message_size = 4294967296", "limits.max_message_size"),
        (
            "max_response_message_size = \"4097MiB\"",
            "limits.max_response_message_size",
        ),
        (
            "max_response_message_size = -5",
            "limits.max_response_message_size",
        ),
        (
            "max_response_message_size = 0",
            "limits.max_response_message_size",
        ),
        ("max_header_size = \"4097MiB\"", "limits.max_header_size"),
        ("max_header_size = 4294967296", "limits.max_header_size"),
        ("max_header_size = -1", "limits.max_header_size"),
        ("max_header_size = 0", "limits.max_header_size"),
        (
            "max_header_size = \"99999999999999999999MiB\"",
            "limits.max_header_size",
        ),
        ("max_message_size = 1.5", "limits.max_message_size"),
        ("max_message_size = true", "limits.max_message_size"),
    ];
    for (line, key) in cases {
        let text = format!("{b}[limits]\n{line}\n");
        let err = match Config::from_toml(&text) {
            Err(e) => e,
            Ok(c) => c.validate().unwrap_err(),
        };
        assert_eq!(err.key(), key, "{text}: {err}");
    }
}

#[test]
fn sizes_may_be_toml_integers_in_bytes() {
    let b = "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
    let c = valid(&format!(
        "{b}[limits]\nmax_message_size = 2048\nmax_response_message_size = 1024\nmax_header_size = 65536\n"
    ));
    assert_eq!(c.limits.max_message_size, 2048);
    assert_eq!(c.limits.max_response_message_size, Some(1024));
    assert_eq!(c.limits.max_header_size, 65536);
    let c = valid(&format!(
        "{b}[limits]\nmax_message_size = \"2KiB\"\nmax_response_message_size = \"1024\"\n"
    ));
    assert_eq!(c.limits.max_message_size, 2048);
    assert_eq!(c.limits.max_response_message_size, Some(1024));
}

#[test]
fn request_streaming_is_set_per_route_and_its_idle_budget_in_limits() {
    let c = valid(
        r#"
        [[backends]]
        name = "b"
        endpoints = ["http://b:1"]

        [[routes]]
        service = "chat.v1.Chat"
        backend = "b"
        allow_request_streaming = true

        [[routes]]
        all = true
        backend = "b"

        [limits]
        request_idle_timeout = "2m"
        "#,
    );
    assert!(!c.allow_request_streaming);
    assert_eq!(c.routes[0].allow_request_streaming, Some(true));
    assert_eq!(c.routes[1].allow_request_streaming, None);
    assert_eq!(c.limits.request_idle_timeout, Duration::from_secs(120));
    assert_eq!(
        Config::default().limits.request_idle_timeout,
        Duration::from_secs(60)
    );
    let zero = "[[backends]]\nname = \"b\"\nendpoints = [\"http://b:1\"]\n[limits]\nrequest_idle_timeout = \"0s\"";
    assert_eq!(invalid_key(zero), "limits.request_idle_timeout");
}

#[test]
fn worker_threads_is_a_count_of_at_least_one() {
    let backend = "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
    assert_eq!(
        valid(&format!("worker_threads = 3\n{backend}")).worker_threads(),
        3
    );
    let default = valid(backend).worker_threads();
    assert!((1..=super::MAX_DEFAULT_WORKER_THREADS).contains(&default));
    for bad in ["0", "-1", "\"2\"", "100000"] {
        assert_eq!(
            invalid_key(&format!("worker_threads = {bad}\n{backend}")),
            "worker_threads",
            "{bad}"
        );
    }
}

#[test]
fn scheduler_is_per_worker_or_shared() {
    let backend = "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
    let config = valid(backend);
    assert_eq!(config.scheduler, super::Scheduler::PerWorker);
    let shared = valid(&format!(
        "worker_threads = 4\nscheduler = \"shared\"\n{backend}"
    ));
    assert_eq!(shared.scheduler, super::Scheduler::Shared);
    // All work on the caller's runtime, in one pool per endpoint.
    assert_eq!(shared.runtimes(), 1);
    let per_worker = valid(&format!("worker_threads = 4\n{backend}"));
    assert_eq!(per_worker.runtimes(), 4);
    for bad in ["\"threads\"", "1", "\"Shared\""] {
        assert_eq!(
            invalid_key(&format!("scheduler = {bad}\n{backend}")),
            "scheduler",
            "{bad}"
        );
    }
}
