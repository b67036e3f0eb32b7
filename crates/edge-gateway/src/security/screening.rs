//! Stages 2–3: the bot check and the geo rules (consent is re-checked once
//! the user is known).

use http::{Request, StatusCode};
use zt_security::bot::{BotAction, BotRequest, BotVerdict, RouteClass, score_bot};
use zt_security::events::{EventKind, EventSeverity};
use zt_security::geo::{GeoRequest, GeoVerdict};
use zt_security::jwt::Principal;

use super::header;
use crate::context::Scope;
use crate::{ApiError, Gateway};

/// Where clients present a signed consent token.
pub(crate) const CONSENT_HEADER: &str = "x-edge-consent";

impl Gateway {
    /// Stage 2; the verdict also decides the rate-limit key of verified bots.
    pub(super) fn bot_stage(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<BotVerdict, ApiError> {
        let clock = &self.inner.clock;
        let t = clock.now_ms();
        let bot = score_bot(
            &self.inner.security.bot,
            &BotRequest {
                route: if self.is_browser_path(req.uri().path()) {
                    RouteClass::Browser
                } else {
                    RouteClass::Api
                },
                user_agent: header(req, "user-agent"),
                accept_language: header(req, "accept-language"),
                accept_encoding: header(req, "accept-encoding"),
                sec_ch_ua: header(req, "sec-ch-ua"),
                platform: scope.ctx.bot_management.as_ref(),
            },
        );
        scope.timings.push("bot", clock.now_ms().saturating_sub(t));
        scope.signals.bot_score = Some(bot.score);
        let (code, severity) = match bot.action {
            BotAction::Allow | BotAction::AllowRateLimited => return Ok(bot),
            // A solved challenge lets the client through for a while.
            BotAction::Challenge if scope.signals.cleared => return Ok(bot),
            BotAction::Block => ("bot_blocked", EventSeverity::High),
            BotAction::Challenge => ("bot_challenge", EventSeverity::Medium),
        };
        let why = format!(
            "automated client (bot score {}: {})",
            bot.score,
            bot.reasons.join(", ")
        );
        let ev = self.base_event(EventKind::BotBlocked, severity, why.clone(), req, scope.ctx);
        self.security_event(scope.bg, ev);
        if bot.action == BotAction::Challenge {
            return Err(self.challenge(req, code, why));
        }
        Err(ApiError::forbidden(code, why))
    }

    /// Stage 3. `Ok(true)` when the verdict waits for the user's consent
    /// (checked by [`Gateway::consent_stage`] after authentication).
    pub(super) fn geo_stage(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<bool, ApiError> {
        let clock = &self.inner.clock;
        let t = clock.now_ms();
        let verdict = self
            .inner
            .security
            .geo
            .evaluate(&geo_request(req, scope, None), clock.now_secs());
        scope.timings.push("geo", clock.now_ms().saturating_sub(t));
        if matches!(verdict, GeoVerdict::RequireConsent(_)) {
            return Ok(true);
        }
        self.geo_verdict(verdict, req, scope)?;
        Ok(false)
    }

    /// The geo rules again, with the authenticated user's consent.
    pub(super) fn consent_stage(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
        principal: &Principal,
    ) -> Result<(), ApiError> {
        let user = Some(principal.subject.as_str()).filter(|s| !s.is_empty());
        let verdict = self
            .inner
            .security
            .geo
            .evaluate(&geo_request(req, scope, user), self.inner.clock.now_secs());
        self.geo_verdict(verdict, req, scope)
    }

    fn geo_verdict(
        &self,
        verdict: GeoVerdict,
        req: &Request<Vec<u8>>,
        scope: &Scope<'_>,
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
                    scope.ctx,
                );
                self.security_event(scope.bg, ev);
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
            scope.ctx,
        );
        self.security_event(scope.bg, ev);
        Err(err)
    }
}

fn geo_request<'a>(
    req: &'a Request<Vec<u8>>,
    scope: &'a Scope<'_>,
    user_id: Option<&'a str>,
) -> GeoRequest<'a> {
    GeoRequest {
        path: req.uri().path(),
        country: scope.ctx.country.as_deref(),
        region: scope.ctx.region.as_deref(),
        asn: scope.ctx.asn,
        user_id,
        consent: header(req, CONSENT_HEADER),
    }
}
