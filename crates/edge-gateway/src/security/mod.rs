//! Stages 1–7: threat scan, bot check, geo, authentication, authorization,
//! rate limit and the traffic decision.
//!
//! A client whose requests keep being refused by the stages (bad tokens,
//! attacks, unknown routes) spends a per-network "rejections" quota; once it
//! is gone, every request from that network gets 429 before any stage runs,
//! so a flood of rejected requests costs a hash lookup, not a scan, a token
//! check and a security-event write each.

mod challenge;
mod identity;
mod limits;
mod prompt;
mod risk;
mod screening;
mod threat;

pub(crate) use challenge::CHALLENGE_PATH;

use std::cell::Cell;
use std::sync::Arc;

use http::Request;
use zt_security::authz::Policy;
use zt_security::bot::BotConfig;
use zt_security::events::EventSampler;
use zt_security::geo::{ConsentKey, GeoPolicy};
use zt_security::jwt::{
    AccessConfig, AccessValidator, JwksCache, JwksConfig, JwksVerifier, JwtConfig, VerificationKey,
    Verifier,
};
use zt_security::ratelimit::{MemoryStore, Quota, RateLimitStore, RateLimitTable};

use crate::config::{ConfigError, GatewayConfig};
use crate::context::Scope;
use crate::{ApiError, Caller, Gateway, GatewayPorts};

/// Distinct clients whose security events are folded per minute (see
/// `zt_security::events::EventSampler`).
const SAMPLED_CLIENTS: usize = 512;

pub(crate) struct Security {
    threat: threat::ThreatStage,
    bot: BotConfig,
    geo: GeoPolicy,
    hs: Option<Verifier>,
    jwks: Option<JwksVerifier>,
    access: Option<AccessValidator>,
    policy: Policy,
    table: RateLimitTable,
    store: Arc<dyn RateLimitStore>,
    /// Decides with the same quotas when `store` fails (never no limit).
    fallback: MemoryStore,
    fallback_decisions: Cell<u64>,
    /// Refused requests per client network, in this isolate.
    rejections: MemoryStore,
    rejection_quota: Quota,
    salt: Vec<u8>,
    pub(crate) sampler: EventSampler,
    prompt_guard: edge_waf::prompt::PromptGuard,
}

fn secret(ports: &GatewayPorts, field: &str, name: &str) -> Result<Vec<u8>, ConfigError> {
    ports
        .secrets
        .get(name)
        .filter(|s| !s.is_empty())
        .map(String::into_bytes)
        .ok_or_else(|| ConfigError::at(field, format!("secret {name:?} is not set")))
}

impl Security {
    pub(crate) fn new(cfg: &GatewayConfig, ports: &GatewayPorts) -> Result<Self, ConfigError> {
        let s = &cfg.security;
        let (hs, jwks) = jwt_verifiers(cfg, ports)?;
        let salt = match &s.anonymous_salt_secret {
            Some(name) => secret(ports, "security.anonymous_salt_secret", name)?,
            // Only in `environment = "dev"` (validated).
            None => Vec::new(),
        };
        Ok(Self {
            threat: threat::ThreatStage::new(&s.threat),
            bot: s.bot.clone(),
            geo: geo_policy(cfg, ports)?,
            hs,
            jwks,
            access: access_validator(cfg, ports)?,
            policy: Policy::new(s.policy.clone())
                .map_err(|e| ConfigError::at("security.policy", e))?,
            table: RateLimitTable::new(s.rate_limits.clone())
                .map_err(|e| ConfigError::at("security.rate_limits", e))?,
            store: ports.rate_limits.clone(),
            fallback: MemoryStore::new(ports.clock.clone()),
            fallback_decisions: Cell::new(0),
            rejections: MemoryStore::new(ports.clock.clone()),
            rejection_quota: s.rejections,
            salt,
            sampler: EventSampler::new(SAMPLED_CLIENTS),
            prompt_guard: edge_waf::prompt::PromptGuard::default(),
        })
    }

