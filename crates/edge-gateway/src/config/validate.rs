//! Semantic checks of a parsed config, with errors that name the field.

use super::{ConfigError, Environment, GatewayConfig};

impl GatewayConfig {
    /// Semantic checks of every section.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.gateway.max_body_bytes == 0 || self.gateway.max_body_bytes > 100 << 20 {
            return Err(ConfigError::at(
                "gateway.max_body_bytes",
                "must be between 1 byte and 100 MiB",
            ));
        }
        if self.gateway.deployment.is_empty() {
            return Err(ConfigError::at("gateway.deployment", "must not be empty"));
        }
        self.router
            .validate()
            .map_err(|e| ConfigError::at("router", e))?;
        self.traffic
            .canary
            .validate()
            .map_err(|e| ConfigError::at("traffic.canary", e))?;
        self.experiments.validate()?;
        let table = zt_security::ratelimit::RateLimitTable::new(self.security.rate_limits.clone())
            .map_err(|e| ConfigError::at("security.rate_limits", e))?;
        let cats = &self.gateway.categories;
        for (field, cat) in [
            ("gateway.categories.chat", &cats.chat),
            ("gateway.categories.read", &cats.read),
            ("gateway.categories.admin", &cats.admin),
        ] {
            if !table.categories().iter().any(|c| c == cat) {
                return Err(ConfigError::at(
                    field,
                    format!("category {cat:?} is not in security.rate_limits.categories"),
                ));
            }
        }
        zt_security::authz::Policy::new(self.security.policy.clone())
            .map_err(|e| ConfigError::at("security.policy", e))?;
        if !(1..=4).contains(&self.security.threat.paranoia) {
            return Err(ConfigError::at("security.threat.paranoia", "must be 1–4"));
        }
        if self.security.threat.threshold == 0 {
            return Err(ConfigError::at(
                "security.threat.threshold",
                "must be at least 1",
            ));
        }
        if self.security.bot.block_below > self.security.bot.challenge_below {
            return Err(ConfigError::at(
                "security.bot",
                "block_below must not exceed challenge_below",
            ));
        }
        if let Some(jwt) = &self.security.jwt {
            if jwt.issuer.is_empty() || jwt.audience.is_empty() {
                return Err(ConfigError::at(
                    "security.jwt",
                    "issuer and audience are required",
                ));
            }
            if jwt.hs256_secret.is_none() && jwt.jwks_url.is_none() {
                return Err(ConfigError::at(
                    "security.jwt",
                    "set hs256_secret (a secret name) or jwks_url",
                ));
            }
            if let Some(url) = &jwt.jwks_url {
                zt_security::jwt::validate_jwks_url(url)
                    .map_err(|e| ConfigError::at("security.jwt.jwks_url", e))?;
            }
        }
        self.validate_deployment_settings()?;
        self.validate_risk_and_endpoints()?;
        let needs_consent = self.security.geo.rules.iter().any(|r| r.consent_required);
        if needs_consent && self.security.consent_secret.is_none() {
            return Err(ConfigError::at(
                "security.consent_secret",
                "a geo rule requires consent: name the secret holding the HMAC key",
            ));
        }
        for id in self.templates.keys() {
            if id.is_empty()
                || id.len() > 128
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ConfigError::at(
                    &format!("templates.{id}"),
                    "template ids are 1–128 of [A-Za-z0-9_-]",
                ));
            }
        }
        Ok(())
    }

    /// Settings that protect users outside a developer's machine.
    fn validate_deployment_settings(&self) -> Result<(), ConfigError> {
        if self.gateway.environment != Environment::Dev {
            self.refuse_dev_settings()?;
        }
        self.slo
            .validate()
            .map_err(|e| ConfigError::at(&format!("slo.{}", e.field), e.message))?;
        self.security
            .rejections
            .validate()
            .map_err(|e| ConfigError::at("security.rejections", e))?;
        let threat = &self.security.threat;
        if threat.max_scan_bytes < 4096 || threat.max_json_depth == 0 {
            return Err(ConfigError::at(
                "security.threat",
                "max_scan_bytes must be at least 4096 and max_json_depth at least 1",
            ));
        }
        for route in threat.routes.keys() {
            if !crate::routes::LLM_ROUTES.iter().any(|r| r.name == route) {
                let known: Vec<&str> = crate::routes::LLM_ROUTES.iter().map(|r| r.name).collect();
                return Err(ConfigError::at(
                    &format!("security.threat.routes.{route}"),
                    format!("not an LLM route (known: {})", known.join(", ")),
                ));
            }
        }
        if let Some(p) = self.cache.policies.get(crate::chat::CHAT_CACHE_POLICY)
            && p.scope != edge_cache::Scope::Private
        {
            return Err(ConfigError::at(
                "cache.policies.chat-completions.scope",
                "chat completions are cached per principal only: set scope = \"private\"",
            ));
        }
        Ok(())
    }

    /// Outside `dev`: no salt-less hashes, no mock provider, no dev token
    /// issuer, no placeholder Cloudflare Access application.
    fn refuse_dev_settings(&self) -> Result<(), ConfigError> {
        let env = match self.gateway.environment {
            Environment::Staging => "staging",
            _ => "production",
        };
        let refuse = |field: &str, why: &str| {
            Err(ConfigError::at(
                field,
                format!("{why} (environment = \"{env}\")"),
            ))
        };
        if self.security.anonymous_salt_secret.is_none() {
            return refuse(
                "security.anonymous_salt_secret",
                "required: without a salt, anonymous rate-limit keys and user pseudonyms are reversible hashes",
            );
        }
        if let Some((i, _)) = self
            .router
            .providers
            .iter()
            .enumerate()
            .find(|(_, p)| p.kind == llm_router::ProviderKind::Mock)
        {
            return refuse(
                &format!("router.providers[{i}]"),
                "the in-process mock provider serves fake completions",
            );
        }
        if let Some(jwt) = &self.security.jwt
            && (jwt.issuer == DEV_ISSUER || jwt.issuer.is_empty())
        {
            return refuse("security.jwt.issuer", "the dev token issuer");
        }
        if let Some(a) = &self.security.access
            && (is_placeholder(&a.team) || is_placeholder(&a.aud))
        {
            return refuse(
                "security.access",
                "a placeholder Access team or AUD tag (set ACCESS_TEAM and ACCESS_AUD)",
            );
        }
        Ok(())
    }
}

