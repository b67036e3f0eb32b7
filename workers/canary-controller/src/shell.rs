//! Wiring only: the gateway (admin routes) and the cron step.

use edge_cloudflare::host::{Background, request_context, to_http, to_worker};
use edge_gateway::{ApiError, Gateway};
use worker::{
    Context, Env, Request, Response, ScheduleContext, ScheduledEvent, console_error, console_log,
    event,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const BUNDLED_CONFIG: &str = include_str!("../../api/gateway.toml");

fn build(env: &Env) -> Result<Gateway, ApiError> {
    edge_cloudflare::host::cron_gateway(env, BUNDLED_CONFIG, VERSION)
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
