//! `edgectl serve` under hostile traffic (issue 18), as a process: the worst
//! bodies up to the 1 MiB limit, slow clients against a small connection
//! cap, the dashboard off loopback, secret files and data retention.
//! (Peak RSS and latency under these bodies are measured by
//! `scripts/hostile-bodies.sh`, not asserted here.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use edgeforge_e2e::http_request_with;

mod common;
use common::*;

const MIB: usize = 1 << 20;

/// `prefix` + `item` repeated (comma-separated) + `suffix`, just under 1 MiB.
fn fill(prefix: &str, item: &str, suffix: &str) -> Vec<u8> {
    let room = MIB - prefix.len() - suffix.len() - 16;
    let n = room / (item.len() + 1);
    let mut body = String::with_capacity(MIB);
    body.push_str(prefix);
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str(suffix);
    body.into_bytes()
}

/// The body shapes of issue 18's H1, each close to the 1 MiB limit.
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let long_key = "k".repeat(512 * 1024);
    let mut many_keys = String::from("{");
    let mut i = 0;
    while many_keys.len() < MIB - 32 {
        many_keys.push_str(&format!("\"k{i}\":\"\","));
        i += 1;
    }
    many_keys.push_str("\"end\":\"\"}");
    let mut long_keys = String::from("{");
    let mut j = 0;
    while long_keys.len() < MIB - 70_000 {
        long_keys.push_str(&format!("\"{j}{}\":[\"x\",\"y\"],", "k".repeat(60_000)));
        j += 1;
    }
    long_keys.push_str("\"end\":1}");
    let nested_ok = format!("{}\"x\"{}", "{\"a\":".repeat(120), "}".repeat(120));
    vec![
        (
            "long key, many strings",
            fill(&format!("{{\"{long_key}\":["), "\"\"", "]}"),
        ),
        ("deep nesting", vec![b'['; MIB - 16]),
        ("nesting at the parser's limit", fill("[", &nested_ok, "]")),
        ("many keys", many_keys.into_bytes()),
        ("long keys", long_keys.into_bytes()),
        ("many strings", fill("[", "\"a\"", "]")),
        ("many attacks", fill("[", "\"' or 1=1-- \"", "]")),
        (
            "many objects",
            fill("{\"model\":\"mock-1\",\"x\":[", "{\"a\":1}", "]}"),
        ),
        (
            "long hostile values",
            fill("[", &format!("\"{}\"", "select (".repeat(8000)), "]"),
        ),
    ]
}

#[test]
fn the_worst_bodies_up_to_the_limit_leave_the_server_answering() {
    let dir = temp_dir("hostile-bodies");
    let s = Server::start(&dir);
    for (name, body) in hostile_bodies() {
        assert!(body.len() <= MIB, "{name}: {} bytes", body.len());
        // Without credentials, then with: each shape is refused or served,
        // never a crash.
        for auth in [None, Some(format!("Bearer {}", s.token))] {
            let mut headers = vec![("content-type", "application/json")];
            if let Some(a) = &auth {
                headers.push(("authorization", a.as_str()));
            }
            let r = http_request_with(s.port, "POST", "/v1/chat/completions", &headers, &body)
                .unwrap_or_else(|e| panic!("{name}: no answer: {e}"));
            assert!(
                [400, 401, 403, 429].contains(&r.status),
                "{name}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
            );
            assert!(r.body.len() < 4096, "{name}: {}-byte error", r.body.len());
            assert!(s.healthy(), "{name}: /health stopped answering");
        }
    }
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Opens a connection that sends `head` and then one byte of `trickle`
/// every 250 ms, forever (until the server closes it).
fn slow_client(port: u16, head: String, trickle: u8) -> std::thread::JoinHandle<Option<String>> {
    std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
        c.set_read_timeout(Some(Duration::from_millis(250))).ok()?;
        c.write_all(head.as_bytes()).ok()?;
        let mut answer = Vec::new();
        for _ in 0..200 {
            if c.write_all(&[trickle]).is_err() {
                break;
            }
            let mut buf = [0u8; 4096];
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
        Some(String::from_utf8_lossy(&answer).into_owned())
    })
}

