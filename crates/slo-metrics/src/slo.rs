//! SLOs from a TOML spec (OpenSLO in spirit), per-minute buckets merged into
//! windows, error budgets, and multi-window multi-burn-rate alerts (Google
//! SRE Workbook, ch. 5).
//!
//! ```
//! use slo_metrics::slo::{SloSpec, Windows};
//!
//! let spec = SloSpec::defaults();
//! let mut w = Windows::new();
//! for i in 0..1000 { w.record(60_000, if i < 999 { 200 } else { 503 }, 50.0); }
//! let report = spec.slo[0].report(&w, 61_000);
//! assert_eq!(report.name, "availability");
//! assert!((report.sli - 0.999).abs() < 1e-9);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sketch::DdSketch;

/// What counts as a good event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Sli {
    /// Good = not 5xx.
    Availability,
    /// Good = answered under the threshold.
    Latency {
        /// Threshold in ms.
        threshold_ms: f64,
    },
    /// Good = neither 5xx nor 429 (errors the client sees as service failures).
    ErrorRate,
}

/// One objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Name (also the alert dedup key prefix).
    pub name: String,
    /// The indicator.
    pub sli: Sli,
    /// Objective in basis points (9990 = 99.9%): integers avoid float noise.
    pub objective_bp: u32,
    /// Compliance window in days.
    #[serde(default = "thirty")]
    pub window_days: u32,
    /// Fewer events than this in a window never alert (low-traffic guard).
    #[serde(default = "min_events")]
    pub min_events: u64,
    /// Fewer bad events than this in a window never alert: one error in a
    /// few hundred requests is noise, not a burn (default 5).
    #[serde(default = "min_bad_events")]
    pub min_bad_events: u64,
}

fn min_bad_events() -> u64 {
    5
}

fn thirty() -> u32 {
    30
}
fn min_events() -> u64 {
    20
}

/// A spec error naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SLO spec at {field}: {message}")]
pub struct SpecError {
    /// The field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The spec file: `[[slo]]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// The objectives (`[[slo]]` in a spec file, `[[slo.objectives]]` in
    /// the gateway config).
    #[serde(alias = "objectives")]
    pub slo: Vec<Slo>,
}

impl SloSpec {
    /// The source design's defaults: availability 99.9%, p95 < 200 ms
    /// (95% of requests under 200 ms), error rate < 1%.
    pub fn defaults() -> Self {
        let slo = |name: &str, sli, objective_bp| Slo {
            name: name.into(),
            sli,
            objective_bp,
            window_days: 30,
            min_events: 20,
            min_bad_events: 5,
        };
        Self {
            slo: vec![
                slo("availability", Sli::Availability, 9990),
                slo(
                    "latency-p95-200ms",
                    Sli::Latency {
                        threshold_ms: 200.0,
                    },
                    9500,
                ),
                slo("error-rate", Sli::ErrorRate, 9900),
            ],
        }
    }

    /// Parses and validates TOML.
    pub fn from_toml(text: &str) -> Result<Self, SpecError> {
        let spec: Self = toml::from_str(text).map_err(|e| SpecError {
            field: toml_field(text, &e),
            message: e.message().to_owned(),
        })?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every objective.
    pub fn validate(&self) -> Result<(), SpecError> {
        let err = |i: usize, f: &str, m: &str| SpecError {
            field: format!("slo[{i}].{f}"),
            message: m.into(),
        };
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.slo.iter().enumerate() {
            if s.name.is_empty() || !names.insert(s.name.clone()) {
                return Err(err(i, "name", "must be non-empty and unique"));
            }
            if !(1..10_000).contains(&s.objective_bp) {
                return Err(err(i, "objective_bp", "must be 1–9999 (basis points)"));
            }
            if !(1..=90).contains(&s.window_days) {
                return Err(err(i, "window_days", "must be 1–90"));
            }
            if let Sli::Latency { threshold_ms } = s.sli
                && !(threshold_ms.is_finite() && threshold_ms > 0.0)
            {
                return Err(err(i, "sli.threshold_ms", "must be a positive number"));
            }
        }
        Ok(())
    }
}

/// The field a TOML error is about: `slo[i].key` from the error's position
/// (the `[[slo]]` tables before it and the key on its line) or the field a
/// "missing field" message names.
fn toml_field(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message();
    let named = msg.split('`').nth(1).filter(|_| msg.contains("field"));
    let Some(span) = e.span() else {
        return named.unwrap_or("(document)").to_owned();
    };
    let before = text.get(..span.start).unwrap_or("");
    // A span that starts at a `[[slo]]` header (missing fields) counts it.
    let through = text
        .get(..(span.start + 7).min(text.len()))
        .unwrap_or(before);
    let line_key = before
        .rsplit('\n')
        .next()
        .and_then(|l| l.split('=').next().filter(|_| l.contains('=')))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let key = if msg.contains("missing field") {
        named
    } else {
        line_key.or(named)
    };
    let tables = through.matches("[[slo]]").count();
    match (tables, key) {
        (0, Some(k)) => k.to_owned(),
        (0, None) => "(document)".to_owned(),
        (n, Some(k)) => format!("slo[{}].{k}", n - 1),
        (n, None) => format!("slo[{}]", n - 1),
    }
}

/// One minute of traffic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Requests.
    pub total: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Latencies.
    pub latency: DdSketch,
}

impl Bucket {
    /// Good events for `sli` (latency: bucket-accurate, within 1%).
    pub fn good(&self, sli: Sli) -> u64 {
        match sli {
            Sli::Availability => self.total.saturating_sub(self.server_errors),
            Sli::ErrorRate => self
                .total
                .saturating_sub(self.server_errors.saturating_add(self.throttled)),
            // Ratio SLIs add across minutes; no sketch merge needed.
            Sli::Latency { threshold_ms } => self.latency.count_le(threshold_ms).min(self.total),
        }
    }

