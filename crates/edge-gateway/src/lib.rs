//! edgeforge's platform-neutral request pipeline.
//!
//! An `http::Request`, a [`RequestContext`] (geo, client IP, request id) and
//! a [`WaitUntil`] hook go in; an `http::Response` comes out. The Worker
//! shells and the native host only convert their platform's types, build the
//! ports and call [`Gateway::handle`].
//!
//! Stages, in order, each timed into `Server-Timing`:
//!
//! | # | stage | failure |
//! |---|---|---|
//! | 0 | rejections guard: a network whose requests stages 1–5 keep refusing | 429 `too_many_rejections` |
//! | 1 | threat scan (path, query, selected headers, JSON strings), bounded per request | 403 `threat_detected` |
//! | 2 | bot check (a client holding a solved Turnstile challenge passes) | 403 `bot_blocked` / `bot_challenge` (a Turnstile page on `browser_paths`) |
//! | 3 | geo rules | 403 `geo_blocked`, `geo_challenge`, 451 `consent_required` |
//! | 4 | authentication (Bearer JWT, or the Access assertion header) | 401 `invalid_token`, 403 `invalid_access_token` |
//! | 5 | authorization (default deny) | 401 / 403 / 404 / 405 |
//! | 6 | rate limit (an in-isolate fallback when the store fails: never open) | 429 `rate_limited` + `Retry-After` |
//! | 6b | risk score (`[security.risk]`: log, challenge, block) | 403 `risk_challenge` / `risk_blocked` |
//! | 7 | traffic decision (canary, flags) | never fails: falls back to stable |
//! | 8–9 | cache, then the LLM router or the origin | 400 / 404 / 502 / 503 / 504 (OpenAI error JSON) |
//! | 10 | metrics and security events (like events folded per client and minute) | background, never fails the request |
//! | 11 | headers: `X-Request-Id`, `X-Cache-Status`, `RateLimit*`, `Server-Timing`, `X-Deployment`, `X-Variant` | — |
//!
//! ```
//! use edge_gateway::{CollectTasks, Gateway, GatewayConfig, GatewayPorts, RequestContext};
//!
//! # edge_ports::testing::block_on(async {
//! let config = GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).unwrap();
//! let mut ports = GatewayPorts::in_memory(1_700_000_000_000);
//! // Secrets are looked up by the names in the config.
//! ports.secrets = std::sync::Arc::new(std::collections::HashMap::from([(
//!     "JWT_HS256_SECRET".to_string(), "a-dev-secret-that-is-at-least-32-bytes".to_string())]));
//! let gateway = Gateway::new(config, ports, "1.2.3").unwrap();
//! let bg = CollectTasks::new();
//! let req = http::Request::get("/health").body(Vec::new()).unwrap();
//! let resp = gateway.handle(req, RequestContext::default(), &bg).await;
//! assert_eq!(resp.status(), 200);
//! assert!(resp.headers().contains_key("x-request-id"));
//! # });
//! ```

mod admin;
mod alerts;
mod bluegreen;
mod chat;
mod config;
mod context;
mod deploy_metrics;
mod error;
mod event_log;
mod experiments;
mod llm_limits;
mod models;
mod path;
mod ports;
mod routes;
mod security;
mod slo_tick;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

pub use config::{
    ActionBinding, ActionKind, ConfigError, Environment, ExperimentsSection, GatewayConfig,
    LlmLimits,
};
pub use context::{CollectTasks, RequestContext, Task, WaitUntil};
pub use deploy_metrics::{DeploymentCounts, DeploymentMetrics};
pub use error::ApiError;
pub use experiments::{ArmReport, AuditEntry, ExperimentReport, ExperimentStatus, ExperimentStep};
pub use ports::GatewayPorts;
pub use routes::ROUTES;
pub use slo_tick::{ALERT_STATE_KEY, DeploymentSlo, SloTick};

use edge_cache::EdgeCache;
use edge_ports::http::Body;
use edge_ports::{AnalyticsSink, Clock, KvStore, Random};
use http::{HeaderValue, Request, Response, StatusCode, header};
use llm_router::Router;
use traffic_split::canary::{CanaryState, KvCanaryStore};
use zt_security::events::EventLog;

use context::Scope;

/// A complete example config (the one `edgectl` and the e2e tests start from).
pub const EXAMPLE_CONFIG: &str = include_str!("../example-gateway.toml");

/// How long a rollout state or GrowthBook payload read from KV is reused.
const TRAFFIC_REFRESH_MS: u64 = 5_000;

