//! Stage 6b: the 0–100 risk score of the request (zt-security's weighted
//! factors: threat findings, bot score, recent refusals of the client's
//! network, anonymity, rate-limit pressure, no credential), and what
//! `[security.risk]` says to do at its level: log it with its reasons,
//! challenge (a Turnstile page for a browser, a 403 for an API client), or
//! block. A client holding a solved challenge is not challenged again.

use http::Request;
use serde_json::json;
use zt_security::events::{EventKind, EventSeverity};
use zt_security::jwt::Principal;
use zt_security::risk::{Anonymity, RiskInput, RiskScore, risk_score};

use crate::context::Scope;
use crate::{ApiError, Gateway};

impl Gateway {
    pub(super) fn risk_stage(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
        principal: &Principal,
        network: Option<&str>,
    ) -> Result<(), ApiError> {
        let score = risk_score(&self.risk_input(scope, principal, network));
        let thresholds = &self.inner.cfg.security.risk;
        let reached = |at: u8| at > 0 && score.score >= at;
        let level = format!("{} {:?}", score.score, score.level).to_ascii_lowercase();
        scope.timings.push_with("risk", 0, &level);
        let (severity, action) = if reached(thresholds.block_at) {
            (EventSeverity::High, "blocked")
        } else if reached(thresholds.challenge_at) && !scope.signals.cleared {
            (EventSeverity::Medium, "challenged")
        } else if reached(thresholds.log_at) {
            (EventSeverity::Low, "logged")
        } else {
            return Ok(());
        };
        let why = format!("risk score {} ({action}): {}", score.score, summary(&score));
        let ev = self
            .base_event(EventKind::Risk, severity, why.clone(), req, scope.ctx)
            .details(json!({"risk": score.score, "action": action, "reasons": score.reasons}));
        self.security_event(scope.bg, ev);
        match action {
            "blocked" => Err(ApiError::forbidden("risk_blocked", why)),
            "challenged" => Err(self.challenge(req, "risk_challenge", why)),
            _ => Ok(()),
        }
    }

    fn risk_input(
        &self,
        scope: &Scope<'_>,
        principal: &Principal,
        network: Option<&str>,
    ) -> RiskInput {
        let anonymity = match scope.ctx.country.as_deref() {
            Some("T1") => Anonymity::Tor,
            Some("XX") => Anonymity::UnknownCountry,
            _ => Anonymity::None,
        };
        RiskInput {
            threat_score: scope.signals.threat_score,
            bot_score: scope.signals.bot_score,
            recent_auth_failures: network.map_or(0, |n| self.recent_rejections(n)),
            anonymity,
            rate_limited: false,
            quota_used: scope.signals.quota_used,
            geo_refused: false,
            authenticated: principal.is_authenticated(),
        }
    }
}

/// The largest factors, as text.
fn summary(score: &RiskScore) -> String {
    score
        .reasons
        .iter()
        .take(3)
        .map(|r| format!("{} +{:.0} ({})", r.factor, r.points, r.detail))
        .collect::<Vec<_>>()
        .join(", ")
}
