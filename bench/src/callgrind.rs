//! Instructions per call from callgrind: a process run under `valgrind --tool=callgrind`
//! twice, with a small and a large number of the same call, and the difference of the two
//! totals divided by the difference in calls (so start-up and shutdown cancel out).
//! Instruction counts are stable from run to run on a shared, noisy machine (within
//! about 0.5% here), which wall-clock CPU time is not: they are the regression signal
//! for the proxy's per-call cost. They count user-space instructions only; the kernel's
//! share of a call (syscalls, loopback TCP) is not in them.

use anyhow::{Context as _, Result, bail};

/// The total instruction count (`summary:` or `totals:` line) of a callgrind output file.
pub fn total(out: &str) -> Result<u64> {
    out.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .context("no `summary:` line in the callgrind output")?
        .trim()
        .parse()
        .context("the `summary:` line is not a number")
}

/// Instructions per call, from the totals of a run of `small` calls and one of `large`.
pub fn per_call(small: (u64, u64), large: (u64, u64)) -> Result<u64> {
    let (calls_a, ir_a) = small;
    let (calls_b, ir_b) = large;
    if calls_b <= calls_a {
        bail!("the large run must make more calls than the small one");
    }
    let Some(diff) = ir_b.checked_sub(ir_a) else {
        bail!("the run with more calls counted fewer instructions ({ir_b} < {ir_a})");
    };
    Ok(diff / (calls_b - calls_a))
}

/// One function's own instructions (not those of what it calls), from `callgrind_annotate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Instructions counted in the function itself.
    pub instructions: u64,
    /// `crate::path::function` (or the C symbol), without its source file or object.
    pub function: String,
}

/// The frames of `callgrind_annotate`'s default (self cost) listing, in its order.
pub fn self_frames(annotate: &str) -> Vec<Frame> {
    annotate.lines().filter_map(frame).collect()
}

/// `  35,050,601 (12.18%)  FILE:FUNCTION [OBJECT]` -> the count and FUNCTION.
fn frame(line: &str) -> Option<Frame> {
    let line = line.trim_start();
    let (count, rest) = line.split_once(' ')?;
    let instructions = count.replace(',', "").parse().ok()?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('(')?.split_once(')')?.1.trim();
    // Totals, and the call lines of annotated source (`=> ...`), are not frames.
    if rest.starts_with("PROGRAM TOTALS") || rest.starts_with("=>") || rest.is_empty() {
        return None;
    }
    let rest = rest.rsplit_once(" [").map_or(rest, |(f, _)| f).trim();
    // FILE:FUNCTION; the function itself may hold `::`, the file holds no `:`
    // before its first `:`.
    let function = match rest.split_once(':') {
        Some((file, f)) if !file.contains(' ') && !f.starts_with(':') => f,
        _ => rest,
    };
    Some(Frame {
        instructions,
        function: function.to_owned(),
    })
}

/// Per call, each function's own instructions: the frames of the large run less those of
/// the small run, divided by the difference in calls; the `n` largest, largest first.
pub fn per_call_frames(small: &[Frame], large: &[Frame], calls: u64, n: usize) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    for f in large {
        let before: u64 = small
            .iter()
            .filter(|s| s.function == f.function)
            .map(|s| s.instructions)
            .sum();
        let per = f.instructions.saturating_sub(before) / calls.max(1);
        match out.iter_mut().find(|o| o.function == f.function) {
            Some(o) => o.instructions += per,
            None => out.push(Frame {
                instructions: per,
                function: f.function.clone(),
            }),
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.instructions));
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_total() {
        let out = "events: Ir\nsummary: 287716893\n";
        assert_eq!(total(out).unwrap(), 287_716_893);
        assert_eq!(total("totals: 12\n").unwrap(), 12);
        assert!(total("events: Ir\n").is_err());
    }

    #[test]
    fn divides_the_difference() {
        assert_eq!(
            per_call((200, 21_961_899), (2200, 231_250_650)).unwrap(),
            104_644
        );
        assert!(per_call((200, 10), (200, 20)).is_err());
        assert!(per_call((200, 30), (400, 20)).is_err());
    }

    #[test]
    fn frames_per_call() {
        let f = |n, name: &str| Frame {
            instructions: n,
            function: name.to_owned(),
        };
        let small = [f(1_000, "a"), f(500, "b"), f(90, "startup")];
        let large = [f(11_000, "a"), f(700, "b"), f(90, "startup"), f(3_000, "c")];
        assert_eq!(
            per_call_frames(&small, &large, 100, 2),
            vec![f(100, "a"), f(30, "c")]
        );
    }

    #[test]
    fn parses_annotate_lines() {
        let text = "\
--------------------------------------------------------------------------------
287,716,893 (100.0%)  PROGRAM TOTALS
--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
35,050,601 (12.18%)  ./string/../memmove-vec-unaligned-erms.S:__memcpy_avx_unaligned_erms [/usr/lib/libc.so.6]
 3,049,239 ( 1.32%)  /cargo/h2-0.4.20/src/hpack/encoder.rs:h2::frame::headers::HeaderBlock::into_encoding
   655,776 ( 0.28%)  core/src/iter/traits/iterator.rs:grpcweb_proxy::method::MethodPath::parse [/bin/grpcweb-proxy]
 1,000,000 (10.00%)  => /cargo/tokio/src/runtime/task/raw.rs:tokio::runtime::task::raw::poll (2x)
";
        let frames = self_frames(text);
        assert_eq!(
            frames,
            vec![
                Frame {
                    instructions: 35_050_601,
                    function: "__memcpy_avx_unaligned_erms".to_owned()
                },
                Frame {
                    instructions: 3_049_239,
                    function: "h2::frame::headers::HeaderBlock::into_encoding".to_owned()
                },
                Frame {
                    instructions: 655_776,
                    function: "grpcweb_proxy::method::MethodPath::parse".to_owned()
                },
            ]
        );
    }
}
