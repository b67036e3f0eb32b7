//! Lock-free request counters, served as JSON by `GET /__stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Lowest status code tracked in `by_status`.
const FIRST_STATUS: u16 = 100;
/// Number of tracked status codes (100..=999).
const STATUS_SLOTS: usize = 900;

/// Counters shared by every connection of a server (all relaxed atomics).
///
/// Requests to `/__stats` itself are not counted.
#[derive(Debug)]
pub struct Stats {
    requests: AtomicU64,
    chat_requests: AtomicU64,
    streamed: AtomicU64,
    injected_errors: AtomicU64,
    injected_timeouts: AtomicU64,
    truncated: AtomicU64,
    by_status: Box<[AtomicU64]>,
}

/// A point-in-time copy of [`Stats`], the JSON shape of `GET /__stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Every request except `/__stats`.
    pub requests: u64,
    /// `POST /v1/chat/completions` requests.
    pub chat_requests: u64,
    /// Chat requests answered with an SSE stream (including truncated ones).
    pub streamed: u64,
    /// Chat requests answered with an injected error status.
    pub injected_errors: u64,
    /// Chat requests held without an answer.
    pub injected_timeouts: u64,
    /// Chat replies cut short.
    pub truncated: u64,
    /// Responses sent, by status code (JSON keys are strings).
    pub by_status: BTreeMap<u16, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// All counters at zero.
    pub fn new() -> Self {
        Self {
            requests: AtomicU64::new(0),
            chat_requests: AtomicU64::new(0),
            streamed: AtomicU64::new(0),
            injected_errors: AtomicU64::new(0),
            injected_timeouts: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            by_status: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Copies the counters (each read is atomic; the set is not a transaction).
    pub fn snapshot(&self) -> StatsSnapshot {
        let by_status = self
            .by_status
            .iter()
            .zip(FIRST_STATUS..)
            .filter_map(|(count, status)| {
                let n = count.load(Ordering::Relaxed);
                (n > 0).then_some((status, n))
            })
            .collect();
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            chat_requests: self.chat_requests.load(Ordering::Relaxed),
            streamed: self.streamed.load(Ordering::Relaxed),
            injected_errors: self.injected_errors.load(Ordering::Relaxed),
            injected_timeouts: self.injected_timeouts.load(Ordering::Relaxed),
            truncated: self.truncated.load(Ordering::Relaxed),
            by_status,
        }
    }

    /// Resets every counter to zero.
    pub fn reset(&self) {
        for counter in [
            &self.requests,
            &self.chat_requests,
            &self.streamed,
            &self.injected_errors,
            &self.injected_timeouts,
            &self.truncated,
        ]
        .into_iter()
        .chain(self.by_status.iter())
        {
            counter.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_chat(&self) {
        self.chat_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_streamed(&self) {
        self.streamed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_injected_error(&self) {
        self.injected_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_injected_timeout(&self) {
        self.injected_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_truncated(&self) {
        self.truncated.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_status(&self, status: u16) {
        let slot = usize::from(status.wrapping_sub(FIRST_STATUS));
        if let Some(counter) = self.by_status.get(slot) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_and_reset() {
        let stats = Stats::new();
        stats.count_request();
        stats.count_status(200);
        stats.count_status(200);
        stats.count_status(529);
        stats.count_status(42); // out of range: ignored
        let snap = stats.snapshot();
        assert_eq!(snap.requests, 1);
        assert_eq!(snap.by_status, BTreeMap::from([(200, 2), (529, 1)]));
        let json = serde_json::to_string(&snap).unwrap();
        assert!(json.contains(r#""by_status":{"200":2,"529":1}"#), "{json}");
        stats.reset();
        assert_eq!(stats.snapshot(), StatsSnapshot::default());
    }
}
