//! Per-deployment request metrics for canary judgement, status and SLOs,
//! in KV.
//!
//! Each isolate (writer) counts requests, 5xx, 429 and a latency sketch
//! per deployment in the minute, hour and day buckets of slo-metrics'
//! [`BucketWriter`] under the namespace `dm:{deployment}`, and flushes them
//! at most every `flush_interval_ms`. One key per writer per period means
//! concurrent isolates never overwrite each other and nothing is
//! read-modify-written; readers list by prefix and merge
//! ([`KvWindows`]), reading long windows from hour and day buckets (a
//! 3-day SLO window is ~130 keys per writer, not 4320), so SLO alerts from
//! KV alone reach every window to 3 days. Small buckets ride in the list
//! metadata, so a read is mostly `list` calls. KV's eventual consistency
//! delays a reader by up to ~60 s, which canary stages (minutes long) and
//! burn-rate ratios tolerate.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use async_trait::async_trait;
use edge_ports::{Clock, KvError, KvStore, ListOptions, PutOptions};
use slo_metrics::sketch::DdSketch;
use slo_metrics::slo::Bucket;
use slo_metrics::store::{BucketWriter, KvWindows, Rollups};
use traffic_split::canary::{CanaryMetrics, StageMetrics};

/// Merged counts of one deployment over a window: requests, 5xx and a
/// DDSketch of latencies (1% relative accuracy).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentCounts {
    /// Requests.
    pub requests: u64,
    /// 5xx answers.
    pub errors: u64,
    /// Latencies (ms).
    pub latency: DdSketch,
}

impl DeploymentCounts {
    /// The `q` latency quantile in ms (0 with no requests), within 1%.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.quantile(q).unwrap_or(0.0)
    }
}

impl From<Bucket> for DeploymentCounts {
    fn from(b: Bucket) -> Self {
        Self {
            requests: b.total,
            errors: b.server_errors,
            latency: b.latency,
        }
    }
}

/// The in-isolate recorder and the KV reader.
pub struct DeploymentMetrics {
    kv: Arc<dyn KvStore>,
    clock: Arc<dyn Clock>,
    writer: String,
    flush_interval_ms: u64,
    last_flush_ms: Cell<u64>,
    writers: RefCell<BTreeMap<String, Rc<BucketWriter<'static>>>>,
    /// When this isolate last wrote each deployment's index entry.
    indexed: RefCell<BTreeMap<String, u64>>,
}

/// KV prefix of the index of deployments that wrote metrics: one key per
/// deployment, refreshed by its writers, expiring 4 days after the last
/// (the SLO windows reach 3 days back).
pub const DEPLOYMENT_INDEX_PREFIX: &str = "dmi:";
const INDEX_TTL_SECS: u64 = 4 * 24 * 3600;
const INDEX_REFRESH_MS: u64 = 10 * 60_000;
/// Deployments the SLO step evaluates at most (newest first).
pub const MAX_LIVE_DEPLOYMENTS: usize = 16;

impl std::fmt::Debug for DeploymentMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentMetrics")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

/// The KV namespace of a deployment's buckets.
fn namespace(deployment: &str) -> String {
    format!("dm:{deployment}")
}

impl DeploymentMetrics {
    /// A recorder writing as `writer` (a random id per isolate); `clock`
    /// ends the windows read.
    pub fn new(
        kv: Arc<dyn KvStore>,
        clock: Arc<dyn Clock>,
        writer: String,
        flush_interval_ms: u64,
    ) -> Self {
        Self {
            kv,
            clock,
            writer,
            flush_interval_ms,
            last_flush_ms: Cell::new(0),
            writers: RefCell::new(BTreeMap::new()),
            indexed: RefCell::new(BTreeMap::new()),
        }
    }

    /// Counts one request; true when a flush is due (every
    /// `flush_interval_ms`; below 1 000 ms, as tests use, a busy isolate
    /// would exceed KV's one write per second per key).
    pub fn record(&self, deployment: &str, status: u16, latency_ms: u64, now_ms: u64) -> bool {
        let w = self
            .writers
            .borrow_mut()
            .entry(deployment.to_owned())
            .or_insert_with(|| {
                Rc::new(BucketWriter::shared(
                    self.kv.clone(),
                    &namespace(deployment),
                    &self.writer,
                    self.flush_interval_ms,
                ))
            })
            .clone();
        w.record(now_ms, status, latency_ms as f64);
        now_ms.saturating_sub(self.last_flush_ms.get()) >= self.flush_interval_ms
    }

