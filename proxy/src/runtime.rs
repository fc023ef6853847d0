//! The tokio runtimes the proxy runs on. With the per-worker scheduler (the default)
//! each worker thread runs a current-thread runtime of its own, and a connection's calls
//! and their backend connections stay on one worker; with the shared scheduler the
//! workers share tokio's work-stealing multi-thread pool.
//!
//! A worker of its own takes about a quarter less CPU per 1 KiB call than workers that
//! share their tasks, with fewer syscalls and a sixth of the context switches, because a
//! call's client stream and its backend stream never wake each other across threads (no
//! futex, no eventfd write to unpark the other worker); with the connections spread over
//! the workers it also carries more calls per second. BENCHMARKS.md, "The runtime's
//! shape", has the figures.

use std::cell::Cell;
use std::io;

use tokio::runtime::{Builder, Runtime};

use crate::config::Scheduler;

thread_local! {
    /// Which of the proxy's per-worker runtimes this thread runs (0 on any other thread).
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The runtime the proxy starts on: with [`Scheduler::PerWorker`] (or one worker) a
/// current-thread runtime, worker 0; the other workers' runtimes are started by
/// [`Proxy::serve`](crate::Proxy::serve). With [`Scheduler::Shared`], `workers` threads
/// of the multi-thread scheduler.
pub fn build(workers: usize, scheduler: Scheduler) -> io::Result<Runtime> {
    match scheduler {
        Scheduler::PerWorker => build_shared(1),
        Scheduler::Shared => build_shared(workers),
    }
}

/// A runtime with `workers` threads (at least one), its I/O and timers enabled.
fn build_shared(workers: usize) -> io::Result<Runtime> {
    let mut builder = if workers <= 1 {
        Builder::new_current_thread()
    } else {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    builder.enable_all().build()
}

/// The per-worker runtime this thread runs: 0 for worker 0 and for every thread that is
/// not one of the proxy's own workers.
pub(crate) fn worker() -> usize {
    WORKER.with(Cell::get)
}

/// Starts worker `index` on a thread of its own: a current-thread runtime that runs
/// `work` to its end, then drops every task still on it.
pub(crate) fn spawn_worker<F>(
    index: usize,
    work: impl FnOnce() -> F + Send + 'static,
) -> io::Result<std::thread::JoinHandle<()>>
where
    F: std::future::Future<Output = ()>,
{
    let runtime = build_shared(1)?;
    std::thread::Builder::new()
        .name(format!("grpcweb-worker-{index}"))
        .spawn(move || {
            WORKER.with(|w| w.set(index));
            runtime.block_on(work());
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn one_worker_is_the_current_thread_scheduler() {
        let flavor = |n, s| build(n, s).unwrap().handle().runtime_flavor();
        assert_eq!(flavor(1, Scheduler::Shared), RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(2, Scheduler::Shared), RuntimeFlavor::MultiThread);
        assert_eq!(flavor(4, Scheduler::Shared), RuntimeFlavor::MultiThread);
        assert_eq!(
            flavor(4, Scheduler::PerWorker),
            RuntimeFlavor::CurrentThread
        );
    }

    #[test]
    fn runs_io_and_timers() {
        let runtime = build(1, Scheduler::Shared).unwrap();
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            listener.local_addr().unwrap()
        });
        assert!(addr.port() > 0);
    }
}
