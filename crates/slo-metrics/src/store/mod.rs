//! Rolling windows in KV, written by many isolates at once.
//!
//! # Keys
//!
//! `{namespace}:{g}:{period:010}:{writer}`, where `g` is `m` (minute), `h`
//! (hour) or `d` (day), `period` counts those units since the Unix epoch
//! and `writer` is the isolate's random id. Each isolate keeps its own
//! cumulative [`Bucket`] per period in memory ([`BucketWriter`]) and
//! overwrites only its own keys, so concurrent isolates never clobber each
//! other and nothing is read-modify-written; readers list by prefix and
//! merge ([`KvWindows`]).
//!
//! # Costs
//!
//! - Writes: one flush writes the open minute, hour and day keys of this
//!   writer (three puts, plus the previous period's keys once at a
//!   boundary). Workers KV allows one write per second per key, so the
//!   flush interval is clamped to ≥ 1 s (default 10 s): ~18 puts per
//!   isolate per minute at the default. Workers KV bills writes; raise the
//!   interval for large fleets.
//! - Reads: a bucket whose base64 fits in 900 bytes rides in the key's
//!   metadata, so one `list` page returns up to 1000 buckets with no `get`;
//!   larger sketches (wide latency spread) cost one `get` each. Readers
//!   list only the decimal prefixes that cover the periods they need
//!   ([`prefix_cover`]), and long windows use coarse buckets: a 3-day
//!   window is ~71 hour keys + ≤ 59 minute keys per writer instead of 4320
//!   minute keys.
//! - Staleness: KV is eventually consistent (a write can take 60 s or more
//!   to be visible elsewhere) and a writer flushes every interval, so the
//!   newest minute or two are under-counted by readers in other colos. Burn
//!   rates are ratios, so a uniformly late minute barely moves them.
//! - Retention (TTL): minutes 8 h, hours 5 d, days 32 d. Windows longer
//!   than the minute retention start at an hour (or day) boundary: a 1 d or
//!   3 d window may miss up to 59 minutes at its old end, a 30 d window up
//!   to 23 h (documented approximation; the SQL source is exact).

mod read;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use edge_ports::{KvError, KvStore, PutOptions};
use serde_json::json;

pub use read::{KvWindows, Rollups, prefix_cover};

use crate::sketch::DdSketch;
use crate::slo::Bucket;

/// Bucket granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Granularity {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day (UTC).
    Day,
}

impl Granularity {
    /// All, finest first.
    pub const ALL: [Granularity; 3] = [Self::Minute, Self::Hour, Self::Day];

    /// Length in minutes.
    pub fn minutes(self) -> u64 {
        match self {
            Self::Minute => 1,
            Self::Hour => 60,
            Self::Day => 1440,
        }
    }

    /// The key letter.
    pub fn letter(self) -> char {
        match self {
            Self::Minute => 'm',
            Self::Hour => 'h',
            Self::Day => 'd',
        }
    }

    /// KV TTL of its keys, seconds.
    pub fn ttl_secs(self) -> u64 {
        match self {
            Self::Minute => 8 * 3600,
            Self::Hour => 5 * 86_400,
            Self::Day => 32 * 86_400,
        }
    }

    /// How far back (minutes) readers may rely on it (the TTL less a margin).
    pub fn retention_min(self) -> u64 {
        self.ttl_secs() / 60 - 30
    }
}

/// The key of one writer's bucket.
pub fn bucket_key(namespace: &str, g: Granularity, period: u64, writer: &str) -> String {
    format!("{namespace}:{}:{period:010}:{writer}", g.letter())
}

/// Largest base64 bucket carried in list metadata (the limit is 1024 bytes
/// of serialised JSON).
const META_MAX: usize = 900;

/// Encodes a bucket: version 1, LEB128 total, 5xx, 429, then the sketch.
pub fn encode_bucket(b: &Bucket) -> Vec<u8> {
    let mut out = vec![1u8];
    for v in [b.total, b.server_errors, b.throttled] {
        let mut v = v;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    out.extend(b.latency.to_bytes());
    out
}

/// Decodes [`encode_bucket`]; `None` for anything else.
pub fn decode_bucket(bytes: &[u8]) -> Option<Bucket> {
    let (&version, mut rest) = bytes.split_first()?;
    if version != 1 {
        return None;
    }
    let mut nums = [0u64; 3];
    for n in &mut nums {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let (&b, r) = rest.split_first()?;
            rest = r;
            if shift > 63 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        *n = v;
    }
    let [total, server_errors, throttled] = nums;
    Some(Bucket {
        total,
        server_errors: server_errors.min(total),
        throttled: throttled.min(total),
        latency: DdSketch::from_bytes(rest).ok()?,
    })
}

/// A KV port borrowed for a scope or shared by a long-lived owner (a
/// gateway that keeps its writers for the isolate's life).
pub(crate) enum KvHandle<'a> {
    Borrowed(&'a dyn KvStore),
    Shared(Arc<dyn KvStore>),
}

impl KvHandle<'_> {
    pub(crate) fn get(&self) -> &dyn KvStore {
        match self {
            Self::Borrowed(kv) => *kv,
            Self::Shared(kv) => kv.as_ref(),
        }
    }
}

