//! Canary releases: a staged state machine, sticky monotonic routing,
//! versioned persistence and an audit log.

use async_trait::async_trait;
use edge_ports::{KvStore, PutOptions};
use serde::{Deserialize, Serialize};

use crate::sticky_bucket;

/// One stage of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Share of traffic on the canary, 0–100.
    pub percent: f64,
    /// Minimum time in the stage before advancing, ms.
    pub min_duration_ms: u64,
    /// Roll back when the canary's error rate exceeds this (0–1).
    pub max_error_rate: f64,
    /// Roll back when the canary's p95 latency exceeds this, ms.
    pub max_p95_ms: f64,
    /// Requests needed before the stage can be judged.
    pub min_requests: u64,
}

/// The rollout plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryConfig {
    /// Stages in order; the last must be 100%.
    pub stages: Vec<Stage>,
}

impl Default for CanaryConfig {
    /// 5% → 25% → 50% → 100%.
    fn default() -> Self {
        let stage = |percent, min_duration_ms, min_requests| Stage {
            percent,
            min_duration_ms,
            max_error_rate: 0.01,
            max_p95_ms: 500.0,
            min_requests,
        };
        Self {
            stages: vec![
                stage(5.0, 10 * 60_000, 500),
                stage(25.0, 10 * 60_000, 1_000),
                stage(50.0, 15 * 60_000, 2_000),
                stage(100.0, 0, 0),
            ],
        }
    }
}

impl CanaryConfig {
    /// Stages rise strictly, stay within (0, 100] and end at 100.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |m: String| Err(crate::Error::Config(m));
        if self.stages.is_empty() {
            return bad("canary.stages: at least one stage".into());
        }
        let mut prev = 0.0;
        for (i, s) in self.stages.iter().enumerate() {
            if !(s.percent > prev && s.percent <= 100.0) {
                return bad(format!(
                    "canary.stages[{i}].percent: must rise strictly within (0, 100], got {}",
                    s.percent
                ));
            }
            if !(0.0..=1.0).contains(&s.max_error_rate)
                || s.max_p95_ms.is_nan()
                || s.max_p95_ms <= 0.0
            {
                return bad(format!(
                    "canary.stages[{i}]: max_error_rate in [0, 1] and max_p95_ms > 0"
                ));
            }
            prev = s.percent;
        }
        if prev != 100.0 {
            return bad("canary.stages: the last stage must be 100%".into());
        }
        Ok(())
    }
}

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Moving through the stages.
    Running,
    /// All traffic on the new version.
    Completed,
    /// All traffic back on stable.
    RolledBack,
}

/// Persisted rollout state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryState {
    /// Rollout name (also the hashing seed).
    pub name: String,
    /// The stable deployment.
    pub stable: String,
    /// The canary deployment.
    pub canary: String,
    /// Index into the stages.
    pub stage: usize,
    /// Current canary share, 0–100.
    pub percent: f64,
    /// When the current stage began, ms.
    pub stage_started_ms: u64,
    /// Status.
    pub status: Status,
    /// Incremented on every write; a writer holding an older version is stale.
    pub version: u64,
    /// This rollout's own stages (a blue-green switch's steps); `None`:
    /// the controller's configured plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<CanaryConfig>,
}

impl CanaryState {
    /// A new rollout at the first stage.
    pub fn start(name: &str, stable: &str, canary: &str, cfg: &CanaryConfig, now_ms: u64) -> Self {
        Self {
            name: name.to_owned(),
            stable: stable.to_owned(),
            canary: canary.to_owned(),
            stage: 0,
            percent: cfg.stages.first().map_or(0.0, |s| s.percent),
            stage_started_ms: now_ms,
            status: Status::Running,
            version: 1,
            plan: None,
        }
    }

    /// A rollout that follows its own `plan` (a blue-green switch).
    pub fn start_with_plan(
        name: &str,
        stable: &str,
        canary: &str,
        plan: CanaryConfig,
        now_ms: u64,
    ) -> Self {
        let mut state = Self::start(name, stable, canary, &plan, now_ms);
        state.plan = Some(plan);
        state
    }

    /// The deployment serving `unit` (user id or hashed fingerprint).
    ///
    /// Monotonic: the canary takes the units whose bucket is below the
    /// percentage, so a unit on the canary at 5% is still on it at 25%.
    pub fn route(&self, unit: &str) -> &str {
        let bucket = sticky_bucket(&format!("canary:{}", self.name), unit);
        if bucket * 100.0 < self.percent {
            &self.canary
        } else {
            &self.stable
        }
    }
}

