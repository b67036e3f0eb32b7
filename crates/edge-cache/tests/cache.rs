//! EdgeCache behaviour, driven by ManualClock and MemoryKv.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)] // test helpers

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use edge_cache::{
    BypassReason, CacheConfig, CacheRequest, CacheStatus, Conditional, EdgeCache, Lookup,
    OriginError, OriginResult, Policy, Scope,
};
use edge_ports::testing::block_on;
use edge_ports::{
    KvError, KvStore, KvValue, ListOptions, ListPage, ManualClock, MemoryAnalytics, MemoryKv,
    PutOptions,
};
use http::{Method, Response};

const T0: u64 = 1_700_000_000_000;

struct Fixture {
    clock: ManualClock,
    kv: MemoryKv,
    analytics: MemoryAnalytics,
    cache: EdgeCache,
    calls: Rc<Cell<u32>>,
}

fn config() -> CacheConfig {
    let mut cfg = CacheConfig::default();
    cfg.policies.insert(
        "test".into(),
        Policy {
            edge_ttl_secs: 30,
            stale_while_revalidate_secs: 30,
            stale_if_error_secs: 300,
            vary: vec!["accept-language".into()],
            negative_ttl_secs: Some(60),
            tags: vec!["catalog".into()],
            ..Policy::ttl(60)
        },
    );
    cfg.policies.insert(
        "private".into(),
        Policy {
            scope: Scope::Private,
            ..Policy::ttl(60)
        },
    );
    cfg.policies.insert("off".into(), Policy::ttl(0));
    cfg
}

fn fixture() -> Fixture {
    fixture_with(config())
}

fn fixture_with(cfg: CacheConfig) -> Fixture {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let analytics = MemoryAnalytics::new();
    let cache = EdgeCache::new(cfg, kv.clone(), analytics.clone(), clock.clone()).unwrap();
    Fixture {
        clock,
        kv,
        analytics,
        cache,
        calls: Rc::new(Cell::new(0)),
    }
}

fn get(uri: &str) -> http::Request<()> {
    http::Request::get(uri).body(()).unwrap()
}

/// An origin answering `status` with `body`, counting calls.
fn origin(
    calls: &Rc<Cell<u32>>,
    status: u16,
    body: &'static str,
) -> impl FnOnce(Conditional) -> Pin<Box<dyn Future<Output = OriginResult>>> + 'static {
    let calls = Rc::clone(calls);
    move |_| {
        calls.set(calls.get() + 1);
        Box::pin(async move {
            Ok(Response::builder()
                .status(status)
                .header("content-type", "text/plain")
                .header("etag", "\"v1\"")
                .body(body.as_bytes().to_vec())
                .unwrap())
        })
    }
}

fn failing(
    calls: &Rc<Cell<u32>>,
) -> impl FnOnce(Conditional) -> Pin<Box<dyn Future<Output = OriginResult>>> + 'static {
    let calls = Rc::clone(calls);
    move |_| {
        calls.set(calls.get() + 1);
        Box::pin(async { Err(OriginError("connection refused".into())) })
    }
}

fn status_of(out: &edge_cache::CacheOutcome) -> &str {
    out.response.headers()["x-cache-status"].to_str().unwrap()
}

