//! Structured logs on stderr: `pretty` (one readable line) or `json` (one
//! object per line: `ts`, `level`, `msg` and fields). Chosen once with
//! `--log-format`; the access log (one line per request) is opt-in with
//! `--access-log` because it costs throughput.
//!
//! A tiny logger instead of `tracing`: the host logs a handful of events
//! (start, stop, failures, controller decisions, requests) and this keeps
//! the dependency tree lean.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `2026-11-28T21:00:00.123Z INFO msg key=value …`
    Pretty,
    /// `{"ts":…,"level":"info","msg":…,"key":"value"}`
    Json,
}

static FORMAT: OnceLock<Format> = OnceLock::new();
static ACCESS: AtomicBool = AtomicBool::new(false);

/// Sets the format (first call wins) and whether requests are logged.
pub fn init(format: Format, access_log: bool) {
    let _ = FORMAT.set(format);
    ACCESS.store(access_log, Ordering::Relaxed);
}

/// Whether the access log is on.
pub fn access_enabled() -> bool {
    ACCESS.load(Ordering::Relaxed)
}

fn timestamp() -> String {
    use edge_ports::Clock;
    slo_metrics::trace::iso8601(edge_ports::SystemClock::new().now_ms())
}

/// Writes one event.
pub fn event(level: &str, msg: &str, fields: &[(&str, String)]) {
    let line = match FORMAT.get().copied().unwrap_or(Format::Pretty) {
        Format::Json => {
            let mut obj = serde_json::Map::new();
            obj.insert("ts".into(), timestamp().into());
            obj.insert("level".into(), level.into());
            obj.insert("msg".into(), msg.into());
            for (k, v) in fields {
                obj.insert((*k).into(), v.clone().into());
            }
            serde_json::Value::Object(obj).to_string()
        }
        Format::Pretty => {
            let mut s = format!("{} {:<5} {msg}", timestamp(), level.to_uppercase());
            for (k, v) in fields {
                s.push_str(&format!(" {k}={v}"));
            }
            s
        }
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// An info event.
pub fn info(msg: &str, fields: &[(&str, String)]) {
    event("info", msg, fields);
}

/// A warning.
pub fn warn(msg: &str, fields: &[(&str, String)]) {
    event("warn", msg, fields);
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = super::timestamp();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    }
}
