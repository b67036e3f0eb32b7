//! Sketch insert and memory, and recording a request into the windows, each
//! next to a same-run baseline (a Vec push).
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use slo_metrics::sketch::DdSketch;
use slo_metrics::slo::Windows;

fn benches(c: &mut Criterion) {
    let values: Vec<f64> = (0..4096)
        .map(|i| 0.5 + (i as f64 * 37.0) % 2000.0)
        .collect();
    c.bench_function("baseline/vec_push", |b| {
        let mut v = Vec::with_capacity(1 << 20);
        let mut i = 0;
        b.iter(|| {
            if v.len() == v.capacity() {
                v.clear();
            }
            v.push(black_box(values[i & 4095]));
            i += 1;
        })
    });
    c.bench_function("sketch/insert", |b| {
        let mut s = DdSketch::new();
        let mut i = 0;
        b.iter(|| {
            s.insert(black_box(values[i & 4095]));
            i += 1;
        })
    });
    c.bench_function("windows/record_request", |b| {
        let mut w = Windows::new();
        let mut i = 0u64;
        b.iter(|| {
            w.record(
                black_box(1_700_000_000_000 + i),
                200,
                black_box(values[(i & 4095) as usize]),
            );
            i += 1;
        })
    });
    let sink = edge_ports::MemoryAnalytics::new();
    c.bench_function("schema/record_data_point", |b| {
        use edge_ports::AnalyticsSink;
        let p = slo_metrics::schema::RequestPoint {
            route: "chat".into(),
            status: 200,
            colo: "FRA".into(),
            country: "DE".into(),
            cache: "MISS".into(),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            tier: "premium".into(),
            variant: "prompt-v2=short".into(),
            deployment: "v42".into(),
            response_ms: 123.0,
            cpu_ms: 1.5,
            tokens_in: 120.0,
            tokens_out: 40.0,
            cost_usd: 0.00004,
        };
        let mut n = 0u32;
        b.iter(|| {
            let _ = sink.write(black_box(&p).to_data_point());
            n += 1;
            if n.is_multiple_of(100_000) {
                sink.take();
            }
        })
    });
    // Memory over the whole 1 µs – 100 s range.
    let mut full = DdSketch::new();
    let mut v = 1e-3;
    while v <= 1e5 {
        full.insert(v);
        v *= 1.005;
    }
    println!(
        "sketch memory over 1 µs–100 s at 1%: {} bytes in memory, {} bytes serialised",
        full.memory_bytes(),
        full.to_bytes().len()
    );
}

criterion_group!(all, benches);
criterion_main!(all);
