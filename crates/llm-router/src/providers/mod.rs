//! Translation between the OpenAI format and each provider's wire format.
//!
//! For each kind: build the upstream `http::Request`, parse a complete
//! response into a [`ChatResponse`], and translate a response stream into
//! OpenAI `chat.completion.chunk` events.

mod anthropic;
mod cohere;
mod gemini;
mod openai_like;

use serde_json::Value;

use crate::config::{ModelConfig, ProviderConfig, ProviderKind};
use crate::error::RouterError;
use crate::openai::{ChatChunk, ChatRequest, ChatResponse, Usage};
use crate::sse::SseEvent;

/// Where a request goes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The provider.
    pub provider: &'a ProviderConfig,
    /// The model at that provider.
    pub model: &'a ModelConfig,
    /// The API key (never logged or returned).
    pub api_key: &'a str,
}

/// An upstream request plus notes for the client (`x-edgeforge-notes`).
#[derive(Debug)]
pub struct Built {
    /// The request.
    pub request: http::Request<Vec<u8>>,
    /// Adjustments made in translation, e.g. a clamped temperature.
    pub notes: Vec<String>,
}

/// Builds the provider request.
pub fn build_request(
    target: Target<'_>,
    req: &ChatRequest,
    stream: bool,
    default_max_tokens: u32,
) -> Result<Built, RouterError> {
    let kind = target.provider.kind;
    let (uri, headers, body, notes) = match kind {
        ProviderKind::Anthropic => anthropic::build(target, req, stream, default_max_tokens)?,
        ProviderKind::Gemini => gemini::build(target, req, stream)?,
        ProviderKind::Cohere => cohere::build(target, req, stream)?,
        _ => openai_like::build(target, req, stream)?,
    };
    let mut builder = http::Request::post(uri).header("content-type", "application/json");
    if stream {
        builder = builder.header("accept", "text/event-stream");
    }
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let body =
        serde_json::to_vec(&body).map_err(|e| invalid(format!("cannot encode request: {e}")))?;
    let request = builder.body(body).map_err(|e| {
        invalid(format!(
            "cannot build upstream request (check base_url and key): {e}"
        ))
    })?;
    Ok(Built { request, notes })
}

/// Parses a complete 2xx response body.
pub fn parse_response(
    kind: ProviderKind,
    body: &[u8],
    model: &str,
    created: u64,
) -> Result<ChatResponse, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
    if let Some(msg) = error_in(&v) {
        return Err(msg);
    }
    match kind {
        ProviderKind::Anthropic => anthropic::parse(&v, model, created),
        ProviderKind::Gemini => gemini::parse(&v, model, created),
        ProviderKind::Cohere => cohere::parse(&v, model, created),
        _ => openai_like::parse(&v),
    }
}

/// The provider's error message from an error body, truncated; never
/// echoes request headers (no key can leak through it).
pub fn error_message(body: &[u8]) -> String {
    let msg = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            error_in(&v).or_else(|| v.get("message").and_then(Value::as_str).map(str::to_owned))
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    truncate(&msg, 300)
}

fn error_in(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    Some(match e {
        Value::String(s) => s.clone(),
        _ => e
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string()),
    })
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(crate) fn invalid(message: String) -> RouterError {
    RouterError::InvalidRequest {
        message,
        param: None,
    }
}

/// What a stream translator produces.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamOut {
    /// An OpenAI chunk for the client.
    Chunk(ChatChunk),
    /// Usage, for accounting (sent to the client only if it asked).
    Usage(Usage),
    /// The stream is complete.
    Done,
}

/// Translates one provider's SSE events into OpenAI chunks.
#[derive(Debug)]
pub struct StreamTranslator {
    kind: ProviderKind,
    state: StreamState,
}

/// Shared per-stream state.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    pub id: String,
    pub model: String,
    pub created: u64,
    pub started: bool,
    pub done: bool,
    pub finish: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub tool_calls: u32,
    /// Provider block index → OpenAI tool-call index (Anthropic, Cohere).
    pub tool_index: Vec<(u64, u32)>,
}

impl StreamState {
    pub(crate) fn chunk(&self, delta: crate::openai::Delta, finish: Option<String>) -> StreamOut {
        StreamOut::Chunk(ChatChunk::new(
            &self.id,
            &self.model,
            self.created,
            delta,
            finish,
        ))
    }

    /// Starts a tool call (for provider block `block`, when the provider
    /// streams its arguments in pieces); returns the OpenAI chunk.
    pub(crate) fn tool_start(
        &mut self,
        block: Option<u64>,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    ) -> StreamOut {
        let index = self.tool_calls;
        self.tool_calls += 1;
        if let Some(b) = block {
            self.tool_index.push((b, index));
        }
        self.tool_chunk(crate::openai::ToolCallDelta {
            index,
            id,
            kind: Some("function".into()),
            function: crate::openai::FunctionDelta {
                name,
                arguments: Some(arguments),
            },
        })
    }

