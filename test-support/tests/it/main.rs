//! The test support crate's own tests, in one test binary.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod fake_backend;
mod web_client;
