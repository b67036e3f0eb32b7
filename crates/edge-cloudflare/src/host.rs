//! Running the edgeforge gateway on Workers: config loading, bindings to
//! ports, `request.cf` to [`RequestContext`], and request/response
//! conversion. Every Worker shell uses these, so the shells only wire.

use std::sync::Arc;

use edge_gateway::{ApiError, GatewayConfig, GatewayPorts, RequestContext, Task, WaitUntil};
use edge_ports::http::Body;
use edge_ports::{AnalyticsError, AnalyticsSink, DataPoint};
use futures_util::stream;
use worker::js_sys::Reflect;
use worker::wasm_bindgen::JsValue;
use worker::{Context, Env, Headers, Request, Response};
use zt_security::ratelimit::RateLimitStore;

use crate::{AnalyticsEngine, WorkersClock, WorkersFetch, WorkersKv, WorkersRandom, WorkersTimer};

/// Worker secrets by name (`wrangler secret put NAME`); never `[vars]`.
pub struct EnvSecrets(pub Env);

impl llm_router::Secrets for EnvSecrets {
    fn get(&self, name: &str) -> Option<String> {
        self.0.secret(name).ok().map(|s| s.to_string())
    }
}

/// Stands in for a missing Analytics Engine binding: every write fails, so
/// the loss is counted, not silent.
struct MissingDataset(&'static str);

impl AnalyticsSink for MissingDataset {
    fn write(&self, _: DataPoint) -> Result<(), AnalyticsError> {
        Err(AnalyticsError::Backend(format!(
            "binding {} is missing",
            self.0
        )))
    }
}

#[allow(clippy::arc_with_non_send_sync)] // Workers isolates are single-threaded
fn dataset(env: &Env, binding: &'static str) -> Arc<dyn AnalyticsSink> {
    match env.analytics_engine(binding) {
        Ok(d) => Arc::new(AnalyticsEngine::new(d)),
        Err(_) => Arc::new(MissingDataset(binding)),
    }
}

/// The config files a Worker bundles, one per environment.
#[derive(Debug, Clone, Copy)]
pub struct BundledConfigs {
    /// `workers/config/staging.toml`.
    pub staging: &'static str,
    /// `workers/config/production.toml`.
    pub production: &'static str,
}

/// A Worker variable (`[vars]`, `--var`), if set and not blank.
fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|s| !s.trim().is_empty())
}

/// The gateway config: the `GATEWAY_CONFIG` var (TOML, or JSON when it
/// starts with `{`) for local runs and tests, else the bundled file of the
/// environment the `EDGEFORGE_ENV` var names (`staging`, `production`;
/// unset or `dev`: the example config), with its `${NAME}` variables
/// filled in from the Worker's vars.
pub fn load_config(env: &Env, bundled: BundledConfigs) -> Result<GatewayConfig, ApiError> {
    let misconfigured = |e: String| ApiError::internal("misconfigured", e);
    let text = match var(env, "GATEWAY_CONFIG") {
        Some(text) => text,
        None => match var(env, "EDGEFORGE_ENV").as_deref() {
            Some("production") => bundled.production.to_owned(),
            Some("staging") => bundled.staging.to_owned(),
            None | Some("dev") => edge_gateway::EXAMPLE_CONFIG.to_owned(),
            Some(other) => {
                return Err(misconfigured(format!(
                    "EDGEFORGE_ENV = {other:?}: use staging, production or dev"
                )));
            }
        },
    };
    let mut cfg = GatewayConfig::from_text_with_vars(&text, &|name| var(env, name))
        .map_err(|e| misconfigured(e.to_string()))?;
    // With a `version_metadata` binding, this Worker version labels its own
    // metrics, so a gradual deployment's gate can judge each version.
    if let Some(id) = version_id(env) {
        cfg.gateway.deployment = id.clone();
        cfg.gateway.version_id = Some(id);
    }
    Ok(cfg)
}

/// The Worker version id from the `CF_VERSION_METADATA` binding, if bound.
fn version_id(env: &Env) -> Option<String> {
    let meta = Reflect::get(env.as_ref(), &JsValue::from_str("CF_VERSION_METADATA")).ok()?;
    let id = Reflect::get(&meta, &JsValue::from_str("id"))
        .ok()?
        .as_string()?;
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    (!id.is_empty()).then_some(id)
}

