//! Long-running child processes of the tasks (servers, proxies): started, their
//! `listening on ADDR` line awaited, their output echoed, and killed when the set drops.

use std::io::{self, BufRead as _, BufReader, IsTerminal as _};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::run::display;

/// How long a started child may take to print its `listening on ADDR` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A port that was free a moment ago (for programs that cannot report the one they got).
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Extracts ADDR from a `listening on ADDR` line.
pub(crate) fn listening_addr(line: &str) -> Option<&str> {
    let addr = line.trim_end().strip_prefix("listening on ")?;
    (!addr.is_empty() && !addr.contains(char::is_whitespace)).then_some(addr)
}

/// Started children, killed when this is dropped (on success, error or early exit).
///
/// Ctrl-C goes to the whole foreground process group, so the children get their own
/// SIGINT and xtask ends without running this; std has no signal handler to do better.
#[derive(Debug, Default)]
pub(crate) struct Children {
    running: Vec<(String, Child)>,
    /// Environment variables given to every child started after they are set.
    pub(crate) env: Vec<(String, String)>,
}

impl Children {
    /// Starts `bin_dir/name args` and returns the address from its `listening on` line.
    /// Its later stdout lines are echoed with a `[name]` prefix; stderr is inherited.
    pub(crate) fn start(&mut self, bin_dir: &Path, name: &str, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(bin_dir.join(name));
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
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

    /// The process id of the child started as `name`.
    pub(crate) fn pid(&self, name: &str) -> Option<u32> {
        self.running
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
    }

    /// Returns when the user presses Enter (if stdin is a terminal) or a child exits
    /// cleanly (it got Ctrl-C); fails as soon as a child fails.
    pub(crate) fn wait_for_stop(&mut self) -> Result<()> {
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
                    // A clean exit is a child that got the Ctrl-C too (when this process
                    // ignores SIGINT, as background jobs of a non-interactive shell do).
                    if status.success() {
                        println!("{name} stopped; stopping the demo");
                        return Ok(());
                    }
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
