//! Syscalls, context switches and CPU time per call, counted by `perf stat` attached to
//! running processes (the proxy's threads, or nginx's master and workers) over two runs
//! of the same call, a small and a large number of them; the difference divided by the
//! difference in calls (so connection set-up and the attach cancel out). Callgrind's
//! instructions per call leave the kernel out; these counts show what a call costs there.
//! The counts depend on how calls batch into reads and writes, so on timing: they move a
//! few percent from run to run (more under a loaded machine), the median of several
//! rounds is what to compare.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};

/// The syscalls counted one by one (every other syscall is in the total only).
pub const SYSCALLS: [&str; 18] = [
    "read",
    "recvfrom",
    "recvmsg",
    "readv",
    "write",
    "writev",
    "sendto",
    "sendmsg",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "futex",
    "sched_yield",
    "accept4",
    "close",
    "madvise",
    "mmap",
    "munmap",
];

/// What one event counts, in the order [`perf_events`] gives them to `perf stat`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// Every syscall (`raw_syscalls:sys_enter`).
    Syscalls,
    /// Times a thread of the process was switched out (blocked in a wait, or preempted).
    ContextSwitches,
    /// CPU time of the process's threads, user and system, in nanoseconds.
    CpuNanos,
    /// Reads (`read`, `recvfrom`) that found nothing to read (`EAGAIN`).
    EmptyReads,
    /// One syscall of [`SYSCALLS`].
    Syscall(&'static str),
}

impl Event {
    /// How the report names it.
    pub fn label(&self) -> String {
        match self {
            Self::Syscalls => "all syscalls".to_owned(),
            Self::ContextSwitches => "context switches".to_owned(),
            Self::CpuNanos => "CPU time (µs)".to_owned(),
            Self::EmptyReads => "reads that found nothing (EAGAIN)".to_owned(),
            Self::Syscall(name) => format!("`{name}`"),
        }
    }
}

/// The events, in order, and the `perf stat -e` (and `--filter`) arguments that count
/// them. `EAGAIN` is -11 on Linux.
pub fn perf_events() -> (Vec<Event>, Vec<String>) {
    let mut events = vec![Event::Syscalls, Event::ContextSwitches, Event::CpuNanos];
    let mut args: Vec<String> = ["raw_syscalls:sys_enter", "context-switches", "task-clock"]
        .iter()
        .flat_map(|e| ["-e".to_owned(), (*e).to_owned()])
        .collect();
    for call in ["read", "recvfrom"] {
        events.push(Event::EmptyReads);
        args.extend([
            "-e".to_owned(),
            format!("syscalls:sys_exit_{call}"),
            "--filter".to_owned(),
            "ret == -11".to_owned(),
        ]);
    }
    for call in SYSCALLS {
        events.push(Event::Syscall(call));
        args.extend(["-e".to_owned(), format!("syscalls:sys_enter_{call}")]);
    }
    (events, args)
}

/// Totals of one run, per event (events listed twice, as [`Event::EmptyReads`], add up).
pub type Counts = BTreeMap<Event, f64>;

/// The counts of `perf stat -x,` output, matched in order with `events`. `task-clock` is
/// in milliseconds there, made nanoseconds here.
pub fn parse(output: &str, events: &[Event]) -> Result<Counts> {
    let values: Vec<f64> = output
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (value, rest) = l.split_once(',').unwrap_or((l, ""));
            let unit_and_name: Vec<&str> = rest.splitn(3, ',').collect();
            let value: f64 = value
                .trim()
                .parse()
                .with_context(|| format!("perf counted no value: {l:?}"))?;
            let millis = unit_and_name.first().is_some_and(|u| *u == "msec");
            Ok(if millis { value * 1e6 } else { value })
        })
        .collect::<Result<_>>()?;
    if values.len() != events.len() {
        bail!(
            "perf printed {} counts for {} events:\n{output}",
            values.len(),
            events.len()
        );
    }
    let mut counts = Counts::new();
    for (event, value) in events.iter().zip(values) {
        *counts.entry(event.clone()).or_default() += value;
    }
    Ok(counts)
}

/// Per call: the large run's counts less the small run's, divided by the calls between
/// (never below zero: a count that did not grow is noise).
pub fn per_call(small: &Counts, large: &Counts, calls: u64) -> Counts {
    large
        .iter()
        .map(|(event, &n)| {
            let before = small.get(event).copied().unwrap_or(0.0);
            (event.clone(), ((n - before) / calls.max(1) as f64).max(0.0))
        })
        .collect()
}

/// Per event, the median of several rounds' per-call counts.
pub fn median(rounds: &[Counts]) -> Counts {
    let mut out = Counts::new();
    let Some(first) = rounds.first() else {
        return out;
    };
    for event in first.keys() {
        let mut values: Vec<f64> = rounds
            .iter()
            .map(|r| r.get(event).copied().unwrap_or(0.0))
            .collect();
        values.sort_by(f64::total_cmp);
        out.insert(event.clone(), values[values.len() / 2]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_arguments_line_up() {
        let (events, args) = perf_events();
        let counted = args.iter().filter(|a| *a == "-e").count();
        assert_eq!(counted, events.len());
        assert_eq!(events.len(), 3 + 2 + SYSCALLS.len());
        let filter = args.iter().position(|a| a == "--filter").unwrap();
        assert_eq!(args[filter - 1], "syscalls:sys_exit_read");
    }

    #[test]
    fn parses_perf_csv() {
        let events = [
            Event::Syscalls,
            Event::CpuNanos,
            Event::EmptyReads,
            Event::EmptyReads,
            Event::Syscall("writev"),
        ];
        let out = "# started on Mon Dec  7 00:29:23 2026\n\n\
                   9379,,raw_syscalls:sys_enter,62852189,100.00,,\n\
                   62.85,msec,task-clock,62852189,100.00,0.103,CPUs utilized\n\
                   1,,syscalls:sys_exit_read,62852189,100.00,,\n\
                   3,,syscalls:sys_exit_recvfrom,62852189,100.00,,\n\
                   4686,,syscalls:sys_enter_writev,62852189,100.00,,\n";
        let counts = parse(out, &events).unwrap();
        assert_eq!(counts[&Event::Syscalls], 9379.0);
        assert_eq!(counts[&Event::CpuNanos], 62_850_000.0);
        assert_eq!(counts[&Event::EmptyReads], 4.0);
        assert_eq!(counts[&Event::Syscall("writev")], 4686.0);
        assert!(parse(out, &events[..4]).is_err());
        assert!(parse("<not counted>,,x,0,0,,\n", &events[..1]).is_err());
    }

    #[test]
    fn divides_the_difference_and_takes_the_median() {
        let counts = |n: f64| Counts::from([(Event::Syscalls, n)]);
        let per = per_call(&counts(1_000.0), &counts(9_000.0), 2_000);
        assert_eq!(per[&Event::Syscalls], 4.0);
        assert_eq!(
            per_call(&counts(10.0), &counts(5.0), 1)[&Event::Syscalls],
            0.0
        );
        let m = median(&[counts(3.0), counts(1.0), counts(2.0)]);
        assert_eq!(m[&Event::Syscalls], 2.0);
        assert!(median(&[]).is_empty());
    }
}
