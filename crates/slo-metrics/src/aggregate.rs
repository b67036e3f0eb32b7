//! The dashboard's numbers computed in memory from [`RequestPoint`]s, per
//! minute, merged over any window: the native host's counterpart of the
//! SQL panels in [`crate::sql::queries`] (same definitions: error rate is
//! 5xx or 429, a cache hit is `HIT` or `STALE` among non-`BYPASS` lookups).
//!
//! ```
//! use slo_metrics::aggregate::Dashboard;
//! use slo_metrics::schema::RequestPoint;
//! use slo_metrics::slo::SloSpec;
//!
//! let mut d = Dashboard::new();
//! for i in 0..100u16 {
//!     let p = RequestPoint { status: if i < 99 { 200 } else { 503 }, country: "DE".into(),
//!         cache: "HIT".into(), response_ms: f64::from(i), ..Default::default() };
//!     d.record(60_000, &p);
//! }
//! let v = d.view(&SloSpec::defaults().slo[0], 60_000, 5);
//! assert_eq!(v.requests, 100);
//! assert!((v.availability - 0.99).abs() < 1e-9);
//! assert_eq!(v.top_regions[0], ("DE".to_string(), 100));
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::schema::RequestPoint;
use crate::sketch::DdSketch;
use crate::slo::{Bucket, CountSource, Counts, Sli, Slo};

/// Distinct countries or providers kept per minute; the rest are `other`
/// (bounded memory whatever the input).
pub const MAX_KEYS: usize = 256;

/// Per-provider figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderStats {
    /// Requests.
    pub requests: u64,
    /// 5xx answers.
    pub errors: u64,
    /// Latencies, ms.
    pub latency: DdSketch,
    /// Input tokens.
    pub tokens_in: f64,
    /// Output tokens.
    pub tokens_out: f64,
    /// Cost, USD.
    pub cost_usd: f64,
}

impl ProviderStats {
    fn merge(&mut self, o: &Self) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.latency.merge(&o.latency);
        self.tokens_in += o.tokens_in;
        self.tokens_out += o.tokens_out;
        self.cost_usd += o.cost_usd;
    }
}

/// One minute of dashboard counters (mergeable across writers and minutes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashBucket {
    /// Requests, 5xx, 429 and latencies (the SLO bucket).
    pub slo: Bucket,
    /// Cache lookups (not `BYPASS`, not empty).
    pub cache_lookups: u64,
    /// Cache hits (`HIT`, `STALE`).
    pub cache_hits: u64,
    /// Requests per country.
    pub countries: BTreeMap<String, u64>,
    /// Per provider.
    pub providers: BTreeMap<String, ProviderStats>,
}

fn bounded<'m, V: Default>(m: &'m mut BTreeMap<String, V>, k: &str) -> &'m mut V {
    let key = if m.len() < MAX_KEYS || m.contains_key(k) {
        k
    } else {
        "other"
    };
    m.entry(key.to_owned()).or_default()
}

impl DashBucket {
    /// Adds one request.
    pub fn record(&mut self, p: &RequestPoint) {
        let s = &mut self.slo;
        s.total += 1;
        s.server_errors += u64::from(p.status >= 500);
        s.throttled += u64::from(p.status == 429);
        s.latency.insert(p.response_ms);
        if !p.cache.is_empty() && p.cache != "BYPASS" {
            self.cache_lookups += 1;
            self.cache_hits += u64::from(p.cache == "HIT" || p.cache == "STALE");
        }
        *bounded(&mut self.countries, &p.country) += 1;
        if !p.provider.is_empty() {
            let e = bounded(&mut self.providers, &p.provider);
            e.requests += 1;
            e.errors += u64::from(p.status >= 500);
            e.latency.insert(p.response_ms);
            let fin = |v: f64| if v.is_finite() { v } else { 0.0 };
            e.tokens_in += fin(p.tokens_in);
            e.tokens_out += fin(p.tokens_out);
            e.cost_usd += fin(p.cost_usd);
        }
    }

    /// Adds another bucket.
    pub fn merge(&mut self, o: &Self) {
        self.slo.merge(&o.slo);
        self.cache_lookups += o.cache_lookups;
        self.cache_hits += o.cache_hits;
        for (k, v) in &o.countries {
            *bounded(&mut self.countries, k) += v;
        }
        for (k, v) in &o.providers {
            bounded(&mut self.providers, k).merge(v);
        }
    }
}

/// Per-minute dashboard buckets.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    minutes: BTreeMap<u64, DashBucket>,
}

