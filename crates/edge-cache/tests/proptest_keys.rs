//! Property tests for cache keys.

use edge_cache::{CacheRequest, Policy, build_key};
use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;

fn key(
    policy: &Policy,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    user: Option<&str>,
) -> Option<String> {
    let req = CacheRequest {
        method: &Method::GET,
        path,
        query: Some(query),
        headers,
        user_id: user,
        country: None,
        continent: None,
        body: None,
        variant: None,
    };
    build_key(
        "cache",
        "prompt-evaluation",
        1_700_000_000_000,
        policy,
        &["utm_*".to_owned()],
        &req,
    )
    .ok()
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-z]{1,8}", "[a-zA-Z0-9%]{0,8}", 0..8)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn stable_under_query_reordering(ps in params(), seed in any::<u64>(), tracking in "[a-z]{0,6}") {
        let q1: Vec<String> = ps.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut q2 = q1.clone();
        // Deterministic shuffle from the seed.
        let n = q2.len();
        if n > 1 {
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                q2.swap(i, (s >> 33) as usize % (i + 1));
            }
        }
        q2.push(format!("utm_{tracking}=campaign"));
        let h = HeaderMap::new();
        let p = Policy::ttl(60);
        prop_assert_eq!(key(&p, "/v1/x", &q1.join("&"), &h, None), key(&p, "/v1/x", &q2.join("&"), &h, None));
    }

    #[test]
    fn different_vary_values_give_different_keys(a in "[a-z]{2,3}", b in "[a-z]{2,3}", region in "[A-Z]{2}") {
        prop_assume!(a != b);
        let p = Policy { vary: vec!["accept-language".into()], ..Policy::ttl(60) };
        let mut ha = HeaderMap::new();
        ha.insert("accept-language", HeaderValue::from_str(&format!("{a}-{region}")).unwrap());
        let mut hb = HeaderMap::new();
        hb.insert("accept-language", HeaderValue::from_str(&b).unwrap());
        prop_assert_ne!(key(&p, "/", "", &ha, None), key(&p, "/", "", &hb, None));
        // Same primary tag, different region: same key.
        let mut ha2 = HeaderMap::new();
        ha2.insert("accept-language", HeaderValue::from_str(&a).unwrap());
        prop_assert_eq!(key(&p, "/", "", &ha, None), key(&p, "/", "", &ha2, None));
    }

    #[test]
    fn keys_are_bounded_for_arbitrary_input(
        path in ".{0,3000}",
        query in ".{0,3000}",
        user in ".{1,2000}",
        hv in "[ -~]{0,2000}",
        private in any::<bool>(),
    ) {
        let p = Policy {
            vary: vec!["accept-language".into(), "x-tenant".into()],
            scope: if private { edge_cache::Scope::Private } else { edge_cache::Scope::Public },
            ..Policy::ttl(60)
        };
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&hv) {
            h.insert("x-tenant", v.clone());
            h.insert("accept-language", v);
        }
        let k = key(&p, &path, &query, &h, Some(&user)).unwrap();
        prop_assert!(k.len() <= 512);
        prop_assert!(k.is_ascii());
        prop_assert!(k.starts_with("cache:prompt-evaluation:"));
    }
}
