//! SQL builders over the [`schema`](crate::schema) columns: the SLIs, the
//! per-provider table and the dashboard panels. Every count is
//! `SUM(_sample_interval)`, every sum `SUM(_sample_interval * doubleN)` and
//! every quantile `quantileExactWeighted(q)(doubleN, _sample_interval)`, so
//! sampled rows weigh what they stand for.

use crate::schema::{Blob, Double};
use crate::slo::Sli;

use super::SqlError;

/// True for a bare table name (Analytics Engine datasets are identifiers).
pub fn ident_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Single-quoted SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The sample-weighted "good" expression for an SLI.
pub fn good_expr(sli: Sli) -> Result<String, SqlError> {
    let status = Double::Status.column();
    Ok(match sli {
        Sli::Availability => format!("SUM(IF({status} < 500, _sample_interval, 0))"),
        Sli::ErrorRate => {
            format!("SUM(IF({status} < 500 AND {status} != 429, _sample_interval, 0))")
        }
        Sli::Latency { threshold_ms } => {
            if !(threshold_ms.is_finite() && threshold_ms > 0.0) {
                return Err(SqlError::Protocol(format!(
                    "latency threshold {threshold_ms} is not a positive number"
                )));
            }
            format!(
                "SUM(IF({} <= {threshold_ms}, _sample_interval, 0))",
                Double::ResponseMs.column()
            )
        }
    })
}

/// `total` and `good` for `sli` over the last `window_min` minutes,
/// optionally for one deployment (empty: all).
pub fn sli_sql(
    dataset: &str,
    sli: Sli,
    window_min: u64,
    deployment: &str,
) -> Result<String, SqlError> {
    if !ident_ok(dataset) {
        return Err(SqlError::Protocol(format!(
            "invalid dataset name {dataset:?}"
        )));
    }
    let mut filter = format!("timestamp > NOW() - INTERVAL '{window_min}' MINUTE");
    if !deployment.is_empty() {
        filter.push_str(&format!(
            " AND {} = {}",
            Blob::Deployment.column(),
            quote(deployment)
        ));
    }
    Ok(format!(
        "SELECT SUM(_sample_interval) AS total, {} AS good FROM {dataset} WHERE {filter}",
        good_expr(sli)?
    ))
}

/// Per-provider requests, errors, p95, tokens and cost over the last
/// `window_min` minutes.
pub fn provider_sql(dataset: &str, window_min: u64) -> String {
    format!(
        "SELECT {provider} AS provider, SUM(_sample_interval) AS requests, \
         SUM(IF({status} >= 500, _sample_interval, 0)) AS errors, \
         quantileExactWeighted(0.95)({ms}, _sample_interval) AS p95_ms, \
         SUM(_sample_interval * {tin}) AS tokens_in, SUM(_sample_interval * {tout}) AS tokens_out, \
         SUM(_sample_interval * {cost}) AS cost_usd \
         FROM {dataset} WHERE timestamp > NOW() - INTERVAL '{window_min}' MINUTE AND {provider} != '' \
         GROUP BY provider ORDER BY requests DESC",
        provider = Blob::Provider.column(),
        status = Double::Status.column(),
        ms = Double::ResponseMs.column(),
        tin = Double::TokensIn.column(),
        tout = Double::TokensOut.column(),
        cost = Double::CostUsd.column(),
    )
}

/// Burn rate of `sli` against `objective_bp` over the last `window_min`
/// minutes: (1 − good/total) / (1 − objective).
pub fn burn_rate_sql(
    dataset: &str,
    sli: Sli,
    objective_bp: u32,
    window_min: u64,
    alias: &str,
) -> Result<String, SqlError> {
    let budget = f64::from(10_000u32.saturating_sub(objective_bp)) / 10_000.0;
    Ok(format!(
        "SELECT (1 - {} / SUM(_sample_interval)) / {budget} AS {alias} FROM {dataset} WHERE timestamp > NOW() - INTERVAL '{window_min}' MINUTE",
        good_expr(sli)?
    ))
}

/// The dashboard panels: (title, SQL) over `dataset`, built from the
/// schema. `dashboards/edgeforge.json` embeds exactly these (checked by a
/// test), for Grafana's Altinity ClickHouse data source
/// (`vertamedia-clickhouse-datasource`) pointed at the Analytics Engine SQL
/// API.
pub fn dashboard_queries(dataset: &str) -> Vec<(&'static str, String)> {
    let status = Double::Status.column();
    let ms = Double::ResponseMs.column();
    let cache = Blob::Cache.column();
    let country = Blob::Country.column();
    let window = "timestamp > NOW() - INTERVAL '1' DAY";
    let by_minute = "toStartOfInterval(timestamp, INTERVAL '1' MINUTE) AS t";
    let burn = |w: u64, alias: &str| {
        burn_rate_sql(dataset, Sli::Availability, 9990, w, alias).unwrap_or_default()
    };
    vec![
        (
            "Throughput (req/min)",
            format!(
                "SELECT {by_minute}, SUM(_sample_interval) AS requests FROM {dataset} WHERE {window} GROUP BY t ORDER BY t"
            ),
        ),
        (
            "Latency p50/p95/p99 (ms)",
            format!(
                "SELECT {by_minute}, quantileExactWeighted(0.5)({ms}, _sample_interval) AS p50, quantileExactWeighted(0.95)({ms}, _sample_interval) AS p95, quantileExactWeighted(0.99)({ms}, _sample_interval) AS p99 FROM {dataset} WHERE {window} GROUP BY t ORDER BY t"
            ),
        ),
        (
            "Availability",
            format!(
                "SELECT {by_minute}, SUM(IF({status} < 500, _sample_interval, 0)) / SUM(_sample_interval) AS availability FROM {dataset} WHERE {window} GROUP BY t ORDER BY t"
            ),
        ),
        (
            "Error rate",
            format!(
                "SELECT {by_minute}, SUM(IF({status} >= 500 OR {status} = 429, _sample_interval, 0)) / SUM(_sample_interval) AS error_rate FROM {dataset} WHERE {window} GROUP BY t ORDER BY t"
            ),
        ),
        (
            "Cache hit rate",
            format!(
                "SELECT {by_minute}, SUM(IF({cache} = 'HIT' OR {cache} = 'STALE', _sample_interval, 0)) / SUM(IF({cache} != 'BYPASS' AND {cache} != '', _sample_interval, 0)) AS hit_rate FROM {dataset} WHERE {window} GROUP BY t ORDER BY t"
            ),
        ),
        (
            "Top regions",
            format!(
                "SELECT {country} AS country, SUM(_sample_interval) AS requests FROM {dataset} WHERE {window} GROUP BY country ORDER BY requests DESC LIMIT 10"
            ),
        ),
        (
            "Tokens (in/out per minute)",
            format!(
                "SELECT {by_minute}, SUM(_sample_interval * {}) AS tokens_in, SUM(_sample_interval * {}) AS tokens_out FROM {dataset} WHERE {window} GROUP BY t ORDER BY t",
                Double::TokensIn.column(),
                Double::TokensOut.column()
            ),
        ),
        ("Availability burn rate (1h, 99.9%)", burn(60, "burn_1h")),
        ("Availability burn rate (5m, 99.9%)", burn(5, "burn_5m")),
    ]
}