    /// Decisions taken by the in-isolate fallback limiter because the
    /// rate-limit store failed.
    pub(crate) fn fallback_decisions(&self) -> u64 {
        self.fallback_decisions.get()
    }

    /// The anonymous salt (`None` in dev without one).
    pub(crate) fn salt(&self) -> Option<&[u8]> {
        Some(self.salt.as_slice()).filter(|s| !s.is_empty())
    }

    /// A stable pseudonym for `subject` (traces never carry the raw id).
    pub(crate) fn pseudonym(&self, subject: &str) -> String {
        format!(
            "u-{}",
            zt_security::classify::pseudonym(&self.salt, subject)
        )
    }
}

fn geo_policy(cfg: &GatewayConfig, ports: &GatewayPorts) -> Result<GeoPolicy, ConfigError> {
    let s = &cfg.security;
    let consent_key = match &s.consent_secret {
        Some(name) => secret(ports, "security.consent_secret", name)?,
        None => {
            // No rule needs consent (validated): an ephemeral key.
            let mut k = vec![0u8; 32];
            ports
                .random
                .fill(&mut k)
                .map_err(|e| ConfigError::at("security.consent_secret", e))?;
            k
        }
    };
    let key =
        ConsentKey::new(&consent_key).map_err(|e| ConfigError::at("security.consent_secret", e))?;
    GeoPolicy::new(s.geo.clone(), key).map_err(|e| ConfigError::at("security.geo", e))
}

fn jwt_verifiers(
    cfg: &GatewayConfig,
    ports: &GatewayPorts,
) -> Result<(Option<Verifier>, Option<JwksVerifier>), ConfigError> {
    let Some(j) = &cfg.security.jwt else {
        return Ok((None, None));
    };
    let mut jc = JwtConfig::new([j.issuer.clone()], [j.audience.clone()]);
    jc.leeway_secs = j.leeway_secs;
    let mut hs = None;
    if let Some(name) = &j.hs256_secret {
        let bytes = secret(ports, "security.jwt.hs256_secret", name)?;
        let key = VerificationKey::hmac(None, &bytes, &[jsonwebtoken::Algorithm::HS256])
            .map_err(|e| ConfigError::at("security.jwt.hs256_secret", e))?;
        hs = Some(
            Verifier::new(jc.clone(), vec![key]).map_err(|e| ConfigError::at("security.jwt", e))?,
        );
    }
    let mut jwks = None;
    if let Some(url) = &j.jwks_url {
        let mut kc = JwksConfig::new(url.clone());
        kc.algorithms = vec![
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::Algorithm::ES256,
        ];
        let cache = JwksCache::new(
            kc,
            ports.http.clone(),
            Some(ports.kv.clone()),
            ports.clock.clone(),
        );
        jwks = Some(
            JwksVerifier::new(jc, cache, ports.clock.clone())
                .map_err(|e| ConfigError::at("security.jwt", e))?,
        );
    }
    Ok((hs, jwks))
}

fn access_validator(
    cfg: &GatewayConfig,
    ports: &GatewayPorts,
) -> Result<Option<AccessValidator>, ConfigError> {
    let Some(a) = &cfg.security.access else {
        return Ok(None);
    };
    AccessValidator::new(
        AccessConfig::new(a.team.clone(), a.aud.clone()),
        ports.http.clone(),
        Some(ports.kv.clone()),
        ports.clock.clone(),
    )
    .map(Some)
    .map_err(|e| ConfigError::at("security.access", e))
}

pub(crate) fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

