//! The load tools behind `cargo xtask bench`, `cargo xtask bench hostile` and
//! `cargo xtask soak`: xtask installs the tools, builds and starts the processes; this
//! crate generates the load, reads what the processes use, and writes the reports.
//!
//! - [`callgrind`]: instructions per call from two callgrind runs, and per function.
//! - [`h2load`]: one h2load run and its summary, latency percentiles from its log.
//! - [`requests`]: the TestService request bodies, framed for gRPC and gRPC-Web.
//! - [`procfs`]: CPU time, resident memory and descriptors of a process, from `/proc`.
//! - [`metrics`]: samples from the proxy's Prometheus `/metrics` page.
//! - [`markdown`]: a section of BENCHMARKS.md replaced between its markers.
//! - [`proxy`]: the benchmark's paths and its unary, latency, streaming and idle-stream
//!   measurements, and their report.
//! - [`hostile`]: the report of the proxy under attack.
//! - [`syscalls`]: syscalls, context switches and CPU time per call, from `perf stat`.
//! - [`soak`]: the endurance run's tallies, checks and report.
//!
//! Only `std`, `anyhow` and `grpcweb-protocol` (for the frames, varints and base64 of the
//! request bodies). Linux only (`/proc`).

pub mod callgrind;
pub mod h2load;
pub mod hostile;
pub mod markdown;
pub mod metrics;
pub mod procfs;
pub mod proxy;
pub mod requests;
pub mod soak;
pub mod syscalls;
