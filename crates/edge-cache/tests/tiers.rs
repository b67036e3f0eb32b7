//! The local tier (the Workers Cache API) in front of KV: two locations
//! share one KV and each has its own local tier. Hits, fills, private
//! entries, and every invalidation across both tiers and both locations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::rc::Rc;

use async_trait::async_trait;
use edge_cache::{CacheConfig, CacheRequest, CacheStatus, CacheTier, EdgeCache, Policy, Scope};
use edge_ports::testing::block_on;
use edge_ports::{
    KvStore, LocalCache, LocalCacheError, ManualClock, MemoryAnalytics, MemoryKv, MemoryLocalCache,
};

const T0: u64 = 1_700_000_000_000;

struct Location {
    local: Rc<MemoryLocalCache<ManualClock>>,
    cache: EdgeCache,
}

struct World {
    clock: ManualClock,
    kv: MemoryKv,
    analytics: MemoryAnalytics,
    a: Location,
    b: Location,
    origin_calls: Rc<Cell<u32>>,
}

fn config() -> CacheConfig {
    let mut cfg = CacheConfig::default();
    cfg.policies.insert(
        "meta".into(),
        Policy {
            tags: vec!["catalog".into()],
            stale_if_error_secs: 600,
            ..Policy::ttl(300)
        },
    );
    cfg.policies.insert(
        "mine".into(),
        Policy {
            scope: Scope::Private,
            ..Policy::ttl(300)
        },
    );
    cfg
}

fn world() -> World {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let analytics = MemoryAnalytics::new();
    let location = || {
        let local = Rc::new(MemoryLocalCache::new(clock.clone(), 1 << 20));
        let cache = EdgeCache::tiered(
            config(),
            local.clone(),
            kv.clone(),
            analytics.clone(),
            clock.clone(),
        )
        .unwrap();
        Location { local, cache }
    };
    World {
        a: location(),
        b: location(),
        clock: clock.clone(),
        kv: kv.clone(),
        analytics,
        origin_calls: Rc::new(Cell::new(0)),
    }
}

/// One GET through `at`: the status and the tier that answered.
fn get(w: &World, at: &Location, policy: &str, path: &str) -> (CacheStatus, Option<CacheTier>) {
    let req = http::Request::get(path).body(()).unwrap();
    let calls = w.origin_calls.clone();
    let body = format!("body of {path} #{}", calls.get());
    let out = block_on(at.cache.get_or_fetch(
        policy,
        &CacheRequest::from_http(&req).user("alice"),
        move |_| async move {
            calls.set(calls.get() + 1);
            Ok(http::Response::new(body.into_bytes()))
        },
    ))
    .unwrap();
    assert_eq!(
        out.response
            .headers()
            .get("x-cache-tier")
            .map(|v| v.to_str().unwrap()),
        out.tier.map(CacheTier::as_str)
    );
    (out.status, out.tier)
}

/// Past the generation memo, so other locations see a bumped counter.
fn later(w: &World) {
    w.clock.advance_ms(config().generation_cache_ms + 1);
}

#[test]
fn a_location_serves_from_its_own_tier_and_fills_it_from_kv() {
    let w = world();
    assert_eq!(get(&w, &w.a, "meta", "/m"), (CacheStatus::Miss, None));
    assert_eq!(
        get(&w, &w.a, "meta", "/m"),
        (CacheStatus::Hit, Some(CacheTier::Local))
    );
    // Location b has never seen it: KV answers, then b's own tier does.
    assert_eq!(
        get(&w, &w.b, "meta", "/m"),
        (CacheStatus::Hit, Some(CacheTier::Kv))
    );
    assert_eq!(
        get(&w, &w.b, "meta", "/m"),
        (CacheStatus::Hit, Some(CacheTier::Local))
    );
    assert_eq!(w.origin_calls.get(), 1);
    // Every cache point says which tier answered.
    let tiers: Vec<String> = w
        .analytics
        .points()
        .iter()
        .map(|p| p.blobs[3].clone())
        .collect();
    assert_eq!(tiers, ["", "local", "kv", "local"]);
}

#[test]
fn a_local_copy_past_its_ttl_defers_to_a_newer_entry_in_kv() {
    let w = world();
    get(&w, &w.a, "meta", "/m");
    get(&w, &w.b, "meta", "/m");
    w.clock.advance_secs(301); // past the TTL, within stale-if-error
    assert_eq!(get(&w, &w.a, "meta", "/m"), (CacheStatus::Expired, None));
    assert_eq!(
        get(&w, &w.b, "meta", "/m"),
        (CacheStatus::Hit, Some(CacheTier::Kv)),
        "b's stale copy is not served while KV holds a's refresh"
    );
    assert_eq!(w.origin_calls.get(), 2);
}

