//! A client for the Analytics Engine SQL API over the HTTP port, and the
//! queries the SLOs and the Grafana dashboard use, built from [`schema`].
//!
//! `POST https://api.cloudflare.com/client/v4/accounts/{account}/analytics_engine/sql`
//! with `Authorization: Bearer <token>` (Account Analytics Read) and the SQL
//! text as the body. The answer is ClickHouse's `JSON` format:
//! `{"meta": [{name, type}], "data": [{column: value}], "rows": n}`, where
//! 64-bit integers may arrive as strings; [`AnalyticsSql::query_rows`]
//! decodes `data` into typed rows ([`lenient_f64`] reads both).
//!
//! Analytics Engine samples: every count is `SUM(_sample_interval)`, every
//! sum `SUM(_sample_interval * doubleN)`, quantiles
//! `quantileExactWeighted(q)(doubleN, _sample_interval)`. The builders live
//! in [`queries`]; nothing here returns constants or sample results.
//!
//! [`schema`]: crate::schema

pub mod queries;

use std::time::Duration;

use edge_ports::http::{HttpClient, SendOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use queries::dashboard_queries;

use crate::slo::{Counts, Sli};

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

/// Reads a JSON number, a numeric string (ClickHouse quotes 64-bit
/// integers) or `null`/`nan` (an empty aggregate) as `f64` (0 for the
/// latter).
pub fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .unwrap_or(0.0),
        _ => 0.0,
    })
}

/// One SLI row: sample-weighted good and total events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SliRow {
    /// `SUM(_sample_interval)`.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub total: f64,
    /// Sample-weighted good events.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub good: f64,
}

/// One row of the per-provider table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderRow {
    /// Provider (`blob6`).
    pub provider: String,
    /// Sample-weighted requests.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub requests: f64,
    /// Sample-weighted 5xx answers.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub errors: f64,
    /// Weighted p95 response time, ms.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub p95_ms: f64,
    /// Sample-weighted input tokens.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub tokens_in: f64,
    /// Sample-weighted output tokens.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub tokens_out: f64,
    /// Sample-weighted cost, USD.
    #[serde(deserialize_with = "lenient_f64", default)]
    pub cost_usd: f64,
}

/// The client for one account and dataset.
pub struct AnalyticsSql<'a> {
    http: &'a dyn HttpClient,
    account_id: String,
    token: String,
    deployment: String,
    /// The dataset (table) queried.
    pub dataset: String,
}

impl std::fmt::Debug for AnalyticsSql<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsSql")
            .field("dataset", &self.dataset)
            .field("deployment", &self.deployment)
            .finish_non_exhaustive()
    }
}

impl<'a> AnalyticsSql<'a> {
    /// A client; `token` needs Account Analytics Read.
    pub fn new(http: &'a dyn HttpClient, account_id: &str, token: &str, dataset: &str) -> Self {
        Self {
            http,
            account_id: account_id.to_owned(),
            token: token.to_owned(),
            deployment: String::new(),
            dataset: dataset.to_owned(),
        }
    }

    /// Restricts the SLI queries of the [`SliSource`](crate::source::SliSource)
    /// impl to one deployment (`blob10`).
    pub fn for_deployment(mut self, deployment: &str) -> Self {
        deployment.clone_into(&mut self.deployment);
        self
    }

    /// The deployment the SLI queries are restricted to (empty: all).
    pub fn deployment_filter(&self) -> &str {
        &self.deployment
    }

    /// The API endpoint.
    pub fn url(&self) -> String {
        format!(
            "https://api.cloudflare.com/client/v4/accounts/{}/analytics_engine/sql",
            self.account_id
        )
    }

    /// Runs `sql`; returns the `data` rows.
    pub async fn query(&self, sql: &str) -> Result<Vec<serde_json::Map<String, Value>>, SqlError> {
        let req = http::Request::post(self.url())
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

    /// Runs `sql` and decodes each row into `T`.
    pub async fn query_rows<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>, SqlError> {
        self.query(sql)
            .await?
            .into_iter()
            .map(|r| {
                serde_json::from_value(Value::Object(r))
                    .map_err(|e| SqlError::Protocol(format!("row: {e}")))
            })
            .collect()
    }

    /// The availability SLI over the last `window_min` minutes for
    /// `deployment` (all when empty): sample-weighted good and total.
    pub fn availability_sql(&self, window_min: u64, deployment: &str) -> Result<String, SqlError> {
        queries::sli_sql(&self.dataset, Sli::Availability, window_min, deployment)
    }

    /// Good and total events for `sli` over the last `window_min` minutes
    /// for `deployment` (all when empty).
    pub async fn sli_counts(
        &self,
        sli: Sli,
        window_min: u64,
        deployment: &str,
    ) -> Result<Counts, SqlError> {
        let sql = queries::sli_sql(&self.dataset, sli, window_min, deployment)?;
        let rows: Vec<SliRow> = self.query_rows(&sql).await?;
        Ok(rows
            .first()
            .map(|r| Counts {
                good: r.good.min(r.total),
                total: r.total,
            })
            .unwrap_or_default())
    }

    /// Runs [`AnalyticsSql::availability_sql`].
    pub async fn availability(
        &self,
        window_min: u64,
        deployment: &str,
    ) -> Result<Counts, SqlError> {
        self.sli_counts(Sli::Availability, window_min, deployment)
            .await
    }

    /// Per-provider latency, errors, tokens and cost (dashboard panel).
    pub fn provider_sql(&self, window_min: u64) -> String {
        queries::provider_sql(&self.dataset, window_min)
    }

    /// Runs [`AnalyticsSql::provider_sql`].
    pub async fn providers(&self, window_min: u64) -> Result<Vec<ProviderRow>, SqlError> {
        if !queries::ident_ok(&self.dataset) {
            return Err(SqlError::Protocol(format!(
                "invalid dataset name {:?}",
                self.dataset
            )));
        }
        self.query_rows(&self.provider_sql(window_min)).await
    }
}
