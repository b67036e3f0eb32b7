//! Wiring only: bindings to ports, config to router, cron to prober.

use std::collections::HashMap;

use edge_cloudflare::{WorkersClock, WorkersFetch, WorkersKv, WorkersRandom, WorkersTimer};
use edge_gateway::GatewayConfig;
use llm_router::prober::HealthRecord;
use llm_router::{LocalOnly, Ports, Router};
use worker::{
    Context, Env, Request, Response, ScheduleContext, ScheduledEvent, console_error, console_log,
    event,
};

const BUNDLED_CONFIG: &str = include_str!("../../api/gateway.toml");

/// Worker secrets by name; never `[vars]`.
struct EnvSecrets(Env);

impl llm_router::Secrets for EnvSecrets {
    fn get(&self, name: &str) -> Option<String> {
        self.0.secret(name).ok().map(|s| s.to_string())
    }
}

fn config(env: &Env) -> Result<GatewayConfig, String> {
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
    parsed.map_err(|e| e.to_string())
}

async fn probe(env: &Env) -> Result<Vec<HealthRecord>, String> {
    let cfg = config(env)?;
    let kv = env
        .kv("EDGE_KV")
        .map_err(|e| format!("KV binding EDGE_KV is missing: {e}"))?;
    let kv = WorkersKv::new(kv, WorkersClock::new());
    let router = Router::new(
        cfg.router,
        Ports {
            http: Box::new(WorkersFetch),
            clock: Box::new(WorkersClock::new()),
            timer: Box::new(WorkersTimer),
            random: Box::new(WorkersRandom),
            secrets: Box::new(EnvSecrets(env.clone())),
            kv: None,
            breakers: Box::new(LocalOnly),
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(router.probe(&kv).await)
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match probe(&env).await {
        Ok(records) => {
            let healthy = records.iter().filter(|r| r.ok).count();
            console_log!("probed {} providers, {healthy} healthy", records.len());
        }
        Err(e) => console_error!("probe run failed: {e}"),
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let path = req.path();
    match path.as_str() {
        "/health" => Response::from_json(&serde_json::json!({"status": "ok"})),
        "/probe" => match probe(&env).await {
            Ok(records) => {
                let by_provider: HashMap<_, _> =
                    records.iter().map(|r| (r.provider.clone(), r)).collect();
                Response::from_json(&serde_json::json!({"records": by_provider}))
            }
            Err(e) => Response::from_json(&serde_json::json!({"error": {"type": "api_error", "code": "probe_failed", "message": e}}))
                .map(|r| r.with_status(503)),
        },
        _ => Response::from_json(&serde_json::json!({"error": {"type": "not_found_error", "code": "not_found", "message": format!("no route {path}")}}))
            .map(|r| r.with_status(404)),
    }
}
