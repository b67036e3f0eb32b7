//! What a scan reports, and the per-request budget that bounds it: values
//! scanned, bytes scanned and findings kept. A request past a bound is
//! scanned as far as the bound and flagged [`Truncation`]; nothing is
//! allocated past it.

use serde::Serialize;

use super::json::prefix;
use super::{InputKind, Rule, Severity, ThreatConfig, ThreatScanner};

/// Bytes charged per value on top of its length (normalisation and the
/// rule passes cost something even for an empty value).
pub const VALUE_OVERHEAD: usize = 32;
/// Longest location kept in a finding.
pub const MAX_LOCATION_BYTES: usize = 160;

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// Rule id (e.g. `sqli-union`).
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Short description.
    pub description: &'static str,
}

impl From<&Rule> for RuleHit {
    fn from(r: &Rule) -> Self {
        Self {
            id: r.id,
            severity: r.severity,
            description: r.description,
        }
    }
}

/// The rules that fired on one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFinding {
    /// Location label (`query:q`, `header:user-agent`, `json:$.x`), at most
    /// [`MAX_LOCATION_BYTES`].
    pub location: String,
    /// Anomaly score of this input.
    pub score: u32,
    /// Rules that fired.
    pub rules: Vec<RuleHit>,
    /// The start of the raw value, at most 64 characters.
    pub excerpt: String,
}

/// Why part of a request was not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Truncation {
    /// The request's byte budget ran out.
    Bytes,
    /// The request's value budget ran out.
    Values,
    /// A value was longer than the per-value limit; its start was scanned.
    ValueLength,
    /// JSON nested past the depth limit was skipped.
    Depth,
}

impl Truncation {
    /// The flag as it appears in logs and events (`scan-truncated:bytes`).
    pub fn flag(self) -> &'static str {
        match self {
            Self::Bytes => "scan-truncated:bytes",
            Self::Values => "scan-truncated:values",
            Self::ValueLength => "scan-truncated:value-length",
            Self::Depth => "scan-truncated:depth",
        }
    }
}

/// The verdict for a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Total anomaly score (over every finding, listed or not).
    pub score: u32,
    /// True when `score >= threshold`.
    pub blocked: bool,
    /// Inputs with at least one rule hit, at most `max_findings`.
    pub findings: Vec<InputFinding>,
    /// Inputs with hits past `max_findings` (scored, not listed).
    pub omitted_findings: usize,
    /// Set when part of the request was not scanned (the first reason).
    pub truncated: Option<Truncation>,
    /// Anomaly score of prompt content (LLM routes), apart from `score`.
    pub prompt_score: u32,
    /// Prompt-content inputs with hits, at most `max_findings`. They block
    /// only in [`PromptMode::Block`](crate::PromptMode::Block) mode.
    pub prompt_findings: Vec<InputFinding>,
}

/// One request's scan in progress: the budget left and the verdict so far.
pub(crate) struct ScanState<'c> {
    scanner: &'c ThreatScanner,
    bytes_left: usize,
    values_left: usize,
    verdict: Verdict,
    /// Prompt findings count toward blocking.
    block_prompts: bool,
}

impl<'c> ScanState<'c> {
    pub(crate) fn new(scanner: &'c ThreatScanner) -> Self {
        let c = scanner.config();
        Self {
            scanner,
            bytes_left: c.max_request_bytes,
            values_left: c.max_values,
            verdict: Verdict::default(),
            block_prompts: false,
        }
    }

    /// Prompt findings block like any other (`prompt_content = "block"`).
    pub(crate) fn block_prompts(mut self, yes: bool) -> Self {
        self.block_prompts = yes;
        self
    }

    fn config(&self) -> &ThreatConfig {
        self.scanner.config()
    }

    /// Marks the scan truncated (keeps the first reason).
    pub(crate) fn truncate(&mut self, why: Truncation) {
        self.verdict.truncated.get_or_insert(why);
    }

    /// Scans one value within the budget; `location` is rendered only for
    /// a finding. Returns false when the value was refused because the budget is spent
    /// (stop scanning: every later value would be refused too).
    pub(crate) fn scan(
        &mut self,
        kind: InputKind,
        value: &str,
        location: impl FnOnce() -> String,
    ) -> bool {
        if self.values_left == 0 {
            self.truncate(Truncation::Values);
            return false;
        }
        if self.bytes_left <= VALUE_OVERHEAD {
            self.truncate(Truncation::Bytes);
            return false;
        }
        self.values_left -= 1;
        let room = self.bytes_left - VALUE_OVERHEAD;
        let max_value = self.config().max_value_len;
        let take = value.len().min(max_value).min(room);
        if take < value.len() {
            self.truncate(if value.len() > max_value && max_value <= room {
                Truncation::ValueLength
            } else {
                Truncation::Bytes
            });
        }
        self.bytes_left -= VALUE_OVERHEAD + take;
        let scanned = prefix(value, take);
        let rules = self.scanner.rules_for(kind, scanned);
        if !rules.is_empty() {
            self.record(kind == InputKind::Prompt, rules, location, value);
        }
        true
    }

    fn record(
        &mut self,
        prompt: bool,
        rules: Vec<&'static Rule>,
        location: impl FnOnce() -> String,
        value: &str,
    ) {
        let score: u32 = rules.iter().map(|r| r.severity.score()).sum();
        let max = self.config().max_findings;
        let v = &mut self.verdict;
        let (total, findings) = if prompt {
            (&mut v.prompt_score, &mut v.prompt_findings)
        } else {
            (&mut v.score, &mut v.findings)
        };
        *total = total.saturating_add(score);
        if findings.len() >= max {
            v.omitted_findings += 1;
            return;
        }
        let location = location();
        findings.push(InputFinding {
            location: prefix(&location, MAX_LOCATION_BYTES).to_owned(),
            score,
            rules: rules.into_iter().map(RuleHit::from).collect(),
            excerpt: value_excerpt(value),
        });
    }

    pub(crate) fn finish(mut self) -> Verdict {
        let threshold = self.config().threshold;
        let v = &mut self.verdict;
        v.blocked = v.score >= threshold || (self.block_prompts && v.prompt_score >= threshold);
        self.verdict
    }
}

/// At most 64 characters of `value` (char-boundary safe).
pub(crate) fn value_excerpt(value: &str) -> String {
    let mut s: String = value.chars().take(64).collect();
    if s.len() < value.len() {
        s.pop();
        s.push('…');
    }
    s
}
