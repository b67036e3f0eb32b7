//! Per-arm metrics: each isolate counts exposures, requests, errors,
//! latency, cost, tokens and feedback scores per (experiment, variant),
//! cumulative since it started, and writes them to its own KV key
//! (`xa:{experiment}:{writer}`) at most every `metrics_flush_ms`. One key
//! per writer means nothing is read-modify-written; the loop lists the
//! prefix and adds the writers up. Keys expire 60 days after their last
//! write (an isolate's counts leave the totals then).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use edge_ports::{KvError, KvStore, ListOptions, PutOptions};
use serde::{Deserialize, Serialize};
use slo_metrics::sketch::DdSketch;
use traffic_split::verdict::Moments;

use super::apply::Arm;
use super::{ARMS_PREFIX, MAX_EXPERIMENTS};

const TTL_SECS: u64 = 60 * 24 * 3600;
/// Variants and score names kept per experiment.
const MAX_VARIANTS: usize = 8;
const MAX_SCORES: usize = 8;
/// Writer keys read per experiment at most.
const MAX_WRITERS: usize = 1000;

/// One arm's counts (one writer's, or merged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArmCounters {
    pub(crate) exposures: u64,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) latency_ms: Moments,
    #[serde(with = "sketch_hex")]
    pub(crate) latency_sketch: DdSketch,
    pub(crate) cost_usd: Moments,
    pub(crate) tokens: Moments,
    pub(crate) scores: BTreeMap<String, Moments>,
}

mod sketch_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    use slo_metrics::sketch::DdSketch;

    pub(super) fn serialize<S: Serializer>(s: &DdSketch, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&edge_ports::hex::encode(&s.to_bytes()))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DdSketch, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = edge_ports::hex::decode(&text)
            .ok_or_else(|| serde::de::Error::custom("latency sketch is not hex"))?;
        DdSketch::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

impl ArmCounters {
    fn merge(&mut self, o: &ArmCounters) {
        self.exposures = self.exposures.saturating_add(o.exposures);
        self.requests = self.requests.saturating_add(o.requests);
        self.errors = self.errors.saturating_add(o.errors);
        self.latency_ms.merge(&o.latency_ms);
        self.latency_sketch.merge(&o.latency_sketch);
        self.cost_usd.merge(&o.cost_usd);
        self.tokens.merge(&o.tokens);
        for (name, m) in &o.scores {
            if self.scores.len() < MAX_SCORES || self.scores.contains_key(name) {
                self.scores.entry(name.clone()).or_default().merge(m);
            }
        }
    }
}

/// What one request in an arm came to.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestOutcome {
    pub(crate) status: u16,
    pub(crate) latency_ms: f64,
    pub(crate) cost_usd: f64,
    pub(crate) tokens: f64,
}

type Table = BTreeMap<String, BTreeMap<String, ArmCounters>>;

/// The isolate's counters.
#[derive(Debug)]
pub(crate) struct ArmMetrics {
    writer: String,
    flush_interval_ms: u64,
    last_flush_ms: Cell<u64>,
    dirty: RefCell<Vec<String>>,
    counters: RefCell<Table>,
}

impl ArmMetrics {
    pub(crate) fn new(writer: String, flush_interval_ms: u64) -> Self {
        Self {
            writer,
            flush_interval_ms,
            last_flush_ms: Cell::new(0),
            dirty: RefCell::new(Vec::new()),
            counters: RefCell::new(BTreeMap::new()),
        }
    }

    fn with_arm(&self, arm: &Arm, f: impl FnOnce(&mut ArmCounters)) {
        let mut table = self.counters.borrow_mut();
        if table.len() >= MAX_EXPERIMENTS && !table.contains_key(&arm.experiment) {
            return;
        }
        let exp = table.entry(arm.experiment.clone()).or_default();
        if exp.len() >= MAX_VARIANTS && !exp.contains_key(&arm.variant) {
            return;
        }
        f(exp.entry(arm.variant.clone()).or_default());
        let mut dirty = self.dirty.borrow_mut();
        if !dirty.contains(&arm.experiment) {
            dirty.push(arm.experiment.clone());
        }
    }

    /// Counts a first exposure of a user in this isolate.
    pub(crate) fn expose(&self, arm: &Arm) {
        self.with_arm(arm, |c| c.exposures += 1);
    }

