//! A client for the Analytics Engine SQL API over the HTTP port, and the
//! queries the SLOs and the Grafana dashboard use, built from [`schema`].
//!
//! Analytics Engine samples: every count is `SUM(_sample_interval)`, every
//! sum `SUM(_sample_interval * doubleN)`, quantiles
//! `quantileExactWeighted(q)(doubleN, _sample_interval)`.
//!
//! [`schema`]: crate::schema

use std::time::Duration;

use edge_ports::http::{HttpClient, SendOptions};
use serde_json::Value;

use crate::schema::{Blob, Double};
use crate::slo::Counts;

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// Transport or body failure.
    #[error("analytics engine unreachable: {0}")]
    Transport(String),
    /// The API answered with an error.
    #[error("analytics engine error {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The body (truncated).
        message: String,
    },
    /// The response was not the documented JSON.
    #[error("unexpected analytics engine response: {0}")]
    Protocol(String),
}

/// The client for one account and dataset.
pub struct AnalyticsSql<'a> {
    http: &'a dyn HttpClient,
    account_id: String,
    token: String,
    /// The dataset (table) queried.
    pub dataset: String,
}

impl std::fmt::Debug for AnalyticsSql<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsSql")
            .field("dataset", &self.dataset)
            .finish_non_exhaustive()
    }
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Single-quoted SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl<'a> AnalyticsSql<'a> {
    /// A client; `token` needs Account Analytics Read.
    pub fn new(http: &'a dyn HttpClient, account_id: &str, token: &str, dataset: &str) -> Self {
        Self {
            http,
            account_id: account_id.to_owned(),
            token: token.to_owned(),
            dataset: dataset.to_owned(),
        }
    }

    /// Runs `sql`; returns the `data` rows.
    pub async fn query(&self, sql: &str) -> Result<Vec<serde_json::Map<String, Value>>, SqlError> {
        let url = format!(
            "https://api.cloudflare.com/client/v4/accounts/{}/analytics_engine/sql",
            self.account_id
        );
        let req = http::Request::post(url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "text/plain")
            .body(sql.as_bytes().to_vec())
            .map_err(|e| SqlError::Transport(e.to_string()))?;
        let resp = self
            .http
            .send(req, SendOptions::timeout(Duration::from_secs(30)))
            .await
            .map_err(|e| SqlError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect(16 << 20)
            .await
            .map_err(|e| SqlError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(SqlError::Api {
                status,
                message: String::from_utf8_lossy(&body).chars().take(300).collect(),
            });
        }
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| SqlError::Protocol(e.to_string()))?;
        let rows = v["data"]
            .as_array()
            .ok_or_else(|| SqlError::Protocol("no data array".into()))?;
        Ok(rows.iter().filter_map(|r| r.as_object().cloned()).collect())
    }

    /// The availability SLI over the last `window_min` minutes for
    /// `deployment` (all when empty): sample-weighted good and total.
    pub fn availability_sql(&self, window_min: u64, deployment: &str) -> Result<String, SqlError> {
        if !ident_ok(&self.dataset) {
            return Err(SqlError::Protocol(format!(
                "invalid dataset name {:?}",
                self.dataset
            )));
        }
        let status = Double::Status.column();
        let mut filter = format!("timestamp > NOW() - INTERVAL '{window_min}' MINUTE");
        if !deployment.is_empty() {
            filter.push_str(&format!(
                " AND {} = {}",
                Blob::Deployment.column(),
                quote(deployment)
            ));
        }
        Ok(format!(
            "SELECT SUM(_sample_interval) AS total, SUM(IF({status} < 500, _sample_interval, 0)) AS good FROM {} WHERE {filter}",
            self.dataset
        ))
    }

    /// Runs [`AnalyticsSql::availability_sql`].
    pub async fn availability(
        &self,
        window_min: u64,
        deployment: &str,
    ) -> Result<Counts, SqlError> {
        let rows = self
            .query(&self.availability_sql(window_min, deployment)?)
            .await?;
        let num = |r: &serde_json::Map<String, Value>, k: &str| {
            r.get(k)
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(0.0)
        };
        Ok(rows
            .first()
            .map(|r| Counts {
                good: num(r, "good"),
                total: num(r, "total"),
            })
            .unwrap_or_default())
    }

    /// Per-provider latency, errors, tokens and cost (dashboard panel).
    pub fn provider_sql(&self, window_min: u64) -> String {
        format!(
            "SELECT {provider} AS provider, SUM(_sample_interval) AS requests, \
             SUM(IF({status} >= 500, _sample_interval, 0)) AS errors, \
             quantileExactWeighted(0.95)({ms}, _sample_interval) AS p95_ms, \
             SUM(_sample_interval * {tin}) AS tokens_in, SUM(_sample_interval * {tout}) AS tokens_out, \
             SUM(_sample_interval * {cost}) AS cost_usd \
             FROM {ds} WHERE timestamp > NOW() - INTERVAL '{window_min}' MINUTE AND {provider} != '' \
             GROUP BY provider ORDER BY requests DESC",
            provider = Blob::Provider.column(),
            status = Double::Status.column(),
            ms = Double::ResponseMs.column(),
            tin = Double::TokensIn.column(),
            tout = Double::TokensOut.column(),
            cost = Double::CostUsd.column(),
            ds = self.dataset,
        )
    }
}

/// The dashboard panels: (title, SQL) over `dataset`, built from the
/// schema. `dashboards/edgeforge.json` embeds exactly these (checked by a
/// test), for Grafana's Altinity ClickHouse data source pointed at the
/// Analytics Engine SQL API.
pub fn dashboard_queries(dataset: &str) -> Vec<(&'static str, String)> {
    let status = Double::Status.column();
    let ms = Double::ResponseMs.column();
    let cache = Blob::Cache.column();
    let country = Blob::Country.column();
    let window = "timestamp > NOW() - INTERVAL '1' DAY";
    let by_minute = "toStartOfInterval(timestamp, INTERVAL '1' MINUTE) AS t";
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
        (
            "Availability burn rate (1h, 99.9%)",
            format!(
                "SELECT (1 - SUM(IF({status} < 500, _sample_interval, 0)) / SUM(_sample_interval)) / 0.001 AS burn_1h FROM {dataset} WHERE timestamp > NOW() - INTERVAL '60' MINUTE"
            ),
        ),
        (
            "Availability burn rate (5m, 99.9%)",
            format!(
                "SELECT (1 - SUM(IF({status} < 500, _sample_interval, 0)) / SUM(_sample_interval)) / 0.001 AS burn_5m FROM {dataset} WHERE timestamp > NOW() - INTERVAL '5' MINUTE"
            ),
        ),
    ]
}
