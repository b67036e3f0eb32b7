//! Stage 1: the threat scan of path, query, selected headers and the JSON
//! body, within the scanner's per-request budget. The 403 and the security
//! event list a few findings, never the whole request.

use edge_waf::{PromptMode, RequestInputs, ThreatConfig, ThreatScanner, Verdict, scan_request};
use http::Request;
use serde_json::json;
use zt_security::events::{EventKind, EventSeverity};

use super::header;
use crate::config::ThreatSection;
use crate::context::Scope;
use crate::{ApiError, Gateway};

/// Findings named in a 403 and in its security event.
const REPORTED_FINDINGS: usize = 3;

pub(super) struct ThreatStage {
    scanner: ThreatScanner,
    enabled: bool,
    scan_json: bool,
}

impl ThreatStage {
    pub(super) fn new(cfg: &ThreatSection) -> Self {
        Self {
            scanner: ThreatScanner::new(ThreatConfig {
                paranoia: cfg.paranoia,
                threshold: cfg.threshold,
                max_request_bytes: cfg.max_scan_bytes,
                max_json_depth: cfg.max_json_depth,
                ..ThreatConfig::default()
            }),
            enabled: cfg.enabled,
            scan_json: cfg.scan_json_body,
        }
    }

    /// Scans `req`; on an LLM route its prompt content is scanned as
    /// `prompt_content` says.
    fn scan(&self, req: &Request<Vec<u8>>, prompt_content: PromptMode) -> Verdict {
        let json_body = (self.scan_json && looks_like_json(req)).then_some(req.body().as_slice());
        let route = crate::routes::llm_route(req.uri().path());
        scan_request(
            &self.scanner,
            &RequestInputs {
                prompt_fields: route.map_or(&[], |r| r.prompt_fields),
                prompt_content,
                ..RequestInputs::new(req.uri(), req.headers(), json_body)
            },
        )
    }
}

/// A JSON content type, or a body that starts like JSON whatever its type
/// says (a mislabelled body is still read as JSON by lenient handlers).
fn looks_like_json(req: &Request<Vec<u8>>) -> bool {
    let body = req.body();
    if body.is_empty() {
        return false;
    }
    header(req, "content-type").is_some_and(|c| c.to_ascii_lowercase().contains("json"))
        || body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b, b'{' | b'['))
}

impl Gateway {
    pub(super) fn threat_stage(
        &self,
        req: &Request<Vec<u8>>,
        scope: &mut Scope<'_>,
    ) -> Result<(), ApiError> {
        let stage = &self.inner.security.threat;
        let clock = &self.inner.clock;
        if !stage.enabled {
            return Ok(());
        }
        let route = crate::routes::llm_route(req.uri().path());
        let (prompt_content, _) = route.map_or((PromptMode::Block, PromptMode::Off), |r| {
            self.inner.cfg.security.threat.modes(r.name)
        });
        let t = clock.now_ms();
        let verdict = stage.scan(req, prompt_content);
        let took = clock.now_ms().saturating_sub(t);
        // Prompt findings never block by default, but they do count as risk.
        scope.signals.threat_score = verdict.score.saturating_add(verdict.prompt_score.min(10));
        let truncated = verdict.truncated.map(|t| t.flag());
        if !verdict.blocked {
            let mut desc: Vec<String> = Vec::new();
            if !verdict.prompt_findings.is_empty() {
                desc.push(format!(
                    "prompt-content logged: {}",
                    rule_ids(&verdict.prompt_findings)
                ));
                self.prompt_content_event(req, scope, &verdict);
            }
            desc.extend(truncated.map(str::to_owned));
            match desc.is_empty() {
                true => scope.timings.push("threat", took),
                false => scope.timings.push_with("threat", took, &desc.join("; ")),
            }
            return Ok(());
        }
        scope.timings.push_with("threat", took, "blocked");
        let listed = summarize(&verdict);
        let why = format!("blocked by the threat scanner: {listed}");
        let locations: Vec<String> = reported(&verdict).map(finding_line).collect();
        let details = json!({
            "score": verdict.score,
            "prompt_score": verdict.prompt_score,
            "inputs": locations,
            "more_inputs": more(&verdict),
            "truncated": truncated,
        });
        let ev = self
            .base_event(
                EventKind::ThreatBlocked,
                EventSeverity::High,
                why.clone(),
                req,
                scope.ctx,
            )
            .details(details);
        self.security_event(scope.bg, ev);
        Err(ApiError::forbidden("threat_detected", why))
    }

    /// A sampled, redacted record of SQLi/XSS findings in prompt content
    /// that were let through (`prompt_content = "log"`).
    fn prompt_content_event(&self, req: &Request<Vec<u8>>, scope: &Scope<'_>, v: &Verdict) {
        let why = format!(
            "prompt content logged, not blocked (score {}): {}",
            v.prompt_score,
            rule_ids(&v.prompt_findings)
        );
        let findings: Vec<serde_json::Value> = v
            .prompt_findings
            .iter()
            .take(REPORTED_FINDINGS)
            .map(|f| json!({"input": finding_line(f), "excerpt": f.excerpt}))
            .collect();
        let ev = self
            .base_event(
                EventKind::PromptFlagged,
                EventSeverity::Low,
                why,
                req,
                scope.ctx,
            )
            .details(json!({"mode": "logged", "findings": findings}));
        self.security_event(scope.bg, ev);
    }
}

/// The distinct rule ids of `findings`, space-separated.
fn rule_ids(findings: &[edge_waf::InputFinding]) -> String {
    let mut ids: Vec<&str> = findings
        .iter()
        .flat_map(|f| f.rules.iter().map(|r| r.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.join(" ")
}

/// The findings a 403 names: blocking inputs first, then prompt content.
fn reported(v: &Verdict) -> impl Iterator<Item = &edge_waf::InputFinding> {
    v.findings
        .iter()
        .chain(v.prompt_findings.iter())
        .take(REPORTED_FINDINGS)
}

/// How many findings a 403 does not name.
fn more(v: &Verdict) -> usize {
    (v.findings.len() + v.prompt_findings.len()).saturating_sub(REPORTED_FINDINGS)
        + v.omitted_findings
}

fn finding_line(f: &edge_waf::InputFinding) -> String {
    let rules: Vec<&str> = f.rules.iter().map(|r| r.id).collect();
    format!("{} ({})", f.location, rules.join(", "))
}

/// The first few findings and how many more there were.
fn summarize(v: &Verdict) -> String {
    let mut text = reported(v).map(finding_line).collect::<Vec<_>>().join("; ");
    let more = more(v);
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}