#[test]
fn ttl_swr_and_sie_follow_the_clock() {
    let f = fixture();
    let req = get("/catalog?b=2&a=1");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "v1"))
            .await
            .unwrap();
        assert_eq!((out.status, status_of(&out)), (CacheStatus::Miss, "MISS"));
        assert_eq!(f.calls.get(), 1);

        f.clock.advance_secs(59);
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "v2"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Hit);
        assert_eq!(out.response.body(), b"v1");
        assert_eq!(out.response.headers()["age"], "59");
        assert_eq!(f.calls.get(), 1, "a fresh hit never calls the origin");

        // Past the TTL, within SWR: stale served at once, refresh in background.
        f.clock.advance_secs(1);
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "v2"))
            .await
            .unwrap();
        assert_eq!((out.status, status_of(&out)), (CacheStatus::Stale, "STALE"));
        assert_eq!(out.response.body(), b"v1");
        assert_eq!(f.calls.get(), 1, "the refresh has not run yet");
        out.revalidation
            .expect("stale hit must carry a revalidation")
            .await;
        assert_eq!(f.calls.get(), 2);
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "v3"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Hit);
        assert_eq!(out.response.body(), b"v2");
        assert_eq!(out.response.headers()["age"], "0");

        // Past TTL + SWR, within SIE: origin failure serves stale.
        f.clock.advance_secs(100);
        let out = f
            .cache
            .get_or_fetch("test", &cr, failing(&f.calls))
            .await
            .unwrap();
        assert_eq!((out.status, status_of(&out)), (CacheStatus::Stale, "STALE"));
        assert_eq!(out.response.body(), b"v2");
        // ... and so does an origin 5xx.
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 503, "down"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Stale);
        assert_eq!(out.response.body(), b"v2");
        // A healthy origin replaces the old entry: EXPIRED, not MISS.
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "v4"))
            .await
            .unwrap();
        assert_eq!(
            (out.status, status_of(&out)),
            (CacheStatus::Expired, "EXPIRED")
        );
        assert_eq!(out.response.body(), b"v4");

        // Past TTL + SIE: an origin failure is an error.
        f.clock.advance_secs(60 + 300);
        let err = f
            .cache
            .get_or_fetch("test", &cr, failing(&f.calls))
            .await
            .unwrap_err();
        assert_eq!(err, OriginError("connection refused".into()));
        // A 5xx with nothing stale is passed through, not stored.
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 502, "bad"))
            .await
            .unwrap();
        assert_eq!(out.response.status(), 502);
        assert!(matches!(
            f.cache.lookup("test", &cr).await,
            Lookup::Miss { expired: true, .. }
        ));
    });
}

#[test]
fn lookup_reports_each_state() {
    let f = fixture();
    let req = get("/x");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        assert_eq!(
            f.cache.lookup("test", &cr).await,
            Lookup::Miss {
                expired: false,
                corrupt: false
            }
        );
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        assert!(matches!(
            f.cache.lookup("test", &cr).await,
            Lookup::Fresh { age_secs: 0, .. }
        ));
        f.clock.advance_secs(75);
        assert!(matches!(
            f.cache.lookup("test", &cr).await,
            Lookup::Stale { age_secs: 75, .. }
        ));
        f.clock.advance_secs(100);
        assert!(matches!(
            f.cache.lookup("test", &cr).await,
            Lookup::StaleIfError { .. }
        ));
        f.clock.advance_secs(300);
        assert!(matches!(
            f.cache.lookup("test", &cr).await,
            Lookup::Miss { expired: true, .. } | Lookup::Miss { expired: false, .. }
        ));
        assert_eq!(
            f.cache.lookup("off", &cr).await,
            Lookup::Bypass(BypassReason::Disabled)
        );
    });
}

