//! `edgectl serve` as a child process for the process tests: start it on
//! a free loopback port, call it with the printed dev token, stop it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use edgeforge_e2e::http_request_with;

pub const BIN: &str = env!("CARGO_BIN_EXE_edgectl");

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub token: String,
    /// What `serve` printed before the token (URL and dashboard lines).
    pub banner: Vec<String>,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Self::start_with(dir, &[])
    }

    /// Starts `edgectl serve` on `dir` with extra arguments (`--listen`
    /// defaults to a free loopback port).
    pub fn start_with(dir: &Path, extra: &[&str]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve");
        if !extra.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        if !extra.contains(&"--threads") {
            cmd.args(["--threads", "2"]);
        }
        let mut child = cmd
            .args(extra)
            .arg("--data-dir")
            .arg(dir)
            .env_remove("JWT_HS256_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port: u16 = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|addr| addr.rsplit(':').next())
            .unwrap()
            .parse()
            .unwrap();
        let mut token = String::new();
        let mut banner = vec![first];
        // With a config file there is no dev token: the dashboard line only.
        let with_config = extra.contains(&"--config");
        for line in lines.by_ref().take(if with_config { 1 } else { 3 }) {
            let line = line.unwrap();
            if let Some(rest) = line.split("Bearer ").nth(1) {
                token = rest.split('\'').next().unwrap().to_owned();
            }
            banner.push(line);
        }
        assert!(with_config || !token.is_empty(), "no dev token printed");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            port,
            token,
            banner,
        }
    }

    pub fn call(&self, method: &str, path: &str, body: &[u8]) -> edgeforge_e2e::HttpResponse {
        let auth = format!("Bearer {}", self.token);
        http_request_with(
            self.port,
            method,
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("user-agent", "cli-test"),
            ],
            body,
        )
        .unwrap()
    }

    /// `GET /health` answers 200.
    pub fn healthy(&self) -> bool {
        http_request_with(self.port, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200)
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..200 {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("edgectl did not stop within 10 s of SIGTERM");
    }
}

/// A test that fails before `stop` must not leave its server running (it
/// holds the test's stdout pipe open).
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgectl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