    /// Counts one request; true when a flush is due.
    pub(crate) fn record(&self, arm: &Arm, o: RequestOutcome, now_ms: u64) -> bool {
        self.with_arm(arm, |c| {
            c.requests += 1;
            c.errors += u64::from(o.status >= 500);
            c.latency_ms.push(o.latency_ms);
            c.latency_sketch.insert(o.latency_ms.max(0.0));
            c.cost_usd.push(o.cost_usd);
            c.tokens.push(o.tokens);
        });
        self.due(now_ms)
    }

    /// Counts one feedback score; true when a flush is due.
    pub(crate) fn score(&self, arm: &Arm, name: &str, value: f64, now_ms: u64) -> bool {
        self.with_arm(arm, |c| {
            if c.scores.len() < MAX_SCORES || c.scores.contains_key(name) {
                c.scores.entry(name.to_owned()).or_default().push(value);
            }
        });
        self.due(now_ms)
    }

    fn due(&self, now_ms: u64) -> bool {
        !self.dirty.borrow().is_empty()
            && now_ms.saturating_sub(self.last_flush_ms.get()) >= self.flush_interval_ms
    }

    /// Writes every changed experiment's counters under this writer's key.
    pub(crate) async fn flush(&self, kv: &dyn KvStore, now_ms: u64) -> Result<(), KvError> {
        self.last_flush_ms.set(now_ms);
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        for exp in dirty {
            let body = match self.counters.borrow().get(&exp) {
                Some(arms) => serde_json::to_vec(arms).unwrap_or_default(),
                None => continue,
            };
            let key = format!("{ARMS_PREFIX}{exp}:{}", self.writer);
            if let Err(e) = kv.put(&key, body, PutOptions::ttl(TTL_SECS)).await {
                // Keep it dirty for the next flush.
                self.dirty.borrow_mut().push(exp);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Every writer's counters for `experiment`, added up per variant.
pub(crate) async fn read_arms(
    kv: &dyn KvStore,
    experiment: &str,
) -> Result<BTreeMap<String, ArmCounters>, KvError> {
    let prefix = format!("{ARMS_PREFIX}{experiment}:");
    let mut merged: BTreeMap<String, ArmCounters> = BTreeMap::new();
    let mut cursor = None;
    let mut read = 0;
    loop {
        let page = kv
            .list(ListOptions::prefix(prefix.clone()).cursor(cursor))
            .await?;
        for k in page.keys {
            if read >= MAX_WRITERS {
                return Ok(merged);
            }
            read += 1;
            let Some(bytes) = kv.get(&k.name).await? else {
                continue;
            };
            let Ok(arms) = serde_json::from_slice::<BTreeMap<String, ArmCounters>>(&bytes) else {
                continue;
            };
            for (variant, c) in arms {
                if merged.len() < MAX_VARIANTS || merged.contains_key(&variant) {
                    merged.entry(variant).or_default().merge(&c);
                }
            }
        }
        match page.cursor {
            Some(c) if !page.list_complete => cursor = Some(c),
            _ => return Ok(merged),
        }
    }
}

impl crate::Gateway {
    /// Counts a finished request in each of its arms (chat and templates
    /// only: what experiments vary).
    pub(crate) fn record_arms(
        &self,
        arms: &[Arm],
        h: &http::HeaderMap,
        status: u16,
        started: u64,
        bg: &dyn crate::WaitUntil,
    ) {
        if arms.is_empty() {
            return;
        }
        let spend = crate::Spend::of(h);
        let now = self.inner.clock.now_ms();
        let outcome = RequestOutcome {
            status,
            latency_ms: now.saturating_sub(started) as f64,
            cost_usd: spend.cost_usd,
            tokens: spend.tokens_in + spend.tokens_out,
        };
        let mut due = false;
        for arm in arms {
            due |= self.inner.arm_metrics.record(arm, outcome, now);
        }
        if due {
            self.flush_arm_metrics(bg);
        }
    }

    /// Flushes the per-arm counters in the background.
    pub(crate) fn flush_arm_metrics(&self, bg: &dyn crate::WaitUntil) {
        let this = self.clone();
        bg.wait_until(Box::pin(async move {
            let now = this.inner.clock.now_ms();
            // A failed flush keeps the counts for the next one.
            let _ = this
                .inner
                .arm_metrics
                .flush(this.inner.kv.as_ref(), now)
                .await;
        }));
    }
}