    /// More argument text for the tool call started for provider block `block`.
    pub(crate) fn tool_args(&self, block: u64, arguments: &str) -> StreamOut {
        let index = self
            .tool_index
            .iter()
            .find(|(b, _)| *b == block)
            .map_or(0, |(_, i)| *i);
        self.tool_chunk(crate::openai::ToolCallDelta {
            index,
            function: crate::openai::FunctionDelta {
                name: None,
                arguments: Some(arguments.to_owned()),
            },
            ..Default::default()
        })
    }

    fn tool_chunk(&self, call: crate::openai::ToolCallDelta) -> StreamOut {
        self.chunk(
            crate::openai::Delta {
                tool_calls: Some(vec![call]),
                ..Default::default()
            },
            None,
        )
    }

    /// The role chunk, once.
    pub(crate) fn start(&mut self, out: &mut Vec<StreamOut>) {
        if !self.started {
            self.started = true;
            out.push(self.chunk(
                crate::openai::Delta {
                    role: Some("assistant".into()),
                    content: Some(String::new()),
                    ..Default::default()
                },
                None,
            ));
        }
    }

    /// Finish chunk, usage and done, once.
    pub(crate) fn end(&mut self, out: &mut Vec<StreamOut>) {
        if self.done {
            return;
        }
        self.start(out);
        self.done = true;
        let finish = self.finish.clone().unwrap_or_else(|| "stop".into());
        out.push(self.chunk(crate::openai::Delta::default(), Some(finish)));
        out.push(StreamOut::Usage(Usage::new(
            self.input_tokens,
            self.output_tokens,
        )));
        out.push(StreamOut::Done);
    }
}

impl StreamTranslator {
    /// A translator for `kind`; `id`, `model` and `created` label the chunks.
    pub fn new(kind: ProviderKind, id: &str, model: &str, created: u64) -> Self {
        Self {
            kind,
            state: StreamState {
                id: id.to_owned(),
                model: model.to_owned(),
                created,
                ..StreamState::default()
            },
        }
    }

    /// The chunk id, model and creation time this translator stamps.
    pub fn labels(&self) -> (&str, &str, u64) {
        (&self.state.id, &self.state.model, self.state.created)
    }

    /// True once the provider's stream has completed.
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    /// Translates one event. An error event (or an unparseable one) is an
    /// `Err` with the provider's message.
    pub fn event(&mut self, ev: &SseEvent) -> Result<Vec<StreamOut>, String> {
        if self.state.done {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        match self.kind {
            ProviderKind::Anthropic => anthropic::stream_event(&mut self.state, ev, &mut out)?,
            ProviderKind::Gemini => gemini::stream_event(&mut self.state, ev, &mut out)?,
            ProviderKind::Cohere => cohere::stream_event(&mut self.state, ev, &mut out)?,
            _ => openai_like::stream_event(&mut self.state, ev, &mut out)?,
        }
        Ok(out)
    }

    /// The provider's stream ended. Gemini streams end without a marker;
    /// for the others an end before their final event is a truncation.
    pub fn finish(&mut self) -> Result<Vec<StreamOut>, String> {
        if self.state.done {
            return Ok(Vec::new());
        }
        match self.kind {
            ProviderKind::Gemini => {
                let mut out = Vec::new();
                self.state.end(&mut out);
                Ok(out)
            }
            _ => Err("the provider's stream ended before its final event".into()),
        }
    }
}

/// Appends a turn, merging it into the previous one when the role repeats:
/// Anthropic and Gemini require alternating roles. `field` is the list
/// field of a turn (`content` or `parts`).
pub(crate) fn push_turn(turns: &mut Vec<Value>, role: &str, field: &str, mut items: Vec<Value>) {
    if let Some(last) = turns.last_mut()
        && last["role"] == role
        && let Some(arr) = last[field].as_array_mut()
    {
        arr.append(&mut items);
        return;
    }
    let mut turn = serde_json::Map::new();
    turn.insert("role".into(), Value::String(role.to_owned()));
    turn.insert(field.into(), Value::Array(items));
    turns.push(Value::Object(turn));
}

/// Parses a JSON event payload.
pub(crate) fn json(ev: &SseEvent) -> Result<Value, String> {
    serde_json::from_str(&ev.data).map_err(|e| format!("stream event is not JSON: {e}"))
}

/// Tool-call arguments: OpenAI's JSON string → an object for other providers.
pub(crate) fn args_object(arguments: &str) -> Result<Value, RouterError> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(arguments).map_err(|e| RouterError::InvalidRequest {
        message: format!("tool_calls[].function.arguments is not valid JSON: {e}"),
        param: Some("messages".into()),
    })
}

/// A stable tool-call id for providers that send none (Gemini): derived from
/// the response id, the call's position, its name and its arguments.
pub(crate) fn synth_call_id(response_id: &str, index: u32, name: &str, args: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in response_id
        .bytes()
        .chain(index.to_le_bytes())
        .chain(name.bytes())
        .chain(args.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("call_{h:016x}")
}
