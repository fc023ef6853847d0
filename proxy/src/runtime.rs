//! The tokio runtime the proxy runs on, shaped by its worker-thread count: one thread
//! runs everything on tokio's current-thread scheduler; more share the multi-thread
//! scheduler's work-stealing pool.
//!
//! One thread spends about a fifth less CPU per 1 KiB call than two workers on the
//! multi-thread scheduler, with fewer syscalls and half the context switches, because a
//! call's client stream and its backend stream never wake each other across threads (no
//! futex, no eventfd write to unpark the other worker). Two workers carry more calls per
//! second on a busy machine and hold more of a sudden burst of new streams open (one
//! thread opens backend connections for them only between the streams' own work).
//! BENCHMARKS.md, "Syscalls per call", has the figures.

use std::io;

use tokio::runtime::{Builder, Runtime};

/// A runtime with `workers` threads (at least one), its I/O and timers enabled.
pub fn build(workers: usize) -> io::Result<Runtime> {
    let mut builder = if workers <= 1 {
        Builder::new_current_thread()
    } else {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn one_worker_is_the_current_thread_scheduler() {
        let flavor = |n| build(n).unwrap().handle().runtime_flavor();
        assert_eq!(flavor(1), RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(2), RuntimeFlavor::MultiThread);
        assert_eq!(flavor(4), RuntimeFlavor::MultiThread);
    }

    #[test]
    fn runs_io_and_timers() {
        let runtime = build(1).unwrap();
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            listener.local_addr().unwrap()
        });
        assert!(addr.port() > 0);
    }
}
