//! The source design's A/B experiments as first-class config, evaluated with
//! the GrowthBook core's hashing, bucket ranges and condition language.

use std::collections::BTreeSet;

use edge_ports::{AnalyticsSink, DataPoint};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::growthbook::{choose_variation, eval_condition, get_bucket_ranges, hash};

/// One variant and its share of traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name (unique within the experiment).
    pub name: String,
    /// Share of the experiment's traffic, in percent; all variants sum to 100.
    pub traffic_percent: f64,
}

/// Who may enter. Empty lists mean "anyone".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targeting {
    /// Country codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Region names (as the gateway's region map names them).
    #[serde(default)]
    pub regions: Vec<String>,
    /// User segments.
    #[serde(default)]
    pub segments: Vec<String>,
    /// Device types (`mobile`, `desktop`, `tablet`, `bot`).
    #[serde(default)]
    pub devices: Vec<String>,
    /// Conditions on custom attributes, in GrowthBook's condition language.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// When the experiment runs: local times in a fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `YYYY-MM-DDTHH:MM[:SS]`, local to `timezone`.
    pub start: String,
    /// `YYYY-MM-DDTHH:MM[:SS]`, local to `timezone`.
    pub end: String,
    /// `UTC` or an offset such as `+09:00` (named zones would need a tz
    /// database in the WASM bundle; convert them to an offset).
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

/// Automatic stopping rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSafeguards {
    /// Stop when a variant's error rate exceeds this (0–1).
    pub max_error_rate: f64,
    /// Stop when the sequential test is significant.
    pub auto_stop_on_significance: bool,
}

impl Default for ExperimentSafeguards {
    fn default() -> Self {
        Self {
            max_error_rate: 0.05,
            auto_stop_on_significance: true,
        }
    }
}

/// An A/B experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Key (hash seed, analytics index).
    pub key: String,
    /// Variants; the first is the control.
    pub variants: Vec<Variant>,
    /// Share of eligible traffic that enters, 0–1.
    #[serde(default = "one")]
    pub coverage: f64,
    /// Eligibility.
    #[serde(default)]
    pub targeting: Targeting,
    /// Optional run window.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// The decision metric.
    pub primary_metric: String,
    /// Guardrail and diagnostic metrics.
    #[serde(default)]
    pub secondary_metrics: Vec<String>,
    /// α for significance.
    #[serde(default = "alpha")]
    pub significance_level: f64,
    /// Units per variant before a result is read.
    #[serde(default)]
    pub min_sample_size: u64,
    /// Stopping rules.
    #[serde(default)]
    pub safeguards: ExperimentSafeguards,
}

fn one() -> f64 {
    1.0
}

fn alpha() -> f64 {
    0.05
}

/// Attributes the targeting may name besides the built-in ones.
pub const BUILTIN_ATTRIBUTES: &[&str] = &[
    "id",
    "fingerprint",
    "country",
    "region",
    "segment",
    "device",
    "tier",
];

impl ExperimentConfig {
    /// Validates, naming the bad field. `custom_attributes` lists the extra
    /// attributes the gateway provides.
    pub fn validate(&self, custom_attributes: &[String]) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Config(format!("experiments.{}: {m}", self.key)));
        if self.key.is_empty() || self.key.len() > 64 {
            return Err(Error::Config(
                "experiments: key must be 1-64 characters".into(),
            ));
        }
        if self.variants.len() < 2 {
            return bad("variants: at least two (a control and a treatment)".into());
        }
        let mut names = BTreeSet::new();
        for v in &self.variants {
            if !names.insert(v.name.as_str()) {
                return bad(format!("variants: duplicate variant name {:?}", v.name));
            }
            if !(v.traffic_percent.is_finite() && v.traffic_percent >= 0.0) {
                return bad(format!("variants.{}: traffic_percent must be >= 0", v.name));
            }
        }
        let total: f64 = self.variants.iter().map(|v| v.traffic_percent).sum();
        if (total - 100.0).abs() > 0.01 {
            return bad(format!(
                "variants: traffic percentages sum to {total}, not 100"
            ));
        }
        if !(0.0..=1.0).contains(&self.coverage) {
            return bad("coverage: must be within [0, 1]".into());
        }
        if !(self.significance_level > 0.0 && self.significance_level < 0.5) {
            return bad("significance_level: must be within (0, 0.5)".into());
        }
        if let Some(s) = &self.schedule {
            let (start, end) = (s.start_ms()?, s.end_ms()?);
            if end <= start {
                return bad(format!(
                    "schedule: end {} is not after start {}",
                    s.end, s.start
                ));
            }
        }
        for attr in self.targeting.attributes.keys() {
            let root = attr.split('.').next().unwrap_or(attr);
            if !BUILTIN_ATTRIBUTES.contains(&root) && !custom_attributes.iter().any(|c| c == root) {
                return bad(format!(
                    "targeting.attributes: unknown attribute {attr:?}; declare it in custom_attributes"
                ));
            }
        }
        Ok(())
    }

    /// The GrowthBook condition equivalent to the targeting.
    pub fn condition(&self) -> Value {
        let mut c = self.targeting.attributes.clone();
        for (attr, list) in [
            ("country", &self.targeting.countries),
            ("region", &self.targeting.regions),
            ("segment", &self.targeting.segments),
            ("device", &self.targeting.devices),
        ] {
            if !list.is_empty() {
                c.insert(attr.into(), json!({"$in": list}));
            }
        }
        Value::Object(c)
    }
}