/// The gateway's ports from the standard bindings: `EDGE_KV` (and the
/// optional `CACHE_KV`, `SECURITY_KV`), the Cache API tier
/// (`CACHE_API_BASE`),
/// `EDGE_ANALYTICS`, `EDGE_CACHE_ANALYTICS`, `EDGE_EXPERIMENT_ANALYTICS`, `EDGE_SECURITY`, secrets, and
/// `rate_limits`.
#[allow(clippy::arc_with_non_send_sync)] // Workers isolates are single-threaded
pub fn gateway_ports(
    env: &Env,
    rate_limits: Arc<dyn RateLimitStore>,
) -> Result<GatewayPorts, ApiError> {
    let kv = env.kv("EDGE_KV").map_err(|e| {
        ApiError::internal(
            "misconfigured",
            format!("KV binding EDGE_KV is missing: {e}"),
        )
    })?;
    let optional_kv = |binding: &str| -> Option<Arc<dyn edge_ports::KvStore>> {
        env.kv(binding).ok().map(|k| {
            Arc::new(WorkersKv::new(k, WorkersClock::new())) as Arc<dyn edge_ports::KvStore>
        })
    };
    Ok(GatewayPorts {
        kv: Arc::new(WorkersKv::new(kv, WorkersClock::new())),
        cache_kv: optional_kv("CACHE_KV"),
        security_kv: optional_kv("SECURITY_KV"),
        local_cache: Some(Arc::new(crate::WorkersCacheApi::new(
            var(env, "CACHE_API_BASE").unwrap_or_else(|| crate::cache_api::DEFAULT_BASE.into()),
        ))),
        analytics: dataset(env, "EDGE_ANALYTICS"),
        cache_analytics: dataset(env, "EDGE_CACHE_ANALYTICS"),
        experiment_analytics: dataset(env, "EDGE_EXPERIMENT_ANALYTICS"),
        security_analytics: dataset(env, "EDGE_SECURITY"),
        http: Arc::new(WorkersFetch),
        clock: Arc::new(WorkersClock::new()),
        timer: Arc::new(WorkersTimer),
        random: Arc::new(WorkersRandom),
        secrets: Arc::new(EnvSecrets(env.clone())),
        rate_limits,
        breakers: Box::new(llm_router::LocalOnly),
    })
}

/// A gateway for the cron Workers (prober, controller): the standard
/// bindings, per-isolate rate limits (their fetch handlers serve admin and
/// diagnostic traffic only), the config from `GATEWAY_CONFIG` or `bundled`.
#[allow(clippy::arc_with_non_send_sync)] // Workers isolates are single-threaded
pub fn cron_gateway(
    env: &Env,
    bundled: BundledConfigs,
    version: &str,
) -> Result<edge_gateway::Gateway, ApiError> {
    let cfg = load_config(env, bundled)?;
    let limits = Arc::new(zt_security::ratelimit::MemoryStore::new(Arc::new(
        WorkersClock::new(),
    )));
    let ports = gateway_ports(env, limits)?;
    edge_gateway::Gateway::new(cfg, ports, version)
        .map_err(|e| ApiError::internal("misconfigured", e.to_string()))
}

/// `ctx.wait_until` as the gateway's background hook.
pub struct Background<'a>(pub &'a Context);

impl WaitUntil for Background<'_> {
    fn wait_until(&self, task: Task) {
        self.0.wait_until(task);
    }
}

/// The request context. Reads `request.cf` through JS reflection: the typed getters unwrap, and
/// `wrangler dev` offline serves a placeholder object.
pub fn request_context(req: &Request) -> RequestContext {
    let cf = Reflect::get(req.inner().as_ref(), &JsValue::from_str("cf")).ok();
    let field = |name: &str| {
        cf.as_ref()
            .and_then(|cf| Reflect::get(cf, &JsValue::from_str(name)).ok())
            .filter(|v| !v.is_undefined() && !v.is_null())
    };
    let text = |name: &str| {
        field(name)
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let bot = field("botManagement").and_then(|b| {
        let score = Reflect::get(&b, &JsValue::from_str("score"))
            .ok()?
            .as_f64()?;
        let verified = Reflect::get(&b, &JsValue::from_str("verifiedBot"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Some(zt_security::bot::BotManagement {
            score: score.clamp(1.0, 99.0) as u8,
            verified_bot: verified,
            ja3_hash: None,
            ja4: None,
        })
    });
    let header = |name: &str| req.headers().get(name).ok().flatten();
    RequestContext {
        country: text("country"),
        continent: text("continent"),
        colo: text("colo"),
        region: text("regionCode"),
        asn: field("asn").and_then(|v| v.as_f64()).map(|a| a as u32),
        client_ip: header("cf-connecting-ip"),
        request_id: header("cf-ray").unwrap_or_default(),
        bot_management: bot,
        https: req.url().is_ok_and(|u| u.scheme() == "https"),
    }
}

/// The Workers request as an `http::Request` with its whole body, read as
/// a stream and refused with 413 as soon as it passes `max_body` bytes
/// (whatever `Content-Length` said, chunked and HTTP/2 bodies included).
pub async fn to_http(
    mut req: Request,
    max_body: usize,
) -> Result<http::Request<Vec<u8>>, ApiError> {
    let url = req
        .url()
        .map_err(|e| ApiError::bad_request("invalid_url", e.to_string()))?;
    let path_and_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut builder = http::Request::builder()
        .method(req.method().as_ref())
        .uri(path_and_query);
    for (name, value) in req.headers().entries() {
        builder = builder.header(name, value);
    }
    let body = read_body(&mut req, max_body).await?;
    builder
        .body(body)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

/// The body, at most `max` bytes, chunk by chunk.
async fn read_body(req: &mut Request, max: usize) -> Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ApiError::too_large(max));
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req
        .stream()
        .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(max));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::too_large(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The gateway response as a Workers response (streamed bodies stream).
pub fn to_worker(resp: http::Response<Body>) -> worker::Result<Response> {
    let (parts, body) = resp.into_parts();
    let headers = Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            headers.append(name.as_str(), v)?;
        }
    }
    let out = match body.try_into_bytes() {
        Ok(bytes) => Response::from_bytes(bytes)?,
        Err(body) => Response::from_stream(stream::unfold(body, |mut b| async move {
            let chunk = b.next_chunk().await?;
            Some((
                chunk.map_err(|e| worker::Error::RustError(e.to_string())),
                b,
            ))
        }))?,
    };
    Ok(out.with_status(parts.status.as_u16()).with_headers(headers))
}
