//! The admin listener under hostile clients: silent and idle connections are closed, it
//! holds a bounded number of connections, and it does not spin when out of file
//! descriptors.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::slowloris::until_closed;
use crate::support::{self, admin_get};

use bytes::Bytes;
use grpcweb_test_support::{FakeBackend, Reply, within};
use http::StatusCode;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const CLOSED_WITHIN: Duration = Duration::from_secs(8);

async fn proxy_with_admin(
    tweak: impl FnOnce(&mut grpcweb_proxy::Config),
) -> (FakeBackend, support::Running) {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        tweak(c);
    })
    .await;
    (backend, proxy)
}

#[tokio::test]
async fn silent_admin_connections_are_closed() {
    let (_backend, proxy) =
        proxy_with_admin(|c| c.limits.header_read_timeout = Duration::from_millis(300)).await;
    let admin = proxy.admin.unwrap();
    for send in [
        &b""[..],
        b"GET /metrics HTTP/1.1\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        let mut tcp = TcpStream::connect(admin).await.unwrap();
        tcp.write_all(send).await.unwrap();
        within(CLOSED_WITHIN, until_closed(tcp))
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(send)));
    }
    assert_eq!(admin_get(admin, "/healthz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn idle_admin_connections_are_closed() {
    let (_backend, proxy) =
        proxy_with_admin(|c| c.limits.idle_timeout = Duration::from_millis(300)).await;
    let admin = proxy.admin.unwrap();
    let mut tcp = TcpStream::connect(admin).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: admin\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"ok\n") {
        let mut buf = [0u8; 1024];
        let n = within(CLOSED_WITHIN, tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(n, 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    within(CLOSED_WITHIN, until_closed(tcp))
        .await
        .expect("an idle keep-alive admin connection was kept");
}

/// Sends `GET /healthz` on a keep-alive connection and reads the answer.
async fn healthz(tcp: &mut TcpStream) -> anyhow::Result<()> {
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: admin\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    while !answer.ends_with(b"ok\n") {
        let mut buf = [0u8; 1024];
        let n = tcp.read(&mut buf).await?;
        anyhow::ensure!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// The admin listener serves at most 64 connections at once; the next waits in the
/// backlog until one closes.
#[tokio::test]
async fn admin_connections_are_capped() {
    let (_backend, proxy) = proxy_with_admin(|_| {}).await;
    let admin = proxy.admin.unwrap();
    let mut held = Vec::new();
    for _ in 0..64 {
        let mut tcp = TcpStream::connect(admin).await.unwrap();
        within(CLOSED_WITHIN, healthz(&mut tcp))
            .await
            .unwrap()
            .unwrap();
        held.push(tcp);
    }
    let mut next = TcpStream::connect(admin).await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(500), healthz(&mut next)).await;
    assert!(waiting.is_err(), "a 65th admin connection was served");
    held.pop();
    within(CLOSED_WITHIN, healthz(&mut next))
        .await
        .expect("not served after a slot was freed")
        .unwrap();
}

/// CPU time (user + system) a process has used, in clock ticks.
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[cfg(target_os = "linux")]
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[cfg(target_os = "linux")]
struct Child(std::process::Child);

#[cfg(target_os = "linux")]
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Out of file descriptors (EMFILE), the admin accept loop backs off instead of
/// retrying at once: the proxy, run with a small descriptor limit, stays idle.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn admin_accept_does_not_spin_when_out_of_descriptors() {
    let (listen, admin_port) = (free_port(), free_port());
    let admin: SocketAddr = ([127, 0, 0, 1], admin_port).into();
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 48 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_grpcweb-proxy"))
        .args(["--listen", &format!("127.0.0.1:{listen}")])
        .args(["--admin-listen", &admin.to_string()])
        .args(["--backend", "http://127.0.0.1:9"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = Child(child);
    let pid = child.0.id();
    let mut up = false;
    for _ in 0..100 {
        if TcpStream::connect(admin).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the proxy did not start");
    // Use up the proxy's descriptors with silent connections to the main port...
    let mut held = Vec::new();
    for _ in 0..80 {
        held.push(TcpStream::connect(("127.0.0.1", listen)).await.unwrap());
    }
    // ... then knock on the admin port: its accept now fails with EMFILE.
    for _ in 0..4 {
        held.push(TcpStream::connect(admin).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_ticks(pid) - start;
    // Ticks are 10 ms: a spinning loop burns a good part of the 300 (about 40% of a
    // core measured, on a busy machine), backing off about one a second.
    assert!(
        used < 20,
        "the proxy used {used} ticks of CPU in 3 s while out of descriptors"
    );
    drop(held);
}
