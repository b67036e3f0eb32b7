//! Fault injection: errors, truncation, timeouts, latency and seeded determinism.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Tests measure elapsed time; this is a native-only crate.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, Server};
use mock_upstream::Config;
use serde_json::{Value, json};

fn hello(stream: bool) -> Value {
    json!({"stream": stream, "messages": [{"role": "user", "content": "hello"}]})
}

#[tokio::test]
async fn error_rate_one_with_429_sets_retry_after() {
    let server =
        Server::start(&["--error-rate", "1", "--error-status", "429", "--seed", "1"]).await;
    for stream in [false, true] {
        let resp = server.chat(&hello(stream)).await;
        assert_eq!(resp.status, 429);
        assert_eq!(resp.header("retry-after"), Some("1"));
        assert_eq!(resp.header("content-type"), Some("application/json"));
        let body = resp.json();
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(body["error"]["param"], Value::Null);
        assert_eq!(body["error"]["code"], Value::Null);
        assert!(body["error"]["message"].is_string());
    }
    // Models are never faulted.
    assert_eq!(server.request("GET", "/v1/models", None).await.status, 200);
    let snap = server.stats.snapshot();
    assert_eq!((snap.injected_errors, snap.streamed), (2, 0));
    assert_eq!(snap.by_status.get(&429), Some(&2));
    server.shutdown().await;
}

#[tokio::test]
async fn injected_5xx_use_server_error() {
    let server = Server::start(&["--error-rate", "1.0", "--error-status", "529"]).await;
    let resp = server.chat(&hello(false)).await;
    assert_eq!((resp.status, resp.reason.as_str()), (529, "Overloaded"));
    assert_eq!(resp.header("retry-after"), None);
    assert_eq!(resp.json()["error"]["type"], "server_error");
    server.shutdown().await;
}

#[tokio::test]
async fn truncated_stream_has_no_done_and_closes() {
    let server = Server::start(&["--truncate-rate", "1", "--stream-chunks", "4"]).await;
    let mut client = Client::connect(server.addr).await;
    let resp = client
        .send(
            "POST",
            "/v1/chat/completions",
            Some(&hello(true).to_string()),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert!(!resp.complete, "the chunked body must not be terminated");
    let text = resp.text();
    assert!(!text.contains("[DONE]"), "{text}");
    let frames = resp.sse_data();
    assert_eq!(
        frames.len(),
        2,
        "role chunk + first content chunk: {frames:?}"
    );
    let first: Value = serde_json::from_str(&frames[0]).unwrap();
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let second: Value = serde_json::from_str(&frames[1]).unwrap();
    assert!(
        "mock reply to: hello"
            .starts_with(second["choices"][0]["delta"]["content"].as_str().unwrap())
    );
    assert_eq!(
        client.read_some_within(Duration::from_secs(2)).await,
        Some(0),
        "connection closed"
    );
    let snap = server.stats.snapshot();
    assert_eq!((snap.truncated, snap.streamed), (1, 1));
    server.shutdown().await;
}

#[tokio::test]
async fn truncated_json_declares_more_than_it_sends() {
    let server = Server::start(&["--truncate-rate", "1"]).await;
    let resp = server.chat(&hello(false)).await;
    assert_eq!(resp.status, 200);
    assert!(!resp.complete);
    let declared: usize = resp.header("content-length").unwrap().parse().unwrap();
    assert!(
        !resp.body.is_empty() && resp.body.len() < declared,
        "{} of {declared}",
        resp.body.len()
    );
    assert!(serde_json::from_slice::<Value>(&resp.body).is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn timeout_holds_then_releases_without_answer() {
    let config = Config {
        timeout_rate: 1.0,
        timeout_hold: Duration::from_millis(300),
        ..Config::default()
    };
    let server = Server::start_with(config).await;
    let mut client = Client::connect(server.addr).await;
    client
        .write_raw(
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: mock\r\nContent-Length: {}\r\n\r\n{}",
                hello(false).to_string().len(),
                hello(false)
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(
        client.read_some_within(Duration::from_millis(100)).await,
        None,
        "no answer yet"
    );
    // After the hold limit the connection is closed with no response at all.
    assert_eq!(
        client.read_some_within(Duration::from_secs(5)).await,
        Some(0)
    );
    let snap = server.stats.snapshot();
    assert_eq!((snap.injected_timeouts, snap.chat_requests), (1, 1));
    assert!(snap.by_status.is_empty(), "{snap:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_held_requests() {
    let server = Server::start(&["--timeout-rate", "1"]).await;
    let mut client = Client::connect(server.addr).await;
    let body = hello(false).to_string();
    client
        .write_raw(
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: m\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(
        client.read_some_within(Duration::from_millis(50)).await,
        None
    );
    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn latency_is_added_before_headers() {
    let server = Server::start(&["--latency-ms", "15..20"]).await;
    let started = Instant::now();
    let resp = server.request("GET", "/v1/models", None).await;
    assert_eq!(resp.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.request("GET", "/health", None).await.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn chunk_delay_paces_the_stream() {
    let server = Server::start(&["--stream-chunks", "2", "--chunk-delay-ms", "3"]).await;
    let started = Instant::now();
    let resp = server.chat(&hello(true)).await;
    // role + 2 content + finish + [DONE] = 5 frames, 4 gaps of 3 ms.
    assert_eq!(resp.sse_data().len(), 5);
    assert!(
        started.elapsed() >= Duration::from_millis(12),
        "{:?}",
        started.elapsed()
    );
    server.shutdown().await;
}

/// Statuses of `n` chat requests on one keep-alive connection.
async fn status_sequence(args: &[&str], n: usize) -> Vec<u16> {
    let server = Server::start(args).await;
    let mut client = Client::connect(server.addr).await;
    let body = hello(false).to_string();
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        statuses.push(
            client
                .send("POST", "/v1/chat/completions", Some(&body))
                .await
                .status,
        );
    }
    server.shutdown().await;
    statuses
}

#[tokio::test]
async fn seeded_faults_are_deterministic() {
    let args = [
        "--error-rate",
        "0.5",
        "--error-status",
        "500,503",
        "--seed",
        "42",
    ];
    let first = status_sequence(&args, 40).await;
    let second = status_sequence(&args, 40).await;
    assert_eq!(first, second);
    for status in [200, 500, 503] {
        assert!(first.contains(&status), "{status} missing from {first:?}");
    }
    let other_seed = status_sequence(
        &[
            "--error-rate",
            "0.5",
            "--error-status",
            "500,503",
            "--seed",
            "43",
        ],
        40,
    )
    .await;
    assert_ne!(first, other_seed);
}
