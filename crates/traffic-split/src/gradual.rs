//! Cloudflare gradual deployments through the Workers Versions/Deployments
//! REST API, over the HTTP port: the canary controller can move real
//! traffic between two uploaded Worker versions, not only a routing label.
//!
//! - `GET  /accounts/{account}/workers/scripts/{script}/deployments` — the
//!   first deployment is the one serving traffic;
//! - `POST /accounts/{account}/workers/scripts/{script}/deployments` with
//!   `{"strategy":"percentage","versions":[{"version_id","percentage"}…]}`.
//!
//! The API token (Workers Scripts: Edit) comes from a secret.
//!
//! ```
//! use edge_ports::{ScriptedHttpClient, ScriptedResponse};
//! use traffic_split::gradual::GradualDeployments;
//!
//! # edge_ports::testing::block_on(async {
//! let http = ScriptedHttpClient::new();
//! http.push("api.cloudflare.com", ScriptedResponse::json(200, &serde_json::json!({
//!     "success": true, "errors": [], "messages": [],
//!     "result": {"id": "dep-2", "strategy": "percentage", "versions": [
//!         {"version_id": "v-new", "percentage": 5.0}, {"version_id": "v-old", "percentage": 95.0}]}
//! })));
//! let api = GradualDeployments::new(Box::new(http.clone()), "acct", "edgeforge-api", "token");
//! let d = api.split("v-old", "v-new", 5.0, "canary 5%").await.unwrap();
//! assert_eq!(d.percent_of("v-new"), 5.0);
//! # });
//! ```

use edge_ports::http::{HttpClient, SendOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The API base.
pub const API_BASE: &str = "https://api.cloudflare.com/client/v4";
const MAX_BODY: usize = 1 << 20;

/// Why a deployments call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GradualError {
    /// The request could not be sent or the body read.
    #[error("Cloudflare API unreachable: {0}")]
    Transport(String),
    /// The API answered with an error (status, then its messages).
    #[error("Cloudflare API error {status}: {messages}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The `errors[].message` values, joined.
        messages: String,
    },
    /// The answer was not the documented shape.
    #[error("unexpected Cloudflare API response: {0}")]
    Protocol(String),
    /// The requested split is invalid.
    #[error("invalid split: {0}")]
    Invalid(String),
}

/// One version's share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionShare {
    /// The Worker version id.
    pub version_id: String,
    /// Percentage of traffic, 0–100.
    pub percentage: f64,
}

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Deployment id.
    #[serde(default)]
    pub id: String,
    /// Always `percentage` today.
    pub strategy: String,
    /// One or two versions.
    pub versions: Vec<VersionShare>,
}

impl Deployment {
    /// The percentage `version_id` serves (0 if absent).
    pub fn percent_of(&self, version_id: &str) -> f64 {
        self.versions
            .iter()
            .filter(|v| v.version_id == version_id)
            .map(|v| v.percentage)
            .sum()
    }
}

/// The client for one Worker script.
pub struct GradualDeployments {
    http: Box<dyn HttpClient>,
    account: String,
    script: String,
    token: String,
}

impl std::fmt::Debug for GradualDeployments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradualDeployments")
            .field("account", &self.account)
            .field("script", &self.script)
            .finish_non_exhaustive()
    }
}

impl GradualDeployments {
    /// A client for `script` in `account`, authenticated with `token`.
    pub fn new(http: Box<dyn HttpClient>, account: &str, script: &str, token: &str) -> Self {
        Self {
            http,
            account: account.to_owned(),
            script: script.to_owned(),
            token: token.to_owned(),
        }
    }

    fn url(&self) -> String {
        format!(
            "{API_BASE}/accounts/{}/workers/scripts/{}/deployments",
            self.account, self.script
        )
    }

    async fn call(&self, method: http::Method, body: Option<Value>) -> Result<Value, GradualError> {
        let mut b = http::Request::builder()
            .method(method)
            .uri(self.url())
            .header("authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let req = b
            .body(body.map(|v| v.to_string().into_bytes()).unwrap_or_default())
            .map_err(|e| GradualError::Transport(e.to_string()))?;
        let resp = self
            .http
            .send(
                req,
                SendOptions::timeout(std::time::Duration::from_secs(15)),
            )
            .await
            .map_err(|e| GradualError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect(MAX_BODY)
            .await
            .map_err(|e| GradualError::Transport(e.to_string()))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            GradualError::Protocol(format!("status {status}, body is not JSON: {e}"))
        })?;
        if !(200..300).contains(&status) || v["success"] != Value::Bool(true) {
            let messages = v["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e["message"].as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "no error message".into());
            return Err(GradualError::Api { status, messages });
        }
        Ok(v["result"].clone())
    }

    /// The deployment serving traffic now.
    pub async fn current(&self) -> Result<Deployment, GradualError> {
        let result = self.call(http::Method::GET, None).await?;
        let first = result["deployments"]
            .as_array()
            .and_then(|a| a.first())
            .cloned()
            .ok_or_else(|| GradualError::Protocol("no deployments listed".into()))?;
        serde_json::from_value(first).map_err(|e| GradualError::Protocol(e.to_string()))
    }

    /// Serves `canary_percent` of traffic from `canary` and the rest from
    /// `stable` (100 → only the canary; 0 → only stable: a rollback).
    pub async fn split(
        &self,
        stable: &str,
        canary: &str,
        canary_percent: f64,
        message: &str,
    ) -> Result<Deployment, GradualError> {
        if !(0.0..=100.0).contains(&canary_percent) || !canary_percent.is_finite() {
            return Err(GradualError::Invalid(format!(
                "{canary_percent}% is outside 0–100"
            )));
        }
        if stable.is_empty() || canary.is_empty() {
            return Err(GradualError::Invalid(
                "version ids must not be empty".into(),
            ));
        }
        let versions = if canary_percent >= 100.0 {
            json!([{"version_id": canary, "percentage": 100.0}])
        } else if canary_percent <= 0.0 || stable == canary {
            json!([{"version_id": stable, "percentage": 100.0}])
        } else {
            json!([
                {"version_id": canary, "percentage": canary_percent},
                {"version_id": stable, "percentage": 100.0 - canary_percent},
            ])
        };
        let message: String = message.chars().take(100).collect();
        let body = json!({"strategy": "percentage", "versions": versions, "annotations": {"workers/message": message}});
        let result = self.call(http::Method::POST, Some(body)).await?;
        serde_json::from_value(result).map_err(|e| GradualError::Protocol(e.to_string()))
    }
}