#[test]
fn regional_multiplier_extends_freshness() {
    let f = fixture();
    let req = get("/r");
    let jp = CacheRequest::from_http(&req).geo(Some("JP"), Some("AS"));
    let de = CacheRequest::from_http(&req).geo(Some("DE"), Some("EU"));
    block_on(async {
        f.cache
            .get_or_fetch("test", &de, origin(&f.calls, 200, "r"))
            .await
            .unwrap();
        f.clock.advance_secs(80); // ttl 60; JP x1.5 = 90
        assert!(matches!(
            f.cache.lookup("test", &jp).await,
            Lookup::Fresh { .. }
        ));
        assert!(matches!(
            f.cache.lookup("test", &de).await,
            Lookup::Stale { .. }
        ));
        // Same key for both: the colo/country never splits entries.
        let out = f
            .cache
            .get_or_fetch("test", &jp, origin(&f.calls, 200, "new"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Hit);
        assert_eq!(
            out.response.headers()["cache-control"],
            "public, max-age=45, stale-while-revalidate=30, stale-if-error=300"
        );
    });
}

#[test]
fn hundred_concurrent_misses_make_one_origin_call() {
    let f = fixture();
    let req = get("/hot");
    let gate = Rc::new(Cell::new(false));
    let mut futures: Vec<
        Pin<Box<dyn Future<Output = Result<edge_cache::CacheOutcome, OriginError>> + '_>>,
    > = (0..100)
        .map(|_| {
            let calls = Rc::clone(&f.calls);
            let gate = Rc::clone(&gate);
            let cache = f.cache.clone();
            let req = &req;
            let fut: Pin<Box<dyn Future<Output = _>>> = Box::pin(async move {
                let cr = CacheRequest::from_http(req);
                cache
                    .get_or_fetch("test", &cr, move |_| async move {
                        calls.set(calls.get() + 1);
                        // The origin is slow: it answers only once the gate opens.
                        std::future::poll_fn(|cx| {
                            if gate.get() {
                                Poll::Ready(())
                            } else {
                                cx.waker().wake_by_ref();
                                Poll::Pending
                            }
                        })
                        .await;
                        Ok(Response::new(b"hot".to_vec()))
                    })
                    .await
            });
            fut
        })
        .collect();
    // All 100 requests arrive and miss while the origin is still working.
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    for fut in &mut futures {
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(
        f.calls.get(),
        1,
        "single-flight: one origin call for 100 concurrent misses"
    );
    assert_eq!(f.cache.inflight(), 1);
    gate.set(true);
    let outs = block_on(futures_util::future::join_all(futures));
    assert_eq!(f.calls.get(), 1);
    for out in &outs {
        let out = out.as_ref().unwrap();
        assert_eq!(out.response.body(), b"hot");
        assert_eq!(out.status, CacheStatus::Miss);
    }
    assert_eq!(
        f.cache.inflight(),
        0,
        "finished fetches leave the in-flight table"
    );
    let out = block_on(f.cache.get_or_fetch(
        "test",
        &CacheRequest::from_http(&req),
        origin(&f.calls, 200, "x"),
    ))
    .unwrap();
    assert_eq!(out.status, CacheStatus::Hit);
}

#[test]
fn generation_invalidation_is_o1_and_scoped() {
    let f = fixture();
    let a = get("/a");
    let b = get("/b");
    block_on(async {
        for r in [&a, &b] {
            f.cache
                .get_or_fetch(
                    "test",
                    &CacheRequest::from_http(r),
                    origin(&f.calls, 200, "old"),
                )
                .await
                .unwrap();
            f.cache
                .get_or_fetch(
                    "default",
                    &CacheRequest::from_http(r),
                    origin(&f.calls, 200, "old"),
                )
                .await
                .unwrap();
        }
        let writes_before = f.kv.len();
        f.cache.invalidate_request_type("test").await.unwrap();
        assert_eq!(
            f.kv.len(),
            writes_before + 1,
            "one write invalidates the whole type"
        );
        for r in [&a, &b] {
            let out = f
                .cache
                .get_or_fetch(
                    "test",
                    &CacheRequest::from_http(r),
                    origin(&f.calls, 200, "new"),
                )
                .await
                .unwrap();
            assert_eq!(out.status, CacheStatus::Miss);
            assert_eq!(out.response.body(), b"new");
            let out = f
                .cache
                .get_or_fetch(
                    "default",
                    &CacheRequest::from_http(r),
                    origin(&f.calls, 200, "new"),
                )
                .await
                .unwrap();
            assert_eq!(out.status, CacheStatus::Hit, "other types are untouched");
        }

        // Another isolate (own memo, shared KV) sees the bump once its
        // generation memo expires.
        let other = EdgeCache::new(
            config(),
            f.kv.clone(),
            MemoryAnalytics::new(),
            f.clock.clone(),
        )
        .unwrap();
        let cr = CacheRequest::from_http(&a);
        assert_eq!(
            other
                .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
                .await
                .unwrap()
                .status,
            CacheStatus::Hit
        );
        f.clock.advance_secs(1);
        f.cache.invalidate_request_type("test").await.unwrap();
        assert_eq!(
            other
                .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
                .await
                .unwrap()
                .status,
            CacheStatus::Hit
        );
        f.clock.advance_ms(5_000);
        assert_eq!(
            other
                .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
                .await
                .unwrap()
                .status,
            CacheStatus::Miss
        );
    });
}

#[test]
fn tag_invalidation_expires_tagged_entries() {
    let f = fixture();
    let req = get("/tagged");
    let cr = CacheRequest::from_http(&req);
    let untagged_req = get("/untagged");
    let ucr = CacheRequest::from_http(&untagged_req);
    block_on(async {
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        // Response-supplied tags (Cache-Tag) count too.
        let calls = Rc::clone(&f.calls);
        f.cache
            .get_or_fetch("default", &ucr, move |_| async move {
                calls.set(calls.get() + 1);
                Ok(Response::builder()
                    .header("cache-tag", "pricing, other")
                    .body(b"p".to_vec())
                    .unwrap())
            })
            .await
            .unwrap();
        f.cache.invalidate_tag("catalog").await.unwrap();
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "y"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Expired);
        assert_eq!(out.response.body(), b"y");
        assert_eq!(
            f.cache
                .get_or_fetch("default", &ucr, origin(&f.calls, 200, "z"))
                .await
                .unwrap()
                .status,
            CacheStatus::Hit
        );
        f.clock.advance_secs(1);
        f.cache.invalidate_tag("pricing").await.unwrap();
        assert_eq!(
            f.cache
                .get_or_fetch("default", &ucr, origin(&f.calls, 200, "z"))
                .await
                .unwrap()
                .status,
            CacheStatus::Expired
        );
    });
}

#[test]
fn prefix_purge_pages_past_a_thousand_keys() {
    let f = fixture();
    block_on(async {
        for i in 0..2_345 {
            f.kv.put(
                &format!("cache:test:0:{i:064}"),
                b"x".to_vec(),
                PutOptions::default(),
            )
            .await
            .unwrap();
        }
        f.kv.put("cache:other:0:keep", b"x".to_vec(), PutOptions::default())
            .await
            .unwrap();
        f.kv.put("sec:audit", b"x".to_vec(), PutOptions::default())
            .await
            .unwrap();
        // Bounded per call: the caller repeats until complete.
        let first = f.cache.purge_prefix("cache:test:", 2_000).await.unwrap();
        assert_eq!((first.deleted, first.complete), (2_000, false));
        let rest = f.cache.purge_prefix("cache:test:", 2_000).await.unwrap();
        assert_eq!((rest.deleted, rest.complete), (345, true));
        let left = f.kv.list(ListOptions::prefix("cache:")).await.unwrap();
        let names: Vec<_> = left.keys.into_iter().map(|k| k.name).collect();
        // The purge epoch moved, so no location's local tier keeps a copy.
        assert_eq!(names, vec!["cache:_gen:purge", "cache:other:0:keep"]);
        let again = f.cache.purge_prefix("cache:test:", 10).await.unwrap();
        assert_eq!((again.deleted, again.complete), (0, true));
        // Issue 18 (low): other data in the namespace is out of reach.
        for outside in ["sec:", "se", "cach", "cache", "traffic:"] {
            assert!(
                matches!(
                    f.cache.purge_prefix(outside, 10).await,
                    Err(edge_cache::CacheError::OutsideNamespace { .. })
                ),
                "{outside}"
            );
        }
        assert!(f.kv.get("sec:audit").await.unwrap().is_some());
    });
}

#[test]
fn invalidate_one_request() {
    let f = fixture();
    let req = get("/one");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        assert!(f.cache.invalidate("test", &cr).await.unwrap());
        assert_eq!(
            f.cache.lookup("test", &cr).await,
            Lookup::Miss {
                expired: false,
                corrupt: false
            }
        );
    });
}

