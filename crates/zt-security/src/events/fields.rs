//! Field-level helpers of the log: redaction and truncation, the analytics
//! point, the metadata filter and IP anonymisation.

use std::net::IpAddr;

use edge_ports::DataPoint;
use serde_json::Value;

use super::{EventQuery, EventSeverity, SecurityEvent};
use crate::classify::{classify_text, redact_json};

/// `text` with PII and secrets replaced (`[REDACTED:email]`).
pub(super) fn redact_text(text: &str) -> String {
    if classify_text(None, text).is_empty() {
        return text.to_owned();
    }
    redact_json(&Value::String(text.to_owned()))
        .as_str()
        .unwrap_or("[REDACTED]")
        .to_owned()
}

pub(super) fn meta_matches(meta: Option<&Value>, q: &EventQuery) -> bool {
    let Some(meta) = meta else {
        return q.kind.is_none() && q.min_severity.is_none();
    };
    if let Some(kind) = q.kind
        && meta.get("k").and_then(Value::as_str) != Some(kind.as_str())
    {
        return false;
    }
    if let Some(min) = q.min_severity {
        let sev = meta
            .get("s")
            .cloned()
            .and_then(|s| serde_json::from_value::<EventSeverity>(s).ok());
        if sev.is_none_or(|s| s < min) {
            return false;
        }
    }
    true
}

/// The analytics point: `index1` = kind; blobs: kind, severity, route,
/// country, reason; doubles: count (1, or a summary's count), severity
/// level (0–4).
pub(super) fn data_point(ev: &SecurityEvent) -> DataPoint {
    DataPoint {
        indexes: vec![ev.kind.as_str().to_string()],
        blobs: vec![
            ev.kind.as_str().to_string(),
            ev.severity.as_str().to_string(),
            ev.route.clone().unwrap_or_default(),
            ev.country.clone().unwrap_or_default(),
            ev.reason.clone(),
        ],
        doubles: vec![ev.count as f64, ev.severity.level()],
    }
}

/// Truncates an IP to its /24 (IPv4) or /48 (IPv6) network; anything
/// unparseable becomes `invalid`.
pub fn anonymize_ip(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::", s[0], s[1], s[2])
        }
        Err(_) => "invalid".into(),
    }
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
