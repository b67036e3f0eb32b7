//! The KV store conformance suite.
//!
//! Each check gets a fresh, empty store and a [`TimeTravel`] handle that moves
//! the store's notion of time (a [`ManualClock`] for adapters that take the
//! clock port).

use serde_json::json;

use crate::kv::{KvError, KvStore, ListOptions, PutOptions, limits};
use crate::{Clock, ManualClock};

/// Moves the time that a store under test expires entries by.
pub trait TimeTravel {
    /// The store's current time in seconds since the epoch.
    fn now_secs(&self) -> u64;
    /// Moves the store's time forward.
    fn advance_secs(&self, secs: u64);
}

impl TimeTravel for ManualClock {
    fn now_secs(&self) -> u64 {
        Clock::now_secs(self)
    }
    fn advance_secs(&self, secs: u64) {
        ManualClock::advance_secs(self, secs);
    }
}

async fn must_get<K: KvStore + ?Sized>(kv: &K, key: &str) -> Option<Vec<u8>> {
    match kv.get(key).await {
        Ok(v) => v,
        Err(e) => panic!("get({key:?}) failed: {e}"),
    }
}

async fn must_put<K: KvStore + ?Sized>(kv: &K, key: &str, value: &[u8], opts: PutOptions) {
    if let Err(e) = kv.put(key, value.to_vec(), opts).await {
        panic!("put({key:?}) failed: {e}");
    }
}

/// A missing key reads as `None`, with and without metadata.
pub async fn get_missing_is_none<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    assert_eq!(must_get(kv, "missing").await, None);
    assert_eq!(kv.get_with_metadata("missing").await, Ok(None));
}

/// Values round-trip byte for byte (empty, binary, UTF-8) and a put replaces
/// both value and metadata.
pub async fn put_get_round_trip_and_overwrite<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    let binary: Vec<u8> = (0..=255u8).collect();
    must_put(kv, "bin", &binary, PutOptions::default()).await;
    must_put(kv, "empty", b"", PutOptions::default()).await;
    must_put(kv, "utf8/日本", "héllo".as_bytes(), PutOptions::default()).await;
    assert_eq!(must_get(kv, "bin").await, Some(binary));
    assert_eq!(must_get(kv, "empty").await, Some(Vec::new()));
    assert_eq!(
        must_get(kv, "utf8/日本").await,
        Some("héllo".as_bytes().to_vec())
    );

    let with_meta = PutOptions::default().with_metadata(json!({"v": 1}));
    must_put(kv, "k", b"one", with_meta).await;
    must_put(kv, "k", b"two", PutOptions::default()).await;
    let got = kv.get_with_metadata("k").await.ok().flatten();
    let got = got.map(|v| (v.value, v.metadata));
    assert_eq!(
        got,
        Some((b"two".to_vec(), None)),
        "put must replace value and metadata"
    );
}

/// JSON metadata round-trips through get and list, up to 1024 bytes.
pub async fn metadata_round_trip<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    let meta = json!({"etag": "\"abc\"", "stored_at": 1_700_000_000_000u64, "tags": ["a", "b"], "ok": true});
    must_put(
        kv,
        "m",
        b"v",
        PutOptions::default().with_metadata(meta.clone()),
    )
    .await;
    let got = kv.get_with_metadata("m").await.ok().flatten();
    assert_eq!(got.and_then(|v| v.metadata), Some(meta.clone()));
    let page = kv.list(ListOptions::prefix("m")).await;
    let listed = page
        .ok()
        .and_then(|p| p.keys.into_iter().next())
        .and_then(|k| k.metadata);
    assert_eq!(listed, Some(meta));

    // Exactly at the limit is accepted; one byte over is rejected.
    let at_limit = json!("x".repeat(limits::MAX_METADATA_BYTES - 2));
    must_put(
        kv,
        "m2",
        b"v",
        PutOptions::default().with_metadata(at_limit),
    )
    .await;
    let over = json!("x".repeat(limits::MAX_METADATA_BYTES - 1));
    let e = kv
        .put(
            "m3",
            b"v".to_vec(),
            PutOptions::default().with_metadata(over),
        )
        .await;
    assert!(
        matches!(e, Err(KvError::MetadataTooLarge { .. })),
        "got {e:?}"
    );
    assert_eq!(
        must_get(kv, "m3").await,
        None,
        "a rejected put must write nothing"
    );
}