impl Gateway {
    /// Stages 1–7. A refusal by stages 1–5 spends the client's rejections
    /// quota; with it spent, the client is refused before stage 1.
    pub(crate) async fn security_stages(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<Caller, ApiError> {
        let network = self.client_network_key(scope);
        if let Some(network) = &network {
            self.rejection_guard(network, req, scope)?;
        }
        scope.signals.cleared = self.cleared(req, scope);
        let result = self.checked_stages(req, scope, network.as_deref()).await;
        if let (Err(e), Some(network)) = (&result, &network)
            && counts_as_rejection(e)
        {
            self.spend_rejection(network);
        }
        result
    }

    /// `POST /__edgeforge/challenge`, behind the rejections guard (each
    /// failed attempt spends the network's quota, so it cannot be used to
    /// make the gateway call siteverify without bound).
    pub(crate) async fn challenge_endpoint(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<http::Response<edge_ports::http::Body>, ApiError> {
        let network = self.client_network_key(scope);
        if let Some(network) = &network {
            self.rejection_guard(network, req, scope)?;
        }
        let result = self.solve_challenge(req, scope.ctx).await;
        if let (Err(_), Some(network)) = (&result, &network) {
            self.spend_rejection(network);
        }
        result
    }

    async fn checked_stages(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
        network: Option<&str>,
    ) -> Result<Caller, ApiError> {
        let clock = &self.inner.clock;
        self.threat_stage(req, scope)?;
        let bot = self.bot_stage(req, scope)?;
        let consent_pending = self.geo_stage(req, scope)?;

        let t = clock.now_ms();
        let principal = self.authenticate(req, scope).await;
        scope.timings.push("auth", clock.now_ms().saturating_sub(t));
        let principal = principal?;
        if consent_pending {
            self.consent_stage(req, scope, &principal)?;
        }
        self.authorize(req, scope, &principal)?;
        if let Some(route) = crate::routes::llm_route(req.uri().path()) {
            self.prompt_stage(req, scope, route)?;
        }

        let t = clock.now_ms();
        let rate_key = self.rate_key(&principal, &bot, scope);
        let limited = self.rate_limit(&principal, &rate_key, req, scope).await;
        scope
            .timings
            .push("ratelimit", clock.now_ms().saturating_sub(t));
        limited?;
        self.risk_stage(req, scope, &principal, network)?;

        let t = clock.now_ms();
        let caller = self.traffic_decision(req, principal, rate_key, scope).await;
        scope
            .timings
            .push("traffic", clock.now_ms().saturating_sub(t));
        Ok(caller)
    }

    /// Stage 7: the deployment (rollout) and experiment variants.
    async fn traffic_decision(
        &self,
        req: &Request<Vec<u8>>,
        principal: zt_security::jwt::Principal,
        rate_key: String,
        scope: &Scope<'_>,
    ) -> Caller {
        let rollout = self.rollout().await;
        let unit = if principal.is_authenticated() {
            principal.subject.clone()
        } else {
            rate_key
        };
        // Versions split by the platform (a gradual deployment): the
        // version that served the request is its deployment, whatever a
        // hash of the user would say. Otherwise a rollout routes by the
        // user's sticky bucket.
        let cfg = &self.inner.cfg;
        let deployment = match (&cfg.gateway.version_id, &cfg.traffic.gradual, &rollout) {
            (Some(version), Some(_), _) => version.clone(),
            (_, _, Some(r)) if !unit.is_empty() => r.route(&unit).to_owned(),
            (_, _, Some(r)) => r.stable.clone(),
            _ => cfg.gateway.deployment.clone(),
        };
        // Flags and experiments act on what they vary: LLM calls, prompt
        // templates, and feedback on them.
        let route = match crate::routes::route_name(req.uri().path()) {
            "feedback" => Some("chat"),
            r @ ("chat" | "templates") => Some(r),
            _ => None,
        };
        let choice = match route {
            Some(route) => {
                let who = crate::experiments::apply::Subject {
                    unit: &unit,
                    tier: principal.tier.as_str(),
                    route,
                    deployment: &deployment,
                };
                self.choose(req, &who, scope).await
            }
            None => Default::default(),
        };
        Caller {
            principal,
            deployment,
            choice,
        }
    }
}

/// Refusals that spend the rejections quota: the client sent something the
/// stages turned down (not a limit it already hit, not our own failure).
fn counts_as_rejection(e: &ApiError) -> bool {
    matches!(e.status().as_u16(), 400 | 401 | 403 | 404 | 405 | 451)
}
