//! Sketch insert and memory, recording a request into the windows and the
//! KV bucket writer, and recording an Analytics Engine data point, each
//! reported as a ratio to a same-run baseline (a Vec push).
//!
//! `cargo bench -p slo-metrics --bench sketch`
use std::hint::black_box;

use criterion::Criterion;
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
        // Into the in-memory sink, which keeps up to 100k points.
        b.iter(|| {
            let _ = sink.write(black_box(&p).to_data_point());
            n += 1;
            if n.is_multiple_of(100_000) {
                sink.take();
            }
        })
    });
    c.bench_function("schema/to_data_point_validated", |b| {
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
        b.iter(|| {
            let dp = black_box(&p).to_data_point();
            black_box(dp.validate().is_ok())
        })
    });
    let kv = edge_ports::MemoryKv::new(edge_ports::ManualClock::new(0));
    c.bench_function("store/bucket_writer_record", |b| {
        let w = slo_metrics::store::BucketWriter::new(&kv, "slo", "bench", 10_000);
        let mut i = 0u64;
        b.iter(|| {
            // Never due for a flush: the clock stays inside one interval.
            w.record(
                black_box(1_700_000_000_000 + (i & 1023)),
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

/// Mean ns of a finished benchmark, from criterion's `estimates.json`.
fn mean_ns(id: &str) -> Option<f64> {
    let dirs = [
        std::env::var("CARGO_TARGET_DIR").ok(),
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").to_owned()),
        Some("target".to_owned()),
    ];
    let flat = id.replace('/', "_");
    dirs.into_iter().flatten().find_map(|d| {
        let text = std::fs::read_to_string(format!("{d}/criterion/{id}/new/estimates.json"))
            .or_else(|_| {
                std::fs::read_to_string(format!("{d}/criterion/{flat}/new/estimates.json"))
            })
            .ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["mean"]["point_estimate"].as_f64()
    })
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    let Some(base) = mean_ns("baseline/vec_push") else {
        return;
    };
    println!("\nratios to baseline/vec_push ({base:.2} ns):");
    for (id, target_ns) in [
        ("sketch/insert", 100.0),
        ("windows/record_request", f64::NAN),
        ("store/bucket_writer_record", f64::NAN),
        ("schema/to_data_point_validated", 2000.0),
        ("schema/record_data_point", 2000.0),
    ] {
        if let Some(ns) = mean_ns(id) {
            let target = if target_ns.is_nan() {
                String::new()
            } else {
                format!(", target < {target_ns} ns")
            };
            println!("  {id}: {ns:.1} ns = {:.1}x baseline{target}", ns / base);
        }
    }
}
