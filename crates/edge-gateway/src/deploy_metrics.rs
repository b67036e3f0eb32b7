//! Per-deployment request metrics for canary judgement, in KV.
//!
//! Each isolate (writer) counts requests, 5xx errors and a latency histogram
//! per deployment per minute in memory, and flushes them to
//! `dm:{deployment}:{minute}:{writer}` (TTL 2 h) at most every
//! `flush_interval_ms`. One key per writer per minute means concurrent
//! isolates never overwrite each other and nothing is read-modify-written;
//! readers list the prefix and merge. The cost is one KV write per writer
//! per deployment per flush interval (Workers KV allows one write per second
//! per key; the default 10 s interval stays well below), and KV's eventual
//! consistency delays a reader by up to ~60 s, which canary stages (minutes
//! long) tolerate.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use edge_ports::{KvStore, ListOptions, PutOptions};
use serde::{Deserialize, Serialize};
use slo_metrics::sketch::DdSketch;
use traffic_split::canary::{CanaryMetrics, StageMetrics};

const TTL_SECS: u64 = 2 * 3600;

/// One writer's counts for one deployment and minute: requests, 5xx and a
/// DDSketch of latencies (1% relative accuracy, mergeable), serialised as
/// base64 in KV.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinuteCounts {
    /// Requests.
    pub requests: u64,
    /// 5xx answers.
    pub errors: u64,
    /// Latencies (ms).
    pub latency: DdSketch,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    requests: u64,
    errors: u64,
    sketch: String,
}

impl MinuteCounts {
    /// Adds another writer's counts.
    pub fn add(&mut self, other: &MinuteCounts) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
    }

    /// The `q` latency quantile in ms (0 with no requests), within 1%.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.quantile(q).unwrap_or(0.0)
    }

    fn encode(&self) -> Vec<u8> {
        use base64::Engine;
        let stored = Stored {
            requests: self.requests,
            errors: self.errors,
            sketch: base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(self.latency.to_bytes()),
        };
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        use base64::Engine;
        let s: Stored = serde_json::from_slice(bytes).ok()?;
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s.sketch)
            .ok()?;
        Some(Self {
            requests: s.requests,
            errors: s.errors,
            latency: DdSketch::from_bytes(&raw).ok()?,
        })
    }
}

/// The in-isolate recorder and the KV reader.
pub struct DeploymentMetrics {
    kv: Arc<dyn KvStore>,
    writer: String,
    flush_interval_ms: u64,
    pending: RefCell<BTreeMap<(String, u64), MinuteCounts>>,
    last_flush_ms: Cell<u64>,
    flushing: Cell<bool>,
    dirty: Cell<bool>,
}

impl std::fmt::Debug for DeploymentMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentMetrics")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

fn prefix(deployment: &str) -> String {
    format!("dm:{deployment}:")
}

impl DeploymentMetrics {
    /// A recorder writing as `writer` (a random id per isolate).
    pub fn new(kv: Arc<dyn KvStore>, writer: String, flush_interval_ms: u64) -> Self {
        Self {
            kv,
            writer,
            flush_interval_ms,
            pending: RefCell::new(BTreeMap::new()),
            last_flush_ms: Cell::new(0),
            flushing: Cell::new(false),
            dirty: Cell::new(false),
        }
    }

    /// Counts one request; true when a flush is due.
    pub fn record(&self, deployment: &str, status: u16, latency_ms: u64, now_ms: u64) -> bool {
        let minute = now_ms / 60_000;
        let mut p = self.pending.borrow_mut();
        let c = p.entry((deployment.to_owned(), minute)).or_default();
        c.requests += 1;
        if status >= 500 {
            c.errors += 1;
        }
        c.latency.insert(latency_ms as f64);
        now_ms.saturating_sub(self.last_flush_ms.get()) >= self.flush_interval_ms
    }

