//! The deployment files in deploy/: every manifest parses, the proxy's arguments and
//! config in them pass our own validation, and ports, probes and paths refer to things
//! that exist.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use clap::Parser as _;
use grpcweb_proxy::Config;
use grpcweb_proxy::cli::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;
use yaml_rust2::{Yaml, YamlLoader};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn load(name: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(deploy_dir().join("kubernetes").join(name)).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn strs(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The proxy container's configuration, through our own flag and file parsing.
fn proxy_config(docs: &[Yaml], container: &Yaml, name: &str) -> Config {
    let mut args = strs(&container["args"]);
    if let Some(i) = args.iter().position(|a| a == "--config") {
        // Replace the mounted path with the ConfigMap's content written to a file.
        let mounted = Path::new(&args[i + 1]).to_owned();
        let key = mounted.file_name().unwrap().to_str().unwrap();
        let maps = kind(docs, "ConfigMap");
        let text = maps
            .iter()
            .find_map(|m| m["data"][key].as_str())
            .unwrap_or_else(|| panic!("{name}: no ConfigMap holds {key}"));
        let file =
            std::env::temp_dir().join(format!("grpcweb-deploy-{}-{name}.toml", std::process::id()));
        std::fs::write(&file, text).unwrap();
        args[i + 1] = file.to_str().unwrap().to_owned();
    }
    let parsed =
        Args::try_parse_from(std::iter::once("grpcweb-proxy".to_owned()).chain(args)).unwrap();
    let config = parsed
        .into_config()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    config
}

fn port_named(container: &Yaml, name: &str) -> Option<i64> {
    container["ports"]
        .as_vec()?
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["containerPort"].as_i64())
}

fn check(name: &str) {
    let docs = load(name);
    let deployments = kind(&docs, "Deployment");
    assert!(!deployments.is_empty(), "{name}: no Deployment");
    for deployment in &deployments {
        let pod = &deployment["spec"]["template"]["spec"];
        let containers = pod["containers"].as_vec().unwrap();
        let proxy = containers
            .iter()
            .find(|c| c["name"].as_str() == Some("grpcweb-proxy"))
            .unwrap();
        let config = proxy_config(&docs, proxy, name);

        assert_eq!(
            port_named(proxy, "grpc-web"),
            Some(i64::from(config.listen.port())),
            "{name}: grpc-web port"
        );
        let admin = config
            .admin_listen
            .unwrap_or_else(|| panic!("{name}: probes need --admin-listen"));
        assert_eq!(
            port_named(proxy, "admin"),
            Some(i64::from(admin.port())),
            "{name}: admin port"
        );
        admin_is_protected(&docs, deployment, admin, name);
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &proxy[probe]["httpGet"];
            assert_eq!(get["path"].as_str(), Some(path), "{name}: {probe}");
            assert_eq!(get["port"].as_str(), Some("admin"), "{name}: {probe} port");
        }
        let pause = proxy["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}: preStop"));
        let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap();
        let needed =
            Duration::from_secs(u64::try_from(pause).unwrap()) + config.limits.drain_timeout;
        assert!(
            Duration::from_secs(u64::try_from(grace).unwrap()) > needed,
            "{name}: grace period {grace}s < preStop + drain {needed:?}"
        );

        // The backends the proxy is told about exist in the pod or by name.
        for backend in &config.backends {
            for endpoint in &backend.endpoints {
                if endpoint.contains("127.0.0.1") {
                    let port: i64 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
                    assert!(
                        containers
                            .iter()
                            .any(|c| c["ports"].as_vec().is_some_and(|ps| ps
                                .iter()
                                .any(|p| p["containerPort"].as_i64() == Some(port)))),
                        "{name}: nothing in the pod listens on {endpoint}"
                    );
                }
            }
        }
        for service in kind(&docs, "Service") {
            for port in service["spec"]["ports"].as_vec().unwrap() {
                let target = port["targetPort"].as_str().unwrap();
                assert!(
                    containers.iter().any(|c| port_named(c, target).is_some()),
                    "{name}: service targets unknown port {target}"
                );
            }
        }
    }
}

/// `/metrics` is not for the world: the admin listener is on loopback, or a
/// NetworkPolicy lets only chosen peers reach its port (kubelet probes come from the
/// pod's node, which NetworkPolicy always allows) while the gRPC-Web port stays open.
fn admin_is_protected(docs: &[Yaml], deployment: &Yaml, admin: std::net::SocketAddr, name: &str) {
    if admin.ip().is_loopback() {
        return;
    }
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selects_pod = |policy: &&Yaml| {
        policy["spec"]["podSelector"]["matchLabels"]
            .as_hash()
            .is_some_and(|m| m.iter().all(|(k, v)| labels[k.as_str().unwrap()] == *v))
    };
    let policies: Vec<_> = kind(docs, "NetworkPolicy")
        .into_iter()
        .filter(selects_pod)
        .filter(|p| {
            strs(&p["spec"]["policyTypes"])
                .iter()
                .any(|t| t == "Ingress")
        })
        .collect();
    assert!(
        !policies.is_empty(),
        "{name}: admin port on {admin} with no NetworkPolicy: every pod in the cluster can read /metrics"
    );
    let opens = |rule: &Yaml, port: &str| {
        rule["ports"]
            .as_vec()
            .is_none_or(|ps| ps.iter().any(|p| p["port"].as_str() == Some(port)))
    };
    let rules: Vec<&Yaml> = policies
        .iter()
        .flat_map(|p| p["spec"]["ingress"].as_vec().into_iter().flatten())
        .collect();
    for rule in &rules {
        if opens(rule, "admin") {
            assert!(
                rule["from"].as_vec().is_some_and(|f| !f.is_empty()),
                "{name}: a NetworkPolicy rule opens the admin port to everyone"
            );
        }
    }
    assert!(
        rules.iter().any(|r| opens(r, "grpc-web")),
        "{name}: the NetworkPolicy shuts the grpc-web port"
    );
}

#[test]
fn sidecar_manifest_is_consistent() {
    check("sidecar.yaml");
}

#[test]
fn standalone_manifest_is_consistent() {
    check("standalone.yaml");
}

#[test]
fn dockerfile_exposes_the_ports_the_manifests_use() {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    assert!(
        text.lines().any(|l| l.trim() == "EXPOSE 8080 9901"),
        "{text}"
    );
    assert!(text.contains("-p grpcweb-proxy"));
    assert!(text.contains(r#"ENTRYPOINT ["/usr/local/bin/grpcweb-proxy"]"#));
}
