//! Stage 1: the threat scan of path, query, selected headers and the JSON
//! body, within the scanner's per-request budget. The 403 and the security
//! event list a few findings, never the whole request.

use edge_waf::{RequestInputs, ThreatConfig, ThreatScanner, Verdict, scan_request};
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

    fn scan(&self, req: &Request<Vec<u8>>) -> Verdict {
        let json_body = (self.scan_json && looks_like_json(req)).then_some(req.body().as_slice());
        scan_request(
            &self.scanner,
            &RequestInputs {
                uri: req.uri(),
                headers: req.headers(),
                json_body,
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
        let t = clock.now_ms();
        let verdict = stage.scan(req);
        let took = clock.now_ms().saturating_sub(t);
        let truncated = verdict.truncated.map(|t| t.flag());
        if !verdict.blocked {
            match truncated {
                Some(flag) => scope.timings.push_with("threat", took, flag),
                None => scope.timings.push("threat", took),
            }
            return Ok(());
        }
        scope.timings.push_with("threat", took, "blocked");
        let listed = summarize(&verdict);
        let why = format!("blocked by the threat scanner: {listed}");
        let locations: Vec<String> = verdict
            .findings
            .iter()
            .take(REPORTED_FINDINGS)
            .map(finding_line)
            .collect();
        let details = json!({
            "score": verdict.score,
            "inputs": locations,
            "more_inputs": verdict.findings.len().saturating_sub(REPORTED_FINDINGS) + verdict.omitted_findings,
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
}

fn finding_line(f: &edge_waf::InputFinding) -> String {
    let rules: Vec<&str> = f.rules.iter().map(|r| r.id).collect();
    format!("{} ({})", f.location, rules.join(", "))
}

/// The first few findings and how many more there were.
fn summarize(v: &Verdict) -> String {
    let mut text = v
        .findings
        .iter()
        .take(REPORTED_FINDINGS)
        .map(finding_line)
        .collect::<Vec<_>>()
        .join("; ");
    let more = v.findings.len().saturating_sub(REPORTED_FINDINGS) + v.omitted_findings;
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}
