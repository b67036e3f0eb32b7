//! Wiring only: bindings to the gateway's ports, cron to the prober and the
//! SLO step. The fetch handler serves `/health` and nothing else.

use edge_cloudflare::host::BundledConfigs;
use edge_gateway::{ApiError, Gateway};
use worker::{
    Context, Env, Request, Response, ScheduleContext, ScheduledEvent, console_error, console_log,
    event,
};

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
            console_error!("health-prober misconfigured: {e:?}");
            return;
        }
    };
    let records = gw.probe_providers().await;
    let healthy = records.iter().filter(|r| r.ok).count();
    console_log!("probed {} providers, {healthy} healthy", records.len());
    match gw.slo_tick().await {
        Ok(t) => console_log!(
            "slo: {} deployments evaluated, {} alert changes, {} failed deliveries",
            t.deployments.len(),
            t.events.len(),
            t.failed_deliveries
        ),
        Err(e) => console_error!("slo step failed: {e}"),
    }
}

fn json(status: u16, v: &serde_json::Value) -> worker::Result<Response> {
    Response::from_json(v).map(|r| r.with_status(status))
}

/// Only `/health`: the cron trigger does the probing and the SLO step, so
/// nothing here can be triggered (or read) from the internet.
#[event(fetch)]
async fn fetch(req: Request, _env: Env, _ctx: Context) -> worker::Result<Response> {
    let path = req.path();
    if path == "/health" {
        return json(
            200,
            &serde_json::json!({"status": "ok", "version": VERSION}),
        );
    }
    json(
        404,
        &serde_json::json!({"error": {"type": "not_found_error", "code": "not_found", "param": null,
            "message": format!("no route {path}: the health-prober works from its cron trigger and serves only /health")}}),
    )
}