pub(crate) type SharedKv = Arc<dyn KvStore>;
pub(crate) type SharedSink = Arc<dyn AnalyticsSink>;

pub(crate) struct Inner {
    pub(crate) cfg: GatewayConfig,
    pub(crate) version: String,
    pub(crate) kv: SharedKv,
    pub(crate) analytics: SharedSink,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn Random>,
    pub(crate) http: Arc<dyn edge_ports::HttpClient>,
    pub(crate) timer: Arc<dyn edge_ports::Timer>,
    pub(crate) secrets: Arc<dyn llm_router::Secrets>,
    pub(crate) security: security::Security,
    pub(crate) router: Router,
    pub(crate) cache: EdgeCache,
    pub(crate) events: EventLog<SharedKv, SharedSink>,
    pub(crate) canaries: KvCanaryStore<SharedKv>,
    pub(crate) deploy_metrics: DeploymentMetrics,
    /// `[security.encryption]`'s keyring: cached private completions and
    /// security-event details are sealed with it.
    pub(crate) keyring: Option<zt_security::envelope::Keyring>,
    /// `/v1/models`'s list, rendered once.
    pub(crate) models: models::ModelCatalog,
    /// The GrowthBook payload with experiments compiled in, per isolate.
    pub(crate) experiments: experiments::payload::PayloadCache,
    /// Exposures this isolate already reported.
    pub(crate) exposures: experiments::apply::ExposureDedup,
    /// Per-arm request metrics.
    pub(crate) arm_metrics: experiments::arms::ArmMetrics,
    /// Exposure data points.
    pub(crate) experiment_analytics: SharedSink,
    rollout: RefCell<Option<(u64, Option<CanaryState>)>>,
    seq: std::cell::Cell<u64>,
}

/// The request pipeline. Cheap to clone; not `Send` (one per isolate or
/// per thread).
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Rc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}

/// What the pipeline learned about the caller, passed to route handlers.
pub(crate) struct Caller {
    pub(crate) principal: zt_security::jwt::Principal,
    pub(crate) deployment: String,
    /// What flags and experiments decided.
    pub(crate) choice: experiments::apply::Choice,
}

impl Gateway {
    /// Builds the pipeline; fails with the field that is wrong.
    pub fn new(
        cfg: GatewayConfig,
        mut ports: GatewayPorts,
        version: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let security = security::Security::new(&cfg, &ports)?;
        let router = Router::new(cfg.router.clone(), ports.router_ports())
            .map_err(|e| ConfigError::at("router", e))?;
        let cache_kv = ports.cache_kv.clone().unwrap_or_else(|| ports.kv.clone());
        let cache = match ports.local_cache.clone() {
            Some(local) => EdgeCache::tiered(
                cfg.cache.clone(),
                local,
                cache_kv,
                ports.cache_analytics.clone(),
                ports.clock.clone(),
            ),
            None => EdgeCache::new(
                cfg.cache.clone(),
                cache_kv,
                ports.cache_analytics.clone(),
                ports.clock.clone(),
            ),
        }
        .map_err(|e| ConfigError::at("cache", e))?;
        let keyring = event_log::keyring(&cfg, &ports)?;
        let writer = format!("{:016x}", ports.random.next_u64().unwrap_or_default());
        let events = event_log::event_log(&cfg, &ports, &security, keyring.clone())?;
        Ok(Self {
            inner: Rc::new(Inner {
                version: version.into(),
                kv: ports.kv.clone(),
                analytics: ports.analytics.clone(),
                clock: ports.clock.clone(),
                random: ports.random.clone(),
                http: ports.http.clone(),
                timer: ports.timer.clone(),
                secrets: ports.secrets.clone(),
                canaries: KvCanaryStore::new(ports.kv.clone()),
                deploy_metrics: DeploymentMetrics::new(
                    ports.kv.clone(),
                    ports.clock.clone(),
                    writer.clone(),
                    cfg.traffic.metrics_flush_ms,
                ),
                experiments: Default::default(),
                exposures: Default::default(),
                arm_metrics: experiments::arms::ArmMetrics::new(
                    writer,
                    cfg.experiments.metrics_flush_ms,
                ),
                experiment_analytics: ports.experiment_analytics.clone(),
                security,
                models: models::ModelCatalog::new(&router),
                router,
                cache,
                events,
                keyring,
                cfg,
                rollout: RefCell::new(None),
                seq: std::cell::Cell::new(0),
            }),
        })
    }

