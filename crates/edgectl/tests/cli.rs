//! `edgectl` as a process: the embedded default end to end (chat, limits,
//! dashboard in headless Chromium, graceful shutdown, state surviving a
//! restart) and the operator subcommands' outputs and errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use edgeforge_e2e::http_request_with;

mod common;
use common::*;

const CHAT: &[u8] = br#"{"model":"mock-1","messages":[{"role":"user","content":"hello"}]}"#;

#[test]
fn embedded_default_serves_limits_and_keeps_state_across_restarts() {
    let dir = temp_dir("serve");
    let s = Server::start(&dir);
    let r = http_request_with(s.port, "GET", "/health", &[], b"").unwrap();
    assert_eq!(r.status, 200);
    let r = s.call("POST", "/v1/chat/completions", CHAT);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json().unwrap()["choices"][0]["message"]["content"],
        "mock reply to: hello"
    );
    // Body over 1 MiB: 413 JSON.
    let big = vec![b' '; (1 << 20) + 10];
    let r = s.call("POST", "/v1/chat/completions", &big);
    assert_eq!(r.status, 413);
    assert_eq!(r.json().unwrap()["error"]["code"], "body_too_large");
    // Spend the rest of the 60/min chat quota.
    for _ in 0..59 {
        assert_eq!(s.call("POST", "/v1/chat/completions", CHAT).status, 200);
    }
    assert_eq!(s.call("POST", "/v1/chat/completions", CHAT).status, 429);
    let status = s.stop();
    assert!(status.success(), "exit status {status}");
    // Restart on the same data: the SQLite store opens and the limit holds.
    let s = Server::start(&dir);
    let r = s.call("POST", "/v1/chat/completions", CHAT);
    assert_eq!(
        r.status, 429,
        "rate-limit state was lost across the restart"
    );
    assert!(r.header("retry-after").is_some());
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn dashboard_renders_charts_with_data_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("EDGEFORGE_E2E").is_ok_and(|v| v == "require") {
            panic!("chromium is missing: run scripts/setup.sh");
        }
        eprintln!(
            "SKIPPED dashboard browser test: chromium is not installed (scripts/setup.sh installs it)"
        );
        return;
    };
    let dir = temp_dir("dash");
    let s = Server::start(&dir);
    for _ in 0..5 {
        assert_eq!(s.call("POST", "/v1/chat/completions", CHAT).status, 200);
        let _ = s.call("GET", "/api/prompts/templates/greeting", b"");
    }
    let url = format!("http://127.0.0.1:{}/dashboard", s.port);
    let profile = dir.join("chromium-profile");
    let base = |extra: &[&str]| {
        let mut c = Command::new(browser);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--window-size=1280,900", "--virtual-time-budget=5000"])
        .args(extra)
        .arg(&url);
        c.output().unwrap()
    };
    let dom = base(&["--dump-dom"]);
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        html.contains("data-ready=\"1\""),
        "the page never loaded its data:\n{html}"
    );
    let series = html.matches("class=\"series\"").count();
    assert_eq!(series, 5, "expected 3 latency + 2 traffic series:\n{html}");
    assert!(html.contains("<td>mock</td>"), "provider table missing");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("dashboard.png");
    let out = base(&[&format!("--screenshot={}", shot.display())]);
    assert!(out.status.success());
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "screenshot is empty"
    );
    eprintln!("dashboard screenshot: {}", shot.display());
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

fn edgectl(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn scan_prints_one_json_line_per_input() {
    let (code, out, _) = edgectl(
        &["scan"],
        b"O'Brien\n1' OR '1'='1\n<script>alert(1)</script>\n",
    );
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["blocked"], false);
    assert_eq!(lines[1]["blocked"], true);
    assert_eq!(lines[2]["blocked"], true);
    assert!(!lines[1]["reasons"].as_array().unwrap().is_empty());
}

