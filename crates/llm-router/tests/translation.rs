//! Golden translation tests: requests, responses and streams for every
//! provider kind, against hand-written fixtures in each documented format.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

use llm_router::providers::{StreamOut, StreamTranslator, Target, build_request, parse_response};
use llm_router::sse::SseParser;
use llm_router::{ChatRequest, ModelConfig, ProviderConfig, ProviderKind};
use serde_json::{Value, json};

fn provider(kind: ProviderKind, base: &str) -> ProviderConfig {
    ProviderConfig {
        name: "p".into(),
        kind,
        base_url: base.into(),
        api_key_secrets: vec!["KEY".into()],
        regions: vec!["us".into()],
        gdpr_compliant: false,
        weight: 1.0,
        models: vec![ModelConfig {
            name: "public-model".into(),
            upstream: Some("upstream-model".into()),
            input_per_mtok: 1.0,
            output_per_mtok: 2.0,
            context_window: 1000,
        }],
        api_version: Some("2024-10-21".into()),
    }
}

fn tool_conversation() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "public-model",
        "temperature": 1.5,
        "max_tokens": 256,
        "stop": "END",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Paris?"}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":21}"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required"
    }))
    .unwrap()
}

fn built(
    kind: ProviderKind,
    base: &str,
    req: &ChatRequest,
    stream: bool,
) -> (http::Request<Vec<u8>>, Value, Vec<String>) {
    let p = provider(kind, base);
    let b = build_request(
        Target {
            provider: &p,
            model: &p.models[0],
            api_key: "sk-secret",
        },
        req,
        stream,
        4096,
    )
    .unwrap();
    let body: Value = serde_json::from_slice(b.request.body()).unwrap();
    (b.request, body, b.notes)
}

fn stream(kind: ProviderKind, fixture: &str) -> Vec<StreamOut> {
    let mut parser = SseParser::new();
    let mut t = StreamTranslator::new(kind, "chatcmpl-x", "upstream-model", 7);
    let mut out = Vec::new();
    for ev in parser
        .feed(fixture.as_bytes())
        .unwrap()
        .into_iter()
        .chain(parser.finish())
    {
        out.extend(t.event(&ev).unwrap());
    }
    out.extend(t.finish().unwrap());
    out
}

/// Text content, tool-call fragments, finish reason and usage of a stream.
fn summarize(
    out: &[StreamOut],
) -> (
    String,
    Vec<(u32, Option<String>, Option<String>, String)>,
    Option<String>,
    Option<(u64, u64)>,
    bool,
) {
    let mut text = String::new();
    let mut calls: Vec<(u32, Option<String>, Option<String>, String)> = Vec::new();
    let mut finish = None;
    let mut usage = None;
    let mut done = false;
    for o in out {
        match o {
            StreamOut::Chunk(c) => {
                let ch = &c.choices[0];
                text.push_str(ch.delta.content.as_deref().unwrap_or(""));
                for tc in ch.delta.tool_calls.iter().flatten() {
                    match calls.iter_mut().find(|c| c.0 == tc.index) {
                        Some(c) => c.3.push_str(tc.function.arguments.as_deref().unwrap_or("")),
                        None => calls.push((
                            tc.index,
                            tc.id.clone(),
                            tc.function.name.clone(),
                            tc.function.arguments.clone().unwrap_or_default(),
                        )),
                    }
                }
                if ch.finish_reason.is_some() {
                    finish = ch.finish_reason.clone();
                }
            }
            StreamOut::Usage(u) => usage = Some((u.prompt_tokens, u.completion_tokens)),
            StreamOut::Done => done = true,
        }
    }
    (text, calls, finish, usage, done)
}

#[test]
fn anthropic_request() {
    let (req, body, notes) = built(
        ProviderKind::Anthropic,
        "https://api.anthropic.com/v1",
        &tool_conversation(),
        false,
    );
    assert_eq!(req.uri(), "https://api.anthropic.com/v1/messages");
    assert_eq!(req.headers()["x-api-key"], "sk-secret");
    assert_eq!(req.headers()["anthropic-version"], "2023-06-01");
    assert_eq!(
        body,
        json!({
            "model": "upstream-model",
            "max_tokens": 256,
            "system": "Be brief.",
            "temperature": 1.0,
            "stop_sequences": ["END"],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "{\"temp_c\":21}"}]}
            ],
            "tools": [{"name": "get_weather", "description": "Current weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "tool_choice": {"type": "any"}
        })
    );
    assert_eq!(
        notes,
        vec!["temperature 1.5 clamped to 1 (Anthropic accepts 0-1)"]
    );
    // max_tokens is required: the default fills in.
    let mut r = tool_conversation();
    r.max_tokens = None;
    r.temperature = Some(0.2);
    let (_, body, notes) = built(
        ProviderKind::Anthropic,
        "https://api.anthropic.com/v1",
        &r,
        true,
    );
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["stream"], true);
    assert!(notes.is_empty());
}