    /// Adds another writer's bucket for the same minute.
    pub fn merge(&mut self, o: &Bucket) {
        self.total = self.total.saturating_add(o.total);
        self.server_errors = self.server_errors.saturating_add(o.server_errors);
        self.throttled = self.throttled.saturating_add(o.throttled);
        self.latency.merge(&o.latency);
    }
}

/// Per-minute buckets (merged from every writer) that answer window queries.
#[derive(Debug, Clone, Default)]
pub struct Windows {
    minutes: BTreeMap<u64, Bucket>,
}

/// Good and total events in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Good events.
    pub good: f64,
    /// All events.
    pub total: f64,
}

impl Counts {
    /// Bad / total (0 when empty).
    pub fn error_ratio(&self) -> f64 {
        if self.total <= 0.0 {
            0.0
        } else {
            (self.total - self.good) / self.total
        }
    }
}

/// Where good/total counts per window come from: the per-minute
/// [`Windows`] (native host, KV buckets) or counts fetched from the
/// Analytics Engine SQL API ([`FixedCounts`]).
pub trait CountSource {
    /// Good and total events for `sli` over the last `window_min` minutes.
    fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Counts;
}

impl CountSource for Windows {
    fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Counts {
        Windows::counts(self, sli, now_ms, window_min)
    }
}

/// Counts already aggregated per window (e.g. by SQL), for one SLI.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FixedCounts(pub BTreeMap<u64, Counts>);

impl CountSource for FixedCounts {
    fn counts(&self, _sli: Sli, _now_ms: u64, window_min: u64) -> Counts {
        self.0.get(&window_min).copied().unwrap_or_default()
    }
}

/// The standard windows, in minutes.
pub const WINDOWS_MIN: [u64; 6] = [5, 30, 60, 360, 1440, 4320];

impl Windows {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one request at `now_ms`.
    pub fn record(&mut self, now_ms: u64, status: u16, latency_ms: f64) {
        let b = self.minutes.entry(now_ms / 60_000).or_default();
        b.total += 1;
        if status >= 500 {
            b.server_errors += 1;
        }
        if status == 429 {
            b.throttled += 1;
        }
        b.latency.insert(latency_ms);
    }

    /// Adds a whole bucket (another writer's minute).
    pub fn add_bucket(&mut self, minute: u64, bucket: &Bucket) {
        self.minutes.entry(minute).or_default().merge(bucket);
    }

    /// Drops minutes older than `keep_min` before `now_ms`.
    pub fn prune(&mut self, now_ms: u64, keep_min: u64) {
        let oldest = (now_ms / 60_000).saturating_sub(keep_min);
        self.minutes = self.minutes.split_off(&oldest);
    }

    /// The merged bucket of the last `window_min` minutes (the current one
    /// included).
    pub fn window(&self, now_ms: u64, window_min: u64) -> Bucket {
        let now = now_ms / 60_000;
        let from = (now + 1).saturating_sub(window_min);
        let mut out = Bucket::default();
        for (_, b) in self.minutes.range(from..=now) {
            out.merge(b);
        }
        out
    }

    /// Good/total for `sli` over the last `window_min` minutes.
    pub fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Counts {
        let now = now_ms / 60_000;
        let from = (now + 1).saturating_sub(window_min);
        let (mut total, mut good) = (0u64, 0u64);
        for (_, b) in self.minutes.range(from..=now) {
            total += b.total;
            good += b.good(sli);
        }
        Counts {
            good: good as f64,
            total: total as f64,
        }
    }
}

/// An SLO's status now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloReport {
    /// Name.
    pub name: String,
    /// Objective (0–1).
    pub objective: f64,
    /// Measured SLI over the compliance window (1 when no traffic).
    pub sli: f64,
    /// Share of the error budget left (1 = untouched, < 0 = overspent).
    pub budget_remaining: f64,
    /// Burn rate per standard window (`"5m"`, `"1h"`, …).
    pub burn_rates: BTreeMap<String, f64>,
}

/// `5m`, `1h`, `3d`.
pub(crate) fn label(min: u64) -> String {
    if min.is_multiple_of(1440) {
        format!("{}d", min / 1440)
    } else if min.is_multiple_of(60) {
        format!("{}h", min / 60)
    } else {
        format!("{min}m")
    }
}

impl Slo {
    /// 1 − objective.
    pub fn budget(&self) -> f64 {
        f64::from(10_000 - self.objective_bp) / 10_000.0
    }

    /// Burn rate over a window: error ratio / budget.
    pub fn burn(&self, w: &dyn CountSource, now_ms: u64, window_min: u64) -> f64 {
        let c = w.counts(self.sli, now_ms, window_min);
        if (c.total as u64) < self.min_events || ((c.total - c.good) as u64) < self.min_bad_events {
            return 0.0;
        }
        c.error_ratio() / self.budget()
    }

    /// The report over the compliance window.
    pub fn report(&self, w: &dyn CountSource, now_ms: u64) -> SloReport {
        let c = w.counts(self.sli, now_ms, u64::from(self.window_days) * 1440);
        let sli = if c.total > 0.0 { c.good / c.total } else { 1.0 };
        SloReport {
            name: self.name.clone(),
            objective: f64::from(self.objective_bp) / 10_000.0,
            sli,
            budget_remaining: 1.0 - c.error_ratio() / self.budget(),
            burn_rates: WINDOWS_MIN
                .iter()
                .map(|m| (label(*m), self.burn(w, now_ms, *m)))
                .collect(),
        }
    }
}
