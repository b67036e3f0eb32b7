//! Route dispatch and the small routes: health, models, templates, status.

use edge_cache::CacheRequest;
use edge_ports::http::Body;
use http::{Method, Request, Response, StatusCode};
use serde_json::json;

use crate::context::{RequestContext, WaitUntil};
use crate::{ApiError, Caller, Gateway, json_response};

/// Every route the gateway serves (method, OpenAPI path template); the
/// OpenAPI document in `docs/openapi.json` must list exactly these
/// (checked by `tests/openapi.rs`). HEAD is served wherever GET is.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/status"),
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/api/prompts/templates/{id}"),
    ("POST", "/v1/feedback"),
    ("POST", "/admin/cache/purge"),
    ("GET", "/admin/features"),
    ("PUT", "/admin/features"),
    ("POST", "/admin/canary"),
    ("GET", "/admin/canary/{name}"),
    ("POST", "/admin/canary/{name}/advance"),
    ("POST", "/admin/canary/{name}/rollback"),
    ("POST", "/admin/bluegreen"),
    ("GET", "/admin/security/events"),
    ("POST", "/admin/experiments"),
    ("GET", "/admin/experiments"),
    ("GET", "/admin/experiments/{key}"),
    ("DELETE", "/admin/experiments/{key}"),
    ("POST", "/admin/experiments/{key}/stop"),
];

/// An LLM route: its name (metrics, config) and the top-level body fields
/// that hold prompt content (text for a model, scanned for SQLi/XSS only
/// as `security.threat.prompt_content` says).
#[derive(Debug)]
pub(crate) struct LlmRoute {
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
    pub(crate) prompt_fields: &'static [&'static str],
}

/// Every LLM route the gateway serves.
pub(crate) const LLM_ROUTES: &[LlmRoute] = &[LlmRoute {
    name: "chat",
    path: "/v1/chat/completions",
    prompt_fields: &["messages", "tools", "functions", "prompt"],
}];

/// The LLM route at `path`, if it is one.
pub(crate) fn llm_route(path: &str) -> Option<&'static LlmRoute> {
    LLM_ROUTES.iter().find(|r| r.path == path)
}

/// The prompt-templates route prefix.
pub(crate) const TEMPLATES_PREFIX: &str = "/api/prompts/templates/";

/// A low-cardinality route label for metrics (never the raw path).
pub(crate) fn route_name(path: &str) -> &'static str {
    match path {
        "/health" => "health",
        "/status" => "status",
        "/v1/models" => "models",
        "/v1/chat/completions" => "chat",
        "/v1/feedback" => "feedback",
        p if p.starts_with(TEMPLATES_PREFIX) => "templates",
        p if p == "/admin" || p.starts_with("/admin/") => "admin",
        _ => "unmatched",
    }
}

pub(crate) async fn dispatch(
    gw: &Gateway,
    req: Request<Vec<u8>>,
    ctx: &RequestContext,
    caller: &Caller,
    bg: &dyn WaitUntil,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    match (method, path.as_str()) {
        (Method::POST, "/v1/chat/completions") => crate::chat::chat(gw, req, ctx, caller, bg).await,
        (Method::GET, "/v1/models") => crate::models::models(gw, &req, ctx, bg).await,
        (Method::POST, "/v1/feedback") => {
            crate::experiments::admin::feedback(gw, &req, caller, bg).await
        }
        (Method::GET | Method::HEAD, "/status") => status(gw, req.uri().query()).await,
        (Method::GET | Method::HEAD, p) if p.starts_with(TEMPLATES_PREFIX) => {
            template(gw, &req, ctx, caller, bg).await
        }
        (_, p) if p == "/admin" || p.starts_with("/admin/") => {
            crate::admin::admin(gw, req, caller, bg).await
        }
        // Authorization let it through, but no handler serves it.
        (m, p) => Err(ApiError::not_found(format!("no handler for {m} {p}"))),
    }
}

pub(crate) fn health(gw: &Gateway, req: &Request<Vec<u8>>) -> Result<Response<Body>, ApiError> {
    match *req.method() {
        Method::GET | Method::HEAD => Ok(json_response(
            StatusCode::OK,
            &json!({"status": "ok", "version": gw.inner.version}),
        )),
        _ => Err(ApiError::method_not_allowed("GET, HEAD")),
    }
}

