//! Shared helpers: start `serve` on an ephemeral port and a minimal HTTP/1.1 client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mock_upstream::{Config, Stats, serve_with_stats};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound for any single client read in tests.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A running in-process server.
pub struct Server {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Starts a server configured from CLI-style `args` (with `--listen` ignored).
    pub async fn start(args: &[&str]) -> Server {
        let config = Config::from_args(args.iter().map(|s| (*s).to_owned())).unwrap();
        Server::start_with(config).await
    }

    /// Starts a server with an explicit config on 127.0.0.1:0.
    pub async fn start_with(config: Config) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::new());
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(serve_with_stats(
            listener,
            config,
            Arc::clone(&stats),
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            stats,
            stop: Some(stop),
            handle,
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(IO_TIMEOUT, &mut self.handle)
            .await
            .expect("serve did not return after shutdown")
            .unwrap()
            .unwrap();
    }

    /// One request on a fresh connection.
    pub async fn request(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        Client::connect(self.addr)
            .await
            .send(method, path, body)
            .await
    }

    /// `POST /v1/chat/completions` with a JSON body on a fresh connection.
    pub async fn chat(&self, body: &Value) -> Resp {
        self.request("POST", "/v1/chat/completions", Some(&body.to_string()))
            .await
    }
}

/// A parsed (possibly incomplete) response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// Reason phrase from the status line.
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `false` if the connection closed before the declared end of the body.
    pub complete: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The `data:` payloads of an SSE body, in order.
    pub fn sse_data(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter(|frame| !frame.is_empty())
            .map(|frame| {
                frame
                    .strip_prefix("data: ")
                    .expect("SSE frame without `data: `")
                    .to_owned()
            })
            .collect()
    }
}

/// A keep-alive HTTP/1.1 client connection.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Writes raw bytes (for hand-made requests).
    pub async fn write_raw(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).await.unwrap();
    }

    pub async fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: mock\r\n");
        if let Some(body) = body {
            raw.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            raw.push_str("\r\n");
        }
        self.write_raw(raw.as_bytes()).await;
        self.read_response().await
    }

    /// Reads more bytes; `false` on EOF or a reset.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(_) => panic!("no response within {IO_TIMEOUT:?}"),
        }
    }

    /// Reads bytes, returning `None` if nothing arrives within `wait`.
    pub async fn read_some_within(&mut self, wait: Duration) -> Option<usize> {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(wait, self.stream.read(&mut chunk)).await {
            Ok(Ok(n)) => Some(n),
            Ok(Err(_)) => Some(0),
            Err(_) => None,
        }
    }

    pub async fn read_response(&mut self) -> Resp {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            assert!(
                self.fill().await,
                "connection closed before response headers"
            );
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"));
        let status = parts.next().unwrap().parse().unwrap();
        let reason = parts.next().unwrap_or("").to_owned();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_owned(), v.trim().to_owned())
            })
            .collect();
        let mut resp = Resp {
            status,
            reason,
            headers,
            body: Vec::new(),
            complete: true,
        };
        if resp
            .header("transfer-encoding")
            .is_some_and(|te| te.contains("chunked"))
        {
            self.read_chunked(&mut resp).await;
        } else if let Some(len) = resp.header("content-length") {
            let len: usize = len.parse().unwrap();
            while self.buf.len() < len {
                if !self.fill().await {
                    resp.complete = false;
                    break;
                }
            }
            let take = len.min(self.buf.len());
            resp.body = self.buf.drain(..take).collect();
        } else {
            while self.fill().await {}
            resp.body = std::mem::take(&mut self.buf);
        }
        resp
    }

    async fn read_chunked(&mut self, resp: &mut Resp) {
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                if !self.fill().await {
                    resp.complete = false;
                    return;
                }
            };
            let line = String::from_utf8(self.buf[..line_end].to_vec()).unwrap();
            let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).unwrap();
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                if !self.fill().await {
                    resp.body.extend(self.buf.drain(..size.min(self.buf.len())));
                    resp.complete = false;
                    return;
                }
            }
            resp.body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            if size == 0 {
                return;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
