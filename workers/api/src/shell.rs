//! Binding wiring and request/response conversion. No routing or domain
//! logic lives here.

use std::cell::RefCell;
use std::sync::Arc;

use edge_cloudflare::{
    AnalyticsEngine, DecideRequest, WorkersClock, WorkersFetch, WorkersKv, WorkersRandom,
    WorkersTimer, decide_in_object,
};
use edge_gateway::{
    ApiError, Gateway, GatewayConfig, GatewayPorts, RequestContext, Task, WaitUntil,
};
use edge_ports::http::Body;
use edge_ports::{AnalyticsError, AnalyticsSink, Clock, DataPoint};
use futures_util::stream;
use worker::js_sys::Reflect;
use worker::wasm_bindgen::JsValue;
use worker::{
    Context, DurableObject, Env, Headers, Request, Response, State, durable_object, event,
};

/// The version reported by `/health`.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The config compiled into the Worker. A `GATEWAY_CONFIG` var (TOML or JSON)
/// replaces it, for local runs and tests.
const BUNDLED_CONFIG: &str = include_str!("../gateway.toml");

thread_local! {
    /// One gateway per isolate: config parsing, key setup and the router's
    /// health state are reused across requests.
    static GATEWAY: RefCell<Option<Gateway>> = const { RefCell::new(None) };
}

/// Worker secrets by name (`wrangler secret put NAME`); never `[vars]`.
struct EnvSecrets(Env);

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

#[allow(clippy::arc_with_non_send_sync)] // Workers isolates are single-threaded
fn build(env: &Env) -> Result<Gateway, ApiError> {
    let misconfigured = |m: String| ApiError::internal("misconfigured", m);
    let text = env
        .var("GATEWAY_CONFIG")
        .map(|v| v.to_string())
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| BUNDLED_CONFIG.to_owned());
    let parsed = if text.trim_start().starts_with('{') {
        GatewayConfig::from_json(&text)
    } else {
        GatewayConfig::from_toml(&text)
    };
    let cfg = parsed.map_err(|e| misconfigured(e.to_string()))?;
    let kv = env
        .kv("EDGE_KV")
        .map_err(|e| misconfigured(format!("KV binding EDGE_KV is missing: {e}")))?;
    let limiter = env.durable_object("RATE_LIMITER").map_err(|e| {
        misconfigured(format!(
            "Durable Object binding RATE_LIMITER is missing: {e}"
        ))
    })?;
    let ports = GatewayPorts {
        kv: Arc::new(WorkersKv::new(kv, WorkersClock::new())),
        analytics: dataset(env, "EDGE_ANALYTICS"),
        security_analytics: dataset(env, "EDGE_SECURITY"),
        http: Arc::new(WorkersFetch),
        clock: Arc::new(WorkersClock::new()),
        timer: Arc::new(WorkersTimer),
        random: Arc::new(WorkersRandom),
        secrets: Arc::new(EnvSecrets(env.clone())),
        rate_limits: Arc::new(edge_cloudflare::DurableRateLimits::new(limiter)),
        breakers: Box::new(llm_router::LocalOnly),
    };
    Gateway::new(cfg, ports, VERSION).map_err(|e| misconfigured(e.to_string()))
}

fn gateway(env: &Env) -> Result<Gateway, ApiError> {
    if let Some(g) = GATEWAY.with(|g| g.borrow().clone()) {
        return Ok(g);
    }
    let g = build(env)?;
    GATEWAY.with(|cell| *cell.borrow_mut() = Some(g.clone()));
    Ok(g)
}

/// `ctx.wait_until` as the gateway's background hook.
struct Background<'a>(&'a Context);

impl WaitUntil for Background<'_> {
    fn wait_until(&self, task: Task) {
        self.0.wait_until(task);
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let gw = match gateway(&env) {
        Ok(g) => g,
        Err(e) => return to_worker(e.into_response()),
    };
    let max = gw.config().gateway.max_body_bytes;
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return to_worker(ApiError::too_large(max).into_response());
    }
    let rctx = request_context(&req);
    let http_req = match to_http(req).await {
        Ok(r) => r,
        Err(e) => return to_worker(e.into_response()),
    };
    let resp = gw.handle(http_req, rctx, &Background(&ctx)).await;
    to_worker(resp)
}

/// Reads `request.cf` through JS reflection: the typed getters unwrap, and
/// `wrangler dev` offline serves a placeholder object.
fn request_context(req: &Request) -> RequestContext {
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
    }
}

async fn to_http(mut req: Request) -> Result<http::Request<Vec<u8>>, ApiError> {
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
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
    builder
        .body(body)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

fn to_worker(resp: http::Response<Body>) -> worker::Result<Response> {
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

/// The exact per-key GCRA limiter. One object per limit key (the Worker
/// names it with `idFromName(key)`), so decisions for a key are serialised
/// by the platform and its state (the theoretical arrival time) never races.
#[durable_object]
pub struct RateLimiter {
    state: State,
    tat: RefCell<Option<u64>>,
    clock: WorkersClock,
}

impl DurableObject for RateLimiter {
    fn new(state: State, _env: Env) -> Self {
        Self {
            state,
            tat: RefCell::new(None),
            clock: WorkersClock::new(),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let Ok(body) = req.json::<DecideRequest>().await else {
            return Response::error("invalid rate-limit request", 400);
        };
        let storage = self.state.storage();
        let cached = *self.tat.borrow();
        let tat = match cached {
            Some(t) => Some(t),
            None => storage.get::<u64>("tat").await.ok().flatten(),
        };
        let (decision, next) = match decide_in_object(&body, tat, self.clock.now_ms()) {
            Ok(d) => d,
            Err(e) => return Response::error(e.to_string(), 400),
        };
        if let Some(t) = next {
            storage.put("tat", t).await?;
            *self.tat.borrow_mut() = Some(t);
        }
        Response::from_json(&decision)
    }
}
