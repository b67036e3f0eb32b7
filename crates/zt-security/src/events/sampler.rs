//! Folding floods of like events: the first event of a key in a minute is
//! recorded, the rest of that minute are counted, and one summary event
//! carries the count when the minute is over. A key is the event's kind and
//! severity and the client's network, so a flood costs one write per client per minute,
//! not one per request, and cannot push other events (admin actions among
//! them) out of the log's query window.
//!
//! Admin actions, key rotations and critical events are never folded.
//!
//! ```
//! use zt_security::events::{EventKind, EventSampler, EventSeverity, SecurityEvent};
//!
//! let sampler = EventSampler::new(256);
//! let ev = || SecurityEvent::new(EventKind::AuthFailure, EventSeverity::Medium, "bad token")
//!     .client_ip("203.0.113.7");
//! let t0 = 1_700_000_040_000; // a minute boundary
//! assert_eq!(sampler.admit(ev(), t0).len(), 1); // the first is recorded
//! for _ in 0..99 {
//!     assert!(sampler.admit(ev(), t0 + 1_000).is_empty()); // the rest are counted
//! }
//! let summary = sampler.flush(t0 + 60_000);
//! assert_eq!(summary.len(), 1);
//! assert_eq!(summary[0].count, 99);
//! ```

use std::cell::RefCell;
use std::collections::HashMap;

use super::{EventKind, EventSeverity, SecurityEvent, anonymize_ip};

const MINUTE_MS: u64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SampleKey {
    kind: EventKind,
    /// An escalation (a logged risk becoming a block) is news, not a repeat.
    severity: EventSeverity,
    client: String,
}

#[derive(Debug)]
struct Bucket {
    /// The first event of the minute, the template of the summary.
    first: SecurityEvent,
    /// Events counted after it.
    suppressed: u64,
}

#[derive(Debug, Default)]
struct State {
    minute: u64,
    buckets: HashMap<SampleKey, Bucket>,
    /// Events of clients past `max_keys`, by kind.
    overflow: HashMap<EventKind, Bucket>,
}

/// Per-isolate folding of like events (see the module docs).
#[derive(Debug)]
pub struct EventSampler {
    state: RefCell<State>,
    max_keys: usize,
}

impl EventSampler {
    /// A sampler tracking at most `max_keys` clients per minute; events of
    /// further clients are folded into one summary per kind.
    pub fn new(max_keys: usize) -> Self {
        Self {
            state: RefCell::new(State::default()),
            max_keys: max_keys.max(1),
        }
    }

    /// The events to record now for `event` at `now_ms`: the event itself
    /// when it is the first of its key this minute (or never folded), and
    /// the summaries of a minute that has ended.
    pub fn admit(&self, event: SecurityEvent, now_ms: u64) -> Vec<SecurityEvent> {
        let mut out = self.flush(now_ms);
        if matches!(event.kind, EventKind::AdminAction | EventKind::KeyRotation)
            || event.severity >= EventSeverity::Critical
        {
            out.push(event);
            return out;
        }
        let key = SampleKey {
            kind: event.kind,
            severity: event.severity,
            client: event
                .client_ip
                .as_deref()
                .map_or_else(|| "unknown".to_owned(), anonymize_ip),
        };
        let mut st = self.state.borrow_mut();
        if let Some(bucket) = st.buckets.get_mut(&key) {
            bucket.suppressed += 1;
        } else if st.buckets.len() < self.max_keys {
            st.buckets.insert(
                key,
                Bucket {
                    first: event.clone(),
                    suppressed: 0,
                },
            );
            out.push(event);
        } else {
            let bucket = st.overflow.entry(event.kind).or_insert_with(|| Bucket {
                first: event,
                suppressed: 0,
            });
            bucket.suppressed += 1;
        }
        out
    }