/// One isolate's recorder: counts requests into its own minute, hour and
/// day buckets and flushes them to KV.
pub struct BucketWriter<'a> {
    kv: KvHandle<'a>,
    namespace: String,
    writer: String,
    flush_interval_ms: u64,
    /// Per period: the cumulative bucket and the total last written.
    pending: RefCell<BTreeMap<(Granularity, u64), (Bucket, u64)>>,
    last_flush_ms: Cell<u64>,
    flushing: Cell<bool>,
    dirty: Cell<bool>,
}

impl std::fmt::Debug for BucketWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketWriter")
            .field("namespace", &self.namespace)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl<'a> BucketWriter<'a> {
    /// A recorder writing as `writer` (a random id per isolate) under
    /// `namespace` (e.g. `slo:{deployment}`), flushing at most every
    /// `flush_interval_ms` (clamped to ≥ 1 s: KV's per-key write limit).
    pub fn new(kv: &'a dyn KvStore, namespace: &str, writer: &str, flush_interval_ms: u64) -> Self {
        Self::with_handle(KvHandle::Borrowed(kv), namespace, writer, flush_interval_ms)
    }

    fn with_handle(
        kv: KvHandle<'a>,
        namespace: &str,
        writer: &str,
        flush_interval_ms: u64,
    ) -> Self {
        Self {
            kv,
            namespace: namespace.to_owned(),
            writer: writer.to_owned(),
            flush_interval_ms: flush_interval_ms.max(1000),
            pending: RefCell::new(BTreeMap::new()),
            last_flush_ms: Cell::new(0),
            flushing: Cell::new(false),
            dirty: Cell::new(false),
        }
    }

    /// [`BucketWriter::new`] over a shared port, for an owner that keeps
    /// the writer (one per deployment, for the isolate's life).
    pub fn shared(
        kv: Arc<dyn KvStore>,
        namespace: &str,
        writer: &str,
        flush_interval_ms: u64,
    ) -> BucketWriter<'static> {
        BucketWriter::with_handle(KvHandle::Shared(kv), namespace, writer, flush_interval_ms)
    }

    /// Counts one request; returns true when a flush is due.
    pub fn record(&self, now_ms: u64, status: u16, latency_ms: f64) -> bool {
        let minute = now_ms / 60_000;
        let mut p = self.pending.borrow_mut();
        for g in Granularity::ALL {
            let (b, _) = p.entry((g, minute / g.minutes())).or_default();
            b.total += 1;
            b.server_errors += u64::from(status >= 500);
            b.throttled += u64::from(status == 429);
            b.latency.insert(latency_ms);
        }
        now_ms.saturating_sub(self.last_flush_ms.get()) >= self.flush_interval_ms
    }

    /// Writes every pending bucket (cumulative for this writer) and forgets
    /// periods that have ended. Flushes never overlap: one requested while
    /// another is writing makes that one write again, so an older snapshot
    /// never overwrites a newer one. Returns the keys written.
    pub async fn flush(&self, now_ms: u64) -> Result<usize, KvError> {
        self.last_flush_ms.set(now_ms);
        if self.flushing.get() {
            self.dirty.set(true);
            return Ok(0);
        }
        self.flushing.set(true);
        let mut written = 0;
        let result = loop {
            self.dirty.set(false);
            match self.write_snapshot(now_ms).await {
                Ok(n) => written += n,
                Err(e) => break Err(e),
            }
            if !self.dirty.get() {
                break Ok(written);
            }
        };
        self.flushing.set(false);
        result
    }

    async fn write_snapshot(&self, now_ms: u64) -> Result<usize, KvError> {
        // Only buckets that changed since their last write.
        let snapshot: Vec<((Granularity, u64), Bucket)> = self
            .pending
            .borrow()
            .iter()
            .filter(|(_, (b, written))| b.total != *written)
            .map(|(k, (b, _))| (*k, b.clone()))
            .collect();
        for ((g, period), bucket) in &snapshot {
            let bytes = encode_bucket(bucket);
            let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
            let mut opts = PutOptions::ttl(g.ttl_secs());
            if b64.len() <= META_MAX {
                opts = opts.with_metadata(json!({ "b": b64 }));
            }
            let key = bucket_key(&self.namespace, *g, *period, &self.writer);
            self.kv.get().put(&key, bytes, opts).await?;
            if let Some((_, written)) = self.pending.borrow_mut().get_mut(&(*g, *period)) {
                *written = bucket.total;
            }
        }
        // The previous period stays one more period for late records.
        let minute = now_ms / 60_000;
        self.pending
            .borrow_mut()
            .retain(|(g, period), _| *period + 1 >= minute / g.minutes());
        Ok(snapshot.len())
    }
}