    /// Writes every pending minute (cumulative for this writer) and drops
    /// minutes that can no longer change. Flushes never overlap: a flush
    /// requested while one is writing makes that one write again, so an
    /// older snapshot can never overwrite a newer one and the last counts
    /// are always written.
    pub async fn flush(&self, now_ms: u64) -> Result<usize, edge_ports::KvError> {
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

    async fn write_snapshot(&self, now_ms: u64) -> Result<usize, edge_ports::KvError> {
        let snapshot: Vec<((String, u64), MinuteCounts)> = self
            .pending
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut written = 0;
        for ((dep, minute), counts) in &snapshot {
            let key = format!("{}{minute:010}:{}", prefix(dep), self.writer);
            let body = counts.encode();
            self.kv.put(&key, body, PutOptions::ttl(TTL_SECS)).await?;
            written += 1;
        }
        let current = now_ms / 60_000;
        self.pending
            .borrow_mut()
            .retain(|(_, minute), _| *minute + 1 >= current);
        Ok(written)
    }

    /// Per-minute counts of `deployment` from `since_ms` on, merged across
    /// writers (minute → counts).
    pub async fn read_minutes(
        &self,
        deployment: &str,
        since_ms: u64,
    ) -> Result<BTreeMap<u64, MinuteCounts>, edge_ports::KvError> {
        let since_minute = since_ms / 60_000;
        let pfx = prefix(deployment);
        let mut out: BTreeMap<u64, MinuteCounts> = BTreeMap::new();
        let mut cursor = None;
        loop {
            let page = self
                .kv
                .list(ListOptions::prefix(pfx.clone()).cursor(cursor.take()))
                .await?;
            for k in &page.keys {
                let Some(minute) = k
                    .name
                    .get(pfx.len()..pfx.len() + 10)
                    .and_then(|m| m.parse::<u64>().ok())
                    .filter(|m| *m >= since_minute)
                else {
                    continue;
                };
                if let Some(bytes) = self.kv.get(&k.name).await?
                    && let Some(c) = MinuteCounts::decode(&bytes)
                {
                    out.entry(minute).or_default().add(&c);
                }
            }
            match page.cursor {
                Some(c) if !page.list_complete => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }

    /// Merged counts of `deployment` from `since_ms` on.
    pub async fn read(
        &self,
        deployment: &str,
        since_ms: u64,
    ) -> Result<MinuteCounts, edge_ports::KvError> {
        let minutes = self.read_minutes(deployment, since_ms).await?;
        let mut total = MinuteCounts::default();
        for c in minutes.values() {
            total.add(c);
        }
        Ok(total)
    }
}

#[async_trait(?Send)]
impl CanaryMetrics for DeploymentMetrics {
    async fn canary_metrics(
        &self,
        deployment: &str,
        since_ms: u64,
    ) -> Result<StageMetrics, traffic_split::Error> {
        let c = self
            .read(deployment, since_ms)
            .await
            .map_err(|e| traffic_split::Error::Store(e.to_string()))?;
        Ok(StageMetrics {
            requests: c.requests,
            errors: c.errors,
            p95_ms: c.quantile_ms(0.95),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use edge_ports::testing::block_on;
    use edge_ports::{ManualClock, MemoryKv};

    #[test]
    fn writers_merge_and_old_minutes_are_excluded() {
        block_on(async {
            let clock = ManualClock::new(10 * 60_000);
            let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new(clock.clone()));
            let a = DeploymentMetrics::new(kv.clone(), "a".into(), 0);
            let b = DeploymentMetrics::new(kv.clone(), "b".into(), 0);
            for i in 0..90 {
                a.record("v2", 200, 20, 10 * 60_000 + i);
            }
            for _ in 0..10 {
                b.record("v2", 503, 900, 10 * 60_000);
            }
            b.record("v1", 200, 5, 10 * 60_000);
            a.record("v2", 200, 20, 3 * 60_000); // an old minute
            a.flush(10 * 60_000).await.unwrap();
            b.flush(10 * 60_000).await.unwrap();
            let m = a.canary_metrics("v2", 9 * 60_000).await.unwrap();
            assert_eq!((m.requests, m.errors), (100, 10));
            assert!((m.p95_ms - 900.0).abs() <= 9.0, "{}", m.p95_ms);
            assert_eq!(a.read("v2", 0).await.unwrap().requests, 101);
            assert_eq!(a.read("v1", 0).await.unwrap().requests, 1);
            // A second flush of the same minute overwrites this writer's key
            // with cumulative counts: nothing double-counts.
            a.record("v2", 200, 20, 10 * 60_000 + 5);
            a.flush(10 * 60_000 + 10).await.unwrap();
            assert_eq!(a.read("v2", 9 * 60_000).await.unwrap().requests, 101);
        });
    }
}