#[test]
fn anthropic_response_and_stream() {
    let resp = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "Checking."}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 12, "output_tokens": 7}
    });
    let r = parse_response(ProviderKind::Anthropic, resp.to_string().as_bytes(), "m", 1).unwrap();
    let msg = &r.choices[0].message;
    assert_eq!(msg.text_content(), "Checking.");
    let calls = msg.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].id, "toolu_1");
    assert_eq!(
        calls[0].function.arguments, "{\"city\":\"Paris\"}",
        "arguments are a JSON string in OpenAI"
    );
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(r.usage.unwrap().total_tokens, 19);

    let out = stream(ProviderKind::Anthropic, ANTHROPIC_STREAM);
    let (text, calls, finish, usage, done) = summarize(&out);
    assert_eq!(text, "Hello there");
    assert_eq!(
        calls,
        vec![(
            0,
            Some("toolu_9".into()),
            Some("lookup".into()),
            "{\"q\":\"x\"}".into()
        )]
    );
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    assert_eq!(usage, Some((25, 15)));
    assert!(done);
    match &out[0] {
        StreamOut::Chunk(c) => assert_eq!(c.choices[0].delta.role.as_deref(), Some("assistant")),
        other => panic!("first output must be the role chunk, got {other:?}"),
    }
}

const ANTHROPIC_STREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"lookup\",\"input\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"x\\\"}\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#[test]
fn stream_translation_is_independent_of_chunk_boundaries() {
    let whole = stream(ProviderKind::Anthropic, ANTHROPIC_STREAM);
    let bytes = ANTHROPIC_STREAM.as_bytes();
    for split in 0..=bytes.len() {
        let mut parser = SseParser::new();
        let mut t =
            StreamTranslator::new(ProviderKind::Anthropic, "chatcmpl-x", "upstream-model", 7);
        let mut out = Vec::new();
        for part in [&bytes[..split], &bytes[split..]] {
            for ev in parser.feed(part).unwrap() {
                out.extend(t.event(&ev).unwrap());
            }
        }
        if let Some(ev) = parser.finish() {
            out.extend(t.event(&ev).unwrap());
        }
        assert_eq!(out, whole, "split at byte {split}");
    }
}

#[test]
fn anthropic_error_event_is_an_error() {
    let mut parser = SseParser::new();
    let mut t = StreamTranslator::new(ProviderKind::Anthropic, "x", "m", 0);
    let evs = parser.feed(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n").unwrap();
    assert_eq!(t.event(&evs[0]).unwrap_err(), "Overloaded");
    // A stream that ends without message_stop is a truncation.
    let mut t = StreamTranslator::new(ProviderKind::Anthropic, "x", "m", 0);
    assert!(t.finish().is_err());
}

#[test]
fn gemini_request() {
    let mut req = tool_conversation();
    req.response_format = Some(json!({"type": "json_object"}));
    let (r, body, notes) = built(
        ProviderKind::Gemini,
        "https://generativelanguage.googleapis.com/v1beta",
        &req,
        false,
    );
    assert_eq!(
        r.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/upstream-model:generateContent"
    );
    assert_eq!(r.headers()["x-goog-api-key"], "sk-secret");
    assert!(notes.is_empty());
    assert_eq!(
        body,
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}}]}
            ],
            "generationConfig": {"temperature": 1.5, "maxOutputTokens": 256, "stopSequences": ["END"], "responseMimeType": "application/json"},
            "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]}]
        })
    );
    let (r, _, _) = built(
        ProviderKind::Gemini,
        "https://generativelanguage.googleapis.com/v1beta",
        &req,
        true,
    );
    assert_eq!(
        r.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/upstream-model:streamGenerateContent?alt=sse"
    );
}

