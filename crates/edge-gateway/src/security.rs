//! Stages 1–7: threat scan, bot check, geo, authentication, authorization,
//! rate limit and the traffic decision.

use std::sync::Arc;

use http::{Request, StatusCode};
use serde_json::{Value, json};
use traffic_split::decision::RoutingDecision;
use zt_security::authz::{DenyReason, Policy};
use zt_security::bot::{BotAction, BotConfig, BotRequest, RouteClass, score_bot};
use zt_security::events::{EventKind, EventSeverity, SecurityEvent};
use zt_security::geo::{ConsentKey, GeoPolicy, GeoRequest, GeoVerdict};
use zt_security::jwt::{
    AccessConfig, AccessValidator, JwksCache, JwksConfig, JwksVerifier, JwtConfig, JwtError,
    Principal, VerificationKey, Verifier,
};
use zt_security::ratelimit::{RateLimitStore, RateLimitTable, anonymous_key_salted, user_key};
use zt_security::threat::{ThreatConfig, ThreatScanner, scan_request};

use crate::config::{ConfigError, GatewayConfig};
use crate::context::{RequestContext, Timings, WaitUntil};
use crate::{ApiError, Caller, Gateway, GatewayPorts};

/// The header Cloudflare Access puts its assertion in.
pub(crate) const ACCESS_HEADER: &str = "cf-access-jwt-assertion";
/// Where clients present a signed consent token.
pub(crate) const CONSENT_HEADER: &str = "x-edge-consent";

pub(crate) struct Security {
    scanner: ThreatScanner,
    threat_enabled: bool,
    scan_json: bool,
    bot: BotConfig,
    geo: GeoPolicy,
    hs: Option<Verifier>,
    jwks: Option<JwksVerifier>,
    access: Option<AccessValidator>,
    policy: Policy,
    table: RateLimitTable,
    store: Arc<dyn RateLimitStore>,
    salt: Vec<u8>,
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
        let scanner = ThreatScanner::new(ThreatConfig {
            paranoia: s.threat.paranoia,
            threshold: s.threat.threshold,
            ..ThreatConfig::default()
        });
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
        let key = ConsentKey::new(&consent_key)
            .map_err(|e| ConfigError::at("security.consent_secret", e))?;
        let geo =
            GeoPolicy::new(s.geo.clone(), key).map_err(|e| ConfigError::at("security.geo", e))?;
        let (mut hs, mut jwks) = (None, None);
        if let Some(j) = &s.jwt {
            let mut jc = JwtConfig::new([j.issuer.clone()], [j.audience.clone()]);
            jc.leeway_secs = j.leeway_secs;
            if let Some(name) = &j.hs256_secret {
                let bytes = secret(ports, "security.jwt.hs256_secret", name)?;
                let key = VerificationKey::hmac(None, &bytes, &[jsonwebtoken::Algorithm::HS256])
                    .map_err(|e| ConfigError::at("security.jwt.hs256_secret", e))?;
                hs = Some(
                    Verifier::new(jc.clone(), vec![key])
                        .map_err(|e| ConfigError::at("security.jwt", e))?,
                );
            }
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
        }
        let access = match &s.access {
            Some(a) => Some(
                AccessValidator::new(
                    AccessConfig::new(a.team.clone(), a.aud.clone()),
                    ports.http.clone(),
                    Some(ports.kv.clone()),
                    ports.clock.clone(),
                )
                .map_err(|e| ConfigError::at("security.access", e))?,
            ),
            None => None,
        };
        let salt = match &s.anonymous_salt_secret {
            Some(name) => secret(ports, "security.anonymous_salt_secret", name)?,
            None => Vec::new(),
        };
        Ok(Self {
            scanner,
            threat_enabled: s.threat.enabled,
            scan_json: s.threat.scan_json_body,
            bot: s.bot.clone(),
            geo,
            hs,
            jwks,
            access,
            policy: Policy::new(s.policy.clone())
                .map_err(|e| ConfigError::at("security.policy", e))?,
            table: RateLimitTable::new(s.rate_limits.clone())
                .map_err(|e| ConfigError::at("security.rate_limits", e))?,
            store: ports.rate_limits.clone(),
            salt,
        })
    }
}

fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn is_json<B>(req: &Request<B>) -> bool {
    header(req, "content-type").is_some_and(|c| c.to_ascii_lowercase().contains("json"))
}

