//! What a process uses, read from `/proc`: CPU time, resident memory, open descriptors,
//! its children; and the machine's load average.

use std::process::Command;

/// utime + stime of processes, in clock ticks.
pub fn cpu_ticks(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|&pid| ticks_of(pid)).sum()
}

/// utime + stime of one process, in clock ticks.
pub fn ticks_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A process's open file descriptors.
pub fn fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// A process's resident set, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A process's peak resident set over its life ("high water mark"), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// A `kB` field of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The process and its direct children (nginx's workers).
pub fn with_children(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        pids.extend(
            children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    pids
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 when that fails).
pub fn ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` writes them.
pub fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(fds(pid).is_some_and(|n| n > 0));
        assert!(rss_kib(pid).is_some_and(|n| n > 0));
        // Not compared with the RSS read before it: the kernel's RSS counters are cached
        // per CPU and its high-water mark is brought up to date lazily, so a peak read
        // after a drop (other tests free memory) can be below the RSS read before it.
        assert!(peak_rss_kib(pid).is_some_and(|n| n > 0));
        assert!(ticks_of(pid).is_some());
        assert_eq!(with_children(pid)[0], pid);
        assert!(load_average().is_some_and(|l| l.split(' ').count() == 3));
    }
}
