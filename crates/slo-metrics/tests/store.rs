//! KV rolling windows: per-writer keys, the per-key write limit, coarse
//! buckets for long windows, and a simulated incident read through KV.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::HashMap;

use async_trait::async_trait;
use edge_ports::testing::block_on;
use edge_ports::{
    Clock, KvError, KvStore, KvValue, ListOptions, ListPage, ManualClock, MemoryKv, PutOptions,
};
use slo_metrics::alert::{AlertEvent, Alerter, Severity};
use slo_metrics::slo::{Sli, SloSpec, Windows};
use slo_metrics::source::evaluate;
use slo_metrics::store::{BucketWriter, KvWindows, decode_bucket, encode_bucket};

const MIN: u64 = 60_000;
const T0: u64 = 1_700_000_000_000 / MIN * MIN;

/// MemoryKv that fails the test when a key is written twice within a
/// second (Workers KV's limit).
struct RateCheckedKv {
    inner: MemoryKv,
    clock: ManualClock,
    last: RefCell<HashMap<String, u64>>,
    puts: RefCell<u64>,
}

#[async_trait(?Send)]
impl KvStore for RateCheckedKv {
    async fn get_with_metadata(&self, key: &str) -> Result<Option<KvValue>, KvError> {
        self.inner.get_with_metadata(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>, opts: PutOptions) -> Result<(), KvError> {
        let now = self.clock.now_ms();
        if let Some(prev) = self.last.borrow_mut().insert(key.to_owned(), now) {
            assert!(now >= prev + 1000, "{key} written twice within 1 s");
        }
        *self.puts.borrow_mut() += 1;
        self.inner.put(key, value, opts).await
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.inner.delete(key).await
    }
    async fn list(&self, opts: ListOptions) -> Result<ListPage, KvError> {
        self.inner.list(opts).await
    }
}

fn kv(clock: &ManualClock) -> RateCheckedKv {
    RateCheckedKv {
        inner: MemoryKv::new(clock.clone()),
        clock: clock.clone(),
        last: RefCell::new(HashMap::new()),
        puts: RefCell::new(0),
    }
}

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

/// `per_min` requests per writer per minute with error share `err`, each
/// writer flushing when due; the truth is kept in `truth`.
#[allow(clippy::too_many_arguments)]
fn traffic(
    clock: &ManualClock,
    writers: &[BucketWriter<'_>],
    truth: &mut Windows,
    minutes: u64,
    per_min: u64,
    err: f64,
    seed: &mut u64,
    mut each_minute: impl FnMut(u64),
) {
    for _ in 0..minutes {
        let start = clock.now_ms();
        for i in 0..per_min {
            clock.set_ms(start + i * MIN / per_min);
            for w in writers {
                let r = lcg(seed);
                let status = if r < err { 503 } else { 200 };
                let now = clock.now_ms();
                truth.record(now, status, 20.0 + r * 100.0);
                if w.record(now, status, 20.0 + r * 100.0) {
                    block_on(w.flush(now)).unwrap();
                }
            }
        }
        clock.set_ms(start + MIN);
        each_minute(clock.now_ms() - 1);
    }
}

#[test]
fn buckets_round_trip_and_garbage_is_rejected() {
    let mut w = Windows::new();
    for i in 0..500u64 {
        w.record(0, if i % 7 == 0 { 503 } else { 200 }, i as f64);
    }
    let b = w.window(0, 1);
    assert_eq!(decode_bucket(&encode_bucket(&b)), Some(b));
    assert_eq!(decode_bucket(&[]), None);
    assert_eq!(decode_bucket(&[1, 0xff, 0xff]), None);
    assert_eq!(decode_bucket(&[2, 1, 0, 0]), None);
}

#[test]
fn concurrent_writers_never_overwrite_each_other_and_respect_the_write_limit() {
    let clock = ManualClock::new(T0);
    let store = kv(&clock);
    let writers = [
        BucketWriter::new(&store, "slo:v1", "isolate-a", 10_000),
        BucketWriter::new(&store, "slo:v1", "isolate-b", 10_000),
    ];
    let (mut truth, mut seed) = (Windows::new(), 1u64);
    traffic(
        &clock,
        &writers,
        &mut truth,
        30,
        120,
        0.05,
        &mut seed,
        |_| {},
    );
    for w in &writers {
        block_on(w.flush(clock.now_ms())).unwrap();
    }
    let reader = KvWindows::new(&store, "slo:v1");
    let now = clock.now_ms() - 1;
    let (rollups, stats) = block_on(reader.load(now, &[5, 30])).unwrap();
    for w in [5, 30] {
        assert_eq!(
            rollups.counts(Sli::Availability, now, w),
            truth.counts(Sli::Availability, now, w),
            "window {w}"
        );
    }
    assert_eq!(stats.gets, 0, "buckets ride in list metadata");
    // 30 minutes of 2 writers: 120 requests/min each, flushed every 10 s.
    let puts = *store.puts.borrow();
    // Per writer per minute: 6 flushes x (minute, hour, day) + the previous
    // minute's tail once.
    assert!(puts <= 30 * (6 * 3 + 1) * 2 + 12, "{puts} puts");
}

#[test]
fn three_days_read_from_hour_and_day_buckets_not_4320_minutes() {
    let clock = ManualClock::new(T0);
    let store = kv(&clock);
    let writers = [
        BucketWriter::new(&store, "slo", "a", 60_000),
        BucketWriter::new(&store, "slo", "b", 60_000),
    ];
    let (mut truth, mut seed) = (Windows::new(), 5u64);
    traffic(
        &clock,
        &writers,
        &mut truth,
        4320 + 17,
        6,
        0.01,
        &mut seed,
        |_| {},
    );
    for w in &writers {
        block_on(w.flush(clock.now_ms())).unwrap();
    }
    let now = clock.now_ms() - 1;
    let reader = KvWindows::new(&store, "slo");
    let windows = [5, 30, 60, 360, 1440, 4320];
    let (rollups, stats) = block_on(reader.load(now, &windows)).unwrap();
    println!("3-day read: {stats:?}");
    assert!(stats.lists < 80, "{stats:?}");
    assert_eq!(stats.gets, 0);
    assert!(stats.buckets < 2 * 300, "{stats:?}");
    for w in windows {
        let got = rollups.counts(Sli::Availability, now, w);
        let want = truth.counts(Sli::Availability, now, w);
        if w <= 360 {
            assert_eq!(got, want, "window {w} is minute-exact");
        } else {
            // Hour-aligned at the old end: at most 59 minutes missing.
            assert!(
                got.total <= want.total && got.total >= want.total - 59.0 * 12.0,
                "{w}: {got:?} {want:?}"
            );
        }
    }
}

#[test]
fn a_fast_burn_read_through_kv_pages_and_resolves() {
    let clock = ManualClock::new(T0);
    let store = kv(&clock);
    let writers = [
        BucketWriter::new(&store, "slo", "a", 60_000),
        BucketWriter::new(&store, "slo", "b", 60_000),
    ];
    let reader = KvWindows::new(&store, "slo");
    let spec = SloSpec::defaults();
    let alerter = RefCell::new(Alerter::default());
    let events = RefCell::new(Vec::<(u64, AlertEvent)>::new());
    let (mut truth, mut seed) = (Windows::new(), 9u64);
    let flush = |now: u64| {
        for w in &writers {
            block_on(w.flush(now)).unwrap();
        }
    };
    let tick = |now: u64| {
        flush(now);
        let out = block_on(evaluate(
            &spec.slo[..1],
            &reader,
            &mut alerter.borrow_mut(),
            now,
        ))
        .unwrap();
        events
            .borrow_mut()
            .extend(out.events.into_iter().map(|e| ((now + 1 - T0) / MIN, e)));
    };
    // Three healthy days with noise (evaluated hourly), then six minutes of
    // 30% errors (small enough that the 3-day ticket pair stays quiet).
    let mut n = 0;
    traffic(
        &clock,
        &writers,
        &mut truth,
        4320,
        20,
        0.0002,
        &mut seed,
        |now| {
            n += 1;
            if n % 60 == 0 { tick(now) } else { flush(now) }
        },
    );
    assert!(events.borrow().is_empty(), "{:?}", events.borrow());
    traffic(&clock, &writers, &mut truth, 6, 20, 0.3, &mut seed, tick);
    let first = events.borrow()[0].clone();
    assert!(
        matches!(
            first.1,
            AlertEvent::Trigger {
                severity: Severity::Page,
                ..
            }
        ),
        "{first:?}"
    );
    assert!(
        first.0 - 4320 <= 5,
        "paged after {} minutes",
        first.0 - 4320
    );
    traffic(&clock, &writers, &mut truth, 60, 20, 0.0, &mut seed, tick);
    assert!(
        events
            .borrow()
            .iter()
            .any(|(_, e)| matches!(e, AlertEvent::Resolve { dedup_key, .. } if dedup_key == "edgeforge/availability")),
        "{:?}",
        events.borrow()
    );
    // The state survives a restart through KV.
    block_on(alerter.borrow().save(&store, "slo:alerts")).unwrap();
    let loaded = block_on(Alerter::load(&store, "slo:alerts")).unwrap();
    assert_eq!(loaded, *alerter.borrow());
}