#[test]
fn encrypt_then_decrypt_round_trips_and_the_wrong_context_fails() {
    let dir = temp_dir("crypto");
    std::fs::create_dir_all(&dir).unwrap();
    let ring = dir.join("keyring.json");
    std::fs::write(
        &ring,
        r#"{"active": 2, "keys": {"1": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "2": "HxwdHhscGRoXGBUWExQREg8QDQ4LDAkKBwgFBgMEAQI"}}"#,
    )
    .unwrap();
    let ring = ring.to_str().unwrap();
    let (code, ct, err) = edgectl(
        &["encrypt", "--keyring", ring, "--record", "r1"],
        b"top secret",
    );
    assert_eq!(code, 0, "{err}");
    let (code, pt, _) = edgectl(
        &["decrypt", "--keyring", ring, "--record", "r1"],
        ct.as_bytes(),
    );
    assert_eq!((code, pt.as_str()), (0, "top secret"));
    let (code, _, err) = edgectl(
        &["decrypt", "--keyring", ring, "--record", "r2"],
        ct.as_bytes(),
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("edgectl: cannot decrypt"), "{err}");
    assert_eq!(err.lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_new_then_rotated_keyring_opens_what_the_old_one_sealed() {
    let dir = temp_dir("keyring");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, first, err) = edgectl(&["keyring", "new"], b"");
    assert_eq!(code, 0, "{err}");
    let v1: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v1["active"], 1);
    let old = dir.join("old.json");
    std::fs::write(&old, &first).unwrap();
    let old = old.to_str().unwrap();
    let (_, ct, _) = edgectl(&["encrypt", "--keyring", old, "--record", "r"], b"kept");
    let (code, second, err) = edgectl(&["keyring", "rotate", old], b"");
    assert_eq!(code, 0, "{err}");
    let v2: serde_json::Value = serde_json::from_str(&second).unwrap();
    assert_eq!(v2["active"], 2);
    assert_eq!(v2["keys"]["1"], v1["keys"]["1"]);
    assert_ne!(v2["keys"]["2"], v1["keys"]["1"]);
    let new = dir.join("new.json");
    std::fs::write(&new, &second).unwrap();
    let new = new.to_str().unwrap();
    let (code, pt, _) = edgectl(
        &["decrypt", "--keyring", new, "--record", "r"],
        ct.as_bytes(),
    );
    assert_eq!((code, pt.as_str()), (0, "kept"));
    // A file that is not a keyring: one line, non-zero.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"active": 1}"#).unwrap();
    let (code, _, err) = edgectl(&["keyring", "rotate", bad.to_str().unwrap()], b"");
    assert_eq!(code, 1);
    assert!(err.starts_with("edgectl: keyring is not valid"), "{err}");
    assert_eq!(err.lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_non_zero_with_one_line() {
    for (args, needle) in [
        (
            vec!["config", "validate", "/nonexistent/gateway.toml"],
            "cannot read",
        ),
        (vec!["scan", "--kind", "nope"], "unknown --kind"),
        (
            vec!["slo", "report", "--data-dir", "/nonexistent"],
            "no database",
        ),
    ] {
        let (code, _, err) = edgectl(&args, b"");
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.starts_with("edgectl: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let dir = temp_dir("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[gateway]\nmax_body_bytes = 0\n").unwrap();
    let (code, _, err) = edgectl(&["config", "validate", bad.to_str().unwrap()], b"");
    assert_eq!(code, 1);
    assert!(err.contains("invalid gateway config"), "{err}");
    let good = dir.join("good.toml");
    std::fs::write(&good, edge_gateway_example()).unwrap();
    let (code, out, _) = edgectl(&["config", "validate", good.to_str().unwrap()], b"");
    assert_eq!(code, 0);
    assert!(out.contains(": ok (1 providers"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn edge_gateway_example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../edge-gateway/example-gateway.toml"
    ))
    .unwrap()
}

#[test]
fn json_logs_and_the_access_log() {
    let dir = temp_dir("logs");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "1",
            "--log-format",
            "json",
            "--access-log",
            "--data-dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port: u16 = first
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    assert_eq!(
        http_request_with(port, "GET", "/health", &[], b"")
            .unwrap()
            .status,
        200
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(events.iter().any(|e| e["msg"] == "listening"), "{stderr}");
    let req = events
        .iter()
        .find(|e| e["msg"] == "request")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(
        (req["path"].as_str(), req["status"].as_str()),
        (Some("/health"), Some("200"))
    );
    assert_eq!(req["request_id"].as_str().map(str::len), Some(16));
    assert!(
        events
            .iter()
            .all(|e| e["ts"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
