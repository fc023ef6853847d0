//! The proxy's log output: the access-log line written without the generic formatting
//! machinery, and a bounded, non-blocking writer so no worker thread waits on stderr.
//!
//! [`AccessLogLayer`] takes the events of target [`ACCESS_TARGET`] (one per call, from
//! [`crate::metrics`]) and writes each as the same line `tracing-subscriber`'s `fmt`
//! would (text: `TIMESTAMP  INFO grpcweb::access: path=... grpc_status="OK" ...`; JSON:
//! one object with `timestamp`, `level`, the fields, and `target`), into one
//! pre-sized buffer. [`LogWriter`] hands whole lines to a thread that writes them to
//! stderr in batches; its queue holds at most [`LogWriter::QUEUE`] lines, and a line
//! that finds it full is dropped and counted in `grpcweb_log_lines_dropped` rather than
//! making a call wait or the queue grow. [`LogFlush`] writes out what is queued when
//! dropped (at exit).

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::sync::LazyLock;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use prometheus_client::metrics::counter::Counter;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

use crate::config::LogFormat;

mod timestamp;

/// The target of the access-log events, one per finished call.
pub const ACCESS_TARGET: &str = "grpcweb::access";

/// Log lines dropped because the writer's queue was full (`grpcweb_log_lines_dropped`).
pub(crate) static LINES_DROPPED: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Writes log lines from a bounded queue on a thread of its own (a [`MakeWriter`] for
/// `tracing-subscriber`'s `fmt` and the sink of [`AccessLogLayer`]).
#[derive(Clone, Debug)]
pub struct LogWriter {
    tx: SyncSender<Vec<u8>>,
}

/// Writes out the queued lines and stops the writer thread when dropped.
#[derive(Debug)]
pub struct LogFlush {
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

impl LogWriter {
    /// Lines the queue holds (at a few hundred bytes each, a few MB at most).
    pub const QUEUE: usize = 16 * 1024;

    /// A writer to stderr, and the guard that flushes it.
    pub fn stderr() -> io::Result<(Self, LogFlush)> {
        Self::new(io::stderr())
    }

    /// A writer to `out` (buffered here), and the guard that flushes it.
    pub fn new(out: impl Write + Send + 'static) -> io::Result<(Self, LogFlush)> {
        let (tx, rx) = sync_channel(Self::QUEUE);
        let thread = std::thread::Builder::new()
            .name("grpcweb-log".to_owned())
            .spawn(move || write_lines(&rx, &mut io::BufWriter::new(out)))?;
        let flush = LogFlush {
            tx: Some(tx.clone()),
            thread: Some(thread),
        };
        Ok((Self { tx }, flush))
    }

    /// Queues one line; drops and counts it when the queue is full.
    fn send(&self, line: Vec<u8>) {
        match self.tx.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                LINES_DROPPED.inc();
            }
            // The writer has stopped (exit): write directly.
            Err(TrySendError::Disconnected(line)) => {
                let _ = io::stderr().write_all(&line);
            }
        }
    }
}

/// The writer thread: each batch of queued lines goes out in as few writes as fit the
/// buffer; an empty line is the stop signal from [`LogFlush`].
fn write_lines(rx: &Receiver<Vec<u8>>, out: &mut impl Write) {
    while let Ok(line) = rx.recv() {
        let mut stop = line.is_empty();
        let _ = out.write_all(&line);
        while !stop && let Ok(line) = rx.try_recv() {
            stop = line.is_empty();
            let _ = out.write_all(&line);
        }
        let _ = out.flush();
        if stop {
            return;
        }
    }
}

impl Drop for LogFlush {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Vec::new());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One `write` call from `fmt` (one whole event).
#[derive(Debug)]
pub struct LogLine<'a>(&'a LogWriter);

impl Write for LogLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.send(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine(self)
    }
}

/// Writes the [`ACCESS_TARGET`] events (see the module docs); put it next to an `fmt`
/// layer that leaves that target out.
#[derive(Debug)]
pub struct AccessLogLayer {
    format: LogFormat,
    out: LogWriter,
}

impl AccessLogLayer {
    /// Lines in `format` into `out`.
    pub fn new(format: LogFormat, out: LogWriter) -> Self {
        Self { format, out }
    }

    /// The line for `event`, as `fmt` (without ANSI colours) would write it.
    fn line(&self, event: &Event<'_>) -> String {
        let mut line = String::with_capacity(320);
        let meta = event.metadata();
        match self.format {
            LogFormat::Text => {
                timestamp::now(&mut line);
                let _ = write!(line, " {:>5} {}: ", meta.level().as_str(), meta.target());
                event.record(&mut TextFields {
                    line: &mut line,
                    first: true,
                });
            }
            LogFormat::Json => {
                line.push_str("{\"timestamp\":\"");
                timestamp::now(&mut line);
                let _ = write!(line, "\",\"level\":\"{}\"", meta.level().as_str());
                event.record(&mut JsonFields { line: &mut line });
                line.push_str(",\"target\":");
                json_str(&mut line, meta.target());
                line.push('}');
            }
        }
        line.push('\n');
        line
    }
}

impl<S: Subscriber> Layer<S> for AccessLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == ACCESS_TARGET {
            self.out.send(self.line(event).into_bytes());
        }
    }
}

/// `fmt`'s default text fields: `name=value`, strings quoted and escaped as by `Debug`.
struct TextFields<'a> {
    line: &'a mut String,
    first: bool,
}

impl TextFields<'_> {
    fn name(&mut self, field: &Field) {
        if !self.first {
            self.line.push(' ');
        }
        self.first = false;
        self.line
            .push_str(field.name().strip_prefix("r#").unwrap_or(field.name()));
        self.line.push('=');
    }
}

impl Visit for TextFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        if plain(value) {
            self.line.push('"');
            self.line.push_str(value);
            self.line.push('"');
        } else {
            let _ = write!(self.line, "{value:?}");
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        self.line.push_str(itoa::Buffer::new().format(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.name(field);
        let _ = write!(self.line, "{value:?}");
    }
}

/// `fmt`'s JSON fields, in order: numbers and booleans as they are, strings and `Debug`
/// values as JSON strings.
struct JsonFields<'a> {
    line: &'a mut String,
}

impl JsonFields<'_> {
    fn name(&mut self, field: &Field) {
        let name = field.name();
        self.line.push(',');
        json_str(self.line, name.strip_prefix("r#").unwrap_or(name));
        self.line.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        json_str(self.line, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        self.line.push_str(itoa::Buffer::new().format(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        self.line.push_str(itoa::Buffer::new().format(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.name(field);
        self.line
            .push_str(&serde_json::to_string(&serde_json::Value::from(value)).unwrap_or_default());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.name(field);
        json_str(self.line, &format!("{value:?}"));
    }
}

/// True when `Debug` would write `s` as it is (between quotes).
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\' && b != b'\'')
}

/// `s` as a JSON string, escaped as `serde_json` does.
fn json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= b' ' && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests;
