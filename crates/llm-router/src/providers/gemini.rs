//! Google Gemini `generateContent` / `streamGenerateContent?alt=sse`.

use serde_json::{Map, Value, json};

use super::{StreamOut, StreamState, Target, args_object, json as parse_json, synth_call_id};
use crate::error::RouterError;
use crate::openai::{
    ChatRequest, ChatResponse, Choice, Content, Delta, FunctionCall, Message, ToolCall, Usage,
};
use crate::sse::SseEvent;

type Parts = (String, Vec<(&'static str, String)>, Value, Vec<String>);

pub(super) fn build(t: Target<'_>, req: &ChatRequest, stream: bool) -> Result<Parts, RouterError> {
    let mut system = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    // Gemini's functionResponse needs the function name; OpenAI's tool
    // message only carries the call id.
    let mut call_names: Vec<(String, String)> = Vec::new();
    for m in &req.messages {
        match m.role.as_str() {
            "system" | "developer" => system.push(json!({"text": m.text_content()})),
            "user" => push(
                &mut contents,
                "user",
                vec![json!({"text": m.text_content()})],
            ),
            "assistant" => {
                let mut parts = Vec::new();
                let text = m.text_content();
                if !text.is_empty() {
                    parts.push(json!({"text": text}));
                }
                for tc in m.tool_calls.iter().flatten() {
                    call_names.push((tc.id.clone(), tc.function.name.clone()));
                    parts.push(json!({"functionCall": {"name": tc.function.name, "args": args_object(&tc.function.arguments)?}}));
                }
                push(&mut contents, "model", parts);
            }
            "tool" => {
                let id = m.tool_call_id.as_deref().unwrap_or("");
                let name = call_names
                    .iter()
                    .find(|(cid, _)| cid == id)
                    .map(|(_, n)| n.clone())
                    .ok_or_else(|| RouterError::InvalidRequest {
                        message: format!("tool message answers unknown tool_call_id {id:?}"),
                        param: Some("messages".into()),
                    })?;
                let text = m.text_content();
                let response = serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({"content": text}));
                push(
                    &mut contents,
                    "user",
                    vec![json!({"functionResponse": {"name": name, "response": response}})],
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
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({"parts": system}));
    }
    let mut gen_cfg = Map::new();
    if let Some(t) = req.temperature {
        gen_cfg.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        gen_cfg.insert("topP".into(), json!(p));
    }
    if let Some(n) = req.output_limit() {
        gen_cfg.insert("maxOutputTokens".into(), json!(n));
    }
    let stop = req.stop_sequences();
    if !stop.is_empty() {
        gen_cfg.insert("stopSequences".into(), json!(stop));
    }
    if let Some(rf) = &req.response_format {
        match rf.get("type").and_then(Value::as_str) {
            Some("json_object") => {
                gen_cfg.insert("responseMimeType".into(), json!("application/json"));
            }
            Some("json_schema") => {
                gen_cfg.insert("responseMimeType".into(), json!("application/json"));
                if let Some(schema) = rf.pointer("/json_schema/schema") {
                    gen_cfg.insert("responseSchema".into(), schema.clone());
                }
            }
            _ => {}
        }
    }
    if !gen_cfg.is_empty() {
        body.insert("generationConfig".into(), Value::Object(gen_cfg));
    }
    if let Some(tools) = &req.tools {
        let decls: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut d = json!({"name": t.function.name, "description": t.function.description.clone().unwrap_or_default()});
                if let Some(p) = &t.function.parameters {
                    d["parameters"] = p.clone();
                }
                d
            })
            .collect();
        body.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    let base = t.provider.base_url.trim_end_matches('/');
    let model = t.model.upstream_name();
    let uri = if stream {
        format!("{base}/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base}/models/{model}:generateContent")
    };
    Ok((
        uri,
        vec![("x-goog-api-key", t.api_key.to_owned())],
        Value::Object(body),
        Vec::new(),
    ))
}

fn push(contents: &mut Vec<Value>, role: &str, parts: Vec<Value>) {
    super::push_turn(contents, role, "parts", parts);
}

fn finish_reason(reason: &str, has_calls: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        _ if has_calls => "tool_calls",
        _ => "stop",
    }
}

fn usage(v: &Value) -> Option<Usage> {
    let u = v.get("usageMetadata")?;
    Some(Usage::new(
        u.get("promptTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        u.get("candidatesTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    ))
}

pub(super) fn parse(v: &Value, model: &str, created: u64) -> Result<ChatResponse, String> {
    let cand = v
        .pointer("/candidates/0")
        .ok_or("response has no candidates (blocked prompt?)")?;
    let id = v
        .get("responseId")
        .and_then(Value::as_str)
        .unwrap_or("gemini")
        .to_owned();
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in cand
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(fc) = part.get("functionCall") {
            let name = fc
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let args = fc
                .get("args")
                .map_or_else(|| "{}".to_owned(), Value::to_string);
            let idx = u32::try_from(calls.len()).unwrap_or(u32::MAX);
            calls.push(ToolCall {
                id: synth_call_id(&id, idx, &name, &args),
                kind: "function".into(),
                function: FunctionCall {
                    name,
                    arguments: args,
                },
            });
        }
    }
    let reason = cand
        .get("finishReason")
        .and_then(Value::as_str)
        .unwrap_or("STOP");
    Ok(ChatResponse {
        id,
        object: "chat.completion".into(),
        created,
        model: v
            .get("modelVersion")
            .and_then(Value::as_str)
            .unwrap_or(model)
            .to_owned(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: "assistant".into(),
                content: Some(Content::Text(text)),
                tool_calls: if calls.is_empty() {
                    None
                } else {
                    Some(calls.clone())
                },
                ..Message::default()
            },
            finish_reason: Some(finish_reason(reason, !calls.is_empty()).into()),
        }],
        usage: usage(v),
    })
}

pub(super) fn stream_event(
    st: &mut StreamState,
    ev: &SseEvent,
    out: &mut Vec<StreamOut>,
) -> Result<(), String> {
    let v = parse_json(ev)?;
    if let Some(e) = v.get("error") {
        return Err(e
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| e.to_string(), str::to_owned));
    }
    if let Some(id) = v.get("responseId").and_then(Value::as_str)
        && (st.id.is_empty() || !st.started)
    {
        st.id = id.to_owned();
    }
    st.start(out);
    if let Some(u) = usage(&v) {
        st.input_tokens = u.prompt_tokens;
        st.output_tokens = u.completion_tokens;
    }
    let Some(cand) = v.pointer("/candidates/0") else {
        return Ok(());
    };
    for part in cand
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            out.push(st.chunk(
                Delta {
                    content: Some(t.to_owned()),
                    ..Delta::default()
                },
                None,
            ));
        }
        if let Some(fc) = part.get("functionCall") {
            let name = fc
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let args = fc
                .get("args")
                .map_or_else(|| "{}".to_owned(), Value::to_string);
            let id = synth_call_id(&st.id, st.tool_calls, &name, &args);
            out.push(st.tool_start(None, Some(id), Some(name), args));
        }
    }
    if let Some(r) = cand.get("finishReason").and_then(Value::as_str) {
        st.finish = Some(finish_reason(r, st.tool_calls > 0).into());
    }
    Ok(())
}
