//! Criterion benchmarks: a routing decision over 10 providers, translation of
//! a 2 KB request to Anthropic and Gemini and of their responses back, and
//! SSE stream translation throughput. Each has a same-run baseline.
//!
//!   cargo bench -p llm-router --bench router
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edge_ports::SeededRandom;
use llm_router::providers::{StreamTranslator, Target, build_request, parse_response};
use llm_router::sse::SseParser;
use llm_router::{ChatRequest, Message, Observed, ProviderKind, RouterConfig, rank};
use serde_json::json;

fn ten_providers() -> RouterConfig {
    let mut toml = String::from("[regions]\ndefault = \"us\"\ncontinents = { EU = \"eu\" }\n");
    for i in 0..10 {
        toml.push_str(&format!(
            "[[providers]]\nname = \"p{i}\"\nkind = \"openai\"\nbase_url = \"https://p{i}.test/v1\"\napi_key_secrets = [\"K{i}\"]\nregions = [\"us\", \"eu\"]\ngdpr_compliant = {}\nmodels = [{{ name = \"gpt\", input_per_mtok = {}.0, output_per_mtok = {}.0 }}, {{ name = \"other{i}\" }}]\n",
            i % 2 == 0,
            i + 1,
            2 * i + 1
        ));
    }
    RouterConfig::from_toml(&toml).unwrap()
}

fn request_2kb() -> ChatRequest {
    let filler = "The quick brown fox jumps over the lazy dog. ".repeat(40);
    ChatRequest {
        model: "gpt".into(),
        temperature: Some(0.7),
        max_tokens: Some(512),
        messages: vec![
            Message::text("system", "You are a helpful assistant."),
            Message::text("user", &filler[..1000]),
            Message::text("assistant", "Sure, here is a summary."),
            Message::text("user", &filler[..900]),
        ],
        ..Default::default()
    }
}

fn bench_routing(c: &mut Criterion) {
    let cfg = ten_providers();
    let rng = SeededRandom::new(1);
    let observe = |name: &str| Observed {
        latency_ms: Some(100.0 + name.len() as f64 * 7.0),
        reliability: 0.97,
        available: name != "p3",
    };
    c.bench_function("route/rank_10_providers", |b| {
        b.iter(|| black_box(rank(black_box(&cfg), "gpt", "eu", true, &observe, &rng)).len())
    });
    // Baseline: one pass over the providers doing nothing but the model lookup.
    c.bench_function("baseline/scan_10_providers", |b| {
        b.iter(|| {
            black_box(&cfg)
                .providers
                .iter()
                .filter(|p| p.models.iter().any(|m| m.name == "gpt"))
                .count()
        })
    });
}

fn bench_translation(c: &mut Criterion) {
    let req = request_2kb();
    let size = serde_json::to_vec(&req).unwrap().len();
    let cfg = ten_providers();
    let mut g = c.benchmark_group("translate_2KB_request");
    g.throughput(Throughput::Bytes(size as u64));
    for kind in [ProviderKind::Anthropic, ProviderKind::Gemini] {
        let mut p = cfg.providers[0].clone();
        p.kind = kind;
        let t = Target {
            provider: &p,
            model: &p.models[0],
            api_key: "k",
        };
        g.bench_function(format!("{kind:?}/request"), |b| {
            b.iter(|| black_box(build_request(t, black_box(&req), false, 1024).unwrap()))
        });
    }
    // Baseline: serialise the OpenAI request as-is.
    g.bench_function("baseline/serialize_openai", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&req)).unwrap()))
    });
    g.finish();

    let text = "x".repeat(1800);
    let anthropic = json!({"id": "m", "type": "message", "role": "assistant", "model": "c", "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "usage": {"input_tokens": 500, "output_tokens": 450}}).to_string();
    let gemini = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 500, "candidatesTokenCount": 450}}).to_string();
    let mut g = c.benchmark_group("translate_2KB_response");
    g.bench_function("Anthropic/response", |b| {
        b.iter(|| {
            black_box(
                parse_response(
                    ProviderKind::Anthropic,
                    black_box(anthropic.as_bytes()),
                    "m",
                    0,
                )
                .unwrap(),
            )
        })
    });
    g.bench_function("Gemini/response", |b| {
        b.iter(|| {
            black_box(
                parse_response(ProviderKind::Gemini, black_box(gemini.as_bytes()), "m", 0).unwrap(),
            )
        })
    });
    g.bench_function("baseline/parse_json_value", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_slice::<serde_json::Value>(black_box(anthropic.as_bytes()))
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn bench_sse(c: &mut Criterion) {
    let mut stream = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\n",
    );
    for i in 0..500 {
        stream.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token {i} of the answer \"}}}}\n\n"
        ));
    }
    stream.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":500}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    let bytes = stream.into_bytes();
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("anthropic_to_openai_chunks", |b| {
        b.iter(|| {
            let mut parser = SseParser::new();
            let mut t = StreamTranslator::new(ProviderKind::Anthropic, "id", "m", 0);
            let mut n = 0usize;
            for chunk in bytes.chunks(1400) {
                for ev in parser.feed(chunk).unwrap() {
                    for out in t.event(&ev).unwrap() {
                        if let llm_router::providers::StreamOut::Chunk(c) = out {
                            n += c.to_sse().len();
                        }
                    }
                }
            }
            black_box(n)
        })
    });
    g.bench_function("baseline/sse_parse_only", |b| {
        b.iter(|| {
            let mut parser = SseParser::new();
            let mut n = 0usize;
            for chunk in bytes.chunks(1400) {
                n += parser.feed(chunk).unwrap().len();
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_routing, bench_translation, bench_sse);
criterion_main!(benches);