#[test]
fn corrupt_entry_is_a_miss_and_is_overwritten() {
    let f = fixture();
    let req = get("/corrupt");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        let key = f.cache.key_for("test", &cr).await.unwrap().unwrap();
        f.kv.put(&key, b"\x00garbage".to_vec(), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(
            f.cache.lookup("test", &cr).await,
            Lookup::Miss {
                expired: false,
                corrupt: true
            }
        );
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "fixed"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Miss);
        assert_eq!(out.response.body(), b"fixed");
        assert_eq!(
            f.cache
                .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
                .await
                .unwrap()
                .status,
            CacheStatus::Hit
        );

        // A corrupt entry whose refetch is not storable is deleted, not kept.
        f.kv.put(
            &key,
            b"EFC\x01\xff\xff\xff\xff".to_vec(),
            PutOptions::default(),
        )
        .await
        .unwrap();
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 500, "err"))
            .await
            .unwrap();
        assert_eq!(f.kv.get(&key).await.unwrap(), None);
    });
}

#[test]
fn never_stores_unsafe_responses() {
    let f = fixture();
    block_on(async {
        let cases: Vec<(&str, Vec<(&str, &str)>, u16)> = vec![
            ("/cookie", vec![("set-cookie", "sid=1")], 200),
            ("/nostore", vec![("cache-control", "no-store")], 200),
            (
                "/private",
                vec![("cache-control", "private, max-age=60")],
                200,
            ),
            ("/error", vec![], 500),
            ("/unavailable", vec![], 503),
            ("/forbidden", vec![], 403),
        ];
        for (path, headers, status) in cases {
            let req = get(path);
            let cr = CacheRequest::from_http(&req);
            for _ in 0..2 {
                let calls = Rc::clone(&f.calls);
                let headers = headers.clone();
                let out = f
                    .cache
                    .get_or_fetch("test", &cr, move |_| async move {
                        calls.set(calls.get() + 1);
                        let mut b = Response::builder().status(status);
                        for (k, v) in headers {
                            b = b.header(k, v);
                        }
                        Ok(b.body(b"x".to_vec()).unwrap())
                    })
                    .await
                    .unwrap();
                assert_eq!(out.status, CacheStatus::Miss, "{path}");
                assert_eq!(out.response.status(), status);
                // The origin's own Cache-Control is kept on uncached responses.
                assert_ne!(
                    out.response
                        .headers()
                        .get("cdn-cache-control")
                        .map(|v| v.to_str().unwrap()),
                    Some("max-age=30, stale-while-revalidate=30, stale-if-error=300"),
                    "{path}"
                );
            }
        }
        assert_eq!(
            f.calls.get(),
            12,
            "nothing was stored, every request reached the origin"
        );
        let points = f.analytics.points();
        assert!(points.iter().any(|p| p.blobs[2] == "not-storable"));
    });
}