    /// The LLM router (the prober and `/status` use it).
    pub fn router(&self) -> &Router {
        &self.inner.router
    }

    /// The config in use.
    pub fn config(&self) -> &GatewayConfig {
        &self.inner.cfg
    }

    /// Probes every provider and writes health records (the cron Worker
    /// and the native host's loop).
    pub async fn probe_providers(&self) -> Vec<llm_router::prober::HealthRecord> {
        self.inner.router.probe(self.inner.kv.as_ref()).await
    }

    /// The current rollout, if one is configured.
    pub async fn rollout_state(&self) -> Option<CanaryState> {
        self.rollout().await
    }

    /// Per-deployment metrics (the canary controller reads them).
    pub fn deployment_metrics(&self) -> &DeploymentMetrics {
        &self.inner.deploy_metrics
    }

    /// One canary-controller step for the configured rollout: judge the
    /// current stage on the canary's metrics, then hold, advance, complete
    /// or roll back, persisting the state and the audit entry. The cron
    /// Worker and the native host both call this.
    pub async fn canary_tick(
        &self,
    ) -> Result<traffic_split::canary::Decision, traffic_split::Error> {
        use traffic_split::canary::{CanaryState, CanaryStore, Decision};
        let Some(name) = self.inner.cfg.traffic.rollout.as_deref() else {
            // Nothing to judge: versions are rolled out by the canary
            // workflow, not declared in this config.
            return Ok(Decision::Hold(
                "no rollout is configured (traffic.rollout)".into(),
            ));
        };
        let cfg = &self.inner.cfg;
        // With gradual deployments the rollout is between two versions, and
        // each version labels its own metrics with its id.
        let pair = match (&cfg.traffic.gradual, &cfg.traffic.canary_deployment) {
            (Some(g), _) => Some((g.stable_version_id.as_str(), g.canary_version_id.as_str())),
            (None, Some(canary)) => Some((cfg.gateway.deployment.as_str(), canary.as_str())),
            (None, None) => None,
        };
        if let Some((stable, canary)) = pair
            && self.inner.canaries.load(name).await?.is_none()
        {
            let state = CanaryState::start(
                name,
                stable,
                canary,
                &cfg.traffic.canary,
                self.inner.clock.now_ms(),
            );
            self.inner.canaries.save(&state, 0).await?;
            self.forget_rollout();
            return Ok(Decision::Hold(format!(
                "started rollout {name}: {canary} at {}%",
                state.percent
            )));
        }
        let d = traffic_split::canary::tick(
            &self.inner.cfg.traffic.canary,
            name,
            &self.inner.canaries,
            &self.inner.deploy_metrics,
            self.inner.clock.now_ms(),
        )
        .await;
        self.forget_rollout();
        let d = d?;
        self.reconcile_gradual(name).await?;
        Ok(d)
    }

    /// Makes the live Cloudflare version split match the rollout (when
    /// `traffic.gradual` is set). Run after every step, so a failed API call
    /// is retried by the next one.
    async fn reconcile_gradual(&self, name: &str) -> Result<(), traffic_split::Error> {
        use traffic_split::canary::CanaryStore;
        let Some(g) = &self.inner.cfg.traffic.gradual else {
            return Ok(());
        };
        let Some(state) = self.inner.canaries.load(name).await? else {
            return Ok(());
        };
        let token = self.inner.secrets.get(&g.api_token_secret).ok_or_else(|| {
            traffic_split::Error::Config(format!("secret {:?} is not set", g.api_token_secret))
        })?;
        let api = traffic_split::gradual::GradualDeployments::new(
            Box::new(self.inner.http.clone()),
            &g.account_id,
            &g.script,
            &token,
        );
        let api_err =
            |e: traffic_split::gradual::GradualError| traffic_split::Error::Store(e.to_string());
        let live = api.current().await.map_err(api_err)?;
        if (live.percent_of(&g.canary_version_id) - state.percent).abs() < 0.01 {
            return Ok(());
        }
        let message = format!(
            "edgeforge rollout {name}: {:?} at {}%",
            state.status, state.percent
        );
        api.split(
            &g.stable_version_id,
            &g.canary_version_id,
            state.percent,
            &message,
        )
        .await
        .map_err(api_err)?;
        Ok(())
    }

