//! The proxy's integration tests, in one test binary (one link instead of a dozen): each
//! module starts real servers on free loopback ports and stops them when it ends.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

mod backend_failures;
mod bad_input;
mod cli;
mod cors;
mod deadline_resets;
mod deploy;
mod forwarding;
mod http1;
mod interop_cases;
mod lifecycle;
mod many_streams;
mod observability;
mod routing;
mod streaming;
mod time_overflow;
mod tls;
