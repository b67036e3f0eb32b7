//! Stages 4–5: who the caller is (a bearer JWT or the Cloudflare Access
//! assertion) and whether the route's policy lets them in.

use http::{Request, StatusCode};
use jsonwebtoken::Algorithm;
use zt_security::authz::DenyReason;
use zt_security::events::{EventKind, EventSeverity, SecurityEvent};
use zt_security::jwt::{JwtError, Principal};

use super::header;
use crate::context::{RequestContext, Scope};
use crate::{ApiError, Gateway};

use zt_security::jwt::ACCESS_HEADER;

impl Gateway {
    /// A security event about `req`, with the request's id, path, client
    /// network and country (the log redacts and truncates them).
    pub(crate) fn base_event(
        &self,
        kind: EventKind,
        severity: EventSeverity,
        reason: String,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
    ) -> SecurityEvent {
        let mut ev = SecurityEvent::new(kind, severity, reason)
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

    fn auth_failure(&self, req: &Request<Vec<u8>>, scope: &Scope<'_>, why: &str) {
        let ev = self.base_event(
            EventKind::AuthFailure,
            EventSeverity::Medium,
            why.to_owned(),
            req,
            scope.ctx,
        );
        self.security_event(scope.bg, ev);
    }

    /// Stage 4: the Access assertion if present, else a bearer JWT, else
    /// the anonymous principal.
    pub(super) async fn authenticate(
        &self,
        req: &Request<Vec<u8>>,
        scope: &Scope<'_>,
    ) -> Result<Principal, ApiError> {
        if let Some(assertion) = header(req, ACCESS_HEADER) {
            return self.authenticate_access(assertion, req, scope).await;
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
        let sec = &self.inner.security;
        let is_hs = zt_security::jwt::parse_header(token, zt_security::jwt::MAX_TOKEN_BYTES)
            .is_ok_and(|h| {
                matches!(
                    h.alg,
                    Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
                )
            });
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
                self.auth_failure(req, scope, &why);
                Err(ApiError::unauthorized("invalid_token", why))
            }
        }
    }

    async fn authenticate_access(
        &self,
        assertion: &str,
        req: &Request<Vec<u8>>,
        scope: &Scope<'_>,
    ) -> Result<Principal, ApiError> {
        let Some(access) = &self.inner.security.access else {
            return Err(ApiError::forbidden(
                "access_not_configured",
                "Cloudflare Access is not configured for this gateway",
            ));
        };
        match access.validate(assertion).await {
            Ok(p) => Ok(p),
            Err(JwtError::Jwks(e)) => Err(ApiError::unavailable(
                "jwks_unavailable",
                format!("cannot fetch Access keys: {e}"),
            )),
            Err(e) => {
                let why = format!("invalid Access token: {e}");
                self.auth_failure(req, scope, &why);
                Err(ApiError::forbidden("invalid_access_token", why))
            }
        }
    }

    /// Stage 5: the route policy (default deny).
    pub(super) fn authorize(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
        principal: &Principal,
    ) -> Result<(), ApiError> {
        let clock = &self.inner.clock;
        let t = clock.now_ms();
        let authz = self.inner.security.policy.authorize(
            req.method().as_str(),
            req.uri().path(),
            principal,
        );
        scope
            .timings
            .push("authz", clock.now_ms().saturating_sub(t));
        match authz {
            Ok(_) => Ok(()),
            Err(deny) => Err(self.deny(deny, principal, req, scope)),
        }
    }

    fn deny(
        &self,
        deny: DenyReason,
        principal: &Principal,
        req: &Request<Vec<u8>>,
        scope: &Scope<'_>,
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
            other => ApiError::forbidden("forbidden", format!("not allowed: {other}")),
        };
        let mut ev = self.base_event(
            EventKind::AccessDenied,
            EventSeverity::Low,
            err.code().into(),
            req,
            scope.ctx,
        );
        if principal.is_authenticated() {
            ev = ev.subject(principal.subject.clone());
        }
        self.security_event(scope.bg, ev);
        err
    }
}
