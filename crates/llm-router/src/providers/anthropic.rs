//! Anthropic Messages API.

use serde_json::{Map, Value, json};

use super::{StreamOut, StreamState, Target, args_object, json as parse_json};
use crate::error::RouterError;
use crate::openai::{
    ChatRequest, ChatResponse, Choice, Delta, FunctionCall, Message, ToolCall, Usage,
};
use crate::sse::SseEvent;

type Parts = (String, Vec<(&'static str, String)>, Value, Vec<String>);

pub(super) fn build(
    t: Target<'_>,
    req: &ChatRequest,
    stream: bool,
    default_max_tokens: u32,
) -> Result<Parts, RouterError> {
    let mut notes = Vec::new();
    let mut system = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    for m in &req.messages {
        match m.role.as_str() {
            "system" | "developer" => system.push(m.text_content()),
            "user" => push(
                &mut messages,
                "user",
                vec![json!({"type": "text", "text": m.text_content()})],
            ),
            "assistant" => {
                let mut blocks = Vec::new();
                let text = m.text_content();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for tc in m.tool_calls.iter().flatten() {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": tc.id,
                        "name": tc.function.name,
                        "input": args_object(&tc.function.arguments)?,
                    }));
                }
                push(&mut messages, "assistant", blocks);
            }
            "tool" => {
                let id = m
                    .tool_call_id
                    .clone()
                    .ok_or_else(|| RouterError::InvalidRequest {
                        message: "a tool message needs tool_call_id".into(),
                        param: Some("messages".into()),
                    })?;
                push(
                    &mut messages,
                    "user",
                    vec![
                        json!({"type": "tool_result", "tool_use_id": id, "content": m.text_content()}),
                    ],
                );
            }
            other => {
                return Err(RouterError::InvalidRequest {
                    message: format!("unknown message role {other:?}"),
                    param: Some("messages".into()),
                });
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(t.model.upstream_name()));
    body.insert(
        "max_tokens".into(),
        json!(req.output_limit().unwrap_or(default_max_tokens)),
    );
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    if let Some(t) = req.temperature {
        // Anthropic accepts 0–1; OpenAI clients send 0–2.
        let clamped = t.clamp(0.0, 1.0);
        if clamped != t {
            notes.push(format!(
                "temperature {t} clamped to {clamped} (Anthropic accepts 0-1)"
            ));
        }
        body.insert("temperature".into(), json!(clamped));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    let stop = req.stop_sequences();
    if !stop.is_empty() {
        body.insert("stop_sequences".into(), json!(stop));
    }
    if let Some(tools) = &req.tools {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                json!({
                    "name": t.function.name,
                    "description": t.function.description.clone().unwrap_or_default(),
                    "input_schema": t.function.parameters.clone().unwrap_or_else(|| json!({"type": "object"})),
                })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let mapped = match choice {
            Value::String(s) if s == "auto" => Some(json!({"type": "auto"})),
            Value::String(s) if s == "required" => Some(json!({"type": "any"})),
            Value::String(s) if s == "none" => Some(json!({"type": "none"})),
            Value::Object(o) => o
                .get("function")
                .and_then(|f| f.get("name"))
                .map(|n| json!({"type": "tool", "name": n})),
            _ => None,
        };
        if let Some(m) = mapped {
            body.insert("tool_choice".into(), m);
        }
    }
    if req.response_format.is_some() {
        notes.push("response_format is not supported by Anthropic; ignored".into());
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    let base = t.provider.base_url.trim_end_matches('/');
    Ok((
        format!("{base}/messages"),
        vec![
            ("x-api-key", t.api_key.to_owned()),
            ("anthropic-version", "2023-06-01".to_owned()),
        ],
        Value::Object(body),
        notes,
    ))
}

/// Anthropic requires alternating roles: merge consecutive same-role turns.
fn push(messages: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    super::push_turn(messages, role, "content", blocks);
}

pub(super) fn finish_reason(stop: &str) -> &'static str {
    match stop {
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop", // end_turn, stop_sequence, pause_turn
    }
}

pub(super) fn parse(v: &Value, model: &str, created: u64) -> Result<ChatResponse, String> {
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or("response has no content array")?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => calls.push(ToolCall {
                id: b.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
                kind: "function".into(),
                function: FunctionCall {
                    name: b
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    arguments: b
                        .get("input")
                        .map_or_else(|| "{}".to_owned(), Value::to_string),
                },
            }),
            _ => {}
        }
    }
    let usage = v.get("usage").map(|u| {
        Usage::new(
            u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0),
            u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0),
        )
    });
    let stop = v
        .get("stop_reason")
        .and_then(Value::as_str)
        .unwrap_or("end_turn");
    Ok(ChatResponse {
        id: v.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
        object: "chat.completion".into(),
        created,
        model: v
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(model)
            .to_owned(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: "assistant".into(),
                content: Some(crate::openai::Content::Text(text)),
                tool_calls: if calls.is_empty() { None } else { Some(calls) },
                ..Message::default()
            },
            finish_reason: Some(finish_reason(stop).into()),
        }],
        usage,
    })
}

pub(super) fn stream_event(
    st: &mut StreamState,
    ev: &SseEvent,
    out: &mut Vec<StreamOut>,
) -> Result<(), String> {
    let v = parse_json(ev)?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .or(ev.event.as_deref())
        .unwrap_or("");
    match kind {
        "message_start" => {
            if let Some(m) = v.get("message") {
                if let Some(id) = m.get("id").and_then(Value::as_str) {
                    st.id = id.to_owned();
                }
                st.input_tokens = m
                    .pointer("/usage/input_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
            }
            st.start(out);
        }
        "content_block_start" => {
            st.start(out);
            let block = v.get("content_block").cloned().unwrap_or_default();
            if block.get("type").and_then(Value::as_str) == Some("tool_use") {
                let id = block.get("id").and_then(Value::as_str).map(str::to_owned);
                let name = block.get("name").and_then(Value::as_str).map(str::to_owned);
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                out.push(st.tool_start(Some(index), id, name, String::new()));
            }
        }
        "content_block_delta" => {
            st.start(out);
            let d = v.get("delta").cloned().unwrap_or_default();
            match d.get("type").and_then(Value::as_str) {
                Some("text_delta") => {
                    let text = d.get("text").and_then(Value::as_str).unwrap_or("");
                    out.push(st.chunk(
                        Delta {
                            content: Some(text.to_owned()),
                            ..Delta::default()
                        },
                        None,
                    ));
                }
                Some("input_json_delta") => {
                    let block = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let part = d.get("partial_json").and_then(Value::as_str).unwrap_or("");
                    out.push(st.tool_args(block, part));
                }
                _ => {} // thinking, signature: not part of the OpenAI format
            }
        }
        "message_delta" => {
            if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                st.finish = Some(finish_reason(r).into());
            }
            if let Some(o) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                st.output_tokens = o;
            }
        }
        "message_stop" => st.end(out),
        "error" => {
            let msg = v
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("provider stream error");
            return Err(msg.to_owned());
        }
        _ => {} // ping, content_block_stop
    }
    Ok(())
}
