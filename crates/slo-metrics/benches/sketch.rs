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