#[test]
fn negative_caching_of_404() {
    let f = fixture();
    let req = get("/missing");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 404, "nope"))
            .await
            .unwrap();
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "now"))
            .await
            .unwrap();
        assert_eq!(
            (out.status, out.response.status().as_u16()),
            (CacheStatus::Hit, 404)
        );
        f.clock.advance_secs(60);
        // Negative entries have no stale windows.
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "now"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Expired);
        assert_eq!(out.response.status(), 200);
        // Without negative caching (default policy), 404s are not stored.
        f.cache
            .get_or_fetch("default", &cr, origin(&f.calls, 404, "nope"))
            .await
            .unwrap();
        let out = f
            .cache
            .get_or_fetch("default", &cr, origin(&f.calls, 404, "nope"))
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Miss);
    });
}

#[test]
fn authorization_private_scope_and_bypasses() {
    let f = fixture();
    block_on(async {
        let authed = http::Request::get("/p")
            .header("authorization", "Bearer t")
            .body(())
            .unwrap();
        let out = f
            .cache
            .get_or_fetch(
                "test",
                &CacheRequest::from_http(&authed),
                origin(&f.calls, 200, "secret"),
            )
            .await
            .unwrap();
        assert_eq!(
            (out.status, out.bypass),
            (CacheStatus::Bypass, Some(BypassReason::Authorization))
        );
        assert_eq!(out.response.headers()["x-cache-status"], "BYPASS");
        assert_eq!(out.response.headers()["x-cache-bypass"], "authorization");
        // A public policy that declares the route public may serve it.
        let mut cfg = config();
        cfg.policies.get_mut("test").unwrap().allow_authorized = true;
        let g = fixture_with(cfg);
        g.cache
            .get_or_fetch(
                "test",
                &CacheRequest::from_http(&authed),
                origin(&g.calls, 200, "pub"),
            )
            .await
            .unwrap();
        assert_eq!(
            g.cache
                .get_or_fetch(
                    "test",
                    &CacheRequest::from_http(&authed),
                    origin(&g.calls, 200, "pub")
                )
                .await
                .unwrap()
                .status,
            CacheStatus::Hit
        );

        // Private: keyed per user; no user means bypass.
        let req = get("/prefs");
        let anon = CacheRequest::from_http(&req);
        let out = f
            .cache
            .get_or_fetch("private", &anon, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        assert_eq!(out.bypass, Some(BypassReason::NoUser));
        f.cache
            .get_or_fetch(
                "private",
                &anon.user("alice"),
                origin(&f.calls, 200, "alice"),
            )
            .await
            .unwrap();
        let out = f
            .cache
            .get_or_fetch("private", &anon.user("bob"), origin(&f.calls, 200, "bob"))
            .await
            .unwrap();
        assert_eq!(
            (out.status, out.response.body().as_slice()),
            (CacheStatus::Miss, &b"bob"[..])
        );
        let out = f
            .cache
            .get_or_fetch("private", &anon.user("alice"), origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        assert_eq!(
            (out.status, out.response.body().as_slice()),
            (CacheStatus::Hit, &b"alice"[..])
        );
        assert_eq!(
            out.response.headers()["cache-control"],
            "private, max-age=0"
        );
        assert_eq!(out.response.headers()["cdn-cache-control"], "no-store");

        // Methods, client no-store, TTL 0.
        let post = http::Request::post("/p").body(()).unwrap();
        assert_eq!(
            f.cache
                .lookup("test", &CacheRequest::from_http(&post))
                .await,
            Lookup::Bypass(BypassReason::Method)
        );
        let body = br#"{"model":"m","temperature":0}"#;
        let opted_in = CacheRequest::from_http(&post).body(body);
        f.cache
            .get_or_fetch("test", &opted_in, origin(&f.calls, 200, "llm"))
            .await
            .unwrap();
        assert_eq!(
            f.cache
                .get_or_fetch("test", &opted_in, origin(&f.calls, 200, "x"))
                .await
                .unwrap()
                .status,
            CacheStatus::Hit
        );
        let nostore = http::Request::get("/p")
            .header("cache-control", "no-store")
            .body(())
            .unwrap();
        assert_eq!(
            f.cache
                .lookup("test", &CacheRequest::from_http(&nostore))
                .await,
            Lookup::Bypass(BypassReason::ClientNoStore)
        );
    });
}

#[test]
fn headers_head_and_conditional_requests() {
    let f = fixture();
    block_on(async {
        let req = http::Request::get("/h")
            .header("accept-language", "en-US")
            .body(())
            .unwrap();
        let cr = CacheRequest::from_http(&req);
        let out = f
            .cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "body"))
            .await
            .unwrap();
        let h = out.response.headers();
        assert_eq!(
            h["cache-control"],
            "public, max-age=30, stale-while-revalidate=30, stale-if-error=300"
        );
        assert_eq!(
            h["cdn-cache-control"],
            "max-age=30, stale-while-revalidate=30, stale-if-error=300"
        );
        assert_eq!(h["vary"], "accept-language");
        assert_eq!(h["etag"], "\"v1\"");
        assert_eq!(h["age"], "0");
        // HEAD shares GET's entry and has no body.
        let head = http::Request::head("/h")
            .header("accept-language", "en-GB")
            .body(())
            .unwrap();
        let out = f
            .cache
            .get_or_fetch(
                "test",
                &CacheRequest::from_http(&head),
                origin(&f.calls, 200, "x"),
            )
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Hit);
        assert!(out.response.body().is_empty());
        assert_eq!(out.response.headers()["content-type"], "text/plain");
        // A different language is a different entry.
        let fr = http::Request::get("/h")
            .header("accept-language", "fr")
            .body(())
            .unwrap();
        assert_eq!(
            f.cache.lookup("test", &CacheRequest::from_http(&fr)).await,
            Lookup::Miss {
                expired: false,
                corrupt: false
            }
        );
        // If-None-Match matching the stored ETag: 304 without a body.
        let cond = http::Request::get("/h")
            .header("accept-language", "en")
            .header("if-none-match", "\"v1\"")
            .body(())
            .unwrap();
        let out = f
            .cache
            .get_or_fetch(
                "test",
                &CacheRequest::from_http(&cond),
                origin(&f.calls, 200, "x"),
            )
            .await
            .unwrap();
        assert_eq!(out.response.status(), 304);
        assert!(out.response.body().is_empty());
        // Client no-cache: skip the read, refetch, store.
        let nc = http::Request::get("/h")
            .header("accept-language", "en")
            .header("cache-control", "no-cache")
            .body(())
            .unwrap();
        let out = f
            .cache
            .get_or_fetch(
                "test",
                &CacheRequest::from_http(&nc),
                origin(&f.calls, 200, "refetched"),
            )
            .await
            .unwrap();
        assert_eq!(out.status, CacheStatus::Miss);
        assert_eq!(
            f.cache
                .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
                .await
                .unwrap()
                .response
                .body(),
            b"refetched"
        );
    });
}

