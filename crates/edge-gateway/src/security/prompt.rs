//! Stage 5b on LLM routes: the prompt-injection guardrail on the user and
//! tool messages, after authorization (an unauthenticated body is never
//! parsed for it). `security.threat.prompt_injection` says whether a
//! flagged request is logged (default) or refused.

use std::borrow::Cow;

use edge_waf::PromptMode;
use edge_waf::prompt::{PromptGuard, PromptMessage, PromptVerdict};
use http::Request;
use serde::Deserialize;
use serde_json::json;
use zt_security::events::{EventKind, EventSeverity};

use crate::context::Scope;
use crate::routes::LlmRoute;
use crate::{ApiError, Gateway};

/// Messages read at most per request.
const MAX_MESSAGES: usize = 4096;

/// The messages of an OpenAI-style body, borrowed where possible; every
/// other field is skipped unread.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow, default)]
    messages: Vec<Message<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    role: Cow<'a, str>,
    #[serde(default)]
    content: Option<Content<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Parts(#[serde(borrow)] Vec<Part<'a>>),
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

impl Message<'_> {
    fn text(&self) -> Cow<'_, str> {
        match &self.content {
            Some(Content::Text(t)) => Cow::Borrowed(t.as_ref()),
            Some(Content::Parts(parts)) => Cow::Owned(
                parts
                    .iter()
                    .filter_map(|p| p.text.as_deref())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            None => Cow::Borrowed(""),
        }
    }
}

/// The guardrail's verdict on a body (`None` when it is not a chat body).
fn guard_body(guard: &PromptGuard, body: &[u8]) -> Option<PromptVerdict> {
    let parsed: Body<'_> = serde_json::from_slice(body).ok()?;
    let texts: Vec<(String, Cow<'_, str>)> = parsed
        .messages
        .iter()
        .take(MAX_MESSAGES)
        .map(|m| (m.role.to_ascii_lowercase(), m.text()))
        .collect();
    let messages: Vec<PromptMessage<'_>> = texts
        .iter()
        .map(|(role, text)| PromptMessage {
            role,
            text: text.as_ref(),
        })
        .collect();
    Some(guard.scan(&messages))
}

impl Gateway {
    /// Stage 5b: logs or refuses a request the guardrail flags.
    pub(super) fn prompt_stage(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
        route: &LlmRoute,
    ) -> Result<(), ApiError> {
        let (_, mode) = self.inner.cfg.security.threat.modes(route.name);
        if mode == PromptMode::Off {
            return Ok(());
        }
        let clock = &self.inner.clock;
        let t = clock.now_ms();
        let verdict = guard_body(&self.inner.security.prompt_guard, req.body());
        let took = clock.now_ms().saturating_sub(t);
        let Some(verdict) = verdict.filter(|v| v.flagged) else {
            scope.timings.push("prompt", took);
            return Ok(());
        };
        let rules: Vec<&str> = verdict
            .findings
            .iter()
            .flat_map(|f| f.rules.iter().map(|r| r.id))
            .collect();
        let blocked = mode == PromptMode::Block;
        let action = if blocked { "blocked" } else { "logged" };
        scope.timings.push_with(
            "prompt",
            took,
            &format!("prompt-injection {action}: {}", rules.join(" ")),
        );
        let why = format!(
            "prompt injection {action} (score {}): {}",
            verdict.score,
            rules.join(", ")
        );
        let severity = if blocked {
            EventSeverity::High
        } else {
            EventSeverity::Low
        };
        let details = json!({
            "mode": action,
            "score": verdict.score,
            "messages": verdict.findings.iter().take(3).map(|f| json!({
                "index": f.message, "role": f.role, "rules": f.rules.iter().map(|r| r.id).collect::<Vec<_>>(),
                "excerpt": f.excerpt,
            })).collect::<Vec<_>>(),
        });
        let ev = self
            .base_event(
                EventKind::PromptFlagged,
                severity,
                why.clone(),
                req,
                scope.ctx,
            )
            .details(details);
        self.security_event(scope.bg, ev);
        if blocked {
            return Err(ApiError::forbidden("prompt_injection_detected", why));
        }
        Ok(())
    }
}