/// One provider's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderView {
    /// Provider.
    pub provider: String,
    /// Requests.
    pub requests: u64,
    /// 5xx share.
    pub error_rate: f64,
    /// p95 latency, ms.
    pub p95_ms: f64,
    /// Input tokens.
    pub tokens_in: f64,
    /// Output tokens.
    pub tokens_out: f64,
    /// Cost, USD.
    pub cost_usd: f64,
}

/// The dashboard over one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardView {
    /// Requests.
    pub requests: u64,
    /// Requests per minute, oldest first: (minute start ms, requests).
    pub throughput: Vec<(u64, u64)>,
    /// p50, p95, p99 latency, ms (0 with no traffic).
    pub latency_ms: [f64; 3],
    /// Share not 5xx (1 with no traffic).
    pub availability: f64,
    /// Share 5xx or 429.
    pub error_rate: f64,
    /// Hits among cache lookups (0 with none).
    pub cache_hit_rate: f64,
    /// Cache lookups (requests whose cache status was not `BYPASS`).
    pub cache_lookups: u64,
    /// Top 10 countries by requests.
    pub top_regions: Vec<(String, u64)>,
    /// Providers by requests.
    pub providers: Vec<ProviderView>,
    /// Input and output tokens.
    pub tokens: [f64; 2],
    /// Burn rates of the given SLO per standard window.
    pub burn_rates: BTreeMap<String, f64>,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl Dashboard {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one request at `now_ms`.
    pub fn record(&mut self, now_ms: u64, p: &RequestPoint) {
        self.minutes.entry(now_ms / 60_000).or_default().record(p);
    }

    /// Adds a whole minute bucket (another writer's).
    pub fn add_bucket(&mut self, minute: u64, b: &DashBucket) {
        self.minutes.entry(minute).or_default().merge(b);
    }

    /// Drops minutes older than `keep_min` before `now_ms`.
    pub fn prune(&mut self, now_ms: u64, keep_min: u64) {
        let oldest = (now_ms / 60_000).saturating_sub(keep_min);
        self.minutes = self.minutes.split_off(&oldest);
    }

    fn range(&self, now_ms: u64, window_min: u64) -> impl Iterator<Item = (&u64, &DashBucket)> {
        let now = now_ms / 60_000;
        self.minutes
            .range((now + 1).saturating_sub(window_min)..=now)
    }

    /// The window's numbers, with `slo`'s burn rates.
    pub fn view(&self, slo: &Slo, now_ms: u64, window_min: u64) -> DashboardView {
        let mut all = DashBucket::default();
        let mut throughput = Vec::new();
        for (m, b) in self.range(now_ms, window_min) {
            all.merge(b);
            throughput.push((m * 60_000, b.slo.total));
        }
        let s = &all.slo;
        let q = |q| s.latency.quantile(q).unwrap_or(0.0);
        let mut top: Vec<(String, u64)> = all.countries.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(10);
        let mut providers: Vec<ProviderView> = all
            .providers
            .iter()
            .map(|(k, p)| ProviderView {
                provider: k.clone(),
                requests: p.requests,
                error_rate: ratio(p.errors, p.requests),
                p95_ms: p.latency.quantile(0.95).unwrap_or(0.0),
                tokens_in: p.tokens_in,
                tokens_out: p.tokens_out,
                cost_usd: p.cost_usd,
            })
            .collect();
        providers.sort_by_key(|p| std::cmp::Reverse(p.requests));
        DashboardView {
            requests: s.total,
            throughput,
            latency_ms: [q(0.5), q(0.95), q(0.99)],
            availability: if s.total == 0 {
                1.0
            } else {
                ratio(s.good(Sli::Availability), s.total)
            },
            error_rate: if s.total == 0 {
                0.0
            } else {
                1.0 - ratio(s.good(Sli::ErrorRate), s.total)
            },
            cache_hit_rate: ratio(all.cache_hits, all.cache_lookups),
            cache_lookups: all.cache_lookups,
            top_regions: top,
            tokens: [
                all.providers.values().map(|p| p.tokens_in).sum(),
                all.providers.values().map(|p| p.tokens_out).sum(),
            ],
            providers,
            burn_rates: slo.report(self, now_ms).burn_rates,
        }
    }
}

impl CountSource for Dashboard {
    fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Counts {
        let (mut good, mut total) = (0u64, 0u64);
        for (_, b) in self.range(now_ms, window_min) {
            good += b.slo.good(sli);
            total += b.slo.total;
        }
        Counts {
            good: good as f64,
            total: total as f64,
        }
    }
}