/// Delete removes a key; deleting a missing key succeeds.
pub async fn delete_removes_and_is_idempotent<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    must_put(kv, "d", b"v", PutOptions::default()).await;
    assert_eq!(kv.delete("d").await, Ok(()));
    assert_eq!(must_get(kv, "d").await, None);
    assert_eq!(kv.delete("d").await, Ok(()));
    assert_eq!(kv.delete("never-existed").await, Ok(()));
}

/// `expiration_ttl` and absolute `expiration` expire entries by the store's
/// clock; list reports and honours expiry.
pub async fn ttl_expiry<K: KvStore + ?Sized>(kv: &K, t: &dyn TimeTravel) {
    let start = t.now_secs();
    must_put(kv, "t/ttl", b"v", PutOptions::ttl(60)).await;
    let abs = PutOptions {
        expiration: Some(start + 120),
        ..PutOptions::default()
    };
    must_put(kv, "t/abs", b"v", abs).await;
    must_put(kv, "t/forever", b"v", PutOptions::default()).await;

    let page = kv.list(ListOptions::prefix("t/")).await.ok();
    let exp: Vec<(String, Option<u64>)> = page
        .map(|p| p.keys.into_iter().map(|k| (k.name, k.expiration)).collect())
        .unwrap_or_default();
    assert_eq!(
        exp,
        vec![
            ("t/abs".to_owned(), Some(start + 120)),
            ("t/forever".to_owned(), None),
            ("t/ttl".to_owned(), Some(start + 60)),
        ]
    );

    t.advance_secs(59);
    assert!(must_get(kv, "t/ttl").await.is_some(), "expired too early");
    t.advance_secs(1);
    assert_eq!(
        must_get(kv, "t/ttl").await,
        None,
        "ttl entry outlived its TTL"
    );
    assert!(must_get(kv, "t/abs").await.is_some());
    t.advance_secs(60);
    assert_eq!(must_get(kv, "t/abs").await, None);
    let page = kv.list(ListOptions::prefix("t/")).await.ok();
    let names: Vec<String> = page
        .map(|p| p.keys.into_iter().map(|k| k.name).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        vec!["t/forever".to_owned()],
        "list must omit expired keys"
    );
}

/// TTLs under 60 s, expirations under now + 60 s, and both at once are
/// rejected, and nothing is written.
pub async fn rejects_short_expiry<K: KvStore + ?Sized>(kv: &K, t: &dyn TimeTravel) {
    let e = kv.put("s", b"v".to_vec(), PutOptions::ttl(59)).await;
    assert_eq!(e, Err(KvError::TtlTooShort { ttl: 59, min: 60 }));
    let soon = PutOptions {
        expiration: Some(t.now_secs() + 30),
        ..PutOptions::default()
    };
    let e = kv.put("s", b"v".to_vec(), soon).await;
    assert!(
        matches!(e, Err(KvError::ExpirationTooSoon { .. })),
        "got {e:?}"
    );
    let both = PutOptions {
        expiration: Some(t.now_secs() + 600),
        expiration_ttl: Some(600),
        ..PutOptions::default()
    };
    assert_eq!(
        kv.put("s", b"v".to_vec(), both).await,
        Err(KvError::ConflictingExpiry)
    );
    assert_eq!(must_get(kv, "s").await, None);
}

/// Keys of 512 bytes work; 513 bytes, empty, `.` and `..` are rejected on
/// every operation.
pub async fn key_limits<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    let max = "k".repeat(limits::MAX_KEY_BYTES);
    must_put(kv, &max, b"v", PutOptions::default()).await;
    assert_eq!(must_get(kv, &max).await, Some(b"v".to_vec()));
    // Multi-byte characters count in bytes, not chars.
    let long = "é".repeat(257);
    let too_long = KvError::KeyTooLong { len: 514, max: 512 };
    assert_eq!(
        kv.put(&long, b"v".to_vec(), PutOptions::default()).await,
        Err(too_long.clone())
    );
    assert_eq!(kv.get(&long).await, Err(too_long.clone()));
    assert_eq!(
        kv.get_with_metadata(&long).await.map(|_| ()),
        Err(too_long.clone())
    );
    assert_eq!(kv.delete(&long).await, Err(too_long));
    assert_eq!(
        kv.put("", b"v".to_vec(), PutOptions::default()).await,
        Err(KvError::EmptyKey)
    );
    assert_eq!(kv.get("").await, Err(KvError::EmptyKey));
    for reserved in [".", ".."] {
        let e = kv.put(reserved, b"v".to_vec(), PutOptions::default()).await;
        assert!(matches!(e, Err(KvError::ReservedKey(_))), "got {e:?}");
    }
}