/// The issuer of `edgectl`'s and the example config's dev tokens.
pub const DEV_ISSUER: &str = "edgeforge-dev";

/// Values the example files use where an operator's own belongs.
impl GatewayConfig {
    /// Risk thresholds in order; outbound endpoints https (or loopback
    /// http, for tests).
    fn validate_risk_and_endpoints(&self) -> Result<(), ConfigError> {
        let r = &self.security.risk;
        let set = |at: u8| (at > 0).then_some(at);
        let ordered = [set(r.log_at), set(r.challenge_at), set(r.block_at)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        if ordered.windows(2).any(|w| w[0] > w[1]) || ordered.iter().any(|&at| at > 100) {
            return Err(ConfigError::at(
                "security.risk",
                "thresholds are 0 (off) or 1–100, with log_at ≤ challenge_at ≤ block_at",
            ));
        }
        outbound_url(
            "slo_alerts.pagerduty_events_url",
            &self.slo_alerts.pagerduty_events_url,
        )?;
        if let Some(t) = &self.security.turnstile {
            outbound_url("security.turnstile.siteverify_url", &t.siteverify_url)?;
            if t.site_key.trim().is_empty() || t.secret.trim().is_empty() {
                return Err(ConfigError::at(
                    "security.turnstile",
                    "site_key and secret (a secret name) are required",
                ));
            }
        }
        Ok(())
    }
}

/// An endpoint the gateway posts to: https, or http to a loopback host.
fn outbound_url(field: &str, url: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| Err(ConfigError::at(field, format!("{url:?}: {why}")));
    let Ok(uri) = url.parse::<http::Uri>() else {
        return bad("not a URL");
    };
    let Some(host) = uri.host() else {
        return bad("no host");
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => bad("must be https (plain http only to a loopback host)"),
    }
}

fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    v.is_empty()
        || v == "example"
        || v.starts_with("replace-")
        || v.contains("placeholder")
        || v.contains("${")
        || v.contains("example.com")
}