impl Gateway {
    fn base_event(
        &self,
        kind: EventKind,
        sev: EventSeverity,
        reason: String,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
    ) -> SecurityEvent {
        let mut ev = SecurityEvent::new(kind, sev, reason)
            .request_id(ctx.request_id.clone())
            .route(req.uri().path().to_owned());
        if let Some(ip) = &ctx.client_ip {
            ev = ev.client_ip(ip.clone());
        }
        if let Some(c) = &ctx.country {
            ev = ev.country(c.clone());
        }
        ev
    }

    pub(crate) async fn security_stages(
        &self,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
        bg: &dyn WaitUntil,
        timings: &mut Timings,
        extra: &mut Vec<(&'static str, String)>,
    ) -> Result<Caller, ApiError> {
        let sec = &self.inner.security;
        let clock = &self.inner.clock;
        let path = req.uri().path();

        // 1. Threat scan.
        let t = clock.now_ms();
        if sec.threat_enabled {
            let json: Option<Value> = (sec.scan_json && is_json(req) && !req.body().is_empty())
                .then(|| serde_json::from_slice(req.body()).ok())
                .flatten();
            let verdict = scan_request(&sec.scanner, req.uri(), req.headers(), json.as_ref());
            if verdict.blocked {
                let locations: Vec<String> = verdict
                    .findings
                    .iter()
                    .map(|f| {
                        let rules: Vec<&str> = f.rules.iter().map(|r| r.id).collect();
                        format!("{} ({})", f.location, rules.join(", "))
                    })
                    .collect();
                let why = format!("blocked by the threat scanner: {}", locations.join("; "));
                let details = json!({"score": verdict.score, "inputs": locations});
                let ev = self
                    .base_event(
                        EventKind::ThreatBlocked,
                        EventSeverity::High,
                        why.clone(),
                        req,
                        ctx,
                    )
                    .details(details);
                self.security_event(bg, ev);
                timings.push("threat", clock.now_ms().saturating_sub(t));
                return Err(ApiError::forbidden("threat_detected", why));
            }
        }
        timings.push("threat", clock.now_ms().saturating_sub(t));

        // 2. Bot check.
        let t = clock.now_ms();
        let bot = score_bot(
            &sec.bot,
            &BotRequest {
                route: RouteClass::Api,
                user_agent: header(req, "user-agent"),
                accept_language: header(req, "accept-language"),
                accept_encoding: header(req, "accept-encoding"),
                sec_ch_ua: header(req, "sec-ch-ua"),
                platform: ctx.bot_management.as_ref(),
            },
        );
        timings.push("bot", clock.now_ms().saturating_sub(t));
        match bot.action {
            BotAction::Block | BotAction::Challenge => {
                let (code, sev) = if bot.action == BotAction::Block {
                    ("bot_blocked", EventSeverity::High)
                } else {
                    ("bot_challenge", EventSeverity::Medium)
                };
                let why = format!(
                    "automated client (bot score {}: {})",
                    bot.score,
                    bot.reasons.join(", ")
                );
                self.security_event(
                    bg,
                    self.base_event(EventKind::BotBlocked, sev, why.clone(), req, ctx),
                );
                return Err(ApiError::forbidden(code, why));
            }
            BotAction::Allow | BotAction::AllowRateLimited => {}
        }

        // 3. Geo rules (consent is re-checked once the user is known).
        let t = clock.now_ms();
        let now_secs = clock.now_secs();
        let consent = header(req, CONSENT_HEADER);
        let mut geo_req = GeoRequest {
            path,
            country: ctx.country.as_deref(),
            region: ctx.region.as_deref(),
            asn: ctx.asn,
            user_id: None,
            consent,
        };
        let verdict = sec.geo.evaluate(&geo_req, now_secs);
        timings.push("geo", clock.now_ms().saturating_sub(t));
        let consent_pending = matches!(verdict, GeoVerdict::RequireConsent(_));
        if !consent_pending {
            self.geo_verdict(verdict, req, ctx, bg)?;
        }

        // 4. Authentication.
        let t = clock.now_ms();
        let principal = self.authenticate(req, ctx, bg).await;
        timings.push("auth", clock.now_ms().saturating_sub(t));
        let principal = principal?;
        if consent_pending {
            geo_req.user_id = Some(principal.subject.as_str()).filter(|s| !s.is_empty());
            self.geo_verdict(sec.geo.evaluate(&geo_req, now_secs), req, ctx, bg)?;
        }

        // 5. Authorization (default deny).
        let t = clock.now_ms();
        let authz = sec
            .policy
            .authorize(req.method().as_str(), path, &principal);
        timings.push("authz", clock.now_ms().saturating_sub(t));
        if let Err(deny) = authz {
            return Err(self.deny(deny, &principal, req, ctx, bg));
        }

        // 6. Rate limit.
        let t = clock.now_ms();
        let rate_key = if bot.action == BotAction::AllowRateLimited {
            "bot:verified".to_owned()
        } else if principal.is_authenticated() {
            user_key(&principal.subject)
        } else {
            anonymous_key_salted(
                &sec.salt,
                ctx.client_ip.as_deref().unwrap_or(""),
                header(req, "user-agent").unwrap_or(""),
            )
        };
        let category = self.category(path);
        let limited = self
            .rate_limit(&principal, &rate_key, category, req, ctx, bg, extra)
            .await;
        timings.push("ratelimit", clock.now_ms().saturating_sub(t));
        limited?;

        // 7. Traffic decision.
        let t = clock.now_ms();
        let rollout = self.rollout().await;
        let unit = if principal.is_authenticated() {
            principal.subject.clone()
        } else {
            rate_key.clone()
        };
        let attrs = json!({"id": unit, "country": ctx.country, "tier": principal.tier.as_str()});
        let decision = RoutingDecision::decide(
            &self.inner.cfg.gateway.deployment,
            rollout.as_ref(),
            &[],
            &attrs,
            clock.now_ms(),
            None,
        );
        timings.push("traffic", clock.now_ms().saturating_sub(t));
        let variant = decision
            .variants
            .first()
            .map(|a| format!("{}={}", a.experiment, a.variant));
        Ok(Caller {
            principal,
            deployment: decision.deployment,
            variant,
        })
    }

    fn category(&self, path: &str) -> &str {
        let c = &self.inner.cfg.gateway.categories;
        if path == "/admin" || path.starts_with("/admin/") {
            &c.admin
        } else if path == "/v1/chat/completions" {
            &c.chat
        } else {
            &c.read
        }
    }

    fn geo_verdict(
        &self,
        verdict: GeoVerdict,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
        bg: &dyn WaitUntil,
    ) -> Result<(), ApiError> {
        use zt_security::geo::BlockReason;
        let err = match verdict {
            GeoVerdict::Allow => return Ok(()),
            GeoVerdict::Block(reason) => {
                let legal = matches!(
                    reason,
                    BlockReason::CountryBlocked(_)
                        | BlockReason::CountryNotAllowed(_)
                        | BlockReason::RegionNotAllowed
                );
                let msg = format!("not available from this location ({reason:?})");
                if legal {
                    ApiError::new(
                        StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                        "permission_error",
                        "geo_blocked",
                        msg,
                    )
                } else {
                    ApiError::forbidden("geo_blocked", msg)
                }
            }
            GeoVerdict::Challenge => ApiError::forbidden(
                "geo_challenge",
                "requests from this network must pass a challenge; API clients cannot",
            ),
            GeoVerdict::RequireConsent(e) => {
                let ev = self.base_event(
                    EventKind::ConsentInvalid,
                    EventSeverity::Low,
                    format!("consent required: {e}"),
                    req,
                    ctx,
                );
                self.security_event(bg, ev);
                return Err(ApiError::new(
                    StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                    "permission_error",
                    "consent_required",
                    format!(
                        "consent is required in this region ({e}); send a signed token in {CONSENT_HEADER}"
                    ),
                ));
            }
        };
        let ev = self.base_event(
            EventKind::GeoBlocked,
            EventSeverity::Low,
            err.code().into(),
            req,
            ctx,
        );
        self.security_event(bg, ev);
        Err(err)
    }

    async fn authenticate(
        &self,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
        bg: &dyn WaitUntil,
    ) -> Result<Principal, ApiError> {
        let sec = &self.inner.security;
        if let Some(assertion) = header(req, ACCESS_HEADER) {
            let Some(access) = &sec.access else {
                return Err(ApiError::forbidden(
                    "access_not_configured",
                    "Cloudflare Access is not configured for this gateway",
                ));
            };
            return match access.validate(assertion).await {
                Ok(p) => Ok(p),
                Err(JwtError::Jwks(e)) => Err(ApiError::unavailable(
                    "jwks_unavailable",
                    format!("cannot fetch Access keys: {e}"),
                )),
                Err(e) => {
                    let why = format!("invalid Access token: {e}");
                    self.security_event(
                        bg,
                        self.base_event(
                            EventKind::AuthFailure,
                            EventSeverity::Medium,
                            why.clone(),
                            req,
                            ctx,
                        ),
                    );
                    Err(ApiError::forbidden("invalid_access_token", why))
                }
            };
        }
        let Some(auth) = header(req, "authorization") else {
            return Ok(Principal::anonymous());
        };
        let token = match auth.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
                t.trim()
            }
            _ => {
                return Err(ApiError::unauthorized(
                    "invalid_token",
                    "Authorization must be `Bearer <token>`",
                ));
            }
        };
        let is_hs = zt_security::jwt::parse_header(token, zt_security::jwt::MAX_TOKEN_BYTES)
            .is_ok_and(|h| format!("{:?}", h.alg).starts_with("HS"));
        let result = match (&sec.hs, &sec.jwks) {
            (Some(v), _) if is_hs => v.verify(token, self.inner.clock.now_secs()),
            (_, Some(j)) => j.verify(token).await,
            (Some(v), None) => v.verify(token, self.inner.clock.now_secs()),
            (None, None) => Err(JwtError::Config("no JWT issuer is configured".into())),
        };
        match result {
            Ok(p) => Ok(p),
            Err(JwtError::Jwks(e)) => Err(ApiError::unavailable(
                "jwks_unavailable",
                format!("cannot fetch signing keys: {e}"),
            )),
            Err(e) => {
                let why = format!("invalid bearer token: {e}");
                self.security_event(
                    bg,
                    self.base_event(
                        EventKind::AuthFailure,
                        EventSeverity::Medium,
                        why.clone(),
                        req,
                        ctx,
                    ),
                );
                Err(ApiError::unauthorized("invalid_token", why))
            }
        }
    }

    fn deny(
        &self,
        deny: DenyReason,
        principal: &Principal,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
        bg: &dyn WaitUntil,
    ) -> ApiError {
        let path = req.uri().path();
        let err = match &deny {
            DenyReason::NoRoute => return ApiError::not_found(format!("no route for {path}")),
            DenyReason::MethodNotAllowed => {
                return ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "invalid_request_error",
                    "method_not_allowed",
                    format!("{} is not allowed on {path}", req.method()),
                );
            }
            DenyReason::MalformedPath => ApiError::bad_request(
                "malformed_path",
                "the path has empty, dot or encoded-slash segments",
            ),
            DenyReason::AuthenticationRequired => {
                ApiError::unauthorized("authentication_required", "this route needs a bearer token")
            }
            DenyReason::AccessRequired => ApiError::forbidden(
                "access_required",
                format!("{path} requires a Cloudflare Access token ({ACCESS_HEADER})"),
            ),
            other => ApiError::forbidden("forbidden", format!("not allowed: {other:?}")),
        };
        let mut ev = self.base_event(
            EventKind::AccessDenied,
            EventSeverity::Low,
            err.code().into(),
            req,
            ctx,
        );
        if principal.is_authenticated() {
            ev = ev.subject(principal.subject.clone());
        }
        self.security_event(bg, ev);
        err
    }

    #[allow(clippy::too_many_arguments)]
    async fn rate_limit(
        &self,
        principal: &Principal,
        rate_key: &str,
        category: &str,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
        bg: &dyn WaitUntil,
        extra: &mut Vec<(&'static str, String)>,
    ) -> Result<(), ApiError> {
        let sec = &self.inner.security;
        let Some(quota) = sec.table.quota(principal.tier, category) else {
            // Validated at start: every tier × category has a cell.
            return Err(ApiError::internal(
                "rate_limit_config",
                format!("no quota for {category}"),
            ));
        };
        let key = format!("{category}:{rate_key}");
        match sec.store.decide(&key, &quota, 1).await {
            Ok(d) => {
                extra.extend(zt_security::ratelimit::headers(category, &quota, &d));
                if d.allowed {
                    return Ok(());
                }
                let mut ev = self.base_event(
                    EventKind::RateLimited,
                    EventSeverity::Low,
                    format!("{category} quota exhausted"),
                    req,
                    ctx,
                );
                if principal.is_authenticated() {
                    ev = ev.subject(principal.subject.clone());
                }
                self.security_event(bg, ev);
                let secs = d.retry_after_ms.div_ceil(1000).max(1);
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    "rate_limited",
                    format!(
                        "rate limit for {category} exceeded ({} per {} s); retry in {secs} s",
                        quota.limit, quota.window_secs
                    ),
                ))
            }
            Err(e) => {
                // Fail open: the limiter's store is down, the request is
                // served and the outage is recorded (see README: rate limits).
                let ev = self.base_event(
                    EventKind::RateLimited,
                    EventSeverity::Medium,
                    format!("rate limiter unavailable, failing open: {e}"),
                    req,
                    ctx,
                );
                self.security_event(bg, ev);
                Ok(())
            }
        }
    }
}