#[test]
fn gemini_response_synthesizes_stable_tool_ids() {
    let resp = json!({
        "responseId": "resp-1",
        "candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}
    });
    let a = parse_response(ProviderKind::Gemini, resp.to_string().as_bytes(), "m", 1).unwrap();
    let b = parse_response(ProviderKind::Gemini, resp.to_string().as_bytes(), "m", 1).unwrap();
    let ca = &a.choices[0].message.tool_calls.as_ref().unwrap()[0];
    assert!(ca.id.starts_with("call_"));
    assert_eq!(
        ca.id,
        b.choices[0].message.tool_calls.as_ref().unwrap()[0].id,
        "ids are stable"
    );
    assert_eq!(ca.function.arguments, "{\"city\":\"Paris\"}");
    assert_eq!(a.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(a.usage.unwrap().total_tokens, 15);
    let blocked =
        json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "SAFETY"}]});
    let r = parse_response(ProviderKind::Gemini, blocked.to_string().as_bytes(), "m", 1).unwrap();
    assert_eq!(
        r.choices[0].finish_reason.as_deref(),
        Some("content_filter")
    );

    let fixture = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Bon\"}]}}],\"responseId\":\"r1\"}\r\n\r\n\
data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"jour\"}]},\"finishReason\":\"MAX_TOKENS\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}\r\n\r\n";
    let (text, calls, finish, usage, done) = summarize(&stream(ProviderKind::Gemini, fixture));
    assert_eq!(
        (text.as_str(), calls.len(), finish.as_deref(), usage, done),
        ("Bonjour", 0, Some("length"), Some((3, 2)), true)
    );
}

#[test]
fn cohere_request_response_stream() {
    let (r, body, _) = built(
        ProviderKind::Cohere,
        "https://api.cohere.com/v2",
        &tool_conversation(),
        false,
    );
    assert_eq!(r.uri(), "https://api.cohere.com/v2/chat");
    assert_eq!(r.headers()["authorization"], "Bearer sk-secret");
    assert_eq!(body["model"], "upstream-model");
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(body["messages"][3]["role"], "tool");
    assert_eq!(body["messages"][3]["tool_call_id"], "call_1");
    assert_eq!(body["stop_sequences"], json!(["END"]));
    assert_eq!(body["max_tokens"], 256);

    let resp = json!({"id": "c1", "message": {"role": "assistant", "content": [{"type": "text", "text": "Hi"}]}, "finish_reason": "MAX_TOKENS", "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 2}, "tokens": {"input_tokens": 70, "output_tokens": 2}}});
    let r = parse_response(ProviderKind::Cohere, resp.to_string().as_bytes(), "m", 1).unwrap();
    assert_eq!(r.choices[0].message.text_content(), "Hi");
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(r.usage.unwrap().prompt_tokens, 70);

    let fixture = "event: message-start\ndata: {\"id\":\"c9\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\"}}}\n\n\
event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n\
event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hel\"}}}}\n\n\
event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"lo\"}}}}\n\n\
event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n\
event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"tokens\":{\"input_tokens\":4,\"output_tokens\":2}}}}\n\n";
    let (text, _, finish, usage, done) = summarize(&stream(ProviderKind::Cohere, fixture));
    assert_eq!(
        (text.as_str(), finish.as_deref(), usage, done),
        ("Hello", Some("stop"), Some((4, 2)), true)
    );
}

#[test]
fn openai_like_and_azure_requests() {
    let mut req = tool_conversation();
    req.extra
        .insert("logit_bias".into(), json!({"50256": -100}));
    for kind in [
        ProviderKind::Openai,
        ProviderKind::Mistral,
        ProviderKind::Huggingface,
        ProviderKind::OpenaiCompatible,
    ] {
        let (r, body, _) = built(kind, "https://api.example.com/v1/", &req, true);
        assert_eq!(r.uri(), "https://api.example.com/v1/chat/completions");
        assert_eq!(r.headers()["authorization"], "Bearer sk-secret");
        assert_eq!(body["model"], "upstream-model");
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        assert_eq!(
            body["temperature"], 1.5,
            "OpenAI-compatible providers keep 0-2"
        );
        assert_eq!(
            body["logit_bias"],
            json!({"50256": -100}),
            "unknown fields pass through"
        );
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
    }
    let (r, body, _) = built(
        ProviderKind::AzureOpenai,
        "https://res.openai.azure.com",
        &req,
        false,
    );
    assert_eq!(
        r.uri(),
        "https://res.openai.azure.com/openai/deployments/upstream-model/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(r.headers()["api-key"], "sk-secret");
    assert!(r.headers().get("authorization").is_none());
    assert!(body.get("model").is_none());
    assert!(body.get("stream_options").is_none());
}

#[test]
fn openai_stream_passthrough_holds_finish_until_usage() {
    let fixture = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n\
data: [DONE]\n\n";
    let out = stream(ProviderKind::Openai, fixture);
    let (text, _, finish, usage, done) = summarize(&out);
    assert_eq!(
        (text.as_str(), finish.as_deref(), usage, done),
        ("Hi", Some("stop"), Some((3, 1)), true)
    );
    let mut parser = SseParser::new();
    let mut t = StreamTranslator::new(ProviderKind::Openai, "x", "m", 0);
    let evs = parser
        .feed(b"data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n")
        .unwrap();
    assert_eq!(t.event(&evs[0]).unwrap_err(), "boom");
}
