//! The request data point: one schema for writers (the gateway) and readers
//! (SQL queries, the native dashboard), mapped onto Analytics Engine's
//! positional columns.
//!
//! | column | field | column | field |
//! |---|---|---|---|
//! | `index1` | route | `double1` | status |
//! | `blob1` | route | `double2` | response ms |
//! | `blob2` | status class (`2xx`…) | `double3` | CPU ms |
//! | `blob3` | colo | `double4` | tokens in |
//! | `blob4` | country | `double5` | tokens out |
//! | `blob5` | cache status | `double6` | cost (USD) |
//! | `blob6` | provider | | |
//! | `blob7` | model | | |
//! | `blob8` | user tier | | |
//! | `blob9` | variant | | |
//! | `blob10` | deployment | | |
//!
//! Values that would exceed the platform's limits are truncated on a
//! character boundary (index 96 bytes, each blob 256 bytes: 10 × 256 stays
//! under the 16 KB total), never rejected.
//!
//! ```
//! use slo_metrics::schema::{Blob, Double, RequestPoint};
//! let p = RequestPoint { route: "chat".into(), status: 200, response_ms: 12.5, ..Default::default() };
//! let dp = p.to_data_point();
//! assert_eq!(dp.indexes[0], "chat");
//! assert_eq!(dp.blobs[Blob::StatusClass as usize], "2xx");
//! assert_eq!(dp.doubles[Double::ResponseMs as usize], 12.5);
//! assert_eq!(Double::ResponseMs.column(), "double2");
//! ```

use edge_ports::DataPoint;

/// Largest index (Analytics Engine: 96 bytes).
pub const MAX_INDEX_BYTES: usize = 96;
/// Largest blob this schema writes.
pub const MAX_BLOB_BYTES: usize = 256;

/// Blob positions (0-based; SQL `blobN` is position + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blob {
    /// Route label.
    Route = 0,
    /// `2xx`, `4xx`, `5xx`.
    StatusClass,
    /// Colo.
    Colo,
    /// Country.
    Country,
    /// Cache status.
    Cache,
    /// LLM provider.
    Provider,
    /// Model.
    Model,
    /// User tier.
    Tier,
    /// Experiment variant.
    Variant,
    /// Deployment.
    Deployment,
}

/// Double positions (0-based; SQL `doubleN` is position + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Double {
    /// HTTP status.
    Status = 0,
    /// Response time, ms.
    ResponseMs,
    /// CPU time, ms (0 where the platform cannot measure it).
    CpuMs,
    /// Input tokens.
    TokensIn,
    /// Output tokens.
    TokensOut,
    /// Cost, USD.
    CostUsd,
}

impl Blob {
    /// The SQL column.
    pub fn column(self) -> String {
        format!("blob{}", self as usize + 1)
    }
}

impl Double {
    /// The SQL column.
    pub fn column(self) -> String {
        format!("double{}", self as usize + 1)
    }
}

/// One request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestPoint {
    /// Route label (low cardinality).
    pub route: String,
    /// HTTP status.
    pub status: u16,
    /// Colo.
    pub colo: String,
    /// Country.
    pub country: String,
    /// Cache status.
    pub cache: String,
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Tier.
    pub tier: String,
    /// Variant.
    pub variant: String,
    /// Deployment.
    pub deployment: String,
    /// Response ms.
    pub response_ms: f64,
    /// CPU ms.
    pub cpu_ms: f64,
    /// Tokens in.
    pub tokens_in: f64,
    /// Tokens out.
    pub tokens_out: f64,
    /// Cost.
    pub cost_usd: f64,
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

impl RequestPoint {
    /// The Analytics Engine data point.
    pub fn to_data_point(&self) -> DataPoint {
        let class = match self.status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let blobs = [
            self.route.as_str(),
            class,
            &self.colo,
            &self.country,
            &self.cache,
            &self.provider,
            &self.model,
            &self.tier,
            &self.variant,
            &self.deployment,
        ]
        .iter()
        .map(|b| cut(b, MAX_BLOB_BYTES))
        .collect();
        DataPoint {
            indexes: vec![cut(&self.route, MAX_INDEX_BYTES)],
            blobs,
            doubles: [
                f64::from(self.status),
                self.response_ms,
                self.cpu_ms,
                self.tokens_in,
                self.tokens_out,
                self.cost_usd,
            ]
            .into_iter()
            .map(finite)
            .collect(),
        }
    }

    /// Reads a point written by [`RequestPoint::to_data_point`] (`None` for
    /// points of another shape, such as cache points).
    pub fn from_data_point(p: &DataPoint) -> Option<Self> {
        if p.blobs.len() != 10 || p.doubles.len() != 6 {
            return None;
        }
        let b = |i: Blob| p.blobs[i as usize].clone();
        let d = |i: Double| p.doubles[i as usize];
        Some(Self {
            route: b(Blob::Route),
            status: u16::try_from(d(Double::Status) as i64).unwrap_or(0),
            colo: b(Blob::Colo),
            country: b(Blob::Country),
            cache: b(Blob::Cache),
            provider: b(Blob::Provider),
            model: b(Blob::Model),
            tier: b(Blob::Tier),
            variant: b(Blob::Variant),
            deployment: b(Blob::Deployment),
            response_ms: d(Double::ResponseMs),
            cpu_ms: d(Double::CpuMs),
            tokens_in: d(Double::TokensIn),
            tokens_out: d(Double::TokensOut),
            cost_usd: d(Double::CostUsd),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn long_values_are_truncated_not_rejected_and_round_trip() {
        let p = RequestPoint {
            route: "r".repeat(300),
            model: "é".repeat(400),
            status: 503,
            cost_usd: f64::NAN,
            ..RequestPoint::default()
        };
        let dp = p.to_data_point();
        dp.validate().unwrap();
        assert_eq!(dp.indexes[0].len(), 96);
        assert_eq!(dp.blobs[Blob::Model as usize].len(), 256);
        assert_eq!(dp.blobs[Blob::StatusClass as usize], "5xx");
        assert_eq!(dp.doubles[Double::CostUsd as usize], 0.0);
        let back = RequestPoint::from_data_point(&dp).unwrap();
        assert_eq!(back.status, 503);
        assert_eq!(Blob::Deployment.column(), "blob10");
        assert_eq!(Double::CostUsd.column(), "double6");
    }
}
