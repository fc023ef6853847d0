//! The `interop-server` binary: announces its port, serves, and exits cleanly on a signal.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use grpcweb_interop::pb::Empty;
use grpcweb_interop::pb::test_service_client::TestServiceClient;

/// Kills the child if the test fails before it is stopped on purpose.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn() -> (Server, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_interop-server"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn interop-server");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    let addr = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let addr: SocketAddr = addr.parse().expect("a socket address");
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    (server, addr)
}

#[tokio::test]
async fn announces_port_and_serves() {
    let (mut server, addr) = spawn();
    let mut client = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    client.empty_call(Empty {}).await.unwrap();
    drop(client);
    server.0.kill().unwrap();
    server.0.wait().unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn exits_cleanly_on_sigterm() {
    let (mut server, addr) = spawn();
    let mut client = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    client.empty_call(Empty {}).await.unwrap();

    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}
