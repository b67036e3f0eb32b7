//! GCRA properties, the quota table, stores, headers and keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use edge_ports::testing::block_on;
use edge_ports::{Clock, KvStore, ManualClock, MemoryKv};
use proptest::prelude::*;
use serde_json::json;
use zt_security::jwt::Tier;
use zt_security::ratelimit::{
    Decision, Gcra, KvStoreLimiter, MemoryStore, Quota, RateLimitConfig, RateLimitError,
    RateLimitStore, RateLimitTable, RateLimiter, anonymous_key, anonymous_key_salted, api_key_key,
    client_network, headers, user_key,
};

const T0: u64 = 1_700_000_000_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Over any run between two allowed requests, allowed units never exceed
    /// burst + rate × elapsed.
    #[test]
    fn allowed_never_exceeds_burst_plus_rate(
        limit in 1u32..50,
        window in 1u32..120,
        burst in proptest::option::of(1u32..60),
        steps in proptest::collection::vec((0u64..5_000, 1u32..4), 1..200),
    ) {
        let quota = Quota { limit, window_secs: window, burst };
        let gcra = Gcra::new(quota);
        let rate_per_ms = f64::from(limit) / (f64::from(window) * 1000.0);
        let mut tat = None;
        let mut now = T0;
        let mut allowed: Vec<(u64, u32)> = Vec::new();
        for (advance, cost) in steps {
            now += advance;
            let (d, t) = gcra.decide(tat, now, cost);
            tat = t;
            prop_assert_eq!(d.retry_after_ms == 0, d.allowed);
            prop_assert!(d.remaining <= quota.burst());
            if d.allowed {
                allowed.push((now, cost));
            }
        }
        for i in 0..allowed.len() {
            let mut units = 0u64;
            for j in i..allowed.len() {
                units += u64::from(allowed[j].1);
                let elapsed = (allowed[j].0 - allowed[i].0) as f64;
                let bound = f64::from(quota.burst()) + rate_per_ms * elapsed;
                prop_assert!(units as f64 <= bound + 1e-9, "{} units in {} ms > {}", units, elapsed, bound);
            }
        }
    }

    /// A client pacing exactly at the rate is never denied.
    #[test]
    fn pacing_at_the_rate_is_always_allowed(limit in 1u32..100, window in 1u32..100, n in 1usize..300) {
        let gcra = Gcra::new(Quota::new(limit, window).unwrap());
        let interval_us = gcra.emission_interval_us();
        let mut tat = None;
        for i in 0..n as u64 {
            let now = T0 + (i * interval_us).div_ceil(1000);
            let (d, t) = gcra.decide(tat, now, 1);
            prop_assert!(d.allowed, "request {} denied", i);
            tat = t;
        }
    }
}

#[test]
fn fractional_refill_is_not_lost() {
    // 40 per minute = one every 1.5 s, burst 1.
    let gcra = Gcra::new(Quota {
        limit: 40,
        window_secs: 60,
        burst: Some(1),
    });
    assert_eq!(gcra.emission_interval_us(), 1_500_000);
    let mut tat = None;
    let mut now = T0;
    for i in 0..100 {
        let (d, t) = gcra.decide(tat, now, 1);
        assert!(d.allowed, "request {i}");
        tat = t;
        let (d, _) = gcra.decide(tat, now + 1_499, 1);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_ms, 1);
        now += 1_500;
    }
    // 7 per minute: 8571.43 ms apart; 700 requests paced exactly all pass (the
    // emission interval is rounded up to the µs, so burst 2 absorbs the drift).
    let gcra = Gcra::new(Quota {
        limit: 7,
        window_secs: 60,
        burst: Some(2),
    });
    let (mut tat, mut ok) = (None, 0);
    for i in 0..700u64 {
        let (d, t) = gcra.decide(tat, T0 + (i * 60_000).div_ceil(7), 1);
        ok += u32::from(d.allowed);
        tat = t;
    }
    assert_eq!(ok, 700);
}

#[test]
fn decision_fields_cost_and_zero_limit() {
    let gcra = Gcra::new(Quota::new(10, 60).unwrap());
    let (d, tat) = gcra.decide(None, T0, 4);
    assert_eq!(
        d,
        Decision {
            allowed: true,
            limit: 10,
            remaining: 6,
            reset_after_ms: 24_000,
            retry_after_ms: 0
        }
    );
    let (d, tat) = gcra.decide(tat, T0, 6);
    assert!(d.allowed && d.remaining == 0);
    let (d, _) = gcra.decide(tat, T0, 2);
    assert!(!d.allowed);
    assert_eq!(d.retry_after_ms, 12_000);
    assert_eq!(d.reset_after_ms, 60_000);
    // A cost above the burst can never pass.
    assert!(!gcra.decide(None, T0, 11).0.allowed);
    // limit 0 denies everything.
    let zero = Gcra::new(Quota::new(0, 60).unwrap());
    assert!(!zero.decide(None, T0, 1).0.allowed);
    assert!(Quota::new(1, 0).is_err());
}

