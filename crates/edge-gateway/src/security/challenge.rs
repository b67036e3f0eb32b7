//! Challenges: a Cloudflare Turnstile page on browser routes (for bot
//! `challenge` decisions and risky requests), its verification through the
//! HTTP port, and the clearance cookie that lets a client that solved one
//! through for a while. API clients cannot solve a challenge: they get a
//! 403 with a JSON error.

use std::time::Duration;

use edge_ports::SendOptions;
use edge_ports::http::Body;
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use zt_security::ratelimit::client_network;

use super::header;
use crate::context::{RequestContext, Scope};
use crate::{ApiError, Gateway};

/// Where a solved challenge is posted.
pub(crate) const CHALLENGE_PATH: &str = "/__edgeforge/challenge";
/// The clearance cookie.
const COOKIE: &str = "ef_clearance";

/// The siteverify answer.
#[derive(Deserialize)]
struct Siteverify {
    success: bool,
}

impl Gateway {
    /// A refusal that a browser may solve: the Turnstile page on a browser
    /// route (configured paths, `Accept: text/html`), else a JSON 403.
    pub(super) fn challenge(
        &self,
        req: &Request<Vec<u8>>,
        code: &'static str,
        why: String,
    ) -> ApiError {
        let err = ApiError::forbidden(code, why);
        let Some(t) = &self.inner.cfg.security.turnstile else {
            return err;
        };
        let path = req.uri().path();
        let browser = self.is_browser_path(path);
        let wants_html = header(req, "accept").is_some_and(|a| a.contains("text/html"));
        if !(browser && wants_html) {
            return err;
        }
        let return_to = req.uri().path_and_query().map_or(path, |p| p.as_str());
        err.with_html(page(&t.site_key, return_to))
    }

    /// True when `path` is one of the Turnstile section's browser paths.
    pub(super) fn is_browser_path(&self, path: &str) -> bool {
        let Some(t) = &self.inner.cfg.security.turnstile else {
            return false;
        };
        t.browser_paths.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == p,
        })
    }

    /// True when the request carries a valid clearance cookie for its
    /// client network.
    pub(super) fn cleared(&self, req: &Request<Vec<u8>>, scope: &Scope<'_>) -> bool {
        let Some(t) = &self.inner.cfg.security.turnstile else {
            return false;
        };
        let now = self.inner.clock.now_secs();
        cookie(req, COOKIE).is_some_and(|value| {
            let Some((exp, tag)) = value.split_once('.') else {
                return false;
            };
            let Ok(exp) = exp.parse::<u64>() else {
                return false;
            };
            exp > now && exp <= now + t.clearance_secs && tag == self.clearance_tag(scope.ctx, exp)
        })
    }

    fn clearance_tag(&self, ctx: &RequestContext, exp: u64) -> String {
        let network = client_network(ctx.client_ip.as_deref().unwrap_or(""));
        self.inner
            .security
            .pseudonym(&format!("clearance|{network}|{exp}"))
    }

    /// `POST /__edgeforge/challenge`: verifies the Turnstile token, sets
    /// the clearance cookie and sends the browser back (303).
    pub(crate) async fn solve_challenge(
        &self,
        req: &Request<Vec<u8>>,
        ctx: &RequestContext,
    ) -> Result<Response<Body>, ApiError> {
        let Some(t) = &self.inner.cfg.security.turnstile else {
            return Err(ApiError::not_found("challenges are not configured"));
        };
        let form: Vec<(String, String)> = form_urlencoded::parse(req.body())
            .into_owned()
            .take(8)
            .collect();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let token = field("cf-turnstile-response").unwrap_or("");
        let return_to = field("return_to")
            .filter(|p| p.starts_with('/') && !p.starts_with("//"))
            .unwrap_or("/");
        let secret = self.inner.secrets.get(&t.secret).ok_or_else(|| {
            ApiError::internal("misconfigured", format!("secret {:?} is not set", t.secret))
        })?;
        if token.is_empty()
            || token.len() > 4096
            || !self
                .siteverify(&t.siteverify_url, &secret, token, ctx)
                .await
        {
            return Err(ApiError::forbidden(
                "challenge_failed",
                "the challenge was not solved",
            ));
        }
        let exp = self.inner.clock.now_secs() + t.clearance_secs;
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::SEE_OTHER;
        let h = resp.headers_mut();
        crate::set(h, "location", return_to);
        crate::set(
            h,
            "set-cookie",
            &format!(
                "{COOKIE}={exp}.{}; Max-Age={}; Path=/; HttpOnly; Secure; SameSite=Lax",
                self.clearance_tag(ctx, exp),
                t.clearance_secs
            ),
        );
        Ok(resp)
    }

    async fn siteverify(&self, url: &str, secret: &str, token: &str, ctx: &RequestContext) -> bool {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("secret", secret)
            .append_pair("response", token);
        if let Some(ip) = &ctx.client_ip {
            form.append_pair("remoteip", ip);
        }
        let Ok(request) = http::Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish().into_bytes())
        else {
            return false;
        };
        let opts = SendOptions::timeout(Duration::from_secs(5));
        let Ok(resp) = self.inner.http.send(request, opts).await else {
            return false;
        };
        if resp.status() != StatusCode::OK {
            return false;
        }
        let Ok(body) = resp.into_body().collect(64 * 1024).await else {
            return false;
        };
        serde_json::from_slice::<Siteverify>(&body).is_ok_and(|v| v.success)
    }
}

/// The value of cookie `name`, if sent.
fn cookie<'a>(req: &'a Request<Vec<u8>>, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The challenge page: the Turnstile widget in a form that posts its token
/// back to the gateway.
fn page(site_key: &str, return_to: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Checking your browser</title>
<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script></head>
<body><main style="font-family:system-ui;max-width:28rem;margin:4rem auto"><h1>One moment</h1>
<p>Please confirm you are human to continue.</p>
<form method="POST" action="{CHALLENGE_PATH}">
<div class="cf-turnstile" data-sitekey="{}"></div>
<input type="hidden" name="return_to" value="{}">
<button type="submit">Continue</button></form></main></body></html>"#,
        esc(site_key),
        esc(return_to)
    )
}