/// Metrics of the canary over the current stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageMetrics {
    /// Requests served by the canary.
    pub requests: u64,
    /// Of which errors (5xx).
    pub errors: u64,
    /// p95 latency, ms.
    pub p95_ms: f64,
}

/// Where metrics come from (slo-metrics implements it over its windows).
#[async_trait(?Send)]
pub trait CanaryMetrics {
    /// The canary deployment's metrics since `since_ms`.
    async fn canary_metrics(
        &self,
        deployment: &str,
        since_ms: u64,
    ) -> Result<StageMetrics, crate::Error>;
}

/// What to do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Stay in the stage.
    Hold(String),
    /// Move to the next stage.
    Advance {
        /// The new percentage.
        to_percent: f64,
        /// Why.
        reason: String,
    },
    /// Drop the canary to 0% immediately.
    Rollback(String),
    /// The last stage passed: 100% on the new version.
    Complete(String),
}

/// Judges the current stage.
pub fn evaluate(
    cfg: &CanaryConfig,
    state: &CanaryState,
    m: &StageMetrics,
    now_ms: u64,
) -> Decision {
    if state.status != Status::Running {
        return Decision::Hold(format!("rollout is {:?}", state.status));
    }
    let Some(stage) = cfg.stages.get(state.stage) else {
        return Decision::Hold("stage index is beyond the plan".into());
    };
    let error_rate = if m.requests == 0 {
        0.0
    } else {
        m.errors as f64 / m.requests as f64
    };
    // Safety first: a breach rolls back even before the stage is judgeable.
    if m.requests > 0 && error_rate > stage.max_error_rate {
        return Decision::Rollback(format!(
            "error rate {:.2}% > {:.2}%",
            error_rate * 100.0,
            stage.max_error_rate * 100.0
        ));
    }
    if m.requests > 0 && m.p95_ms > stage.max_p95_ms {
        return Decision::Rollback(format!(
            "p95 {:.0} ms > {:.0} ms",
            m.p95_ms, stage.max_p95_ms
        ));
    }
    let elapsed = now_ms.saturating_sub(state.stage_started_ms);
    if elapsed < stage.min_duration_ms {
        return Decision::Hold(format!(
            "{} of {} s in stage",
            elapsed / 1000,
            stage.min_duration_ms / 1000
        ));
    }
    if m.requests < stage.min_requests {
        return Decision::Hold(format!("{} of {} requests", m.requests, stage.min_requests));
    }
    match cfg.stages.get(state.stage + 1) {
        Some(next) => Decision::Advance {
            to_percent: next.percent,
            reason: format!(
                "stage {}% healthy: errors {:.2}%, p95 {:.0} ms over {} requests",
                stage.percent,
                error_rate * 100.0,
                m.p95_ms,
                m.requests
            ),
        },
        None => Decision::Complete(format!("final stage healthy over {} requests", m.requests)),
    }
}

/// One audit-log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, ms.
    pub at_ms: u64,
    /// State version after the transition.
    pub version: u64,
    /// `advance`, `rollback`, `complete`.
    pub action: String,
    /// From → to percentage.
    pub from_percent: f64,
    /// New percentage.
    pub to_percent: f64,
    /// Why.
    pub reason: String,
    /// The metrics that decided it.
    pub metrics: StageMetrics,
}

/// Applies a decision; returns the new state and its audit entry (none for hold).
pub fn apply(
    state: &CanaryState,
    d: &Decision,
    m: StageMetrics,
    now_ms: u64,
) -> Option<(CanaryState, AuditEntry)> {
    let mut next = state.clone();
    let (action, reason) = match d {
        Decision::Hold(_) => return None,
        Decision::Advance { to_percent, reason } => {
            next.stage += 1;
            next.percent = *to_percent;
            next.stage_started_ms = now_ms;
            ("advance", reason.clone())
        }
        Decision::Rollback(reason) => {
            next.percent = 0.0;
            next.status = Status::RolledBack;
            ("rollback", reason.clone())
        }
        Decision::Complete(reason) => {
            next.percent = 100.0;
            next.status = Status::Completed;
            ("complete", reason.clone())
        }
    };
    next.version += 1;
    let entry = AuditEntry {
        at_ms: now_ms,
        version: next.version,
        action: action.into(),
        from_percent: state.percent,
        to_percent: next.percent,
        reason,
        metrics: m,
    };
    Some((next, entry))
}

