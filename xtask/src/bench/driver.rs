//! A load driver or attacker from the interop crate (`soak-client`, `hostile-client`) run
//! as a child process: its result lines kept, its progress lines echoed, killed when
//! dropped before it exits.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;

use anyhow::{Context as _, Result, bail};

use crate::run::display;

/// A started driver, killed when dropped before it exits.
#[derive(Debug)]
pub(crate) struct Driver {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Driver {
    /// Starts `bin_dir/name args`; lines starting with `t=` (progress) are echoed, the
    /// others kept for [`Driver::finish`].
    pub(crate) fn start(bin_dir: &Path, name: &str, args: &[String]) -> Result<Self> {
        let mut cmd = Command::new(bin_dir.join(name));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        println!("$ {}", display(&cmd));
        let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let stdout: ChildStdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, lines) = mpsc::channel();
        let prefix = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("t=") {
                    println!("[{prefix}] {line}");
                } else {
                    let _ = tx.send(line);
                }
            }
        });
        Ok(Self {
            name: name.to_owned(),
            child,
            lines,
        })
    }

    /// Whether it has exited.
    pub(crate) fn done(&mut self) -> Result<bool> {
        Ok(self.child.try_wait()?.is_some())
    }

    /// Waits for the exit and returns the kept output lines.
    pub(crate) fn finish(mut self) -> Result<Vec<String>> {
        let status = self.child.wait()?;
        if !status.success() {
            bail!("{} failed ({status})", self.name);
        }
        // The reader thread ends with the pipe.
        Ok(self.lines.iter().collect())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
