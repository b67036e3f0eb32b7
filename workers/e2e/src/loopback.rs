//! Loopback HTTP servers that stand in for the real hosts a Worker calls
//! (providers, Slack, PagerDuty, siteverify, a JWKS issuer): each answers
//! with a handler and records every request it gets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Request bodies larger than this are refused (the servers are for tests).
const MAX_BODY: usize = 1 << 20;

/// One request a [`Loopback`] received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What a handler answers: status, content type, body.
pub type Answer = (u16, &'static str, Vec<u8>);

type Handler = dyn Fn(&Recorded) -> Answer + Send + Sync;

/// A server on a free loopback port, alive for the whole test process.
#[derive(Clone)]
pub struct Loopback {
    port: u16,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Loopback {
    /// Starts a server that answers every request with `handler`.
    pub fn start(
        handler: impl Fn(&Recorded) -> Answer + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind a loopback port: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log) = (handler.clone(), log.clone());
                std::thread::spawn(move || serve_one(stream, handler.as_ref(), &log));
            }
        });
        Ok(Self { port, seen })
    }

    /// A server that answers `200 {}` to everything (a webhook receiver).
    pub fn receiver() -> Result<Self, String> {
        Self::start(|_| (200, "application/json", b"{}".to_vec()))
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}

fn serve_one(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Recorded>>) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut len = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if let Some(v) = header.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len.min(MAX_BODY)];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Recorded { method, path, body };
    let (status, content_type, answer) = handler(&request);
    if let Ok(mut v) = log.lock() {
        v.push(request);
    }
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        answer.len()
    );
    let _ = out.write_all(&answer);
}