async fn template(
    gw: &Gateway,
    req: &Request<Vec<u8>>,
    ctx: &RequestContext,
    caller: &Caller,
    bg: &dyn WaitUntil,
) -> Result<Response<Body>, ApiError> {
    let raw = req.uri().path().trim_start_matches(TEMPLATES_PREFIX);
    let id = crate::path::percent_decode(raw)?;
    if id.is_empty() || id.contains('/') {
        return Err(ApiError::not_found("no such template"));
    }
    // An experiment's template version, when the config has that version.
    let versioned = caller
        .choice
        .overrides
        .template_version
        .as_ref()
        .map(|v| format!("{id}@{v}"))
        .filter(|k| gw.inner.cfg.templates.contains_key(k));
    let template = gw
        .inner
        .cfg
        .templates
        .get(versioned.as_deref().unwrap_or(&id))
        .cloned();
    let mut creq = CacheRequest::from_http(req);
    if let Some(v) = &versioned {
        creq = creq.variant(v);
    }
    creq.country = ctx.country.as_deref();
    creq.continent = ctx.continent.as_deref();
    if caller.principal.is_authenticated() {
        creq.user_id = Some(caller.principal.subject.as_str());
    }
    let origin_id = id.clone();
    let outcome = gw
        .inner
        .cache
        .get_or_fetch("prompt-templates", &creq, move |_| async move {
            let (status, body) = match template {
                Some(t) => (200, json!({"id": origin_id, "template": t})),
                None => (
                    404,
                    json!({"error": {"message": format!("template {origin_id:?} not found"), "type": "not_found_error", "param": null, "code": "not_found"}}),
                ),
            };
            http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes())
                .map_err(|e| edge_cache::OriginError(e.to_string()))
        })
        .await;
    cached_response(outcome, bg)
}

/// A cache outcome as the route's answer; a stale entry's refresh goes to
/// the background.
pub(crate) fn cached_response(
    outcome: Result<edge_cache::CacheOutcome, edge_cache::OriginError>,
    bg: &dyn WaitUntil,
) -> Result<Response<Body>, ApiError> {
    let outcome =
        outcome.map_err(|e| ApiError::unavailable("origin_unavailable", e.to_string()))?;
    if let Some(reval) = outcome.revalidation {
        bg.wait_until(Box::pin(reval));
    }
    let (parts, body) = outcome.response.into_parts();
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// `GET /status[?deployment=NAME&window_min=N]`: version, providers, the
/// rollout, and the request metrics of one deployment (default: this one)
/// over the last N minutes (default 5, at most 60) — the deploy gate reads
/// its error rate and p95.
async fn status(gw: &Gateway, query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let router = &gw.inner.router;
    let mut deployment = gw.inner.cfg.gateway.deployment.clone();
    let mut window_min: u64 = 5;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = crate::path::percent_decode(v)?;
        match k {
            "deployment" if !v.is_empty() && v.len() <= 64 => deployment = v,
            "window_min" => {
                window_min = v
                    .parse::<u64>()
                    .ok()
                    .filter(|w| (1..=60).contains(w))
                    .ok_or_else(|| {
                        ApiError::bad_request("invalid_query", "window_min must be 1-60")
                    })?;
            }
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("unknown or invalid parameter {k:?}"),
                ));
            }
        }
    }
    let providers: Vec<_> = router
        .config()
        .providers
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "breaker": router.breaker_state(&p.name).as_str(),
            })
        })
        .collect();
    let rollout = gw.rollout().await;
    let now = gw.inner.clock.now_ms();
    let rollups = gw
        .inner
        .deploy_metrics
        .windows(&deployment, now, &[window_min])
        .await?;
    let m: crate::DeploymentCounts = rollups.window(now, window_min).into();
    let error_rate = if m.requests == 0 {
        0.0
    } else {
        m.errors as f64 / m.requests as f64
    };
    // The configured objectives' burn over this window: the same maths as
    // the SLO step (slo-metrics), not a second definition.
    let slos: Vec<_> = gw
        .inner
        .cfg
        .slo
        .slo
        .iter()
        .map(|slo| json!({"name": slo.name, "burn_rate": slo.burn(&rollups, now, window_min)}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "version": gw.inner.version,
            "deployment": gw.inner.cfg.gateway.deployment,
            "providers": providers,
            "rollout": rollout,
            // Decisions the in-isolate limiter took because the rate-limit
            // store failed (the limiter never fails open).
            "rate_limiter": {"fallback_decisions": gw.inner.security.fallback_decisions()},
            "metrics": {
                "deployment": deployment,
                "window_min": window_min,
                "requests": m.requests,
                "errors": m.errors,
                "error_rate": error_rate,
                "p95_ms": m.quantile_ms(0.95),
                "slo": slos,
            },
        }),
    ))
}