#[test]
fn origin_304_revalidates_the_stale_entry() {
    let f = fixture();
    let req = get("/etag");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "body"))
            .await
            .unwrap();
        f.clock.advance_secs(120); // past TTL + SWR, within SIE
        let seen = Rc::new(Cell::new(false));
        let seen2 = Rc::clone(&seen);
        let out = f
            .cache
            .get_or_fetch("test", &cr, move |cond: Conditional| async move {
                seen2.set(cond.if_none_match.as_deref() == Some("\"v1\""));
                Ok(Response::builder().status(304).body(Vec::new()).unwrap())
            })
            .await
            .unwrap();
        assert!(seen.get(), "the origin got If-None-Match");
        assert_eq!(
            (out.status, status_of(&out)),
            (CacheStatus::Revalidated, "REVALIDATED")
        );
        assert_eq!(out.response.body(), b"body");
        assert_eq!(out.response.status(), 200);
        assert_eq!(
            f.cache
                .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
                .await
                .unwrap()
                .status,
            CacheStatus::Hit
        );
    });
}

#[test]
fn oversized_response_is_served_but_not_stored() {
    let f = fixture();
    let req = get("/big");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        let big = vec![b'x'; edge_ports::kv::limits::MAX_VALUE_BYTES];
        let body = big.clone();
        let out = f
            .cache
            .get_or_fetch("test", &cr, move |_| async move { Ok(Response::new(body)) })
            .await
            .unwrap();
        assert_eq!(out.response.body().len(), big.len());
        assert_eq!(out.status, CacheStatus::Miss);
        assert_eq!(
            f.cache.lookup("test", &cr).await,
            Lookup::Miss {
                expired: false,
                corrupt: false
            }
        );
        assert!(
            f.analytics
                .points()
                .iter()
                .any(|p| p.blobs[2] == "too-large")
        );
    });
}

