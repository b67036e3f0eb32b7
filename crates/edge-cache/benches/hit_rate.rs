//! Hit-rate simulation: a Zipf(s = 1.0) trace of 200,000 requests over
//! 20,000 keys arriving over 24 simulated hours, through `EdgeCache` with the
//! default policies, compared with no cache and with the optimum for the same
//! trace (an unbounded cache with the same TTLs).
//!
//! Then the same trace through the two tiers: requests spread over 8
//! locations (skewed like real colo traffic), each with its own local tier
//! (the Workers Cache API, 4 MiB here) in front of the one shared KV. It
//! reports which tier answered, and how many KV reads the local tier saved.
//!
//!   cargo bench -p edge-cache --bench hit_rate
//!
//! Prints figures; asserts nothing about timing.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use edge_cache::{CacheConfig, CacheRequest, CacheStatus, CacheTier, EdgeCache};
use edge_ports::testing::block_on;
use edge_ports::{ManualClock, MemoryAnalytics, MemoryKv, MemoryLocalCache, Random, SeededRandom};

const REQUESTS: usize = 200_000;
const KEYS: usize = 20_000;
const SPAN_MS: u64 = 24 * 3600 * 1000;
const START_MS: u64 = 1_700_000_000_000;
/// Share of requests per location (sums to 1).
const LOCATIONS: [f64; 8] = [0.30, 0.20, 0.15, 0.10, 0.10, 0.05, 0.05, 0.05];
const LOCAL_TIER_BYTES: usize = 4 << 20;
const TYPES: [&str; 5] = [
    "prompt-evaluation",
    "llm-provider-meta",
    "user-preferences",
    "prompt-templates",
    "default",
];

