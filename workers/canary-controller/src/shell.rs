//! Wiring only: the gateway (admin routes) and the cron step.

use std::sync::Arc;

use edge_cloudflare::WorkersClock;
use edge_cloudflare::host::{
    Background, gateway_ports, load_config, request_context, to_http, to_worker,
};
use edge_gateway::{ApiError, Gateway};
use worker::{
    Context, Env, Request, Response, ScheduleContext, ScheduledEvent, console_error, console_log,
    event,
};
use zt_security::ratelimit::MemoryStore;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const BUNDLED_CONFIG: &str = include_str!("../../api/gateway.toml");

#[allow(clippy::arc_with_non_send_sync)] // Workers isolates are single-threaded
fn build(env: &Env) -> Result<Gateway, ApiError> {
    let cfg = load_config(env, BUNDLED_CONFIG)?;
    // Admin traffic only: per-isolate limits are enough here.
    let limits = Arc::new(MemoryStore::new(Arc::new(WorkersClock::new())));
    let ports = gateway_ports(env, limits)?;
    Gateway::new(cfg, ports, VERSION)
        .map_err(|e| ApiError::internal("misconfigured", e.to_string()))
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let gw = match build(&env) {
        Ok(g) => g,
        Err(e) => {
            console_error!("canary controller misconfigured: {e:?}");
            return;
        }
    };
    match gw.canary_tick().await {
        Ok(decision) => console_log!("canary step: {decision:?}"),
        Err(e) => console_error!("canary step failed: {e}"),
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let gw = match build(&env) {
        Ok(g) => g,
        Err(e) => return to_worker(e.into_response()),
    };
    let rctx = request_context(&req);
    let http_req = match to_http(req).await {
        Ok(r) => r,
        Err(e) => return to_worker(e.into_response()),
    };
    to_worker(gw.handle(http_req, rctx, &Background(&ctx)).await)
}