#[test]
fn private_entries_stay_in_kv() {
    let w = world();
    assert_eq!(get(&w, &w.a, "mine", "/p"), (CacheStatus::Miss, None));
    assert_eq!(
        get(&w, &w.a, "mine", "/p"),
        (CacheStatus::Hit, Some(CacheTier::Kv))
    );
    assert!(w.a.local.is_empty());
}

#[test]
fn a_purge_in_one_location_reaches_the_other_locations_tier() {
    let w = world();
    get(&w, &w.a, "meta", "/m");
    get(&w, &w.b, "meta", "/m");
    assert_eq!(get(&w, &w.b, "meta", "/m").1, Some(CacheTier::Local));
    let req = http::Request::get("/m").body(()).unwrap();
    assert!(block_on(w.a.cache.invalidate("meta", &CacheRequest::from_http(&req))).unwrap());
    assert_eq!(get(&w, &w.a, "meta", "/m").0, CacheStatus::Miss);
    later(&w);
    // b still holds its local copy, under the old purge epoch: unreachable.
    assert_eq!(w.b.local.len(), 1);
    assert_eq!(
        get(&w, &w.b, "meta", "/m"),
        (CacheStatus::Hit, Some(CacheTier::Kv)),
        "b refills from KV, which holds a's new entry"
    );
    assert_eq!(w.origin_calls.get(), 2);
}

#[test]
fn prefix_purges_request_type_and_tag_invalidations_reach_every_tier() {
    let w = world();
    let warm = |path: &str| {
        get(&w, &w.a, "meta", path);
        get(&w, &w.b, "meta", path);
        assert_eq!(get(&w, &w.b, "meta", path).1, Some(CacheTier::Local));
    };
    let calls_before = |w: &World| w.origin_calls.get();

    warm("/1");
    let purged = block_on(w.a.cache.purge_prefix("cache:meta:", 100)).unwrap();
    assert_eq!((purged.deleted, purged.complete), (1, true));
    later(&w);
    let n = calls_before(&w);
    assert_eq!(get(&w, &w.b, "meta", "/1").0, CacheStatus::Miss);
    assert_eq!(w.origin_calls.get(), n + 1);

    warm("/2");
    block_on(w.a.cache.invalidate_request_type("meta")).unwrap();
    later(&w);
    assert_eq!(get(&w, &w.b, "meta", "/2").0, CacheStatus::Miss);

    warm("/3");
    block_on(w.a.cache.invalidate_tag("catalog")).unwrap();
    later(&w);
    assert_eq!(get(&w, &w.b, "meta", "/3").0, CacheStatus::Expired);
}

/// A local tier that always fails.
struct Broken;

#[async_trait(?Send)]
impl LocalCache for Broken {
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, LocalCacheError> {
        Err(LocalCacheError::Backend("down".into()))
    }
    async fn put(&self, _: &str, _: Vec<u8>, _: u64) -> Result<(), LocalCacheError> {
        Err(LocalCacheError::Backend("down".into()))
    }
    async fn delete(&self, _: &str) -> Result<bool, LocalCacheError> {
        Err(LocalCacheError::Backend("down".into()))
    }
}

#[test]
fn a_failing_or_corrupt_local_tier_falls_back_to_kv() {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let cache = EdgeCache::tiered(
        config(),
        Broken,
        kv.clone(),
        MemoryAnalytics::new(),
        clock.clone(),
    )
    .unwrap();
    let w = world();
    let broken = Location {
        local: Rc::new(MemoryLocalCache::new(clock, 0)),
        cache,
    };
    assert_eq!(get(&w, &broken, "meta", "/m").0, CacheStatus::Miss);
    assert_eq!(
        get(&w, &broken, "meta", "/m"),
        (CacheStatus::Hit, Some(CacheTier::Kv))
    );

    // A corrupt local copy is skipped; the KV entry is kept and served.
    get(&w, &w.a, "meta", "/c");
    let local_keys: Vec<String> = vec![block_on(async {
        let key =
            w.kv.list(edge_ports::ListOptions::prefix("cache:meta:"))
                .await
                .unwrap();
        format!("{}~0", key.keys[0].name)
    })];
    block_on(w.a.local.put(&local_keys[0], b"garbage".to_vec(), 60)).unwrap();
    assert_eq!(
        get(&w, &w.a, "meta", "/c"),
        (CacheStatus::Hit, Some(CacheTier::Kv)),
        "a corrupt copy is dropped and KV answers"
    );
    assert_eq!(
        get(&w, &w.a, "meta", "/c"),
        (CacheStatus::Hit, Some(CacheTier::Local))
    );
    assert_eq!(w.origin_calls.get(), 2, "one per key: /m and /c");
}
