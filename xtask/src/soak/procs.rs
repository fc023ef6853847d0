//! The backend of a soak run, which the run kills and restarts. The load driver runs as a
//! [`crate::bench::driver::Driver`].

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};

use crate::run::display;

/// How long a started backend may take to print `listening on ADDR`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// `interop-server`, killed when dropped.
#[derive(Debug)]
pub(super) struct Backend {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub(super) addr: String,
}

impl Backend {
    /// Starts `bin_dir/interop-server --port PORT` (0: a free one) and waits for its
    /// `listening on` line.
    pub(super) fn start(bin_dir: &Path, port: u16) -> Result<Self> {
        let mut cmd = Command::new(bin_dir.join("interop-server"));
        cmd.args(["--port", &port.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        println!("$ {}", display(&cmd));
        let mut child = cmd.spawn().context("starting interop-server")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line.trim_end().strip_prefix("listening on ") {
                    Some(addr) => {
                        let _ = tx.send(addr.to_owned());
                    }
                    None => println!("[interop-server] {line}"),
                }
            }
        });
        let mut backend = Self {
            child,
            addr: String::new(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => backend.addr = addr,
            Err(_) => bail!("interop-server printed no `listening on` line (see above)"),
        }
        Ok(backend)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port it listens on.
    pub(super) fn port(&self) -> Result<u16> {
        self.addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .with_context(|| format!("no port in {:?}", self.addr))
    }

    /// SIGKILL, then reap.
    pub(super) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Milliseconds since the Unix epoch (the driver's event lines use the same clock).
pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
