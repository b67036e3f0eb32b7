//! Wiring only: the gateway's admin routes (behind Cloudflare Access) and
//! the cron step (canary rollouts, then experiments).

use edge_cloudflare::host::BundledConfigs;
use edge_cloudflare::host::{Background, request_context, to_http, to_worker};
use edge_gateway::{ApiError, Gateway};
use worker::{
    Context, Env, Request, Response, ScheduleContext, ScheduledEvent, console_error, console_log,
    event,
};
use zt_security::jwt::ACCESS_HEADER;

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The config files of the deployed environments (`EDGEFORGE_ENV`).
const CONFIGS: BundledConfigs = BundledConfigs {
    staging: include_str!("../../config/staging.toml"),
    production: include_str!("../../config/production.toml"),
};

fn build(env: &Env) -> Result<Gateway, ApiError> {
    edge_cloudflare::host::cron_gateway(env, CONFIGS, VERSION)
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
    match gw.experiment_tick().await {
        Ok(steps) => {
            for s in steps.iter().filter(|s| s.action.is_some()) {
                console_log!(
                    "experiment {}: {}",
                    s.experiment,
                    serde_json::to_string(s).unwrap_or_default()
                );
            }
        }
        Err(e) => console_error!("experiment step failed: {e}"),
    }
}

/// `/health`, and the admin API behind Cloudflare Access: the controller
/// never serves chat or any other gateway route, and an admin request
/// without an Access assertion is refused before the gateway runs (the
/// gateway then validates the assertion and its policy).
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let path = req.path();
    let admin = path == "/admin" || path.starts_with("/admin/");
    if path != "/health" && !admin {
        return to_worker(
            ApiError::not_found(format!(
                "no route {path}: the canary-controller serves /health and the admin API only"
            ))
            .into_response(),
        );
    }
    let has_access = req
        .headers()
        .get(ACCESS_HEADER)
        .ok()
        .flatten()
        .is_some_and(|v| !v.is_empty());
    if admin && !has_access {
        return to_worker(
            ApiError::forbidden(
                "access_required",
                format!("{path} requires a Cloudflare Access token ({ACCESS_HEADER})"),
            )
            .into_response(),
        );
    }
    let gw = match build(&env) {
        Ok(g) => g,
        Err(e) => return to_worker(e.into_response()),
    };
    let rctx = request_context(&req);
    let max = gw.config().gateway.max_body_bytes;
    let http_req = match to_http(req, max).await {
        Ok(r) => r,
        Err(e) => return to_worker(e.into_response()),
    };
    to_worker(gw.handle(http_req, rctx, &Background(&ctx)).await)
}
