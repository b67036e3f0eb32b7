//! `/admin/*` (Access required by the policy table; denied by default):
//!
//! | route | what |
//! |---|---|
//! | `POST /admin/cache/purge` `{"policy"}`, `{"tag"}` or `{"prefix"}` | invalidate |
//! | `PUT /admin/features`, `GET /admin/features` | the GrowthBook payload (features and experiments) |
//! | `POST /admin/canary` `{"name","stable","canary"}` | start a rollout |
//! | `GET /admin/canary/{name}` | state and audit log |
//! | `POST /admin/canary/{name}/advance` / `rollback` | manual transitions |
//! | `POST /admin/bluegreen` (a `SwitchPlan`) | pre-switch checks, then a blue-green switch run by the controller |
//! | `GET /admin/security/events?since_ms&until_ms&kind&min_severity&limit` | the security log |
//! | `/admin/experiments…` | experiments (see `experiments::admin`) |

use edge_ports::PutOptions;
use edge_ports::http::Body;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use traffic_split::canary::{CanaryState, CanaryStore, Decision, StageMetrics, Status, apply};
use zt_security::events::{EventKind, EventQuery, EventSeverity, SecurityEvent};

use crate::context::WaitUntil;
use crate::{ApiError, Caller, Gateway, json_response};

/// Keys one prefix purge deletes at most (Workers allow 1,000 KV calls per
/// request); `"complete": false` asks the caller to repeat it.
const MAX_PURGE_DELETES: u64 = 500;

/// KV key of the GrowthBook payload.
pub const FEATURES_KEY: &str = "traffic:features";

pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && s != "."
        && s != ".."
}

fn json_body<T: serde::de::DeserializeOwned>(req: &Request<Vec<u8>>) -> Result<T, ApiError> {
    serde_json::from_slice(req.body())
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid request body: {e}")))
}

pub(crate) async fn admin(
    gw: &Gateway,
    req: Request<Vec<u8>>,
    caller: &Caller,
    bg: &dyn WaitUntil,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_owned();
    let segs: Vec<&str> = path
        .trim_start_matches("/admin")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if segs.iter().any(|s| !valid_name(s)) {
        return Err(ApiError::bad_request(
            "invalid_path",
            "admin path segments are [A-Za-z0-9._-]{1,64}",
        ));
    }
    let method = req.method().clone();
    let resp = match (&method, segs.as_slice()) {
        (&Method::POST, ["cache", "purge"]) => purge(gw, &req).await?,
        (&Method::PUT, ["features"]) => put_features(gw, &req).await?,
        (&Method::GET, ["features"]) => get_features(gw).await?,
        (&Method::POST, ["canary"]) => canary_start(gw, &req).await?,
        (&Method::POST, ["bluegreen"]) => {
            crate::bluegreen::start(gw, &req, &caller.principal.subject).await?
        }
        (&Method::GET, ["canary", name]) => canary_status(gw, name).await?,
        (&Method::POST, ["canary", name, action @ ("advance" | "rollback")]) => {
            canary_manual(gw, name, action, &caller.principal.subject).await?
        }
        (&Method::GET, ["security", "events"]) => events(gw, &req).await?,
        (_, ["experiments", ..]) => {
            crate::experiments::admin::route(gw, &req, &segs, caller).await?
        }
        _ => {
            return Err(ApiError::not_found(format!(
                "no admin route {method} {path}"
            )));
        }
    };
    if method != Method::GET {
        let ev = SecurityEvent::new(
            EventKind::AdminAction,
            EventSeverity::Info,
            format!("{method} {path}"),
        )
        .subject(caller.principal.subject.clone())
        .route(path.clone());
        gw.security_event(bg, ev);
    }
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Purge {
    policy: Option<String>,
    tag: Option<String>,
    prefix: Option<String>,
}

async fn purge(gw: &Gateway, req: &Request<Vec<u8>>) -> Result<Response<Body>, ApiError> {
    let p: Purge = json_body(req)?;
    let cache = &gw.inner.cache;
    let unavailable =
        |e: edge_cache::CacheError| ApiError::unavailable("cache_unavailable", e.to_string());
    let (what, n) = match (p.policy, p.tag, p.prefix) {
        (Some(policy), None, None) => {
            let g = cache
                .invalidate_request_type(&policy)
                .await
                .map_err(unavailable)?;
            (json!({"policy": policy, "generation": g}), g)
        }
        (None, Some(tag), None) => {
            let g = cache.invalidate_tag(&tag).await.map_err(unavailable)?;
            (json!({"tag": tag, "generation": g}), g)
        }
        (None, None, Some(prefix)) => {
            if prefix.len() < 3 {
                return Err(ApiError::bad_request(
                    "prefix_too_short",
                    "a purge prefix needs at least 3 characters",
                ));
            }
            let p = cache
                .purge_prefix(&prefix, MAX_PURGE_DELETES)
                .await
                .map_err(|e| match e {
                    edge_cache::CacheError::OutsideNamespace { .. } => {
                        ApiError::bad_request("prefix_outside_cache", e.to_string())
                    }
                    other => unavailable(other),
                })?;
            (
                json!({"prefix": prefix, "deleted": p.deleted, "complete": p.complete}),
                p.deleted,
            )
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_purge",
                "give exactly one of policy, tag or prefix",
            ));
        }
    };
    let _ = n;
    Ok(json_response(StatusCode::OK, &json!({"purged": what})))
}