    /// Writes every deployment's pending buckets (cumulative for this
    /// writer; see [`BucketWriter::flush`]); returns the keys written. A
    /// failed write keeps the counts in memory for the next flush.
    pub async fn flush(&self, now_ms: u64) -> Result<usize, KvError> {
        self.last_flush_ms.set(now_ms);
        // Not borrowed across the awaits: requests keep recording meanwhile.
        let writers: Vec<Rc<BucketWriter<'static>>> =
            self.writers.borrow().values().cloned().collect();
        let mut written = 0;
        let mut first_error = None;
        for w in writers {
            match w.flush(now_ms).await {
                Ok(n) => written += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Err(e) = self.index(now_ms).await {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(written), Err)
    }

    /// Refreshes the index entries of the deployments this isolate counted
    /// (at most every 10 minutes each).
    async fn index(&self, now_ms: u64) -> Result<(), KvError> {
        let due: Vec<String> = {
            let indexed = self.indexed.borrow();
            self.writers
                .borrow()
                .keys()
                .filter(|d| {
                    indexed
                        .get(*d)
                        .is_none_or(|t| now_ms.saturating_sub(*t) >= INDEX_REFRESH_MS)
                })
                .cloned()
                .collect()
        };
        for deployment in due {
            let key = format!("{DEPLOYMENT_INDEX_PREFIX}{deployment}");
            let opts =
                PutOptions::ttl(INDEX_TTL_SECS).with_metadata(serde_json::json!({"t": now_ms}));
            self.kv.put(&key, Vec::new(), opts).await?;
            self.indexed.borrow_mut().insert(deployment, now_ms);
        }
        Ok(())
    }

    /// The deployments (version ids on Workers) that wrote metrics in the
    /// last 3 days, most recently seen first, at most
    /// [`MAX_LIVE_DEPLOYMENTS`].
    pub async fn live_deployments(&self) -> Result<Vec<String>, KvError> {
        let mut seen: Vec<(u64, String)> = Vec::new();
        let mut cursor = None;
        for _ in 0..5 {
            let page = self
                .kv
                .list(ListOptions::prefix(DEPLOYMENT_INDEX_PREFIX).cursor(cursor.take()))
                .await?;
            for k in page.keys {
                let at = k
                    .metadata
                    .as_ref()
                    .and_then(|m| m["t"].as_u64())
                    .unwrap_or(0);
                if let Some(name) = k.name.strip_prefix(DEPLOYMENT_INDEX_PREFIX) {
                    seen.push((at, name.to_owned()));
                }
            }
            match page.cursor {
                Some(c) if !page.list_complete => cursor = Some(c),
                _ => break,
            }
        }
        seen.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        seen.truncate(MAX_LIVE_DEPLOYMENTS);
        Ok(seen.into_iter().map(|(_, name)| name).collect())
    }

    /// The merged buckets of `deployment` for the given windows (minutes,
    /// ending at `now_ms`), for SLO evaluation.
    pub async fn windows(
        &self,
        deployment: &str,
        now_ms: u64,
        windows_min: &[u64],
    ) -> Result<Rollups, KvError> {
        let reader = KvWindows::shared(self.kv.clone(), &namespace(deployment));
        let (rollups, _) = reader.load(now_ms, windows_min).await?;
        Ok(rollups)
    }

    /// Merged counts of `deployment` from the minute of `since_ms` on.
    pub async fn read(&self, deployment: &str, since_ms: u64) -> Result<DeploymentCounts, KvError> {
        let now = self.clock.now_ms();
        let window_min = (now / 60_000 + 1).saturating_sub(since_ms / 60_000).max(1);
        let rollups = self.windows(deployment, now, &[window_min]).await?;
        Ok(rollups.window(now, window_min).into())
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
            let a = DeploymentMetrics::new(kv.clone(), Arc::new(clock.clone()), "a".into(), 0);
            let b = DeploymentMetrics::new(kv.clone(), Arc::new(clock.clone()), "b".into(), 0);
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
