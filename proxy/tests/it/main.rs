//! The proxy's integration tests, in one test binary (one link instead of a dozen): each
//! module starts real servers on free loopback ports and stops them when it ends.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

mod admin_hardening;
mod backend_failures;
mod bad_input;
mod cli;
mod cors;
mod deadline_resets;
mod deploy;
mod drain_pending;
mod error_messages;
mod forwarding;
mod h2_abuse;
mod header_limits;
mod http1;
mod identity_headers;
mod interop_cases;
mod json_calls;
mod json_compression;
mod json_metrics;
mod lifecycle;
mod many_streams;
mod metrics_hostile;
mod native_limits;
mod observability;
mod paths;
mod rebinding;
mod reflection;
mod reflection_build;
mod reflection_limits;
mod request_backpressure;
mod request_memory;
mod request_streams;
mod rest_calls;
mod rest_streaming;
mod routing;
mod slow_readers;
mod slowloris;
mod streaming;
mod time_overflow;
mod tls;
mod tls_hardening;
mod trailer_frames;
mod transcoding_config;
mod upstream_limits;