/// A KV that fails every call.
struct BrokenKv;

#[async_trait(?Send)]
impl KvStore for BrokenKv {
    async fn get_with_metadata(&self, _: &str) -> Result<Option<KvValue>, KvError> {
        Err(KvError::Backend("down".into()))
    }
    async fn put(&self, _: &str, _: Vec<u8>, _: PutOptions) -> Result<(), KvError> {
        Err(KvError::Backend("down".into()))
    }
    async fn delete(&self, _: &str) -> Result<(), KvError> {
        Err(KvError::Backend("down".into()))
    }
    async fn list(&self, _: ListOptions) -> Result<ListPage, KvError> {
        Err(KvError::Backend("down".into()))
    }
}

#[test]
fn a_broken_store_bypasses_and_never_fails_the_request() {
    let clock = ManualClock::new(T0);
    let cache = EdgeCache::new(config(), BrokenKv, MemoryAnalytics::new(), clock).unwrap();
    let calls = Rc::new(Cell::new(0));
    let req = get("/x");
    block_on(async {
        let out = cache
            .get_or_fetch(
                "test",
                &CacheRequest::from_http(&req),
                origin(&calls, 200, "ok"),
            )
            .await
            .unwrap();
        assert_eq!(
            (out.status, out.bypass),
            (CacheStatus::Bypass, Some(BypassReason::StoreUnavailable))
        );
        assert_eq!(out.response.body(), b"ok");
        assert!(cache.invalidate_request_type("test").await.is_err());
        assert!(cache.purge_prefix("cache:", 10).await.is_err());
    });
}