    /// Handles one request. Never panics; every failure is a JSON error.
    pub async fn handle(
        &self,
        req: Request<Vec<u8>>,
        mut ctx: RequestContext,
        bg: &dyn WaitUntil,
    ) -> Response<Body> {
        let inner = &self.inner;
        let started = inner.clock.now_ms();
        if ctx.request_id.is_empty() {
            ctx.request_id = self.new_request_id();
        }
        if let Some(g) = &inner.cfg.gateway.geo_override {
            ctx.country = ctx.country.or_else(|| g.country.clone());
            ctx.continent = ctx.continent.or_else(|| g.continent.clone());
            ctx.colo = ctx.colo.or_else(|| g.colo.clone());
            ctx.region = ctx.region.or_else(|| g.region.clone());
            ctx.asn = ctx.asn.or(g.asn);
        }
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let route = routes::route_name(req.uri().path());
        let mut scope = Scope::new(&ctx, bg);

        let result = self.pipeline(req, &mut scope).await;
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        let status = resp.status().as_u16();
        let Scope {
            mut timings,
            headers: extra,
            arms,
            ..
        } = scope;
        timings.push("total", inner.clock.now_ms().saturating_sub(started));
        let h = resp.headers_mut();
        set(h, "x-request-id", &ctx.request_id);
        set(h, "server-timing", &timings.header());
        set(h, "x-content-type-options", "nosniff");
        set(h, "referrer-policy", "no-referrer");
        if ctx.https {
            set(
                h,
                "strict-transport-security",
                "max-age=31536000; includeSubDomains",
            );
        }
        if !h.contains_key("x-cache-status") {
            set(h, "x-cache-status", "BYPASS");
        }
        for (name, value) in extra {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.append(name, v);
            }
        }
        self.cors(h, origin.as_deref());
        self.record_request(route, resp.headers(), status, started, &ctx);
        self.record_deployment(route, resp.headers(), status, started, bg);
        self.record_arms(&arms, resp.headers(), status, started, bg);
        self.flush_event_summaries(bg);
        resp
    }

    fn record_deployment(
        &self,
        route: &'static str,
        h: &http::HeaderMap,
        status: u16,
        started: u64,
        bg: &dyn WaitUntil,
    ) {
        let inner = &self.inner;
        let deployment = h.get("x-deployment").and_then(|v| v.to_str().ok());
        let Some(dep) = deployment.filter(|_| matches!(route, "chat" | "templates" | "models"))
        else {
            return;
        };
        let now = inner.clock.now_ms();
        if inner
            .deploy_metrics
            .record(dep, status, now.saturating_sub(started), now)
        {
            let this = self.clone();
            bg.wait_until(Box::pin(async move {
                let now = this.inner.clock.now_ms();
                // A failed flush keeps the counts in memory for the next one.
                let _ = this.inner.deploy_metrics.flush(now).await;
            }));
        }
    }

    /// Runs the security stages (1–6) on `req` as if it asked for an admin
    /// route: hosts use it to guard pages they serve themselves (edgectl's
    /// dashboard) with exactly the admin routes' authentication. `Err` is
    /// the response to send.
    pub async fn admit_as_admin(
        &self,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
        bg: &dyn WaitUntil,
    ) -> Result<(), Response<Body>> {
        let mut probe = Request::new(Vec::new());
        *probe.method_mut() = http::Method::GET;
        *probe.uri_mut() = http::Uri::from_static("/admin/dashboard");
        *probe.headers_mut() = req.headers().clone();
        let mut scope = Scope::new(ctx, bg);
        let result = self.security_stages(&probe, &mut scope).await;
        self.flush_event_summaries(bg);
        result.map(|_| ()).map_err(ApiError::into_response)
    }

    fn new_request_id(&self) -> String {
        let n = self.inner.seq.get().wrapping_add(1);
        self.inner.seq.set(n);
        let r = self.inner.random.next_u64().unwrap_or(n);
        format!("{r:016x}")
    }

    fn cors(&self, h: &mut http::HeaderMap, origin: Option<&str>) {
        let allowed = &self.inner.cfg.gateway.cors_allowed_origins;
        if let Some(o) = origin.filter(|o| allowed.iter().any(|a| a == o || a == "*")) {
            set(h, "access-control-allow-origin", o);
            set(h, "vary", "Origin");
            set(
                h,
                "access-control-expose-headers",
                "x-request-id, x-cache-status, ratelimit, ratelimit-policy, retry-after, server-timing",
            );
        }
    }

    async fn pipeline(
        &self,
        req: Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<Response<Body>, ApiError> {
        let inner = &self.inner;
        let max = inner.cfg.gateway.max_body_bytes;
        if req.body().len() > max {
            return Err(ApiError::too_large(max));
        }
        if req.method() == http::Method::OPTIONS {
            return Ok(self.preflight(&req));
        }
        // /health is outside the security stages: load balancers and
        // deploy gates call it without credentials.
        if req.uri().path() == "/health" {
            return routes::health(self, &req);
        }
        // A solved Turnstile challenge: before the stages that challenged.
        if req.uri().path() == security::CHALLENGE_PATH && req.method() == http::Method::POST {
            return self.challenge_endpoint(&req, scope).await;
        }
        let caller = self.security_stages(&req, scope).await?;
        let t = inner.clock.now_ms();
        let resp = routes::dispatch(self, req, scope.ctx, &caller, scope.bg).await;
        scope
            .timings
            .push("handler", inner.clock.now_ms().saturating_sub(t));
        scope
            .headers
            .push(("x-deployment", caller.deployment.clone()));
        if let Some(v) = caller.choice.variant_label() {
            scope.headers.push(("x-variant", v));
        }
        scope.headers.extend(caller.choice.headers());
        scope.arms = caller.choice.arms;
        resp
    }

    fn preflight(&self, req: &Request<Vec<u8>>) -> Response<Body> {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        let allowed = &self.inner.cfg.gateway.cors_allowed_origins;
        if origin.is_some_and(|o| allowed.iter().any(|a| a == o || a == "*")) {
            let h = resp.headers_mut();
            set(
                h,
                "access-control-allow-methods",
                "GET, POST, PUT, DELETE, OPTIONS",
            );
            set(
                h,
                "access-control-allow-headers",
                "authorization, content-type, cf-access-jwt-assertion, x-edge-cache",
            );
            set(h, "access-control-max-age", "600");
        }
        resp
    }

    /// The rollout that routes traffic, re-read from KV every few seconds.
    pub(crate) async fn rollout(&self) -> Option<CanaryState> {
        use traffic_split::canary::CanaryStore;
        let name = self.inner.cfg.traffic.rollout.as_ref()?;
        let now = self.inner.clock.now_ms();
        if let Some((at, state)) = &*self.inner.rollout.borrow()
            && now.saturating_sub(*at) < TRAFFIC_REFRESH_MS
        {
            return state.clone();
        }
        let state = self.inner.canaries.load(name).await.ok().flatten();
        *self.inner.rollout.borrow_mut() = Some((now, state.clone()));
        state
    }

    /// Forgets the cached rollout (after an admin change in this isolate).
    pub(crate) fn forget_rollout(&self) {
        *self.inner.rollout.borrow_mut() = None;
    }

    fn record_request(
        &self,
        route: &'static str,
        h: &http::HeaderMap,
        status: u16,
        started: u64,
        ctx: &RequestContext,
    ) {
        let get = |n: &str| {
            h.get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let spend = Spend::of(h);
        let point = slo_metrics::schema::RequestPoint {
            route: route.to_owned(),
            status,
            colo: ctx.colo.clone().unwrap_or_default(),
            country: ctx.country.clone().unwrap_or_default(),
            cache: get("x-cache-status"),
            provider: get("x-edge-provider"),
            model: get("x-edge-model"),
            tier: String::new(),
            variant: get("x-variant"),
            deployment: get("x-deployment"),
            response_ms: self.inner.clock.now_ms().saturating_sub(started) as f64,
            cpu_ms: 0.0,
            tokens_in: spend.tokens_in,
            tokens_out: spend.tokens_out,
            cost_usd: spend.cost_usd,
        };
        // Analytics never fails a request; the sink validates and counts.
        let _ = self.inner.analytics.write(point.to_data_point());
    }
}

/// What an LLM answer cost, as the handlers report it in `x-edge-usage`
/// (`prompt,completion` tokens) and `x-edge-cost-usd` (0 when absent).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spend {
    pub(crate) tokens_in: f64,
    pub(crate) tokens_out: f64,
    pub(crate) cost_usd: f64,
}

impl Spend {
    pub(crate) fn of(h: &http::HeaderMap) -> Self {
        let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let (tokens_in, tokens_out) = header("x-edge-usage")
            .split_once(',')
            .map(|(a, b)| (a.parse().unwrap_or(0.0), b.parse().unwrap_or(0.0)))
            .unwrap_or((0.0, 0.0));
        Self {
            tokens_in,
            tokens_out,
            cost_usd: header("x-edge-cost-usd").parse().unwrap_or(0.0),
        }
    }
}

pub(crate) fn set(h: &mut http::HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string().into_bytes()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
