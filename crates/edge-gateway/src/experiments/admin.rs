//! `/admin/experiments` and `POST /v1/feedback`.
//!
//! | route | what |
//! |---|---|
//! | `POST /admin/experiments` | create (an [`ExperimentSpec`](super::spec::ExperimentSpec)) |
//! | `GET /admin/experiments` | every experiment: status and arms |
//! | `GET /admin/experiments/{key}` | per-arm counts, rates, intervals, SRM p-value, verdict, audit |
//! | `POST /admin/experiments/{key}/stop` `{"serve": "variant"}` | stop by hand |
//! | `DELETE /admin/experiments/{key}` | delete (the feature falls back to the payload) |
//! | `POST /v1/feedback` `{"name": "thumbs_up", "score": 1}` | a score for the caller's arms |

use edge_ports::http::Body;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::apply::Choice;
use super::payload::{bump_version, list_experiments};
use super::spec::{
    AuditEntry, ExperimentReport, ExperimentSpec, ExperimentStatus, StoredExperiment,
    valid_score_name,
};
use super::{EXPERIMENT_PREFIX, MAX_EXPERIMENTS};
use crate::context::WaitUntil;
use crate::{ApiError, Caller, Gateway, json_response};

fn body<T: serde::de::DeserializeOwned>(req: &Request<Vec<u8>>) -> Result<T, ApiError> {
    serde_json::from_slice(req.body())
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid request body: {e}")))
}

fn unavailable(e: edge_ports::KvError) -> ApiError {
    ApiError::unavailable("store_unavailable", e.to_string())
}

async fn load(gw: &Gateway, key: &str) -> Result<StoredExperiment, ApiError> {
    let bytes = gw
        .inner
        .kv
        .get(&format!("{EXPERIMENT_PREFIX}{key}"))
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::not_found(format!("no experiment {key:?}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal("experiment", format!("stored experiment unreadable: {e}")))
}

/// Routes `/admin/experiments…` (`segs` after `/admin`).
pub(crate) async fn route(
    gw: &Gateway,
    req: &Request<Vec<u8>>,
    segs: &[&str],
    caller: &Caller,
) -> Result<Response<Body>, ApiError> {
    let by = caller.principal.subject.as_str();
    match (req.method(), segs) {
        (&Method::POST, ["experiments"]) => create(gw, req, by).await,
        (&Method::GET, ["experiments"]) => list(gw).await,
        (&Method::GET, ["experiments", key]) => show(gw, key).await,
        (&Method::POST, ["experiments", key, "stop"]) => stop(gw, req, key, by).await,
        (&Method::DELETE, ["experiments", key]) => delete(gw, key).await,
        _ => Err(ApiError::not_found(format!(
            "no admin route {} {}",
            req.method(),
            req.uri().path()
        ))),
    }
}

async fn create(
    gw: &Gateway,
    req: &Request<Vec<u8>>,
    by: &str,
) -> Result<Response<Body>, ApiError> {
    let spec: ExperimentSpec = body(req)?;
    spec.validate(&gw.inner.cfg, &gw.inner.models.names)
        .map_err(|m| ApiError::bad_request("invalid_experiment", m))?;
    let existing = list_experiments(gw.inner.kv.as_ref())
        .await
        .map_err(unavailable)?;
    let key = spec.experiment.key.clone();
    if existing.iter().any(|e| e.key() == key) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "experiment_exists",
            format!("experiment {key:?} exists; DELETE it first"),
        ));
    }
    if existing.len() >= MAX_EXPERIMENTS {
        return Err(ApiError::bad_request(
            "too_many_experiments",
            format!("at most {MAX_EXPERIMENTS} experiments; delete stopped ones"),
        ));
    }
    if let Some(other) = existing
        .iter()
        .find(|e| e.spec.feature == spec.feature && e.status == ExperimentStatus::Running)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "feature_busy",
            format!(
                "experiment {:?} already runs on feature {:?}",
                other.key(),
                spec.feature
            ),
        ));
    }
    let now = gw.inner.clock.now_ms();
    let mut exp = StoredExperiment {
        spec,
        status: ExperimentStatus::Running,
        created_ms: now,
        running: Default::default(),
        audit: Vec::new(),
    };
    exp.push_audit(AuditEntry {
        at_ms: now,
        by: by.to_owned(),
        action: "created".into(),
        report: ExperimentReport::default(),
    });
    gw.save_experiment(&exp).await.map_err(unavailable)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"created": key, "status": exp.status}),
    ))
}

