//! The demo page's web server: the files of `examples/web/dist`, read once at start, plus a
//! `/config.json` that tells the page where the proxy is. Plain `std::net`, one thread per
//! connection, one request per connection; loopback only. With `demo --tls`, over TLS
//! (rustls, HTTP/1.1).
//!
//! Every answer carries a Content-Security-Policy that allows scripts from the page's own
//! origin only, WebAssembly compilation (`'wasm-unsafe-eval'`, which the runtime needs) and
//! connections to the page's origin and the proxy's.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead as _, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// Longest request head we read.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One file to serve.
#[derive(Debug)]
struct Asset {
    content_type: &'static str,
    body: Vec<u8>,
}

/// What the server answers, by URL path.
#[derive(Debug)]
pub(crate) struct Site {
    assets: HashMap<String, Asset>,
    csp: String,
}

impl Site {
    /// Reads every file directly in `dist` and adds `/config.json` naming `proxy_url`.
    pub(crate) fn load(dist: &Path, proxy_url: &str) -> Result<Self> {
        let mut assets = HashMap::new();
        for entry in fs::read_dir(dist).with_context(|| format!("reading {}", dist.display()))? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !path.is_file() {
                continue;
            }
            let body = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let asset = Asset {
                content_type: content_type(name),
                body,
            };
            assets.insert(format!("/{name}"), asset);
        }
        if !assets.contains_key("/index.html") {
            anyhow::bail!("{} has no index.html", dist.display());
        }
        let config = Asset {
            content_type: "application/json",
            body: format!("{{\"proxyUrl\":\"{}\"}}\n", json_escape(proxy_url)).into_bytes(),
        };
        assets.insert("/config.json".to_owned(), config);
        Ok(Site {
            assets,
            csp: format!(
                "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                 img-src 'self' data:; connect-src 'self' {proxy_url}; base-uri 'none'; \
                 form-action 'none'; frame-ancestors 'none'"
            ),
        })
    }

    /// Serves on `listener` from a background thread, for as long as the process lives;
    /// over TLS with `tls`.
    pub(crate) fn spawn(self, listener: TcpListener, tls: Option<Arc<ServerConfig>>) {
        let site = Arc::new(self);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let site = Arc::clone(&site);
                let tls = tls.clone();
                thread::spawn(move || {
                    // A client that goes away mid-request (or fails the handshake) is not
                    // our problem.
                    let _ = site.serve(stream, tls);
                });
            }
        });
    }

    fn serve(&self, stream: TcpStream, tls: Option<Arc<ServerConfig>>) -> io::Result<()> {
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_write_timeout(Some(READ_TIMEOUT))?;
        match tls {
            None => self.answer(stream),
            Some(config) => {
                let connection = ServerConnection::new(config).map_err(io::Error::other)?;
                let mut tls = StreamOwned::new(connection, stream);
                self.answer(&mut tls)?;
                tls.conn.send_close_notify();
                tls.flush()
            }
        }
    }

    fn answer<S: Read + Write>(&self, stream: S) -> io::Result<()> {
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || head.len() + line.len() > MAX_HEAD {
                return Ok(());
            }
            let end = line == "\r\n" || line == "\n";
            head.push_str(&line);
            if end {
                break;
            }
        }
        let (status, asset, head_only) = self.route(head.lines().next().unwrap_or_default());
        let out = reader.get_mut();
        let (content_type, body): (&str, &[u8]) = match asset {
            Some(a) => (a.content_type, &a.body),
            None => ("text/plain; charset=utf-8", status.as_bytes()),
        };
        write!(
            out,
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             cache-control: no-store\r\ncontent-security-policy: {}\r\n\
             x-content-type-options: nosniff\r\nreferrer-policy: no-referrer\r\n\
             connection: close\r\n\r\n",
            body.len(),
            self.csp
        )?;
        if !head_only {
            out.write_all(body)?;
        }
        out.flush()
    }

    /// The status line, the asset (for 200) and whether the body is left out (HEAD).
    fn route(&self, request_line: &str) -> (&'static str, Option<&Asset>, bool) {
        let mut parts = request_line.split(' ');
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return ("400 Bad Request", None, false);
        };
        let head_only = match method {
            "GET" => false,
            "HEAD" => true,
            _ => return ("405 Method Not Allowed", None, false),
        };
        let path = target.split(['?', '#']).next().unwrap_or_default();
        let path = if path == "/" { "/index.html" } else { path };
        match self.assets.get(path) {
            Some(asset) => ("200 OK", Some(asset), head_only),
            None => ("404 Not Found", None, head_only),
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn json_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c.is_control() => format!("\\u{:04x}", u32::from(c)).chars().collect(),
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        let dir = std::env::temp_dir().join(format!("xtask-site-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("index.html"), "<h1>hi</h1>").unwrap();
        fs::write(dir.join("app.js"), "export {};").unwrap();
        let site = Site::load(&dir, "http://127.0.0.1:8081").unwrap();
        fs::remove_dir_all(&dir).unwrap();
        site
    }

    fn get(addr: std::net::SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_files_config_and_csp_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        site().spawn(listener, None);

        let index = get(addr, "GET /?x=1 HTTP/1.1\r\nhost: a\r\n\r\n");
        assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
        assert!(index.contains("content-type: text/html; charset=utf-8\r\n"));
        assert!(index.contains("script-src 'self' 'wasm-unsafe-eval'"));
        assert!(index.contains("connect-src 'self' http://127.0.0.1:8081;"));
        assert!(index.ends_with("\r\n\r\n<h1>hi</h1>"));

        let config = get(addr, "GET /config.json HTTP/1.1\r\n\r\n");
        assert!(
            config.ends_with("{\"proxyUrl\":\"http://127.0.0.1:8081\"}\n"),
            "{config}"
        );

        let head = get(addr, "HEAD /app.js HTTP/1.1\r\n\r\n");
        assert!(head.contains("content-length: 10\r\n") && head.ends_with("\r\n\r\n"));
        assert!(get(addr, "GET /../Cargo.toml HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(addr, "nonsense\r\n\r\n").starts_with("HTTP/1.1 400"));
    }

    #[test]
    fn escapes_json() {
        assert_eq!(json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
    }
}
