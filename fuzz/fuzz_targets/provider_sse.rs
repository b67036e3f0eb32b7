//! Provider responses and SSE streams: parsing and translation for every
//! provider kind, fed in arbitrary chunkings.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llm_router::ProviderKind;
use llm_router::providers::{StreamTranslator, parse_response};
use llm_router::sse::SseParser;

fuzz_target!(|data: &[u8]| {
    let kinds = [ProviderKind::Openai, ProviderKind::Anthropic, ProviderKind::Gemini, ProviderKind::Cohere, ProviderKind::AzureOpenai];
    for kind in kinds {
        let _ = parse_response(kind, data, "m", 1);
        let mut parser = SseParser::new();
        let mut translator = StreamTranslator::new(kind, "id", "m", 1);
        let split = data.first().map_or(1, |b| usize::from(*b % 16) + 1);
        for chunk in data.chunks(split) {
            if let Ok(events) = parser.feed(chunk) {
                for ev in &events {
                    let _ = translator.event(ev);
                }
            }
        }
        if let Some(ev) = parser.finish() {
            let _ = translator.event(&ev);
        }
        let _ = translator.finish();
    }
});
