//! A deterministic in-process OpenAI-compatible provider (the embedded
//! default and tests). It is an [`HttpClient`]: point a `mock` provider's
//! `base_url` anywhere and hand this client to the router.

use async_trait::async_trait;
use edge_ports::http::{Body, HttpClient, HttpError, SendOptions};
use serde_json::{Value, json};

use crate::openai::ChatRequest;

/// Answers `POST …/chat/completions` with `mock reply to: <last user
/// message>` (truncated to 64 characters), streamed or not, with usage of
/// ⌈characters / 4⌉ tokens; and `GET …/models`.
#[derive(Debug, Default, Clone, Copy)]
pub struct MockProvider;

fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

fn json_response(status: u16, v: &Value) -> Result<http::Response<Body>, HttpError> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(v.to_string().into_bytes()))
        .map_err(|e| HttpError::Connect(e.to_string()))
}

#[async_trait(?Send)]
impl HttpClient for MockProvider {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        _opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        let path = req.uri().path().to_owned();
        if req.method() == http::Method::GET && path.ends_with("/models") {
            return json_response(
                200,
                &json!({"object": "list", "data": [{"id": "mock-1", "object": "model", "created": 0, "owned_by": "edgeforge"}]}),
            );
        }
        if !path.ends_with("/chat/completions") {
            return json_response(
                404,
                &json!({"error": {"message": format!("no mock route {path}"), "type": "invalid_request_error"}}),
            );
        }
        let chat: ChatRequest = match serde_json::from_slice(req.body()) {
            Ok(c) => c,
            Err(e) => {
                return json_response(
                    400,
                    &json!({"error": {"message": e.to_string(), "type": "invalid_request_error"}}),
                );
            }
        };
        let last = chat
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.text_content())
            .unwrap_or_default();
        let truncated: String = last.chars().take(64).collect();
        let reply = format!("mock reply to: {truncated}");
        let prompt_chars: usize = chat
            .messages
            .iter()
            .map(|m| m.text_content().chars().count())
            .sum();
        let (p, c) = (tokens(prompt_chars), tokens(reply.chars().count()));
        let usage = json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c});
        let id = "chatcmpl-mock";
        if chat.stream != Some(true) {
            return json_response(
                200,
                &json!({"id": id, "object": "chat.completion", "created": 0, "model": chat.model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                    "usage": usage}),
            );
        }
        let chunk = |delta: Value, finish: Value| {
            format!(
                "data: {}\n\n",
                json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": chat.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            )
        };
        let mut sse = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
        for word in reply.split_inclusive(' ') {
            sse.push_str(&chunk(json!({"content": word}), Value::Null));
        }
        sse.push_str(&chunk(json!({}), json!("stop")));
        sse.push_str(&format!("data: {}\n\n", json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": chat.model, "choices": [], "usage": usage})));
        sse.push_str("data: [DONE]\n\n");
        http::Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(Body::from(sse.into_bytes()))
            .map_err(|e| HttpError::Connect(e.to_string()))
    }
}
