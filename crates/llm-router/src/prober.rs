//! Health probing: the logic the cron Worker and the native host run.

use std::time::Duration;

use edge_ports::http::SendOptions;
use edge_ports::{KvStore, PutOptions};
use serde::{Deserialize, Serialize};

use crate::config::{ProviderConfig, ProviderKind};
use crate::router::Router;

/// Probe timeout.
const PROBE_TIMEOUT_MS: u64 = 5_000;
/// Health records live about five minutes.
const HEALTH_TTL_SECS: u64 = 300;
/// Per-run reliability records live an hour: the reliability window.
const STATS_TTL_SECS: u64 = 3_600;

/// One provider's latest probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRecord {
    /// Provider name.
    pub provider: String,
    /// The probe answered 2xx.
    pub ok: bool,
    /// HTTP status, if any.
    pub status: Option<u16>,
    /// Probe latency in ms.
    pub latency_ms: u64,
    /// When (ms since the epoch).
    pub checked_at_ms: u64,
}

/// Success and total of one prober run, stored as KV metadata so a listing
/// reads every run without one `get` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Successful probes.
    pub ok: u64,
    /// All probes.
    pub total: u64,
}

/// `router:health:{provider}`.
pub fn health_key(provider: &str) -> String {
    format!("router:health:{provider}")
}

/// `router:stats:{provider}:` (one key per run follows).
pub fn stats_prefix(provider: &str) -> String {
    format!("router:stats:{provider}:")
}

fn probe_request(p: &ProviderConfig, key: &str) -> Option<http::Request<Vec<u8>>> {
    let base = p.base_url.trim_end_matches('/');
    let (uri, headers): (String, Vec<(&str, String)>) = match p.kind {
        ProviderKind::Anthropic => (
            format!("{base}/models"),
            vec![
                ("x-api-key", key.to_owned()),
                ("anthropic-version", "2023-06-01".to_owned()),
            ],
        ),
        ProviderKind::Gemini => (
            format!("{base}/models"),
            vec![("x-goog-api-key", key.to_owned())],
        ),
        ProviderKind::Cohere => (
            format!("{}/v1/models", base.trim_end_matches("/v2")),
            vec![("authorization", format!("Bearer {key}"))],
        ),
        ProviderKind::AzureOpenai => (
            format!(
                "{base}/openai/models?api-version={}",
                p.api_version.as_deref().unwrap_or("2024-10-21")
            ),
            vec![("api-key", key.to_owned())],
        ),
        _ if key.is_empty() => (format!("{base}/models"), Vec::new()),
        _ => (
            format!("{base}/models"),
            vec![("authorization", format!("Bearer {key}"))],
        ),
    };
    let mut b = http::Request::get(uri);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.body(Vec::new()).ok()
}

pub(crate) async fn probe_all(router: &Router, kv: &dyn KvStore) -> Vec<HealthRecord> {
    let (cfg, http, clock, secrets) = router.parts();
    let mut out = Vec::new();
    for p in &cfg.providers {
        let key = p
            .api_key_secrets
            .iter()
            .find_map(|s| secrets.get(s))
            .unwrap_or_default();
        let start = clock.now_ms();
        let status = match probe_request(p, &key) {
            Some(req) => match if p.kind == ProviderKind::Mock {
                &crate::mock::MockProvider as &dyn edge_ports::HttpClient
            } else {
                http
            }
            .send(
                req,
                SendOptions::timeout(Duration::from_millis(PROBE_TIMEOUT_MS)),
            )
            .await
            {
                Ok(resp) => Some(resp.status().as_u16()),
                Err(_) => None,
            },
            None => None,
        };
        let now = clock.now_ms();
        let rec = HealthRecord {
            provider: p.name.clone(),
            ok: status.is_some_and(|s| (200..300).contains(&s)),
            status,
            latency_ms: now.saturating_sub(start),
            checked_at_ms: now,
        };
        if let Ok(bytes) = serde_json::to_vec(&rec) {
            let _ = kv
                .put(
                    &health_key(&p.name),
                    bytes,
                    PutOptions::ttl(HEALTH_TTL_SECS),
                )
                .await;
        }
        let counts = RunCounts {
            ok: u64::from(rec.ok),
            total: 1,
        };
        let meta = serde_json::to_value(counts).unwrap_or_default();
        let key = format!("{}{now:013}", stats_prefix(&p.name));
        let _ = kv
            .put(
                &key,
                Vec::new(),
                PutOptions::ttl(STATS_TTL_SECS).with_metadata(meta),
            )
            .await;
        out.push(rec);
    }
    out
}
