//! Criterion benchmarks: key generation and the hit path.
//!
//!   cargo bench -p edge-cache --bench cache
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_cache::{CacheConfig, CacheRequest, EdgeCache, build_key};
use edge_ports::testing::block_on;
use edge_ports::{ManualClock, MemoryAnalytics, MemoryKv};

fn typical_request() -> http::Request<()> {
    http::Request::get("/v1/prompts/evaluate?model=gpt-4o-mini&utm_source=newsletter&lang=en&v=3")
        .header("accept-language", "en-US,en;q=0.9")
        .header("accept", "application/json")
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)")
        .body(())
        .unwrap()
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

    let clock = ManualClock::new(1_700_000_000_000);
    let cache = EdgeCache::new(
        CacheConfig::default(),
        MemoryKv::new(clock.clone()),
        MemoryAnalytics::new(),
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

criterion_group!(benches, bench);
criterion_main!(benches);
