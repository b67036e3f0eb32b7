//! Endpoint behaviour without faults: shapes, usage arithmetic, SSE framing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Client, Server};
use serde_json::{Value, json};

#[tokio::test]
async fn non_stream_completion_shape_and_usage() {
    let server = Server::start(&[]).await;
    let resp = server
        .chat(&json!({
            "model": "gpt-test",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello there, mock!"}
            ]
        }))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let body = resp.json();
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(body["model"], "gpt-test");
    let choices = body["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1);
    assert_eq!(choices[0]["index"], 0);
    assert_eq!(choices[0]["finish_reason"], "stop");
    assert_eq!(
        choices[0]["message"],
        json!({"role": "assistant", "content": "mock reply to: Hello there, mock!"})
    );
    // P = ceil((14 + 18) / 4) = 8, C = ceil(33 / 4) = 9.
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 8, "completion_tokens": 9, "total_tokens": 17})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn reply_echoes_last_user_message_cut_to_64_chars() {
    let server = Server::start(&["--model", "house-model"]).await;
    let long = "é".repeat(70);
    let resp = server
        .chat(&json!({
            "messages": [
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "an answer"},
                {"role": "user", "content": [{"type": "text", "text": long}, {"type": "image_url", "image_url": {"url": "data:,"}}]}
            ]
        }))
        .await;
    let body = resp.json();
    assert_eq!(body["model"], "house-model");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(content, format!("mock reply to: {}", "é".repeat(64)));
    // Chars, not bytes: P = ceil((14 + 9 + 70) / 4) = 24, C = ceil(79 / 4) = 20.
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 24, "completion_tokens": 20, "total_tokens": 44})
    );
    server.shutdown().await;
}

fn chunk_choice(chunk: &Value) -> &Value {
    let choices = chunk["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "{chunk}");
    &choices[0]
}

#[tokio::test]
async fn stream_framing() {
    let server = Server::start(&["--stream-chunks", "5"]).await;
    let resp = server
        .chat(&json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "stream me"}]}))
        .await;
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert!(resp.text().ends_with("data: [DONE]\n\n"));
    let frames = resp.sse_data();
    // role + 5 content + finish + [DONE]
    assert_eq!(frames.len(), 8, "{frames:?}");
    assert_eq!(frames.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = frames[..7]
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect();
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-mock-"));
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], id);
        assert_eq!(chunk["model"], "m");
        assert!(chunk["created"].is_u64());
        assert!(
            chunk.get("usage").is_none(),
            "no usage without include_usage: {chunk}"
        );
    }
    let first = chunk_choice(&chunks[0]);
    assert_eq!(first["delta"], json!({"role": "assistant", "content": ""}));
    assert_eq!(first["finish_reason"], Value::Null);
    let mut content = String::new();
    for chunk in &chunks[1..6] {
        let choice = chunk_choice(chunk);
        assert_eq!(choice["finish_reason"], Value::Null);
        assert!(choice["delta"].get("role").is_none());
        content.push_str(choice["delta"]["content"].as_str().unwrap());
    }
    assert_eq!(content, "mock reply to: stream me");
    let finish = chunk_choice(&chunks[6]);
    assert_eq!(finish["delta"], json!({}));
    assert_eq!(finish["finish_reason"], "stop");
    let snap = server.stats.snapshot();
    assert_eq!((snap.chat_requests, snap.streamed), (1, 1));
    server.shutdown().await;
}

#[tokio::test]
async fn stream_include_usage_chunk() {
    let server = Server::start(&[]).await;
    let resp = server
        .chat(&json!({
            "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "count my tokens"}]
        }))
        .await;
    let frames = resp.sse_data();
    // role + 8 content (default) + finish + usage + [DONE]
    assert_eq!(frames.len(), 12, "{frames:?}");
    assert_eq!(frames[11], "[DONE]");
    let usage_chunk: Value = serde_json::from_str(&frames[10]).unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["model"], "mock-1");
    // P = ceil(15 / 4) = 4, C = ceil(30 / 4) = 8.
    assert_eq!(
        usage_chunk["usage"],
        json!({"prompt_tokens": 4, "completion_tokens": 8, "total_tokens": 12})
    );
    for frame in &frames[..10] {
        let chunk: Value = serde_json::from_str(frame).unwrap();
        assert_eq!(
            chunk["usage"],
            Value::Null,
            "usage is null before the last chunk: {chunk}"
        );
        assert!(chunk.get("usage").is_some());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let server = Server::start(&[]).await;
    let mut client = Client::connect(server.addr).await;
    let chat = json!({"messages": [{"role": "user", "content": "hi"}]}).to_string();
    let stream =
        json!({"stream": true, "messages": [{"role": "user", "content": "hi"}]}).to_string();
    for _ in 0..3 {
        let resp = client
            .send("POST", "/v1/chat/completions", Some(&chat))
            .await;
        assert_eq!(
            resp.json()["choices"][0]["message"]["content"],
            "mock reply to: hi"
        );
        let resp = client
            .send("POST", "/v1/chat/completions", Some(&stream))
            .await;
        assert_eq!(resp.sse_data().last().unwrap(), "[DONE]");
        assert_eq!(client.send("GET", "/health", None).await.status, 200);
    }
    server.shutdown().await;
}

