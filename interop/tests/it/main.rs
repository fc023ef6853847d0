//! The interop crate's integration tests, in one test binary: the servers on free loopback
//! ports, called by the generated tonic clients, the gRPC-Web test client and the binaries.

mod demo;
mod grpc_web;
mod interop_server;
mod keepalive;
mod protos;
mod test_service;
