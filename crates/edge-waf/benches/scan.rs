//! Throughput of the threat scanner next to a same-run baseline (a plain
//! byte loop over the same input), and on hostile 64 KB values.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edge_waf::{InputKind, ThreatScanner};

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
    let scanner = ThreatScanner::default();
    let mut g = c.benchmark_group("threat");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("scan_benign_text", |b| {
        b.iter(|| scanner.rules_for(InputKind::Json, black_box(&text)))
    });
    g.finish();

    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Bytes(text.len() as u64));
    // The scanner's floor: one pass counting the bytes it cares about.
    g.bench_function("trigger_byte_count", |b| {
        b.iter(|| {
            black_box(text.as_bytes())
                .iter()
                .filter(|&&c| matches!(c, b'<' | b'\'' | b'"' | b'(' | b';' | b'=' | b'-' | b'#'))
                .count()
        })
    });
    g.bench_function("memchr_like_scan", |b| {
        b.iter(|| {
            black_box(text.as_bytes())
                .iter()
                .filter(|&&c| c == b'<' || c == b'\'')
                .count()
        })
    });
    g.finish();

    // Worst cases: 64 KB values built from the shapes that make a naive
    // scanner quadratic (every `<` / `#` / `(` starting a scan to the end).
    // Compare their MiB/s with `threat/scan_benign_text`: a collapse here is
    // a complexity regression.
    let hostile: Vec<(&str, String)> = vec![
        ("hashes", "#".repeat(64 * 1024)),
        ("num_hash_word", "1#a".repeat(21 * 1024)),
        ("open_tags", "<a style=\"x".repeat(5 * 1024)),
        ("select_parens", "select (".repeat(8 * 1024)),
        ("quotes", "'".repeat(64 * 1024)),
        ("or_chain", "1 or (".repeat(10 * 1024)),
    ];
    let mut g = c.benchmark_group("threat_hostile_64KB");
    for (name, v) in &hostile {
        g.throughput(Throughput::Bytes(v.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| scanner.rules_for(InputKind::Query, black_box(v)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
