//! Binding wiring only: the gateway, its ports and the rate-limiter
//! Durable Object. Conversion helpers live in `edge_cloudflare::host`.

use std::cell::RefCell;
use std::sync::Arc;

use edge_cloudflare::host::{
    Background, gateway_ports, load_config, request_context, to_http, to_worker,
};
use edge_cloudflare::{DecideRequest, DurableRateLimits, WorkersClock, decide_in_object};
use edge_gateway::{ApiError, Gateway};
use edge_ports::Clock;
use worker::{Context, DurableObject, Env, Request, Response, State, durable_object, event};

/// The version reported by `/health`.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The config compiled into the Worker (a `GATEWAY_CONFIG` var replaces it).
const BUNDLED_CONFIG: &str = include_str!("../gateway.toml");

thread_local! {
    /// One gateway per isolate: config parsing, key setup and the router's
    /// health state are reused across requests.
    static GATEWAY: RefCell<Option<Gateway>> = const { RefCell::new(None) };
}

#[allow(clippy::arc_with_non_send_sync)] // Workers isolates are single-threaded
fn build(env: &Env) -> Result<Gateway, ApiError> {
    let cfg = load_config(env, BUNDLED_CONFIG)?;
    let limiter = env.durable_object("RATE_LIMITER").map_err(|e| {
        ApiError::internal(
            "misconfigured",
            format!("Durable Object binding RATE_LIMITER is missing: {e}"),
        )
    })?;
    let ports = gateway_ports(env, Arc::new(DurableRateLimits::new(limiter)))?;
    Gateway::new(cfg, ports, VERSION)
        .map_err(|e| ApiError::internal("misconfigured", e.to_string()))
}

fn gateway(env: &Env) -> Result<Gateway, ApiError> {
    if let Some(g) = GATEWAY.with(|g| g.borrow().clone()) {
        return Ok(g);
    }
    let g = build(env)?;
    GATEWAY.with(|cell| *cell.borrow_mut() = Some(g.clone()));
    Ok(g)
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