/// Values of exactly 25 MiB are stored; one byte more is rejected.
pub async fn value_limit<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    let big = vec![7u8; limits::MAX_VALUE_BYTES];
    must_put(kv, "big", &big, PutOptions::default()).await;
    assert_eq!(
        must_get(kv, "big").await.map(|v| v.len()),
        Some(limits::MAX_VALUE_BYTES)
    );
    let e = kv
        .put(
            "bigger",
            vec![7u8; limits::MAX_VALUE_BYTES + 1],
            PutOptions::default(),
        )
        .await;
    assert!(matches!(e, Err(KvError::ValueTooLarge { .. })), "got {e:?}");
    assert_eq!(must_get(kv, "bigger").await, None);
}

/// Prefix listing pages through every key exactly once, in order, across
/// pages, and never returns keys outside the prefix.
pub async fn list_prefix_pagination<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    let mut expected = Vec::new();
    for i in 0..23 {
        let key = format!("p/{i:03}");
        must_put(kv, &key, b"v", PutOptions::default()).await;
        expected.push(key);
    }
    for other in ["o/1", "p", "q/1", "p0"] {
        must_put(kv, other, b"v", PutOptions::default()).await;
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let opts = ListOptions::prefix("p/").limit(5).cursor(cursor.take());
        let page = match kv.list(opts).await {
            Ok(p) => p,
            Err(e) => panic!("list failed: {e}"),
        };
        pages += 1;
        assert!(page.keys.len() <= 5, "page larger than its limit");
        seen.extend(page.keys.into_iter().map(|k| k.name));
        if page.list_complete {
            assert_eq!(page.cursor, None, "a complete page has no cursor");
            break;
        }
        assert!(page.cursor.is_some(), "an incomplete page needs a cursor");
        cursor = page.cursor;
        assert!(pages < 50, "listing does not terminate");
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 5);

    // Without a prefix, everything is listed in lexicographic order.
    let all = kv.list(ListOptions::default()).await.ok();
    let names: Vec<String> = all
        .map(|p| p.keys.into_iter().map(|k| k.name).collect())
        .unwrap_or_default();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 27);
}

/// A page holds at most 1,000 keys; limits of 0 or over 1,000 are rejected.
pub async fn list_page_limit<K: KvStore + ?Sized>(kv: &K, _t: &dyn TimeTravel) {
    for i in 0..1001 {
        must_put(kv, &format!("l/{i:04}"), b"", PutOptions::default()).await;
    }
    let first = kv.list(ListOptions::prefix("l/")).await;
    let first = match first {
        Ok(p) => p,
        Err(e) => panic!("list failed: {e}"),
    };
    assert_eq!(first.keys.len(), 1000);
    assert!(!first.list_complete);
    let rest = kv
        .list(ListOptions::prefix("l/").cursor(first.cursor))
        .await
        .ok();
    let rest: Vec<String> = rest
        .map(|p| p.keys.into_iter().map(|k| k.name).collect())
        .unwrap_or_default();
    assert_eq!(rest, vec!["l/1000".to_owned()]);
    for bad in [0, 1001] {
        let e = kv.list(ListOptions::prefix("l/").limit(bad)).await;
        assert_eq!(
            e,
            Err(KvError::InvalidListLimit {
                limit: bad,
                max: 1000
            })
        );
    }
}

/// Generates one `#[test]` per KV conformance check for an adapter.
///
/// `$factory` is a function returning `(store, time)` where `store:
/// KvStore` is fresh and empty and `time: TimeTravel`. An optional second
/// argument names the `block_on` function to drive each check (default:
/// [`testing::block_on`](crate::testing::block_on)).
#[macro_export]
macro_rules! kv_conformance_tests {
    ($factory:path) => {
        $crate::kv_conformance_tests!($factory, $crate::testing::block_on);
    };
    ($factory:path, $block_on:path) => {
        $crate::kv_conformance_tests!(@cases $factory, $block_on;
            get_missing_is_none,
            put_get_round_trip_and_overwrite,
            metadata_round_trip,
            delete_removes_and_is_idempotent,
            ttl_expiry,
            rejects_short_expiry,
            key_limits,
            value_limit,
            list_prefix_pagination,
            list_page_limit,
        );
    };
    (@cases $factory:path, $block_on:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let (store, time) = $factory();
                $block_on($crate::conformance::kv::$case(&store, &time));
            }
        )*
    };
}