async fn list(gw: &Gateway) -> Result<Response<Body>, ApiError> {
    let all = list_experiments(gw.inner.kv.as_ref())
        .await
        .map_err(unavailable)?;
    let items: Vec<_> = all
        .iter()
        .map(|e| {
            json!({
                "key": e.key(),
                "feature": e.spec.feature,
                "variants": e.variant_names(),
                "primary_metric": e.spec.experiment.primary_metric,
                "status": e.status,
                "created_ms": e.created_ms,
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"experiments": items}),
    ))
}

async fn show(gw: &Gateway, key: &str) -> Result<Response<Body>, ApiError> {
    let view = gw.experiment_view(key).await?;
    Ok(json_response(StatusCode::OK, &view))
}

impl Gateway {
    /// Every experiment with its per-arm report (the dashboard's panel);
    /// empty when the store cannot be read.
    pub async fn experiment_summaries(&self) -> Vec<serde_json::Value> {
        let Ok(all) = list_experiments(self.inner.kv.as_ref()).await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for exp in &all {
            let Ok((report, _, _)) = self.judge_experiment(exp).await else {
                continue;
            };
            let status = match &exp.status {
                ExperimentStatus::Running => "running".to_owned(),
                ExperimentStatus::Stopped { serving, reason } => {
                    format!("stopped ({reason}): serving {serving}")
                }
            };
            out.push(json!({"key": exp.key(), "status": status, "arms": report.arms}));
        }
        out
    }

    /// One experiment as `GET /admin/experiments/{key}` and `edgectl
    /// experiment report` show it: status, spec, the live per-arm report
    /// (counts, rates, intervals, SRM p-value, verdict) and the audit log.
    pub async fn experiment_view(&self, key: &str) -> Result<serde_json::Value, ApiError> {
        let exp = load(self, key).await?;
        let (report, _, _) = self.judge_experiment(&exp).await.map_err(unavailable)?;
        Ok(json!({
            "key": exp.key(),
            "feature": exp.spec.feature,
            "primary_metric": exp.spec.experiment.primary_metric,
            "status": exp.status,
            "spec": exp.spec,
            "report": report,
            "audit": exp.audit,
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopRequest {
    serve: String,
}

async fn stop(
    gw: &Gateway,
    req: &Request<Vec<u8>>,
    key: &str,
    by: &str,
) -> Result<Response<Body>, ApiError> {
    let ask: StopRequest = body(req)?;
    let mut exp = load(gw, key).await?;
    if !exp.variant_names().contains(&ask.serve.as_str()) {
        return Err(ApiError::bad_request(
            "unknown_variant",
            format!("{:?} is not a variant of {key:?}", ask.serve),
        ));
    }
    let (report, running, _) = gw.judge_experiment(&exp).await.map_err(unavailable)?;
    exp.running = running;
    exp.status = ExperimentStatus::Stopped {
        serving: ask.serve,
        reason: "manual".into(),
    };
    exp.push_audit(AuditEntry {
        at_ms: gw.inner.clock.now_ms(),
        by: by.to_owned(),
        action: "stopped".into(),
        report,
    });
    gw.save_experiment(&exp).await.map_err(unavailable)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"status": exp.status}),
    ))
}

async fn delete(gw: &Gateway, key: &str) -> Result<Response<Body>, ApiError> {
    load(gw, key).await?;
    gw.inner
        .kv
        .delete(&format!("{EXPERIMENT_PREFIX}{key}"))
        .await
        .map_err(unavailable)?;
    bump_version(gw).await.map_err(unavailable)?;
    Ok(json_response(StatusCode::OK, &json!({"deleted": key})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Feedback {
    name: String,
    score: f64,
}

/// `POST /v1/feedback`: a score (e.g. thumbs up = 1, down = 0) counted for
/// every arm the caller is in; the arms come from the caller's own
/// assignment (hashing is deterministic), never from the body.
pub(crate) async fn feedback(
    gw: &Gateway,
    req: &Request<Vec<u8>>,
    caller: &Caller,
    bg: &dyn WaitUntil,
) -> Result<Response<Body>, ApiError> {
    let f: Feedback = body(req)?;
    if !valid_score_name(&f.name) {
        return Err(ApiError::bad_request(
            "invalid_name",
            "`name` must be [a-z0-9_-]{1,32}",
        ));
    }
    if !(f.score.is_finite() && (-1e6..=1e6).contains(&f.score)) {
        return Err(ApiError::bad_request(
            "invalid_score",
            "`score` must be a number within ±1e6",
        ));
    }
    let now = gw.inner.clock.now_ms();
    let Choice { arms, .. } = &caller.choice;
    let mut due = false;
    for arm in arms {
        due |= gw.inner.arm_metrics.score(arm, &f.name, f.score, now);
    }
    if due {
        gw.flush_arm_metrics(bg);
    }
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({"recorded": arms.len()}),
    ))
}
