//! `POST /admin/bluegreen`: a blue → green switch on the rollout requests
//! are routed by (`[traffic] rollout`). Green's health URL and smoke
//! requests are checked first through the HTTP port; a failure switches
//! nothing and answers 409 with every check. Then the switch is a rollout
//! with the plan's own steps (instant: one 100% step), which the
//! controller's loop (`canary_tick`, the canary-controller's cron and
//! edgectl's background loop) holds for `step_ms`, judges on green's
//! metrics and completes or rolls back to blue; `GET /admin/canary/{name}`
//! is the report (state and audit log, the checks in the first entry).

use edge_ports::http::Body;
use http::{Request, Response, StatusCode};
use serde_json::json;
use traffic_split::bluegreen::{SwitchPlan, pre_switch_checks};
use traffic_split::canary::{AuditEntry, CanaryState, CanaryStore, StageMetrics};

use crate::admin::{idle_rollout, store_err, valid_name};
use crate::{ApiError, Gateway, json_response};

pub(crate) async fn start(
    gw: &Gateway,
    req: &Request<Vec<u8>>,
    who: &str,
) -> Result<Response<Body>, ApiError> {
    let plan: SwitchPlan = serde_json::from_slice(req.body())
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid switch plan: {e}")))?;
    let Some(name) = gw.inner.cfg.traffic.rollout.as_deref() else {
        return Err(ApiError::bad_request(
            "no_rollout",
            "set [traffic] rollout: requests are routed by that rollout, and the switch runs on it",
        ));
    };
    if !valid_name(&plan.blue) || !valid_name(&plan.green) {
        return Err(ApiError::bad_request(
            "invalid_name",
            "blue and green must be [A-Za-z0-9._-]{1,64}",
        ));
    }
    let stages = plan
        .stages()
        .map_err(|e| ApiError::bad_request("invalid_plan", e.to_string()))?;
    let store = &gw.inner.canaries;
    let existing = idle_rollout(gw, name).await?;
    let checks = pre_switch_checks(&plan, gw.inner.http.as_ref()).await;
    if let Some(failed) = checks.iter().find(|c| !c.ok) {
        let message = format!(
            "pre-switch check failed: {}: {}; nothing was switched",
            failed.name, failed.detail
        );
        return Ok(json_response(
            StatusCode::CONFLICT,
            &json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": "pre_switch_failed"}, "checks": checks}),
        ));
    }
    let now = gw.inner.clock.now_ms();
    let mut state = CanaryState::start_with_plan(name, &plan.blue, &plan.green, stages, now);
    let expected = existing.map_or(0, |e| e.version);
    state.version = expected + 1;
    store.save(&state, expected).await.map_err(store_err)?;
    let passed: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    let entry = AuditEntry {
        at_ms: now,
        version: state.version,
        action: "start".into(),
        from_percent: 0.0,
        to_percent: state.percent,
        reason: format!(
            "blue-green {} -> {} by {who}; checks passed: {}",
            plan.blue,
            plan.green,
            passed.join(", ")
        ),
        metrics: StageMetrics {
            requests: 0,
            errors: 0,
            p95_ms: 0.0,
        },
    };
    store.audit(name, &entry).await.map_err(store_err)?;
    gw.forget_rollout();
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"rollout": state, "checks": checks}),
    ))
}
