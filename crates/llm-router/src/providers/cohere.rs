//! Cohere chat v2.

use serde_json::{Map, Value, json};

use super::{StreamOut, StreamState, Target, json as parse_json};
use crate::error::RouterError;
use crate::openai::{
    ChatRequest, ChatResponse, Choice, Content, Delta, FunctionCall, Message, ToolCall, Usage,
};
use crate::sse::SseEvent;

type Parts = (String, Vec<(&'static str, String)>, Value, Vec<String>);

pub(super) fn build(t: Target<'_>, req: &ChatRequest, stream: bool) -> Result<Parts, RouterError> {
    let mut messages = Vec::new();
    for m in &req.messages {
        let role = match m.role.as_str() {
            "developer" => "system",
            r @ ("system" | "user" | "assistant" | "tool") => r,
            other => {
                return Err(RouterError::InvalidRequest {
                    message: format!("unknown message role {other:?}"),
                    param: Some("messages".into()),
                });
            }
        };
        let mut msg = json!({"role": role, "content": m.text_content()});
        if let Some(calls) = &m.tool_calls {
            msg["tool_calls"] = serde_json::to_value(calls).unwrap_or_default();
        }
        if let Some(id) = &m.tool_call_id {
            msg["tool_call_id"] = json!(id);
        }
        messages.push(msg);
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(t.model.upstream_name()));
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(stream));
    if let Some(x) = req.temperature {
        body.insert("temperature".into(), json!(x));
    }
    if let Some(x) = req.top_p {
        body.insert("p".into(), json!(x));
    }
    if let Some(n) = req.output_limit() {
        body.insert("max_tokens".into(), json!(n));
    }
    let stop = req.stop_sequences();
    if !stop.is_empty() {
        body.insert("stop_sequences".into(), json!(stop));
    }
    if let Some(s) = req.seed {
        body.insert("seed".into(), json!(s));
    }
    if let Some(tools) = &req.tools {
        body.insert(
            "tools".into(),
            serde_json::to_value(tools).unwrap_or_default(),
        );
    }
    if let Some(rf) = &req.response_format
        && rf.get("type").and_then(Value::as_str) == Some("json_object")
    {
        body.insert("response_format".into(), json!({"type": "json_object"}));
    }
    let base = t.provider.base_url.trim_end_matches('/');
    Ok((
        format!("{base}/chat"),
        vec![("authorization", format!("Bearer {}", t.api_key))],
        Value::Object(body),
        Vec::new(),
    ))
}

fn finish_reason(r: &str) -> &'static str {
    match r {
        "MAX_TOKENS" => "length",
        "TOOL_CALL" => "tool_calls",
        "ERROR_TOXIC" => "content_filter",
        _ => "stop", // COMPLETE, STOP_SEQUENCE, ERROR
    }
}

fn usage(u: &Value) -> Usage {
    let tokens = u
        .get("tokens")
        .or_else(|| u.get("billed_units"))
        .cloned()
        .unwrap_or_default();
    Usage::new(
        tokens
            .get("input_tokens")
            .and_then(Value::as_f64)
            .unwrap_or(0.0) as u64,
        tokens
            .get("output_tokens")
            .and_then(Value::as_f64)
            .unwrap_or(0.0) as u64,
    )
}

pub(super) fn parse(v: &Value, model: &str, created: u64) -> Result<ChatResponse, String> {
    let msg = v.get("message").ok_or("response has no message")?;
    let text: String = msg
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect();
    let calls: Vec<ToolCall> = msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| ToolCall {
            id: c.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
            kind: "function".into(),
            function: FunctionCall {
                name: c
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                arguments: match c.pointer("/function/arguments") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => "{}".into(),
                },
            },
        })
        .collect();
    Ok(ChatResponse {
        id: v.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
        object: "chat.completion".into(),
        created,
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: "assistant".into(),
                content: Some(Content::Text(text)),
                tool_calls: if calls.is_empty() { None } else { Some(calls) },
                ..Message::default()
            },
            finish_reason: Some(
                finish_reason(
                    v.get("finish_reason")
                        .and_then(Value::as_str)
                        .unwrap_or("COMPLETE"),
                )
                .into(),
            ),
        }],
        usage: v.get("usage").map(usage),
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
        "message-start" => {
            if let Some(id) = v.get("id").and_then(Value::as_str) {
                st.id = id.to_owned();
            }
            st.start(out);
        }
        "content-delta" => {
            st.start(out);
            let text = v
                .pointer("/delta/message/content/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            out.push(st.chunk(
                Delta {
                    content: Some(text.to_owned()),
                    ..Delta::default()
                },
                None,
            ));
        }
        "tool-call-start" => {
            st.start(out);
            let tc = v
                .pointer("/delta/message/tool_calls")
                .cloned()
                .unwrap_or_default();
            let id = tc.get("id").and_then(Value::as_str).map(str::to_owned);
            let name = tc
                .pointer("/function/name")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let args = tc
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
            out.push(st.tool_start(Some(index), id, name, args));
        }
        "tool-call-delta" => {
            let block = v.get("index").and_then(Value::as_u64).unwrap_or(0);
            let part = v
                .pointer("/delta/message/tool_calls/function/arguments")
                .and_then(Value::as_str)
                .unwrap_or("");
            out.push(st.tool_args(block, part));
        }
        "message-end" => {
            if let Some(r) = v.pointer("/delta/finish_reason").and_then(Value::as_str) {
                st.finish = Some(finish_reason(r).into());
            }
            if let Some(u) = v.pointer("/delta/usage") {
                let u = usage(u);
                st.input_tokens = u.prompt_tokens;
                st.output_tokens = u.completion_tokens;
            }
            st.end(out);
        }
        _ => {} // content-start, content-end, tool-call-end, citations
    }
    Ok(())
}