/// Persists rollout state with optimistic concurrency.
///
/// `save` must fail with [`crate::Error::StaleWrite`] when the stored version
/// is not `expected_version`. [`KvCanaryStore`] can only check-then-write
/// (Workers KV is last-writer-wins and eventually consistent: two writers in
/// different locations can both pass the check). For exact state, implement
/// this trait over a Durable Object, which serialises writes per rollout.
#[async_trait(?Send)]
pub trait CanaryStore {
    /// The state of a rollout.
    async fn load(&self, name: &str) -> Result<Option<CanaryState>, crate::Error>;
    /// Writes `state` if the stored version is `expected_version` (0 = absent).
    async fn save(&self, state: &CanaryState, expected_version: u64) -> Result<(), crate::Error>;
    /// Appends to the audit log.
    async fn audit(&self, name: &str, entry: &AuditEntry) -> Result<(), crate::Error>;
    /// The audit log, oldest first.
    async fn audit_log(&self, name: &str) -> Result<Vec<AuditEntry>, crate::Error>;
}

/// Canary state in KV: `canary:{name}` and `canary:{name}:audit:{version}`
/// (one key per entry, so appends never read-modify-write).
#[derive(Debug, Clone)]
pub struct KvCanaryStore<K> {
    kv: K,
}

impl<K: KvStore> KvCanaryStore<K> {
    /// Stores in `kv`.
    pub fn new(kv: K) -> Self {
        Self { kv }
    }
}

fn store_err(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Store(e.to_string())
}

#[async_trait(?Send)]
impl<K: KvStore> CanaryStore for KvCanaryStore<K> {
    async fn load(&self, name: &str) -> Result<Option<CanaryState>, crate::Error> {
        match self
            .kv
            .get(&format!("canary:{name}"))
            .await
            .map_err(store_err)?
        {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| crate::Error::Store(format!("canary:{name} is corrupt: {e}"))),
        }
    }

    async fn save(&self, state: &CanaryState, expected_version: u64) -> Result<(), crate::Error> {
        let current = self.load(&state.name).await?.map_or(0, |s| s.version);
        if current != expected_version {
            return Err(crate::Error::StaleWrite {
                expected: expected_version,
                found: current,
            });
        }
        let bytes = serde_json::to_vec(state).map_err(store_err)?;
        self.kv
            .put(
                &format!("canary:{}", state.name),
                bytes,
                PutOptions::default(),
            )
            .await
            .map_err(store_err)
    }

    async fn audit(&self, name: &str, entry: &AuditEntry) -> Result<(), crate::Error> {
        let bytes = serde_json::to_vec(entry).map_err(store_err)?;
        let key = format!("canary:{name}:audit:{:012}", entry.version);
        self.kv
            .put(&key, bytes, PutOptions::default())
            .await
            .map_err(store_err)
    }

    async fn audit_log(&self, name: &str) -> Result<Vec<AuditEntry>, crate::Error> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .kv
                .list(
                    edge_ports::ListOptions::prefix(format!("canary:{name}:audit:"))
                        .cursor(cursor.take()),
                )
                .await
                .map_err(store_err)?;
            for k in &page.keys {
                if let Some(b) = self.kv.get(&k.name).await.map_err(store_err)? {
                    out.push(serde_json::from_slice(&b).map_err(store_err)?);
                }
            }
            if page.list_complete {
                return Ok(out);
            }
            cursor = page.cursor;
        }
    }
}

/// One controller tick: load, judge with fresh metrics, persist, audit.
/// Returns the decision taken. The cron Worker and the native host both call this.
pub async fn tick(
    cfg: &CanaryConfig,
    name: &str,
    store: &dyn CanaryStore,
    metrics: &dyn CanaryMetrics,
    now_ms: u64,
) -> Result<Decision, crate::Error> {
    let state = store
        .load(name)
        .await?
        .ok_or_else(|| crate::Error::Config(format!("no rollout named {name:?}")))?;
    let m = metrics
        .canary_metrics(&state.canary, state.stage_started_ms)
        .await?;
    let decision = evaluate(state.plan.as_ref().unwrap_or(cfg), &state, &m, now_ms);
    if let Some((next, entry)) = apply(&state, &decision, m, now_ms) {
        store.save(&next, state.version).await?;
        store.audit(name, &entry).await?;
    }
    Ok(decision)
}