#[test]
fn analytics_events_are_indexed_by_policy() {
    let f = fixture();
    let req = get("/a");
    let cr = CacheRequest::from_http(&req);
    block_on(async {
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        f.cache
            .get_or_fetch("test", &cr, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        f.cache
            .get_or_fetch("off", &cr, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        f.cache
            .get_or_fetch("unknown-type", &cr, origin(&f.calls, 200, "x"))
            .await
            .unwrap();
        let p = f.analytics.points();
        let summary: Vec<(String, String, String)> = p
            .iter()
            .map(|d| (d.indexes[0].clone(), d.blobs[1].clone(), d.blobs[2].clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("test".into(), "MISS".into(), "".into()),
                ("test".into(), "HIT".into(), "".into()),
                ("off".into(), "BYPASS".into(), "disabled".into()),
                ("default".into(), "MISS".into(), "".into()),
            ]
        );
        let _ = Method::GET;
    });
}

#[test]
fn store_puts_an_assembled_response_under_the_request_key() {
    let f = fixture();
    block_on(async {
        let body = br#"{"model":"m","temperature":0}"#;
        let req = http::Request::post("/v1/chat/completions")
            .body(())
            .unwrap();
        let mut creq = CacheRequest::from_http(&req);
        creq.body = Some(body);
        let resp = Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(b"{\"answer\":1}".to_vec())
            .unwrap();
        f.cache.store("test", &creq, resp).await.unwrap();
        match f.cache.lookup("test", &creq).await {
            Lookup::Fresh { entry, .. } => assert_eq!(entry.body, b"{\"answer\":1}"),
            other => panic!("expected a fresh entry, got {other:?}"),
        }
        // A different body is a different key.
        let other = br#"{"model":"m","temperature":0,"seed":2}"#;
        creq.body = Some(other);
        assert!(matches!(
            f.cache.lookup("test", &creq).await,
            Lookup::Miss { .. }
        ));
        // A disabled policy refuses, with the reason.
        assert_eq!(
            f.cache.store("off", &creq, Response::new(Vec::new())).await,
            Err(BypassReason::Disabled)
        );
    });
}
