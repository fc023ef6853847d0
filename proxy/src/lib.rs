//! grpcweb-proxy