fn main() {
    // The trace: Zipf ranks by inverse CDF, Poisson-ish uniform arrivals.
    let rng = SeededRandom::new(20_261_128);
    let weights: Vec<f64> = (1..=KEYS).map(|k| 1.0 / k as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(KEYS);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut arrivals: Vec<u64> = (0..REQUESTS)
        .map(|_| (rng.next_f64().unwrap() * SPAN_MS as f64) as u64)
        .collect();
    arrivals.sort_unstable();
    let trace: Vec<(u64, usize)> = arrivals
        .into_iter()
        .map(|t| {
            let u = rng.next_f64().unwrap();
            (START_MS + t, cdf.partition_point(|c| *c < u).min(KEYS - 1))
        })
        .collect();
    let location_of: Vec<usize> = trace
        .iter()
        .map(|_| pick_location(rng.next_f64().unwrap()))
        .collect();

    let cfg = CacheConfig::default();
    let clock = ManualClock::new(START_MS);
    let cache = EdgeCache::new(
        cfg.clone(),
        MemoryKv::new(clock.clone()),
        MemoryAnalytics::new(),
        clock.clone(),
    )
    .unwrap();
    let origin_calls = Rc::new(Cell::new(0u64));
    let mut served_from_cache = 0u64;
    let mut statuses: HashMap<&'static str, u64> = HashMap::new();

    // The optimum: an unbounded TTL cache, same TTLs, a request is a hit if
    // the key was fetched less than TTL ago (stale serving counted the same
    // way as below: within TTL + SWR a request is served from cache).
    let mut optimum_fetched_at: HashMap<usize, u64> = HashMap::new();
    let mut optimum_hits = 0u64;
    let mut optimum_origin = 0u64;
    // A plain TTL cache with no stale serving, for reference.
    let mut ttl_only_fetched_at: HashMap<usize, u64> = HashMap::new();
    let mut ttl_only_hits = 0u64;

    for &(t, k) in &trace {
        clock.set_ms(t);
        let (request_type, req, user) = resource(k);
        let cr = CacheRequest::from_http(&req).user(&user);
        let calls = Rc::clone(&origin_calls);
        let out = block_on(cache.get_or_fetch(request_type, &cr, move |_| async move {
            calls.set(calls.get() + 1);
            Ok(http::Response::new(b"payload".to_vec()))
        }))
        .unwrap();
        *statuses.entry(out.status.as_str()).or_default() += 1;
        if matches!(
            out.status,
            CacheStatus::Hit | CacheStatus::Stale | CacheStatus::Revalidated
        ) {
            served_from_cache += 1;
        }
        if let Some(r) = out.revalidation {
            block_on(r); // wait_until: the refresh completes right after the response
        }

        let policy = cfg.policy(request_type).1;
        let ttl_ms = policy.ttl_secs * 1000;
        let swr_ms = policy.stale_while_revalidate_secs * 1000;
        match ttl_only_fetched_at.get(&k) {
            Some(&at) if t - at < ttl_ms => ttl_only_hits += 1,
            _ => {
                ttl_only_fetched_at.insert(k, t);
            }
        }
        match optimum_fetched_at.get(&k) {
            Some(&at) if t - at < ttl_ms => optimum_hits += 1,
            Some(&at) if t - at < ttl_ms + swr_ms => {
                optimum_hits += 1;
                optimum_origin += 1; // background refresh
                optimum_fetched_at.insert(k, t);
            }
            _ => {
                optimum_origin += 1;
                optimum_fetched_at.insert(k, t);
            }
        }
    }

    let n = REQUESTS as f64;
    let hit = served_from_cache as f64 / n;
    let opt = optimum_hits as f64 / n;
    let origin = origin_calls.get() as f64;
    println!(
        "hit-rate simulation: {REQUESTS} requests, {KEYS} keys, Zipf s=1.0, 24 h, default policies"
    );
    let mut s: Vec<_> = statuses.into_iter().collect();
    s.sort();
    println!("  statuses: {s:?}");
    println!("  edge-cache hit ratio:         {:.2}%", hit * 100.0);
    println!("  optimum (unbounded TTL cache): {:.2}%", opt * 100.0);
    println!(
        "  difference:                    {:+.2} percentage points",
        (hit - opt) * 100.0
    );
    println!(
        "  plain TTL cache (no stale):    {:.2}%",
        ttl_only_hits as f64 / n * 100.0
    );
    println!(
        "  origin requests: {} of {} ({:.1}% reduction vs no cache; optimum {} = {:.1}%)",
        origin_calls.get(),
        REQUESTS,
        (1.0 - origin / n) * 100.0,
        optimum_origin,
        (1.0 - optimum_origin as f64 / n) * 100.0
    );
    two_tiers(&cfg, &trace, &location_of);
}

/// Key `k` of the trace: its request type, request and user.
fn resource(k: usize) -> (&'static str, http::Request<()>, String) {
    let req = http::Request::get(format!("/resource/{k}"))
        .header("accept-language", "en-US")
        .body(())
        .unwrap();
    (TYPES[k % TYPES.len()], req, format!("user-{k}"))
}

fn pick_location(u: f64) -> usize {
    let mut acc = 0.0;
    for (i, share) in LOCATIONS.iter().enumerate() {
        acc += share;
        if u < acc {
            return i;
        }
    }
    LOCATIONS.len() - 1
}

/// The trace through 8 locations, each a local tier in front of one KV.
fn two_tiers(cfg: &CacheConfig, trace: &[(u64, usize)], location_of: &[usize]) {
    let clock = ManualClock::new(START_MS);
    let kv = MemoryKv::new(clock.clone());
    let caches: Vec<EdgeCache> = LOCATIONS
        .iter()
        .map(|_| {
            EdgeCache::tiered(
                cfg.clone(),
                MemoryLocalCache::new(clock.clone(), LOCAL_TIER_BYTES),
                kv.clone(),
                MemoryAnalytics::new(),
                clock.clone(),
            )
            .unwrap()
        })
        .collect();
    let (mut local, mut from_kv, mut origin, mut bypass) = (0u64, 0u64, 0u64, 0u64);
    let mut statuses: HashMap<&'static str, u64> = HashMap::new();
    for (&(t, k), &at) in trace.iter().zip(location_of) {
        clock.set_ms(t);
        let (request_type, req, user) = resource(k);
        let cr = CacheRequest::from_http(&req).user(&user);
        let out = block_on(caches[at].get_or_fetch(request_type, &cr, |_| async {
            Ok(http::Response::new(b"payload".to_vec()))
        }))
        .unwrap();
        *statuses.entry(out.status.as_str()).or_default() += 1;
        match (out.status, out.tier) {
            (CacheStatus::Bypass, _) => bypass += 1,
            (_, Some(CacheTier::Local)) => local += 1,
            (_, Some(CacheTier::Kv)) => from_kv += 1,
            _ => origin += 1,
        }
        if let Some(r) = out.revalidation {
            block_on(r);
        }
    }
    let n = trace.len() as f64;
    let pct = |x: u64| x as f64 / n * 100.0;
    println!(
        "two tiers: {} locations (shares {LOCATIONS:?}), {} MiB local tier each, one KV",
        LOCATIONS.len(),
        LOCAL_TIER_BYTES >> 20
    );
    let mut s: Vec<_> = statuses.into_iter().collect();
    s.sort();
    println!("  statuses: {s:?}");
    println!("  local tier hits:  {:.2}%", pct(local));
    println!("  KV hits:          {:.2}%", pct(from_kv));
    println!(
        "  origin (miss/expired/revalidated): {:.2}%, bypass {:.2}%",
        pct(origin),
        pct(bypass)
    );
    println!(
        "  served from cache: {:.2}% (local + KV); the local tier answered {:.1}% of hits",
        pct(local + from_kv),
        local as f64 / (local + from_kv).max(1) as f64 * 100.0
    );
    let kv_reads = trace.len() as u64 - local - bypass;
    println!(
        "  KV entry reads: {} of {} requests ({:.2} per request; KV alone reads once per request)",
        kv_reads,
        trace.len(),
        kv_reads as f64 / n
    );
}
