//! Where SLIs come from, behind one trait with two production impls:
//!
//! - [`AnalyticsSql`]: the Analytics Engine SQL API (Cloudflare): every
//!   window, to 30 days, from sample-weighted SQL;
//! - [`KvWindows`](crate::store::KvWindows): the per-writer minute/hour/day
//!   buckets in KV (native host, or Workers without the SQL token);
//!
//! plus the in-memory [`Windows`] for tests and single-process hosts.
//! [`evaluate`] asks a source for every window an SLO and its alert rules
//! need, then runs the burn-rate [`Alerter`].
//!
//! ```
//! use slo_metrics::alert::Alerter;
//! use slo_metrics::slo::{SloSpec, Windows};
//! use slo_metrics::source::evaluate;
//!
//! let mut w = Windows::new();
//! for i in 0..1000 { w.record(60_000, if i % 2 == 0 { 503 } else { 200 }, 20.0); }
//! let mut alerter = Alerter::default();
//! let out = edge_ports::testing::block_on(
//!     evaluate(&SloSpec::defaults().slo, &w, &mut alerter, 119_999),
//! ).unwrap();
//! assert_eq!(out.reports.len(), 3);
//! assert!(!out.events.is_empty());
//! ```

use std::collections::BTreeMap;

use crate::alert::{AlertEvent, Alerter, RULES};
use crate::slo::{Counts, FixedCounts, Sli, Slo, SloReport, WINDOWS_MIN, Windows};
use crate::sql::{AnalyticsSql, SqlError};

/// Why an SLI could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The SQL API failed.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// KV failed.
    #[error("KV read failed: {0}")]
    Kv(#[from] edge_ports::KvError),
}

/// Good/total event counts per window.
///
/// Futures are not `Send` (Workers' are not); call it with generics.
#[allow(async_fn_in_trait)]
pub trait SliSource {
    /// Called once per evaluation with every window about to be asked for,
    /// so a store can batch its reads. The default does nothing.
    async fn prepare(&self, _now_ms: u64, _windows_min: &[u64]) -> Result<(), SourceError> {
        Ok(())
    }

    /// Good and total events for `sli` over the last `window_min` minutes
    /// ending at `now_ms`.
    async fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Result<Counts, SourceError>;
}

impl SliSource for Windows {
    async fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Result<Counts, SourceError> {
        Ok(Windows::counts(self, sli, now_ms, window_min))
    }
}

/// The SQL API answers relative to its own `NOW()`; `now_ms` is not sent.
impl SliSource for AnalyticsSql<'_> {
    async fn counts(&self, sli: Sli, _now_ms: u64, window_min: u64) -> Result<Counts, SourceError> {
        let deployment = self.deployment_filter().to_owned();
        Ok(self.sli_counts(sli, window_min, &deployment).await?)
    }
}

impl<S: SliSource + ?Sized> SliSource for &S {
    async fn prepare(&self, now_ms: u64, windows_min: &[u64]) -> Result<(), SourceError> {
        (**self).prepare(now_ms, windows_min).await
    }
    async fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Result<Counts, SourceError> {
        (**self).counts(sli, now_ms, window_min).await
    }
}

/// Every window (minutes) `slo` needs: the alert rules' and the report's.
pub fn windows_for(slo: &Slo) -> Vec<u64> {
    let mut w: Vec<u64> = WINDOWS_MIN
        .iter()
        .copied()
        .chain(RULES.iter().flat_map(|r| [r.long_min, r.short_min]))
        .chain([u64::from(slo.window_days) * 1440])
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// The result of one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Alert state changes (send them: see [`crate::sinks`]).
    pub events: Vec<AlertEvent>,
    /// One report per SLO: SLI, error budget remaining, burn rates.
    pub reports: Vec<SloReport>,
    /// The counts read, per SLO name and window.
    pub counts: BTreeMap<String, FixedCounts>,
}

/// Reads every window of every SLO from `source`, evaluates the alert
/// rules (updating `alerter`; persist it with
/// [`Alerter::save`](crate::alert::Alerter::save)) and reports budgets.
pub async fn evaluate<S: SliSource>(
    slos: &[Slo],
    source: &S,
    alerter: &mut Alerter,
    now_ms: u64,
) -> Result<Evaluation, SourceError> {
    let mut all: Vec<u64> = slos.iter().flat_map(windows_for).collect();
    all.sort_unstable();
    all.dedup();
    source.prepare(now_ms, &all).await?;
    let mut out = Evaluation::default();
    for slo in slos {
        let mut fixed = FixedCounts::default();
        for w in windows_for(slo) {
            fixed.0.insert(w, source.counts(slo.sli, now_ms, w).await?);
        }
        out.events
            .extend(alerter.evaluate(std::slice::from_ref(slo), &fixed, now_ms));
        out.reports.push(slo.report(&fixed, now_ms));
        out.counts.insert(slo.name.clone(), fixed);
    }
    Ok(out)
}
