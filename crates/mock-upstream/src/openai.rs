//! OpenAI chat-completions wire format: request parsing and reply rendering.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Prefix of every reply.
const REPLY_PREFIX: &str = "mock reply to: ";

/// Characters of the last user message echoed in the reply.
const ECHO_CHARS: usize = 64;

#[derive(Deserialize)]
struct RawRequest {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    messages: Option<Vec<RawMessage>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<RawStreamOptions>,
    #[serde(default)]
    max_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawMessage {
    role: String,
    #[serde(default)]
    content: Option<Value>,
}

#[derive(Deserialize)]
struct RawStreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// The parts of a chat request the mock cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatRequest {
    /// Requested model, if any.
    pub(crate) model: Option<String>,
    /// `stream: true`.
    pub(crate) stream: bool,
    /// `stream_options.include_usage: true`.
    pub(crate) include_usage: bool,
    /// `max_tokens`, if any.
    pub(crate) max_tokens: Option<u64>,
    /// Characters over all message texts.
    pub(crate) prompt_chars: usize,
    /// Text of the last `user` message (empty if none).
    pub(crate) last_user_text: String,
}

/// Parses and validates a chat request; `Err` is the 400 message.
pub(crate) fn parse_chat(body: &[u8]) -> Result<ChatRequest, String> {
    let raw: RawRequest = serde_json::from_slice(body)
        .map_err(|e| format!("We could not parse the JSON body of your request: {e}"))?;
    let messages = raw
        .messages
        .ok_or_else(|| "Missing required parameter: 'messages'.".to_owned())?;
    if messages.is_empty() {
        return Err("Invalid 'messages': empty array. Expected at least one message.".to_owned());
    }
    let mut prompt_chars = 0usize;
    let mut last_user_text = None;
    for (i, message) in messages.iter().enumerate() {
        let text = content_text(message.content.as_ref())
            .map_err(|why| format!("Invalid 'messages[{i}].content': {why}"))?;
        prompt_chars = prompt_chars.saturating_add(text.chars().count());
        if message.role == "user" {
            last_user_text = Some(text);
        }
    }
    Ok(ChatRequest {
        model: raw.model.filter(|m| !m.is_empty()),
        stream: raw.stream.unwrap_or(false),
        include_usage: raw
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        max_tokens: raw.max_tokens,
        prompt_chars,
        last_user_text: last_user_text.unwrap_or_default(),
    })
}

/// The text of a message's `content`: a string, an array of parts (text
/// parts concatenated, other parts ignored), or null/absent (empty).
fn content_text(content: Option<&Value>) -> Result<String, &'static str> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                let Value::Object(part) = part else {
                    return Err("expected an array of content part objects");
                };
                if part.get("type").and_then(Value::as_str) == Some("text") {
                    match part.get("text") {
                        Some(Value::String(s)) => text.push_str(s),
                        _ => return Err("a text part needs a string 'text'"),
                    }
                }
            }
            Ok(text)
        }
        Some(_) => Err("expected a string or an array of content parts"),
    }
}

/// Token counts reported in `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// `ceil(chars / 4)`.
fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// A rendered reply, ready to serialise as JSON or SSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    id: String,
    created: u64,
    model: String,
    content: String,
    finish_reason: &'static str,
    usage: Usage,
}

impl Reply {
    /// The deterministic reply to `req`. `max_tokens` cuts the content to
    /// `4 * max_tokens` characters with `finish_reason: "length"`.
    pub(crate) fn new(req: &ChatRequest, id: String, created: u64, default_model: &str) -> Self {
        let mut content = String::with_capacity(REPLY_PREFIX.len() + ECHO_CHARS);
        content.push_str(REPLY_PREFIX);
        content.extend(req.last_user_text.chars().take(ECHO_CHARS));
        let mut chars = content.chars().count();
        let mut finish_reason = "stop";
        if let Some(max) = req.max_tokens {
            let limit = usize::try_from(max.saturating_mul(4)).unwrap_or(usize::MAX);
            if chars > limit {
                content = content.chars().take(limit).collect();
                chars = limit;
                finish_reason = "length";
            }
        }
        let prompt_tokens = tokens(req.prompt_chars);
        let completion_tokens = tokens(chars);
        Self {
            id,
            created,
            model: req
                .model
                .clone()
                .unwrap_or_else(|| default_model.to_owned()),
            content,
            finish_reason,
            usage: Usage {
                prompt_tokens,
                completion_tokens,
                total_tokens: prompt_tokens.saturating_add(completion_tokens),
            },
        }
    }

