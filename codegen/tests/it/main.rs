//! The plugin's integration tests, in one test binary: golden files and the protoc/buf
//! contract.

mod golden;
mod plugin;
