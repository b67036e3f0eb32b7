//! Stage 6, the rate limit, and the rejections guard in front of stage 1.
//!
//! The limiter never fails open: when its store (the Durable Object, the
//! shared SQLite limits) errors, the same quota is enforced by an
//! in-isolate limiter and the fallback is counted (`/status`).

use http::{Request, StatusCode};
use zt_security::bot::{BotAction, BotVerdict};
use zt_security::events::{EventKind, EventSeverity};
use zt_security::jwt::Principal;
use zt_security::ratelimit::{Decision, Quota, anonymous_key_salted, headers, user_key};

use crate::context::Scope;
use crate::{ApiError, Gateway};

impl Gateway {
    /// The rate-limit subject: a verified bot, the user, or the client's
    /// network (the User-Agent is a bot signal, never part of the key).
    pub(super) fn rate_key(
        &self,
        principal: &Principal,
        bot: &BotVerdict,
        scope: &Scope<'_>,
    ) -> String {
        if bot.action == BotAction::AllowRateLimited {
            "bot:verified".to_owned()
        } else if principal.is_authenticated() {
            user_key(&principal.subject)
        } else {
            let ip = scope.ctx.client_ip.as_deref().unwrap_or("");
            anonymous_key_salted(&self.inner.security.salt, ip)
        }
    }

    /// The key of the client's network in the rejections limiter (`None`
    /// when the platform gave no client IP).
    pub(super) fn client_network_key(&self, scope: &Scope<'_>) -> Option<String> {
        let ip = scope.ctx.client_ip.as_deref()?;
        Some(format!(
            "rejected:{}",
            anonymous_key_salted(&self.inner.security.salt, ip)
        ))
    }

    /// 429 before any stage when the network has used up its rejections.
    pub(super) fn rejection_guard(
        &self,
        network: &str,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<(), ApiError> {
        let sec = &self.inner.security;
        let left = sec
            .rejections
            .decide_now(network, &sec.rejection_quota, 0)
            .remaining;
        if left > 0 {
            return Ok(());
        }
        // The next rejected request would be refused anyway: one sampled
        // event per network per minute says so, nothing per request.
        let ev = self.base_event(
            EventKind::RateLimited,
            EventSeverity::Low,
            "too many refused requests from this network".into(),
            req,
            scope.ctx,
        );
        self.security_event(scope.bg, ev);
        // Denied, so it spends nothing: only the time until one unit frees.
        let retry = sec
            .rejections
            .decide_now(network, &sec.rejection_quota, 1)
            .retry_after_ms;
        let secs = retry.div_ceil(1000).max(1);
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "too_many_rejections",
            format!(
                "too many refused requests from this network ({} per {} s); retry in {secs} s",
                sec.rejection_quota.limit, sec.rejection_quota.window_secs
            ),
        )
        .with_header("retry-after", secs.to_string()))
    }

    /// Requests of the network refused recently (the rejections quota
    /// spent).
    pub(super) fn recent_rejections(&self, network: &str) -> u32 {
        let sec = &self.inner.security;
        let left = sec
            .rejections
            .decide_now(network, &sec.rejection_quota, 0)
            .remaining;
        sec.rejection_quota.burst().saturating_sub(left)
    }

    pub(super) fn spend_rejection(&self, network: &str) {
        let sec = &self.inner.security;
        let _ = sec.rejections.decide_now(network, &sec.rejection_quota, 1);
    }

    /// The rate-limit category of a path.
    pub(super) fn category(&self, path: &str) -> &str {
        let c = &self.inner.cfg.gateway.categories;
        if path == "/admin" || path.starts_with("/admin/") {
            &c.admin
        } else if path == "/v1/chat/completions" {
            &c.chat
        } else {
            &c.read
        }
    }

    /// Stage 6: spends one unit of the caller's quota for the route's
    /// category; the `RateLimit` headers go on the response either way.
    pub(super) async fn rate_limit(
        &self,
        principal: &Principal,
        rate_key: &str,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<(), ApiError> {
        let sec = &self.inner.security;
        let category = self.category(req.uri().path());
        let Some(quota) = sec.table.quota(principal.tier, category) else {
            // Validated at start: every tier × category has a cell.
            return Err(ApiError::internal(
                "rate_limit_config",
                format!("no quota for {category}"),
            ));
        };
        let key = format!("{category}:{rate_key}");
        let d = self.decide(&key, &quota, req, scope).await;
        scope.headers.extend(headers(category, &quota, &d));
        if quota.limit > 0 {
            scope.signals.quota_used =
                1.0 - f64::from(d.remaining) / f64::from(quota.burst().max(1));
        }
        if d.allowed {
            return Ok(());
        }
        let mut ev = self.base_event(
            EventKind::RateLimited,
            EventSeverity::Low,
            format!("{category} quota exhausted"),
            req,
            scope.ctx,
        );
        if principal.is_authenticated() {
            ev = ev.subject(principal.subject.clone());
        }
        self.security_event(scope.bg, ev);
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

    /// The store's decision, or the in-isolate fallback's when the store
    /// fails.
    async fn decide(
        &self,
        key: &str,
        quota: &Quota,
        req: &Request<Vec<u8>>,
        scope: &Scope<'_>,
    ) -> Decision {
        let sec = &self.inner.security;
        match sec.store.decide(key, quota, 1).await {
            Ok(d) => d,
            Err(e) => {
                sec.fallback_decisions.set(sec.fallback_decisions.get() + 1);
                let ev = self.base_event(
                    EventKind::RateLimited,
                    EventSeverity::Medium,
                    format!("rate-limit store unavailable, limiting in this isolate: {e}"),
                    req,
                    scope.ctx,
                );
                self.security_event(scope.bg, ev);
                sec.fallback.decide_now(key, quota, 1)
            }
        }
    }
}
