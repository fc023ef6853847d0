//! REST requests made of arbitrary paths, queries and bodies: an answer or an error,
//! never a panic.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use grpcweb_transcode::{Descriptors, JsonOptions, RestRoutes, request_message};
use proptest::prelude::*;
use std::sync::OnceLock;

fn routes() -> &'static RestRoutes {
    static ROUTES: OnceLock<RestRoutes> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../protos");
        let set = protox::Compiler::new([root])
            .unwrap()
            .include_imports(true)
            .open_files(["transcoding/v1/echo.proto"])
            .unwrap()
            .encode_file_descriptor_set();
        let path = std::env::temp_dir().join(format!("rest-input-{}.binpb", std::process::id()));
        std::fs::write(&path, set).unwrap();
        let d = Descriptors::load(&[path]).unwrap();
        let routes = RestRoutes::new([&d], &[]).unwrap();
        assert!(routes.bindings().len() >= 10);
        routes
    })
}

proptest! {
    #[test]
    fn any_request_is_answered_without_a_panic(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "SEARCH"]),
        path in "/v1/(shelves|files|nested|fail)(/[a-z0-9%:.]{0,6}){0,4}",
        query in "([a-z.]{1,12}=[a-zA-Z0-9%+_=-]{0,8}&?){0,5}",
        body in prop::collection::vec(any::<u8>(), 0..64),
        json_body in r#"\{("(name|label|id|numbers|nested|shelf|kind)": ?("x"|1|-1|true|\[1\]|\{\}|null), ?){0,3}\}"#,
    ) {
        let method = http::Method::from_bytes(method.as_bytes()).unwrap();
        if let Some(Ok(matched)) = routes().find(&method, &path) {
            for body in [&body[..], json_body.as_bytes()] {
                let _ = request_message(&matched, Some(&query), body, JsonOptions::default());
            }
        }
    }
}

/// A message that holds itself, bound by a GET: query parameters name fields of fields.
fn deep_routes() -> RestRoutes {
    let dir = std::env::temp_dir().join(format!("rest-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("deep.proto"),
        r#"syntax = "proto3";
package deep.v1;
import "google/api/annotations.proto";
message Node { string name = 1; Node child = 2; }
service Deep {
  rpc Get(Node) returns (Node) { option (google.api.http) = { get: "/v1/deep" }; }
}
"#,
    )
    .unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../protos");
    let set = protox::Compiler::new([dir.as_path(), std::path::Path::new(root)])
        .unwrap()
        .include_imports(true)
        .open_files(["deep.proto"])
        .unwrap()
        .encode_file_descriptor_set();
    let path = dir.join("deep.binpb");
    std::fs::write(&path, set).unwrap();
    let d = Descriptors::load(&[path]).unwrap();
    RestRoutes::new([&d], &[]).unwrap()
}

/// A query parameter's field path is held to a depth (the JSON a REST body may nest is,
/// too): thousands of `child.` steps are a 400, not a stack overflow.
#[test]
fn deep_query_field_paths_are_refused() {
    let routes = deep_routes();
    let matched = routes
        .find(&http::Method::GET, "/v1/deep")
        .unwrap()
        .unwrap();
    let query = |depth: usize| format!("{}name=x", "child.".repeat(depth));
    let shallow = request_message(&matched, Some(&query(20)), b"", JsonOptions::default());
    assert!(shallow.is_ok(), "{shallow:?}");
    for depth in [40, 10_000] {
        let err = request_message(&matched, Some(&query(depth)), b"", JsonOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains("deeper than"), "{depth}: {err}");
    }
}

/// A path of thousands of segments matches no binding (it is not split once per binding);
/// a `**` variable still takes a deep path.
#[test]
fn paths_of_too_many_segments_match_nothing() {
    let deep = format!("/v1/files/{}", vec!["d"; 200].join("/"));
    assert!(matches!(
        routes().find(&http::Method::GET, &deep),
        Some(Ok(_))
    ));
    let slashes = format!("/v1/files/{}", "/".repeat(10_000));
    assert!(routes().find(&http::Method::GET, &slashes).is_none());
}
