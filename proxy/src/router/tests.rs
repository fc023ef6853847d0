use super::*;

#[test]
fn most_specific_route_wins() {
    let routes = [
        (RouteMatch::Service("a.b.S".to_owned()), route(0, None)),
        (RouteMatch::Package("a.b".to_owned()), route(1, None)),
        (RouteMatch::Package("a".to_owned()), route(2, None)),
    ];
    let backend = |s: &str| find(&routes, s).ok().map(|r| r.backend);
    assert_eq!(backend("a.b.S"), Some(0));
    assert_eq!(backend("a.b.T"), Some(1));
    assert_eq!(backend("a.bx.T"), Some(2));
    assert_eq!(
        backend("a"),
        None,
        "a package route takes its services only"
    );
    assert_eq!(backend("ab.S"), None);
}

#[test]
fn a_method_exists_when_the_backend_answers_grpc_other_than_unimplemented() {
    let res = |status: u16, ct: &str, grpc_status: Option<&str>| {
        let mut b = Response::builder()
            .status(status)
            .header("content-type", ct);
        if let Some(s) = grpc_status {
            b = b.header("grpc-status", s);
        }
        b.body(()).unwrap()
    };
    assert!(method_exists(&res(200, "application/grpc", None)));
    assert!(method_exists(&res(
        200,
        "application/grpc+proto",
        Some("3")
    )));
    assert!(!method_exists(&res(200, "application/grpc", Some("12"))));
    assert!(!method_exists(&res(404, "application/grpc", None)));
    assert!(!method_exists(&res(200, "text/html", None)));
}