fn assert_openai_error(body: &Value, kind: &str) {
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(error["type"], kind);
    assert_eq!(error["param"], Value::Null);
    assert_eq!(error["code"], Value::Null);
    assert_eq!(error.as_object().unwrap().len(), 4, "{body}");
}

#[tokio::test]
async fn bad_requests_get_400() {
    let server = Server::start(&[]).await;
    for body in [
        "{not json",
        "{}",
        r#"{"messages": []}"#,
        r#"{"messages": "hi"}"#,
        r#"{"messages":[{"role":"user","content":7}]}"#,
    ] {
        let resp = server
            .request("POST", "/v1/chat/completions", Some(body))
            .await;
        assert_eq!(resp.status, 400, "{body}");
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_openai_error(&resp.json(), "invalid_request_error");
    }
    let missing = server
        .request("POST", "/v1/chat/completions", Some("{}"))
        .await;
    assert!(
        missing.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_body_gets_413() {
    let server = Server::start(&[]).await;
    let mut client = Client::connect(server.addr).await;
    client
        .write_raw(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: mock\r\nContent-Length: 2000000\r\n\r\n",
        )
        .await;
    let resp = client.read_response().await;
    assert_eq!(resp.status, 413);
    assert_openai_error(&resp.json(), "invalid_request_error");
    server.shutdown().await;
}

#[tokio::test]
async fn routing_404_405_health_models() {
    let server = Server::start(&["--model", "the-model"]).await;
    let resp = server.request("GET", "/nope", None).await;
    assert_eq!(resp.status, 404);
    assert_openai_error(&resp.json(), "invalid_request_error");
    assert!(
        resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/nope")
    );

    let resp = server.request("GET", "/v1/chat/completions", None).await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    assert_openai_error(&resp.json(), "invalid_request_error");
    let resp = server.request("POST", "/health", Some("{}")).await;
    assert_eq!((resp.status, resp.header("allow")), (405, Some("GET")));

    let resp = server.request("GET", "/health", None).await;
    assert_eq!((resp.status, resp.json()), (200, json!({"status": "ok"})));

    let resp = server.request("GET", "/v1/models?limit=1", None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        json!({"object": "list", "data": [{"id": "the-model", "object": "model", "created": 0, "owned_by": "mock"}]})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn stats_endpoint_counts() {
    let server = Server::start(&[]).await;
    let msg = json!({"messages": [{"role": "user", "content": "x"}]});
    server.chat(&msg).await;
    server
        .chat(&json!({"stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    server
        .request("POST", "/v1/chat/completions", Some("nope"))
        .await;
    server.request("GET", "/health", None).await;
    server.request("GET", "/missing", None).await;

    let resp = server.request("GET", "/__stats", None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        json!({
            "requests": 5, "chat_requests": 3, "streamed": 1, "injected_errors": 0,
            "injected_timeouts": 0, "truncated": 0, "by_status": {"200": 3, "400": 1, "404": 1}
        })
    );
    // The library view agrees, and /__stats itself is not counted.
    let snap = server.stats.snapshot();
    assert_eq!(
        (snap.requests, snap.by_status.get(&200).copied()),
        (5, Some(3))
    );

    let resp = server.request("DELETE", "/__stats", None).await;
    assert_eq!(resp.json()["requests"], 0);
    assert_eq!(server.stats.snapshot().requests, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections() {
    let server = Server::start(&[]).await;
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.send("GET", "/health", None).await.status, 200);
    // `shutdown` asserts `serve` returns well within the timeout even though
    // the client keeps its connection open.
    server.shutdown().await;
    assert_eq!(
        client
            .read_some_within(std::time::Duration::from_secs(2))
            .await,
        Some(0)
    );
}
