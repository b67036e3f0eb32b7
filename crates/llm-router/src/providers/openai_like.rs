//! OpenAI, Azure OpenAI, Mistral, HuggingFace, OpenAI-compatible and mock.

use serde_json::{Value, json};

use super::{StreamOut, StreamState, Target, json as parse_json};
use crate::config::ProviderKind;
use crate::error::RouterError;
use crate::openai::{ChatChunk, ChatRequest, ChatResponse};
use crate::sse::SseEvent;

type Parts = (String, Vec<(&'static str, String)>, Value, Vec<String>);

pub(super) fn build(t: Target<'_>, req: &ChatRequest, stream: bool) -> Result<Parts, RouterError> {
    let base = t.provider.base_url.trim_end_matches('/');
    let model = t.model.upstream_name();
    let mut body = serde_json::to_value(req).map_err(|e| super::invalid(e.to_string()))?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("model".into(), json!(model));
        obj.insert("stream".into(), json!(stream));
        if stream {
            // Always ask for usage: cost accounting needs it. The client only
            // sees the usage chunk if it asked for one.
            obj.insert("stream_options".into(), json!({"include_usage": true}));
        } else {
            obj.remove("stream_options");
        }
    }
    let (uri, headers) = match t.provider.kind {
        ProviderKind::AzureOpenai => {
            let version = t.provider.api_version.as_deref().unwrap_or("2024-10-21");
            if let Some(obj) = body.as_object_mut() {
                obj.remove("model"); // the deployment is in the URL
            }
            (
                format!("{base}/openai/deployments/{model}/chat/completions?api-version={version}"),
                vec![("api-key", t.api_key.to_owned())],
            )
        }
        ProviderKind::Mock if t.api_key.is_empty() => {
            (format!("{base}/chat/completions"), Vec::new())
        }
        _ => (
            format!("{base}/chat/completions"),
            vec![("authorization", format!("Bearer {}", t.api_key))],
        ),
    };
    Ok((uri, headers, body, Vec::new()))
}

pub(super) fn parse(v: &Value) -> Result<ChatResponse, String> {
    serde_json::from_value(v.clone()).map_err(|e| format!("unexpected response shape: {e}"))
}

pub(super) fn stream_event(
    st: &mut StreamState,
    ev: &SseEvent,
    out: &mut Vec<StreamOut>,
) -> Result<(), String> {
    if ev.data.trim() == "[DONE]" {
        st.end(out);
        return Ok(());
    }
    let v = parse_json(ev)?;
    if let Some(e) = v.get("error") {
        return Err(e
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| e.to_string(), str::to_owned));
    }
    let mut chunk: ChatChunk =
        serde_json::from_value(v).map_err(|e| format!("unexpected chunk shape: {e}"))?;
    if let Some(u) = chunk.usage.take() {
        st.input_tokens = u.prompt_tokens;
        st.output_tokens = u.completion_tokens;
    }
    if chunk.choices.is_empty() {
        return Ok(()); // the usage-only chunk: re-emitted by `end` when asked for
    }
    st.started = true;
    if st.id.is_empty() {
        st.id = chunk.id.clone();
    }
    for c in &chunk.choices {
        if let Some(f) = &c.finish_reason {
            st.finish = Some(f.clone());
        }
    }
    // The finish chunk is re-emitted once by `end`, after usage is known.
    let finishing = chunk.choices.iter().any(|c| c.finish_reason.is_some());
    let has_delta = chunk.choices.iter().any(|c| {
        c.delta.content.as_deref().is_some_and(|s| !s.is_empty())
            || c.delta.tool_calls.is_some()
            || c.delta.role.is_some()
    });
    if finishing {
        for c in &mut chunk.choices {
            c.finish_reason = None;
        }
        if has_delta {
            out.push(StreamOut::Chunk(chunk));
        }
    } else {
        out.push(StreamOut::Chunk(chunk));
    }
    Ok(())
}