    /// Summaries of the minute that ended before `now_ms`, if any (call it
    /// now and then so the last minute of a flood is reported too).
    pub fn flush(&self, now_ms: u64) -> Vec<SecurityEvent> {
        let minute = now_ms / MINUTE_MS;
        let mut st = self.state.borrow_mut();
        if minute == st.minute {
            return Vec::new();
        }
        let ended = std::mem::replace(
            &mut *st,
            State {
                minute,
                ..State::default()
            },
        );
        let from_ms = ended.minute * MINUTE_MS;
        let folded = ended.buckets.into_values().map(|b| (b, false));
        let overflow = ended.overflow.into_values().map(|b| (b, true));
        folded
            .chain(overflow)
            .filter(|(b, overflow)| b.suppressed > 0 || *overflow)
            .map(|(b, overflow)| summary(b, overflow, from_ms))
            .collect()
    }

    /// True when no minute is pending a summary.
    pub fn is_idle(&self) -> bool {
        let st = self.state.borrow();
        st.buckets.values().all(|b| b.suppressed == 0) && st.overflow.is_empty()
    }
}

fn summary(bucket: Bucket, overflow: bool, from_ms: u64) -> SecurityEvent {
    let mut ev = bucket.first;
    let who = if overflow {
        ev.client_ip = None;
        "other clients".to_owned()
    } else {
        ev.client_ip
            .as_deref()
            .map_or_else(|| "an unknown client".to_owned(), anonymize_ip)
    };
    ev.reason = format!(
        "{} more {} events from {who} in the minute from {from_ms} (first: {})",
        bucket.suppressed,
        ev.kind.as_str(),
        ev.reason
    );
    ev.count = bucket.suppressed;
    ev.request_id = None;
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_040_000;

    fn ev(kind: EventKind, ip: &str) -> SecurityEvent {
        SecurityEvent::new(kind, EventSeverity::Medium, "why").client_ip(ip)
    }

    #[test]
    fn one_event_per_client_and_kind_per_minute_with_a_count() {
        let s = EventSampler::new(16);
        assert_eq!(
            s.admit(ev(EventKind::AuthFailure, "203.0.113.7"), T0).len(),
            1
        );
        // Same /24, same kind: folded.
        assert!(
            s.admit(ev(EventKind::AuthFailure, "203.0.113.8"), T0)
                .is_empty()
        );
        // Another kind or another network: recorded.
        assert_eq!(
            s.admit(ev(EventKind::ThreatBlocked, "203.0.113.7"), T0)
                .len(),
            1
        );
        assert_eq!(
            s.admit(ev(EventKind::AuthFailure, "198.51.100.1"), T0)
                .len(),
            1
        );
        assert!(!s.is_idle());
        // The next minute's first event brings the summary with it.
        let out = s.admit(ev(EventKind::AuthFailure, "203.0.113.7"), T0 + MINUTE_MS);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].count, 1);
        assert!(
            out[0]
                .reason
                .starts_with("1 more auth_failure events from 203.0.113.0")
        );
        assert_eq!(out[1].count, 1);
    }

    #[test]
    fn admin_actions_are_never_folded() {
        let s = EventSampler::new(16);
        for _ in 0..10 {
            let a = SecurityEvent::new(EventKind::AdminAction, EventSeverity::Info, "PUT x");
            assert_eq!(s.admit(a, T0).len(), 1);
        }
        assert!(s.flush(T0 + MINUTE_MS).is_empty());
    }

    #[test]
    fn clients_past_the_cap_share_one_summary_per_kind() {
        let s = EventSampler::new(2);
        let mut recorded = 0;
        for i in 0..1000 {
            recorded += s
                .admit(
                    ev(
                        EventKind::BotBlocked,
                        &format!("10.{}.{}.1", i / 250, i % 250),
                    ),
                    T0,
                )
                .len();
        }
        assert_eq!(recorded, 2);
        let out = s.flush(T0 + MINUTE_MS);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].count, 998);
        assert!(out[0].client_ip.is_none());
    }
}
