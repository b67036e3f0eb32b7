//! Throughput of the data classifier and envelope encryption, each next to
//! a same-run baseline.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edge_ports::SeededRandom;
use zt_security::classify::classify_json;
use zt_security::envelope::{Context, Key, Keyring};

fn benign_text() -> String {
    let lines = [
        "Hey! Can you help me plan a 3-day trip to Lisbon? I'd like to see the old town, eat pastéis de nata and maybe take a day trip to Sintra.",
        "Sure - here's a rough plan: Day 1: Alfama & the castle; Day 2: Belém (the tower, the monastery); Day 3: Sintra by train from Rossio.",
        "What's the difference between a list and a tuple in Python? I read that tuples are immutable, but when should I use one over the other?",
        "for (i = 0; i < n; i++) { total += prices[i] * qty[i]; } // is this O(n)?",
        "Our Q3 numbers: revenue up 12% (EUR 1.2M), churn down to 3.4%; see https://example.com/report?id=42&view=summary#highlights",
        "{\"role\": \"user\", \"content\": \"Summarise the meeting notes from Tuesday and list the action items for O'Brien's team.\"}",
        "## Notes\n- select the best plan from the list where it fits\n- don't forget C# migration\n- rock 'n' roll playlist for the party",
    ];
    let mut s = String::new();
    while s.len() < 4096 {
        for l in lines {
            s.push_str(l);
            s.push('\n');
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = benign_text();
    let doc: serde_json::Value = serde_json::json!({
        "user": {"name": "Ann Lee", "email": "ann@example.com", "phone": "+1 415 555 0100", "id": 1700000000},
        "messages": (0..12).map(|i| serde_json::json!({"role": "user", "content": format!("message {i}: {}", &text[..100]), "tokens_generated": i})).collect::<Vec<_>>(),
        "auth": {"api_key": "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3"}
    });
    let len = serde_json::to_string(&doc).unwrap().len();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(len as u64));
    g.bench_function("json_2KB", |b| b.iter(|| classify_json(black_box(&doc))));
    g.finish();

    let ring =
        Keyring::new(Key::from_base64(1, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").unwrap());
    let rng = SeededRandom::new(1);
    let ctx = Context::new("user:42", "pii");
    let pt = vec![7u8; 1024];
    let ct = ring.seal(&rng, &pt, &ctx).unwrap();
    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("seal_1KB", |b| {
        b.iter(|| ring.seal(&rng, black_box(&pt), &ctx).unwrap())
    });
    g.bench_function("open_1KB", |b| {
        b.iter(|| ring.open(black_box(&ct), &ctx).unwrap())
    });
    g.bench_function("baseline_copy_1KB", |b| b.iter(|| black_box(&pt).to_vec()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
