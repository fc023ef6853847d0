//! `cargo xtask demo`: build the binaries, start interop-server behind grpcweb-proxy on
//! 127.0.0.1:8080, say what runs where, and wait until the user stops it.

use std::io::{self, BufRead as _, BufReader, IsTerminal as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::run::{display, target_dir, workspace_root};
use crate::test::build_bins;

const PROXY_LISTEN: &str = "127.0.0.1:8080";
const ALLOWED_ORIGIN: &str = "http://localhost:8080";
/// How long a binary may take to print its `listening on ADDR` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Runs the demo until Ctrl-C (or Enter, when stdin is a terminal).
pub(crate) fn run() -> Result<()> {
    let root = workspace_root();
    build_bins(&root)?;
    let bin_dir = target_dir(&root).join("debug");

    let mut children = Children::default();
    let backend = children.start(&bin_dir, "interop-server", &["--port", "0"])?;
    let backend_url = format!("http://{backend}");
    let proxy = children.start(
        &bin_dir,
        "grpcweb-proxy",
        &[
            "--listen",
            PROXY_LISTEN,
            "--backend",
            &backend_url,
            "--allowed-origin",
            ALLOWED_ORIGIN,
        ],
    )?;

    println!(
        "
demo is running:
  interop-server  {backend_url:<24} grpc.testing.TestService, native gRPC over h2c
  grpcweb-proxy   http://{proxy:<17} gRPC-Web over HTTP/1.1 and h2c -> {backend_url}
                                           browsers allowed from {ALLOWED_ORIGIN}

The browser demo page is not written yet (it comes with examples/). Meanwhile, an
EmptyCall through the proxy (an empty message frame in, a message and a trailer frame out):
  head -c 5 /dev/zero | curl -s -X POST -H 'content-type: application/grpc-web+proto' \\
    --data-binary @- http://{proxy}/grpc.testing.TestService/EmptyCall | od -A d -c

Stop with Ctrl-C{}.",
        if io::stdin().is_terminal() {
            " or Enter"
        } else {
            ""
        }
    );
    children.wait_for_stop()
}

/// Extracts ADDR from a `listening on ADDR` line.
fn listening_addr(line: &str) -> Option<&str> {
    let addr = line.trim_end().strip_prefix("listening on ")?;
    (!addr.is_empty() && !addr.contains(char::is_whitespace)).then_some(addr)
}

/// Started children, killed when this is dropped (on success, error or early exit).
///
/// Ctrl-C goes to the whole foreground process group, so the children get their own
/// SIGINT and xtask ends without running this; std has no signal handler to do better.
#[derive(Debug, Default)]
struct Children {
    running: Vec<(String, Child)>,
}

impl Children {
    /// Starts `bin_dir/name args` and returns the address from its `listening on` line.
    /// Its later stdout lines are echoed with a `[name]` prefix; stderr is inherited.
    fn start(&mut self, bin_dir: &Path, name: &str, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(bin_dir.join(name));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        println!("$ {}", display(&cmd));
        let mut child = cmd
            .spawn()
            .with_context(|| format!("could not start {}", bin_dir.join(name).display()))?;
        let stdout = child.stdout.take().context("child has no stdout pipe")?;
        self.running.push((name.to_owned(), child));

        let (addr_tx, addr_rx) = mpsc::channel();
        let prefix = name.to_owned();
        thread::spawn(move || {
            let mut addr_tx = Some(addr_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = addr_tx.as_ref().and(listening_addr(&line)) {
                    let _ = addr_tx.take().map(|tx| tx.send(addr.to_owned()));
                } else {
                    println!("[{prefix}] {line}");
                }
            }
        });
        match addr_rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => Ok(addr),
            Err(RecvTimeoutError::Timeout) => bail!(
                "{name} printed no `listening on ADDR` line within {}s",
                START_TIMEOUT.as_secs()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                bail!(
                    "{name} closed its stdout before printing `listening on ADDR` (see its output above)"
                )
            }
        }
    }

    /// Returns when the user presses Enter (if stdin is a terminal); fails as soon as a
    /// child exits by itself.
    fn wait_for_stop(&mut self) -> Result<()> {
        let (stop_tx, stop_rx) = mpsc::channel();
        if io::stdin().is_terminal() {
            thread::spawn(move || {
                let mut line = String::new();
                // A line or end of input (Ctrl-D) both mean stop.
                let _ = io::stdin().lock().read_line(&mut line);
                let _ = stop_tx.send(());
            });
        }
        loop {
            for (name, child) in &mut self.running {
                if let Some(status) = child.try_wait()? {
                    bail!("{name} exited ({status}); stopping the demo");
                }
            }
            match stop_rx.recv_timeout(POLL_INTERVAL) {
                Ok(()) => {
                    println!("stopping");
                    return Ok(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                // No stdin reader (stdin is not a terminal): only Ctrl-C or a child's exit
                // ends the demo.
                Err(RecvTimeoutError::Disconnected) => thread::sleep(POLL_INTERVAL),
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        // Last started first: the proxy before its backend.
        for (_, child) in self.running.iter_mut().rev() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listening_line() {
        assert_eq!(
            listening_addr("listening on 127.0.0.1:8080"),
            Some("127.0.0.1:8080")
        );
        assert_eq!(listening_addr("listening on [::1]:80\r"), Some("[::1]:80"));
        assert_eq!(listening_addr("listening on "), None);
        assert_eq!(listening_addr("listening on a b"), None);
        assert_eq!(listening_addr("starting"), None);
    }
}