fn full_config() -> serde_json::Value {
    let cats = ["chat", "embeddings", "admin", "read"];
    let mut quotas = serde_json::Map::new();
    for (tier, base) in [
        ("anonymous", 5),
        ("authenticated", 60),
        ("premium", 600),
        ("admin", 6000),
    ] {
        let mut row = serde_json::Map::new();
        for c in cats {
            let limit = if c == "admin" && tier != "admin" {
                0
            } else {
                base
            };
            row.insert(c.into(), json!({ "limit": limit, "window_secs": 60 }));
        }
        quotas.insert(tier.into(), row.into());
    }
    json!({ "categories": cats, "quotas": quotas })
}

fn table() -> RateLimitTable {
    RateLimitTable::new(serde_json::from_value(full_config()).unwrap()).unwrap()
}

#[test]
fn table_validation() {
    let t = table();
    assert_eq!(t.quota(Tier::Premium, "chat").unwrap().limit, 600);
    assert_eq!(t.quota(Tier::Anonymous, "admin").unwrap().limit, 0);
    assert!(t.quota(Tier::Premium, "nope").is_none());

    let mut c = full_config();
    c["quotas"]["premium"]
        .as_object_mut()
        .unwrap()
        .remove("embeddings");
    let err =
        RateLimitTable::new(serde_json::from_value::<RateLimitConfig>(c).unwrap()).unwrap_err();
    assert_eq!(
        err,
        RateLimitError::MissingCell {
            tier: "premium".into(),
            category: "embeddings".into()
        }
    );
    assert!(err.to_string().contains("premium") && err.to_string().contains("embeddings"));

    let mut c = full_config();
    c["quotas"].as_object_mut().unwrap().remove("admin");
    assert!(matches!(
        RateLimitTable::new(serde_json::from_value(c).unwrap()),
        Err(RateLimitError::MissingCell { .. })
    ));

    let mut c = full_config();
    c["quotas"]["gold"] = json!({});
    assert_eq!(
        RateLimitTable::new(serde_json::from_value(c).unwrap()).unwrap_err(),
        RateLimitError::UnknownTier("gold".into())
    );

    let mut c = full_config();
    c["quotas"]["premium"]["video"] = json!({ "limit": 1, "window_secs": 1 });
    assert!(matches!(
        RateLimitTable::new(serde_json::from_value(c).unwrap()),
        Err(RateLimitError::InvalidCategory(_))
    ));

    let mut c = full_config();
    c["quotas"]["premium"]["chat"]["window_secs"] = json!(0);
    assert!(matches!(
        RateLimitTable::new(serde_json::from_value(c).unwrap()),
        Err(RateLimitError::InvalidQuota(_))
    ));

    let mut c = full_config();
    c["categories"] = json!(["chat", "chat"]);
    assert!(RateLimitTable::new(serde_json::from_value(c).unwrap()).is_err());
}

#[test]
fn header_format() {
    let q = Quota::new(60, 60).unwrap();
    let ok = Decision {
        allowed: true,
        limit: 60,
        remaining: 12,
        reset_after_ms: 4_001,
        retry_after_ms: 0,
    };
    let h = headers("chat", &q, &ok);
    assert_eq!(
        h,
        vec![
            ("RateLimit-Policy", "\"chat\";q=60;w=60".to_string()),
            ("RateLimit", "\"chat\";r=12;t=5".to_string()),
        ]
    );
    let denied = Decision {
        allowed: false,
        limit: 60,
        remaining: 0,
        reset_after_ms: 60_000,
        retry_after_ms: 1_001,
    };
    let h = headers("we\"ird\\name", &q, &denied);
    assert_eq!(h[0].1, "\"we_ird_name\";q=60;w=60");
    assert_eq!(h[2], ("Retry-After", "2".to_string()));
    for (name, value) in headers("chat", &q, &denied) {
        http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        http::HeaderValue::from_str(&value).unwrap();
    }
}

