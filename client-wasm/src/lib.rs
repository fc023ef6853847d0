//! grpcweb-client: the browser runtime (work in progress).