impl Schedule {
    fn offset_ms(&self) -> Result<i64, Error> {
        let tz = self.timezone.trim();
        if tz.eq_ignore_ascii_case("UTC") || tz == "Z" {
            return Ok(0);
        }
        let bad = || {
            Error::Config(format!(
                "schedule.timezone: {tz:?} is not UTC or an offset like +09:00"
            ))
        };
        let (sign, rest) = match tz.as_bytes().first() {
            Some(b'+') => (1, &tz[1..]),
            Some(b'-') => (-1, &tz[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 14 || m > 59 {
            return Err(bad());
        }
        Ok(sign * (h * 3600 + m * 60) * 1000)
    }

    /// Start in ms since the epoch.
    pub fn start_ms(&self) -> Result<i64, Error> {
        Ok(parse_local(&self.start, "schedule.start")? - self.offset_ms()?)
    }

    /// End in ms since the epoch.
    pub fn end_ms(&self) -> Result<i64, Error> {
        Ok(parse_local(&self.end, "schedule.end")? - self.offset_ms()?)
    }
}

/// `YYYY-MM-DDTHH:MM[:SS]` as ms since the epoch (as if UTC).
fn parse_local(s: &str, field: &str) -> Result<i64, Error> {
    let bad = || Error::Config(format!("{field}: {s:?} is not YYYY-MM-DDTHH:MM[:SS]"));
    let (date, time) = s.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [y, mo, da] = <[i64; 3]>::try_from(d).map_err(|_| bad())?;
    let hms = t;
    if !(2..=3).contains(&hms.len())
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || hms[0] > 23
        || hms[1] > 59
        || hms.get(2).is_some_and(|s| *s > 59)
    {
        return Err(bad());
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 24 + hms[0]) * 60 + hms[1]) * 60_000 + hms.get(2).copied().unwrap_or(0) * 1000)
}

/// A hashed session fingerprint for anonymous users: SHA-256 of a daily
/// salt, the client IP and the user agent. The raw IP is never stored or
/// returned.
pub fn session_fingerprint(salt: &str, ip: &str, user_agent: &str) -> String {
    let mut h = Sha256::new();
    for part in [salt, ip, user_agent] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    edge_ports::hex::encode(&h.finalize()[..16])
}

/// A variant assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Experiment key.
    pub experiment: String,
    /// Variant name.
    pub variant: String,
    /// `id` (sticky on the user) or `fingerprint` (anonymous).
    pub unit: &'static str,
    /// Why this variant.
    pub reason: String,
}

/// Assigns a variant, or `None` (with no exposure) when the user is not in
/// the experiment. `attributes` must carry `id` or `fingerprint`.
pub fn assign(
    exp: &ExperimentConfig,
    attributes: &Value,
    now_ms: u64,
    exposures: Option<&dyn AnalyticsSink>,
) -> Option<Assignment> {
    if let Some(s) = &exp.schedule {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        if s.start_ms().ok()? > now || s.end_ms().ok()? <= now {
            return None;
        }
    }
    let (unit, value) = match attributes
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(id) => ("id", id),
        None => (
            "fingerprint",
            attributes
                .get("fingerprint")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())?,
        ),
    };
    if !eval_condition(attributes, &exp.condition(), &Value::Null) {
        return None;
    }
    let weights: Vec<f64> = exp
        .variants
        .iter()
        .map(|v| v.traffic_percent / 100.0)
        .collect();
    let ranges = get_bucket_ranges(exp.variants.len(), exp.coverage, Some(&weights));
    let n = hash(&exp.key, value, 2)?;
    let idx = choose_variation(n, &ranges)?;
    let variant = exp.variants.get(idx)?;
    let a = Assignment {
        experiment: exp.key.clone(),
        variant: variant.name.clone(),
        unit,
        reason: format!(
            "bucket {n:.4} in [{:.4}, {:.4}) by {unit}",
            ranges[idx].0, ranges[idx].1
        ),
    };
    if let Some(sink) = exposures {
        // Exposure events feed the analysis; a failed write must not change the assignment.
        let _ = sink.write(DataPoint {
            indexes: vec![exp.key.chars().take(96).collect()],
            blobs: vec![exp.key.clone(), a.variant.clone(), unit.to_owned()],
            doubles: vec![1.0, n],
        });
    }
    Some(a)
}