#[test]
fn memory_store_and_limiter() {
    block_on(async {
        let clock = ManualClock::new(T0);
        let limiter = RateLimiter::new(table(), MemoryStore::new(Arc::new(clock.clone())));
        let anon = anonymous_key("203.0.113.9");
        for _ in 0..5 {
            assert!(
                limiter
                    .check(Tier::Anonymous, "chat", &anon, 1)
                    .await
                    .unwrap()
                    .0
                    .allowed
            );
        }
        let (d, q) = limiter
            .check(Tier::Anonymous, "chat", &anon, 1)
            .await
            .unwrap();
        assert!(!d.allowed);
        assert_eq!(q.limit, 5);
        assert_eq!(d.retry_after_ms, 12_000);
        // Categories and subjects are separate buckets.
        assert!(
            limiter
                .check(Tier::Anonymous, "read", &anon, 1)
                .await
                .unwrap()
                .0
                .allowed
        );
        assert!(
            limiter
                .check(Tier::Anonymous, "chat", &anonymous_key("203.0.113.10"), 1)
                .await
                .unwrap()
                .0
                .allowed
        );
        assert!(
            !limiter
                .check(Tier::Authenticated, "admin", &user_key("u1"), 1)
                .await
                .unwrap()
                .0
                .allowed
        );
        assert!(
            limiter
                .check(Tier::Admin, "admin", &user_key("u1"), 1)
                .await
                .unwrap()
                .0
                .allowed
        );
        assert!(limiter.check(Tier::Admin, "video", "x", 1).await.is_err());
        clock.advance_ms(12_000);
        assert!(
            limiter
                .check(Tier::Anonymous, "chat", &anon, 1)
                .await
                .unwrap()
                .0
                .allowed
        );
    });
}

#[test]
fn memory_store_is_bounded() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::with_capacity(Arc::new(clock.clone()), 10);
    let q = Quota::new(1, 1).unwrap();
    for i in 0..50 {
        store.decide_now(&format!("k{i}"), &q, 1);
    }
    assert!(store.len() <= 10);
    clock.advance_secs(2);
    store.decide_now("fresh", &q, 1);
    assert!(store.len() <= 10);
}

#[test]
fn kv_backend_basic_behaviour() {
    block_on(async {
        let clock = ManualClock::new(T0);
        let kv = Arc::new(MemoryKv::new(clock.clone()));
        let store = KvStoreLimiter::new(kv.clone(), Arc::new(clock.clone()), "rl:");
        let q = Quota::new(3, 60).unwrap();
        let key = format!("chat:{}", api_key_key("sk-test-123"));
        for _ in 0..3 {
            assert!(store.decide(&key, &q, 1).await.unwrap().allowed);
        }
        let d = store.decide(&key, &q, 1).await.unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after_ms, 20_000);
        // State is in KV under the prefix, as a TAT, without the raw API key.
        let stored = kv.get(&format!("rl:{key}")).await.unwrap().unwrap();
        let tat: u64 = String::from_utf8(stored).unwrap().parse().unwrap();
        assert_eq!(tat, (T0 + 60_000) * 1000);
        assert!(!key.contains("sk-test-123"));
        clock.advance_secs(20);
        assert!(store.decide(&key, &q, 1).await.unwrap().allowed);
        // Entries expire (TTL ≥ 60 s) once the bucket is full again.
        clock.advance_secs(3600);
        assert!(kv.get(&format!("rl:{key}")).await.unwrap().is_none());
        assert_eq!(clock.now_ms(), T0 + 3_620_000);
    });
}

#[test]
fn keys_never_contain_raw_identifiers() {
    for ip in ["203.0.113.9", "2001:db8::1", "10.0.0.1"] {
        let k = anonymous_key(ip);
        assert!(!k.contains(ip));
        assert!(k.starts_with("a:") && k.len() == 66);
        assert_ne!(k, anonymous_key_salted(b"pepper", ip));
        assert!(k[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // Length-prefixed hashing: moving bytes between salt and IP changes the key.
    assert_ne!(
        anonymous_key_salted(b"1", "2.3.4.5"),
        anonymous_key_salted(b"", "12.3.4.5")
    );
    assert!(!api_key_key("sk-live-abc").contains("sk-live"));
    assert!(!user_key("alice@example.com").contains("alice"));
    assert_eq!(user_key("u1"), user_key("u1"));
}

/// Issue 18 (M3): rotating the User-Agent or the low 64 bits of an IPv6
/// address must not give an anonymous client a fresh bucket.
#[test]
fn anonymous_clients_are_keyed_on_their_network() {
    assert_eq!(client_network("203.0.113.9"), "203.0.113.9");
    assert_eq!(client_network("::ffff:203.0.113.9"), "203.0.113.9");
    assert_eq!(
        client_network("2001:db8:aa:bb:1:2:3:4"),
        "2001:db8:aa:bb::/64"
    );
    assert_eq!(
        anonymous_key("2001:db8:aa:bb::1"),
        anonymous_key("2001:db8:aa:bb:ffff:ffff:ffff:ffff")
    );
    assert_ne!(
        anonymous_key("2001:db8:aa:bb::1"),
        anonymous_key("2001:db8:aa:bc::1")
    );
    assert_ne!(anonymous_key("203.0.113.9"), anonymous_key("203.0.113.10"));
}
