//! Exact rate limits through a Durable Object: one object per limit key
//! serialises every decision for that key, so GCRA holds globally (not per
//! isolate) with no read-modify-write race.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use worker::{Method, ObjectNamespace, Request, RequestInit};
use zt_security::ratelimit::{Decision, Gcra, Quota, RateLimitError, RateLimitStore, Tat};

/// What the Worker sends to the object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecideRequest {
    /// The quota to apply.
    pub quota: Quota,
    /// Units to spend.
    pub cost: u32,
}

/// The `RateLimitStore` adapter: `decide` is a `fetch` to the object named
/// after the key.
pub struct DurableRateLimits {
    ns: ObjectNamespace,
}

impl DurableRateLimits {
    /// Over the namespace binding (e.g. `env.durable_object("RATE_LIMITER")`).
    pub fn new(ns: ObjectNamespace) -> Self {
        Self { ns }
    }
}

fn store_err(e: impl std::fmt::Display) -> RateLimitError {
    RateLimitError::Store(e.to_string())
}

#[async_trait(?Send)]
impl RateLimitStore for DurableRateLimits {
    async fn decide(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        let stub = self
            .ns
            .id_from_name(key)
            .and_then(|id| id.get_stub())
            .map_err(store_err)?;
        let body = serde_json::to_string(&DecideRequest {
            quota: *quota,
            cost,
        })
        .map_err(store_err)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(worker::wasm_bindgen::JsValue::from_str(&body)));
        let req =
            Request::new_with_init("https://rate-limiter/decide", &init).map_err(store_err)?;
        let mut resp = stub.fetch_with_request(req).await.map_err(store_err)?;
        if resp.status_code() != 200 {
            let text = resp.text().await.unwrap_or_default();
            return Err(store_err(format!(
                "rate limiter object answered {}: {text}",
                resp.status_code()
            )));
        }
        resp.json::<Decision>().await.map_err(store_err)
    }
}

/// The object's side: applies GCRA to the stored TAT and returns the new one
/// to persist (the object calls this from its `fetch`).
pub fn decide_in_object(
    req: &DecideRequest,
    tat: Option<Tat>,
    now_ms: u64,
) -> Result<(Decision, Option<Tat>), RateLimitError> {
    req.quota.validate()?;
    Ok(Gcra::new(req.quota).decide(tat, now_ms, req.cost))
}