async fn put_features(gw: &Gateway, req: &Request<Vec<u8>>) -> Result<Response<Body>, ApiError> {
    let payload = gw.parse_payload(req.body()).map_err(|e| {
        ApiError::bad_request("invalid_payload", format!("not a GrowthBook payload: {e}"))
    })?;
    gw.inner
        .kv
        .put(FEATURES_KEY, req.body().clone(), PutOptions::default())
        .await?;
    crate::experiments::payload::bump_version(gw).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"stored": true, "features": payload.features.len()}),
    ))
}

async fn get_features(gw: &Gateway) -> Result<Response<Body>, ApiError> {
    match gw.inner.kv.get(FEATURES_KEY).await? {
        Some(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            crate::set(r.headers_mut(), "content-type", "application/json");
            Ok(r)
        }
        None => Ok(json_response(StatusCode::OK, &json!({"features": {}}))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartCanary {
    name: String,
    stable: String,
    canary: String,
}

/// The stored state of rollout `name`, unless it is running (409).
pub(crate) async fn idle_rollout(
    gw: &Gateway,
    name: &str,
) -> Result<Option<CanaryState>, ApiError> {
    let existing = gw.inner.canaries.load(name).await.map_err(store_err)?;
    if existing
        .as_ref()
        .is_some_and(|e| e.status == Status::Running)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "rollout_running",
            format!("rollout {name:?} is running; finish or roll it back first"),
        ));
    }
    Ok(existing)
}

pub(crate) fn store_err(e: traffic_split::Error) -> ApiError {
    match e {
        traffic_split::Error::StaleWrite { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "conflict",
            e.to_string(),
        ),
        other => ApiError::unavailable("store_unavailable", other.to_string()),
    }
}

async fn canary_start(gw: &Gateway, req: &Request<Vec<u8>>) -> Result<Response<Body>, ApiError> {
    let s: StartCanary = json_body(req)?;
    for (field, v) in [
        ("name", &s.name),
        ("stable", &s.stable),
        ("canary", &s.canary),
    ] {
        if !valid_name(v) {
            return Err(ApiError::bad_request(
                "invalid_name",
                format!("{field} must be [A-Za-z0-9._-]{{1,64}}"),
            ));
        }
    }
    let store = &gw.inner.canaries;
    let existing = idle_rollout(gw, &s.name).await?;
    let mut state = CanaryState::start(
        &s.name,
        &s.stable,
        &s.canary,
        &gw.inner.cfg.traffic.canary,
        gw.inner.clock.now_ms(),
    );
    let expected = existing.map_or(0, |e| e.version);
    state.version = expected + 1;
    store.save(&state, expected).await.map_err(store_err)?;
    gw.forget_rollout();
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"rollout": state}),
    ))
}

async fn canary_status(gw: &Gateway, name: &str) -> Result<Response<Body>, ApiError> {
    let store = &gw.inner.canaries;
    let state = store
        .load(name)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("no rollout named {name:?}")))?;
    let audit = store.audit_log(name).await.map_err(store_err)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"rollout": state, "audit": audit}),
    ))
}

async fn canary_manual(
    gw: &Gateway,
    name: &str,
    action: &str,
    who: &str,
) -> Result<Response<Body>, ApiError> {
    let store = &gw.inner.canaries;
    let state = store
        .load(name)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("no rollout named {name:?}")))?;
    if state.status != Status::Running {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "rollout_finished",
            format!("rollout is {:?}", state.status),
        ));
    }
    let stages = &state
        .plan
        .as_ref()
        .unwrap_or(&gw.inner.cfg.traffic.canary)
        .stages;
    let decision = if action == "rollback" {
        Decision::Rollback(format!("manual rollback by {who}"))
    } else {
        match stages.get(state.stage + 1) {
            Some(next) => Decision::Advance {
                to_percent: next.percent,
                reason: format!("manual advance by {who}"),
            },
            None => Decision::Complete(format!("manual completion by {who}")),
        }
    };
    let metrics = StageMetrics {
        requests: 0,
        errors: 0,
        p95_ms: 0.0,
    };
    let Some((next, entry)) = apply(&state, &decision, metrics, gw.inner.clock.now_ms()) else {
        return Err(ApiError::internal("canary", "no transition"));
    };
    store.save(&next, state.version).await.map_err(store_err)?;
    store.audit(name, &entry).await.map_err(store_err)?;
    gw.forget_rollout();
    Ok(json_response(
        StatusCode::OK,
        &json!({"rollout": next, "audit": entry}),
    ))
}

async fn events(gw: &Gateway, req: &Request<Vec<u8>>) -> Result<Response<Body>, ApiError> {
    let mut q = serde_json::Map::new();
    for pair in req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = crate::path::percent_decode(v)?;
        let value = match k {
            "since_ms" | "until_ms" | "limit" => {
                v.parse::<u64>().map(Value::from).map_err(|_| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("{k} must be a non-negative integer"),
                    )
                })?
            }
            "kind" | "min_severity" => Value::String(v),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("unknown parameter {k:?}"),
                ));
            }
        };
        q.insert(k.to_owned(), value);
    }
    let query: EventQuery = serde_json::from_value(Value::Object(q))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let page = gw.inner.events.query(&query).await?;
    Ok(json_response(StatusCode::OK, &json!(page)))
}