/// M5: four slow clients fill a 4-connection server; each is cut off by the
/// header or body deadline, so a new client reaches `/health` within it.
#[test]
fn slow_clients_cannot_pin_connections_past_the_deadlines() {
    let dir = temp_dir("slowloris");
    let s = Server::start_with(
        &dir,
        &[
            "--threads",
            "1",
            "--max-connections",
            "4",
            "--header-timeout-secs",
            "2",
            "--body-timeout-secs",
            "2",
        ],
    );
    let port = s.port;
    let slow_body = |_| {
        slow_client(
            port,
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                MIB / 2
            ),
            b' ',
        )
    };
    let slow_head = |_| slow_client(port, "GET /health HTTP/1.1\r\nX-Slow: ".into(), b'a');
    #[allow(clippy::disallowed_methods)] // a process test waits in real time
    let started = Instant::now();
    let clients: Vec<_> = (0..2).map(slow_body).chain((0..2).map(slow_head)).collect();
    std::thread::sleep(Duration::from_millis(300));
    // A new client gets through once the deadline (2 s) has cut the slow
    // ones off; give it the deadline plus scheduling slack.
    let (mut healthy_after, mut refused) = (None, 0);
    while started.elapsed() < Duration::from_secs(8) {
        if s.healthy() {
            healthy_after = Some(started.elapsed());
            break;
        }
        refused += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(refused > 0, "the slow clients never filled the server");
    let waited = healthy_after.expect("/health never answered while slow clients were connected");
    assert!(
        waited < Duration::from_millis(4_500),
        "/health waited {waited:?}, past the 2 s deadlines"
    );
    let answers: Vec<String> = clients
        .into_iter()
        .map(|c| c.join().unwrap().unwrap_or_default())
        .collect();
    assert!(
        answers
            .iter()
            .take(2)
            .all(|a| a.starts_with("HTTP/1.1 408")),
        "slow bodies get 408: {answers:?}"
    );
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Low: off loopback the dashboard asks for the admin routes' credentials
/// and the banner says so; the dev secrets are 0600.
#[test]
fn the_dashboard_off_loopback_needs_admin_credentials_and_secrets_are_private() {
    let dir = temp_dir("dash-auth");
    let s = Server::start_with(&dir, &["--listen", "0.0.0.0:0"]);
    assert!(
        s.banner
            .iter()
            .any(|l| l.contains("dashboard") && l.contains("credentials")),
        "{:?}",
        s.banner
    );
    let anon = http_request_with(s.port, "GET", "/dashboard/data", &[], b"").unwrap();
    assert_eq!(anon.status, 401);
    assert_eq!(
        anon.json().unwrap()["error"]["code"],
        "authentication_required"
    );
    // A user token is not an admin credential.
    let user = s.call("GET", "/dashboard", b"");
    assert_eq!(user.status, 403);
    assert_eq!(user.json().unwrap()["error"]["code"], "access_required");
    assert!(s.stop().success());
    #[cfg(unix)]
    for name in ["dev-jwt-secret", "dev-anon-salt"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is {mode:o}");
    }
    // On loopback it stays open, as the banner says.
    let s = Server::start(&dir);
    assert!(
        s.banner
            .iter()
            .any(|l| l.contains("dashboard") && l.contains("loopback"))
    );
    let r = http_request_with(s.port, "GET", "/dashboard/data", &[], b"").unwrap();
    assert_eq!(r.status, 200);
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Low: data points older than the retention and expired KV rows are
/// deleted by the background loop.
#[test]
fn old_data_points_and_expired_kv_rows_are_purged() {
    let dir = temp_dir("retention");
    let db = dir.join("edgeforge.sqlite3");
    {
        let conn = edgectl::sqlite::open(&db).unwrap();
        let now_ms =
            i64::try_from(edge_ports::Clock::now_ms(&edge_ports::SystemClock::new())).unwrap();
        let day = 86_400_000i64;
        for (ts, idx) in [
            (now_ms - 30 * day, "old"),
            (now_ms - 8 * day, "old"),
            (now_ms - day, "new"),
        ] {
            conn.execute(
                "INSERT INTO datapoints (ts_ms, dataset, index1, blobs, doubles) VALUES (?1, 'requests', ?2, '[]', '[]')",
                rusqlite::params![ts, idx],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES ('gone', x'00', ?1), ('kept', x'00', NULL)",
            rusqlite::params![now_ms / 1000 - 10],
        )
        .unwrap();
    }
    let s = Server::start_with(&dir, &["--loop-secs", "1", "--retain-days", "7"]);
    let conn = edgectl::sqlite::open(&db).unwrap();
    let left = || -> (i64, i64) {
        (
            conn.query_row(
                "SELECT COUNT(*) FROM datapoints WHERE index1 = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap(),
            conn.query_row("SELECT COUNT(*) FROM kv WHERE key = 'gone'", [], |r| {
                r.get(0)
            })
            .unwrap(),
        )
    };
    let mut seen = left();
    for _ in 0..50 {
        if seen == (0, 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        seen = left();
    }
    assert_eq!(seen, (0, 0), "old rows were not purged");
    let kept: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM datapoints WHERE index1 = 'new'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// M5: a connection that says nothing, and a keep-alive connection idle
/// after its request, are closed by the header deadline (it also runs
/// while hyper waits for the next request), so neither holds a slot.
#[test]
fn silent_and_idle_keep_alive_connections_are_closed() {
    let dir = temp_dir("idle");
    let s = Server::start_with(&dir, &["--threads", "1", "--header-timeout-secs", "2"]);
    let closed_within = |mut c: TcpStream| -> Duration {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        #[allow(clippy::disallowed_methods)] // a process test waits in real time
        let t = Instant::now();
        let mut buf = [0u8; 64];
        loop {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => return t.elapsed(),
                Ok(_) => {}
            }
        }
    };
    let silent = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let waited = closed_within(silent);
    assert!(
        waited < Duration::from_secs(5),
        "silent connection held {waited:?}"
    );
    let mut idle = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let waited = closed_within(idle);
    assert!(
        waited < Duration::from_secs(5),
        "idle keep-alive held {waited:?}"
    );
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}
