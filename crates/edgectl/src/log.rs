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
    let ms = edge_ports::SystemClock::new().now_ms();
    let (secs, ms) = (ms / 1000, ms % 1000);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
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