    /// The non-streamed `chat.completion` JSON body.
    pub(crate) fn completion_json(&self) -> Result<Bytes, serde_json::Error> {
        #[derive(Serialize)]
        struct Completion<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            model: &'a str,
            choices: [Choice<'a>; 1],
            usage: Usage,
        }
        #[derive(Serialize)]
        struct Choice<'a> {
            index: u32,
            message: Message<'a>,
            finish_reason: &'a str,
        }
        #[derive(Serialize)]
        struct Message<'a> {
            role: &'static str,
            content: &'a str,
        }
        let body = Completion {
            id: &self.id,
            object: "chat.completion",
            created: self.created,
            model: &self.model,
            choices: [Choice {
                index: 0,
                message: Message {
                    role: "assistant",
                    content: &self.content,
                },
                finish_reason: self.finish_reason,
            }],
            usage: self.usage,
        };
        serde_json::to_vec(&body).map(Bytes::from)
    }

    /// The SSE frames of a streamed reply: role chunk, `chunks` content
    /// chunks, finish chunk, optional usage chunk, `[DONE]`.
    pub(crate) fn sse_frames(
        &self,
        chunks: usize,
        include_usage: bool,
    ) -> Result<Vec<Bytes>, serde_json::Error> {
        // OpenAI sends `"usage": null` on every chunk but the last when
        // `include_usage` is set, and omits the field otherwise.
        let no_usage = if include_usage { Some(None) } else { None };
        let mut frames = Vec::with_capacity(chunks + 4);
        let delta = Delta {
            role: Some("assistant"),
            content: Some(""),
        };
        frames.push(self.frame(
            &[ChunkChoice {
                index: 0,
                delta,
                finish_reason: None,
            }],
            no_usage,
        )?);
        for piece in split_chars(&self.content, chunks) {
            let delta = Delta {
                role: None,
                content: Some(piece),
            };
            frames.push(self.frame(
                &[ChunkChoice {
                    index: 0,
                    delta,
                    finish_reason: None,
                }],
                no_usage,
            )?);
        }
        let finish = ChunkChoice {
            index: 0,
            delta: Delta {
                role: None,
                content: None,
            },
            finish_reason: Some(self.finish_reason),
        };
        frames.push(self.frame(&[finish], no_usage)?);
        if include_usage {
            frames.push(self.frame(&[], Some(Some(self.usage)))?);
        }
        frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
        Ok(frames)
    }

    fn frame(
        &self,
        choices: &[ChunkChoice<'_>],
        usage: Option<Option<Usage>>,
    ) -> Result<Bytes, serde_json::Error> {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices,
            usage,
        };
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(b"data: ");
        serde_json::to_writer(&mut buf, &chunk)?;
        buf.extend_from_slice(b"\n\n");
        Ok(Bytes::from(buf))
    }
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [ChunkChoice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

/// Splits `s` into exactly `n` consecutive pieces of near-equal character
/// counts (some empty when `s` has fewer than `n` characters).
pub(crate) fn split_chars(s: &str, n: usize) -> Vec<&str> {
    let n = n.max(1);
    let bounds: Vec<usize> = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()))
        .collect();
    let total = bounds.len() - 1;
    let at = |k: usize| bounds.get(k * total / n).copied().unwrap_or(s.len());
    (0..n)
        .map(|k| s.get(at(k)..at(k + 1)).unwrap_or(""))
        .collect()
}

/// An OpenAI-style error body: `{"error":{"message","type","param":null,"code":null}}`.
pub(crate) fn error_json(message: &str, kind: &str) -> Bytes {
    #[derive(Serialize)]
    struct Envelope<'a> {
        error: Detail<'a>,
    }
    #[derive(Serialize)]
    struct Detail<'a> {
        message: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        param: Option<&'a str>,
        code: Option<&'a str>,
    }
    let envelope = Envelope {
        error: Detail {
            message,
            kind,
            param: None,
            code: None,
        },
    };
    serde_json::to_vec(&envelope).map_or_else(
        |_| {
            Bytes::from_static(
                br#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#,
            )
        },
        Bytes::from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> ChatRequest {
        parse_chat(json.as_bytes()).unwrap()
    }

    #[test]
    fn parses_string_and_part_content() {
        let req = request(
            r#"{"model":"m","messages":[{"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"hel"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"lo"}]}],
            "stream":true,"stream_options":{"include_usage":true},"max_tokens":50}"#,
        );
        assert_eq!(req.model.as_deref(), Some("m"));
        assert!(req.stream && req.include_usage);
        assert_eq!(req.max_tokens, Some(50));
        assert_eq!(req.prompt_chars, 8 + 5);
        assert_eq!(req.last_user_text, "hello");
    }

    #[test]
    fn rejects_bad_requests() {
        assert!(parse_chat(b"{").unwrap_err().contains("could not parse"));
        assert!(parse_chat(b"[]").is_err());
        assert!(parse_chat(b"{}").unwrap_err().contains("'messages'"));
        assert!(
            parse_chat(br#"{"messages":[]}"#)
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            parse_chat(br#"{"messages":[{"role":"user","content":5}]}"#)
                .unwrap_err()
                .contains("messages[0].content")
        );
    }

    #[test]
    fn reply_and_usage() {
        let long = "x".repeat(100);
        let req = request(&format!(
            r#"{{"messages":[{{"role":"user","content":"{long}"}}]}}"#
        ));
        let reply = Reply::new(&req, "id".into(), 1, "mock-1");
        assert_eq!(reply.content, format!("mock reply to: {}", "x".repeat(64)));
        assert_eq!(reply.model, "mock-1");
        assert_eq!(reply.usage.prompt_tokens, 25);
        assert_eq!(reply.usage.completion_tokens, 79_u64.div_ceil(4));
        let capped = ChatRequest {
            max_tokens: Some(2),
            ..req
        };
        let reply = Reply::new(&capped, "id".into(), 1, "mock-1");
        assert_eq!(
            (reply.content.as_str(), reply.finish_reason),
            ("mock rep", "length")
        );
    }

    #[test]
    fn splits_on_char_boundaries() {
        assert_eq!(split_chars("abcdefg", 3), ["ab", "cd", "efg"]);
        assert_eq!(split_chars("héllo", 5), ["h", "é", "l", "l", "o"]);
        assert_eq!(split_chars("ab", 4), ["", "a", "", "b"]);
        assert_eq!(split_chars("", 2), ["", ""]);
        assert_eq!(
            split_chars("日本語のテキスト", 3).concat(),
            "日本語のテキスト"
        );
    }
}
