//! Criterion benchmarks: key generation and the hit path.
//!
//!   cargo bench -p edge-cache --bench cache
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_cache::{CacheConfig, CacheRequest, EdgeCache, build_key};
use edge_ports::testing::block_on;
use edge_ports::{ManualClock, MemoryKv};

fn typical_request() -> http::Request<()> {
    http::Request::get("/v1/prompts/evaluate?model=gpt-4o-mini&utm_source=newsletter&lang=en&v=3")
        .header("accept-language", "en-US,en;q=0.9")
        .header("accept", "application/json")
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)")
        .body(())
        .unwrap()
}

/// Validates and drops points, so a long benchmark does not grow memory.
struct Discard;
impl edge_ports::AnalyticsSink for Discard {
    fn write(&self, point: edge_ports::DataPoint) -> Result<(), edge_ports::AnalyticsError> {
        point.validate()
    }
}

fn bench(c: &mut Criterion) {
    let cfg = CacheConfig::default();
    let req = typical_request();
    let (name, policy) = cfg.policy("prompt-evaluation");
    c.bench_function("key/typical_request", |b| {
        b.iter(|| {
            let cr = CacheRequest::from_http(black_box(&req));
            black_box(
                build_key(
                    &cfg.namespace,
                    name,
                    1_700_000_000_000,
                    policy,
                    &cfg.drop_query_params,
                    &cr,
                )
                .unwrap(),
            )
        })
    });

    // Baseline for the key: one SHA-256 over the raw URI and language header.
    let raw = format!("{}{}", req.uri(), "en-US,en;q=0.9");
    c.bench_function("baseline/sha256_raw_uri", |b| {
        b.iter(|| {
            use sha2::Digest;
            black_box(sha2::Sha256::digest(black_box(raw.as_bytes())))
        })
    });

    let clock = ManualClock::new(1_700_000_000_000);
    let cache = EdgeCache::new(
        CacheConfig::default(),
        MemoryKv::new(clock.clone()),
        Discard,
        clock,
    )
    .unwrap();
    let body = vec![b'x'; 2048];
    block_on(async {
        let body = body.clone();
        cache
            .get_or_fetch(
                "prompt-evaluation",
                &CacheRequest::from_http(&req),
                move |_| async move { Ok(http::Response::new(body)) },
            )
            .await
            .unwrap()
    });
    c.bench_function("get_or_fetch/hit_2KiB_memorykv", |b| {
        b.iter(|| {
            let out = block_on(cache.get_or_fetch(
                "prompt-evaluation",
                &CacheRequest::from_http(&req),
                |_| async { Ok(http::Response::new(Vec::new())) },
            ))
            .unwrap();
            black_box(out.response)
        })
    });
}

fn bench_kv_baseline(c: &mut Criterion) {
    use edge_ports::{KvStore, PutOptions};
    // Baseline for the hit path: a bare MemoryKv read of a same-sized value.
    let kv = MemoryKv::new(ManualClock::new(0));
    block_on(kv.put("k", vec![b'x'; 2048 + 200], PutOptions::default())).unwrap();
    c.bench_function("baseline/memorykv_get_2KiB", |b| {
        b.iter(|| black_box(block_on(kv.get(black_box("k"))).unwrap()))
    });
}

criterion_group!(benches, bench, bench_kv_baseline);
criterion_main!(benches);
