//! Binding wiring only: the gateway, its ports and the rate-limiter
//! Durable Object. Conversion helpers live in `edge_cloudflare::host`.

use std::cell::RefCell;
use std::sync::Arc;

use edge_cloudflare::host::{
    Background, BundledConfigs, gateway_ports, load_config, request_context, to_http, to_worker,
};
use edge_cloudflare::{DecideRequest, DurableRateLimits, WorkersClock, decide_in_object};
use edge_gateway::{ApiError, Gateway};
use edge_ports::Clock;
use worker::{Context, DurableObject, Env, Request, Response, State, durable_object, event};
use zt_security::ratelimit::Tat;

/// The version reported by `/health`.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The config files of the deployed environments (`EDGEFORGE_ENV`).
const CONFIGS: BundledConfigs = BundledConfigs {
    staging: include_str!("../../config/staging.toml"),
    production: include_str!("../../config/production.toml"),
};

thread_local! {
    /// One gateway per isolate: config parsing, key setup and the router's
    /// health state are reused across requests.
    static GATEWAY: RefCell<Option<Gateway>> = const { RefCell::new(None) };
}

#[allow(clippy::arc_with_non_send_sync)] // Workers isolates are single-threaded
fn build(env: &Env) -> Result<Gateway, ApiError> {
    let cfg = load_config(env, CONFIGS)?;
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
    let rctx = request_context(&req);
    let http_req = match to_http(req, max).await {
        Ok(r) => r,
        Err(e) => return to_worker(e.into_response()),
    };
    let resp = gw.handle(http_req, rctx, &Background(&ctx)).await;
    to_worker(resp)
}

/// The exact per-key GCRA limiter. One object per limit key (the Worker
/// names it with `idFromName(key)`), so decisions for a key are serialised
/// by the platform and its state (the theoretical arrival time) never races.
/// An alarm deletes the state once the bucket is full again, so a flood of
/// one-off keys leaves no storage behind.
#[durable_object]
pub struct RateLimiter {
    state: State,
    tat: RefCell<Option<Tat>>,
    clock: WorkersClock,
}

impl RateLimiter {
    async fn stored_tat(&self) -> Option<Tat> {
        let cached = *self.tat.borrow();
        match cached {
            Some(t) => Some(t),
            None => self.state.storage().get::<Tat>("tat").await.ok().flatten(),
        }
    }
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
        let tat = self.stored_tat().await;
        let (decision, next) = match decide_in_object(&body, tat, self.clock.now_ms()) {
            Ok(d) => d,
            Err(e) => return Response::error(e.to_string(), 400),
        };
        if let Some(t) = next {
            let storage = self.state.storage();
            storage.put("tat", t).await?;
            *self.tat.borrow_mut() = Some(t);
            let after_ms = i64::try_from(decision.reset_after_ms).unwrap_or(i64::MAX / 2);
            storage.set_alarm(after_ms.saturating_add(1_000)).await?;
        }
        Response::from_json(&decision)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let now = self.clock.now_ms();
        match self.stored_tat().await {
            Some(t) if !t.has_passed(now) => {
                let left_ms = t.micros().saturating_sub(Tat::at_ms(now).micros()) / 1000;
                let left_ms = i64::try_from(left_ms).unwrap_or(i64::MAX / 2);
                self.state
                    .storage()
                    .set_alarm(left_ms.saturating_add(1_000))
                    .await?;
            }
            _ => {
                self.state.storage().delete_all().await?;
                *self.tat.borrow_mut() = None;
            }
        }
        Response::ok("")
    }
}
