use super::*;
use std::sync::{Arc, Mutex};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt as _;

/// A writer into a shared buffer.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// An access-log event with every kind of field the proxy's has, and awkward strings.
fn event(path: &str) {
    tracing::info!(
        target: ACCESS_TARGET,
        path = %path,
        grpc_status = "OK",
        http_status = 200u16,
        http_version = ?http::Version::HTTP_2,
        mode = "grpc-web \"quoted\" \\ é\n",
        duration_ms = 1.25f64,
        tiny = 0.00001f64,
        whole = 3.0f64,
        bytes_in = 5u64,
        negative = -4i64,
        flag = true,
        peer = %"127.0.0.1:1",
    );
}

/// The line `fmt` writes and the line [`AccessLogLayer`] writes for the same event, with
/// their timestamps cut.
fn both(format: LogFormat, path: &str) -> (String, String) {
    let reference = Shared::default();
    let ours = Shared::default();
    let (writer, flush) = LogWriter::new(ours.clone()).unwrap();
    let sink = reference.clone();
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || sink.clone());
    let access = AccessLogLayer::new(format, writer);
    match format {
        LogFormat::Text => {
            let subscriber = Registry::default().with(fmt).with(access);
            tracing::subscriber::with_default(subscriber, || event(path));
        }
        LogFormat::Json => {
            let subscriber = Registry::default()
                .with(fmt.json().flatten_event(true))
                .with(access);
            tracing::subscriber::with_default(subscriber, || event(path));
        }
    }
    drop(flush);
    let cut = |s: String| match format {
        LogFormat::Text => s.split_once(' ').unwrap().1.to_owned(),
        LogFormat::Json => {
            let start = s.find("\"timestamp\":\"").unwrap() + 13;
            let end = start + s[start..].find('"').unwrap();
            assert!(s[start..end].ends_with('Z'), "{s}");
            format!("{}{}", &s[..start], &s[end..])
        }
    };
    (cut(reference.text()), cut(ours.text()))
}

#[test]
fn text_lines_are_those_of_fmt() {
    for path in ["/a.B/C", "/x y/\"z\"\t"] {
        let (reference, ours) = both(LogFormat::Text, path);
        assert_eq!(ours, reference);
        assert!(ours.starts_with(" INFO grpcweb::access: path="), "{ours}");
    }
}

#[test]
fn json_lines_are_those_of_fmt() {
    for path in ["/a.B/C", "/x y/\"z\"\t\u{1}"] {
        let (reference, ours) = both(LogFormat::Json, path);
        assert_eq!(ours, reference);
    }
}

#[test]
fn a_full_queue_drops_and_counts_lines_and_the_flush_writes_the_rest() {
    let (tx, rx) = sync_channel(2);
    let writer = LogWriter { tx };
    let before = LINES_DROPPED.get();
    for _ in 0..3 {
        writer.send(b"line\n".to_vec());
    }
    assert_eq!(LINES_DROPPED.get() - before, 1);
    drop(writer);
    let mut out = Vec::new();
    write_lines(&rx, &mut out);
    assert_eq!(out, b"line\nline\n");
}
