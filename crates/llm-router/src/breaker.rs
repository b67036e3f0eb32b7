//! Per-provider circuit breakers, and the port for sharing their state.

use std::collections::VecDeque;

use async_trait::async_trait;
use edge_ports::{KvStore, PutOptions};
use serde::{Deserialize, Serialize};

use crate::config::BreakerConfig;

/// A breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow; outcomes are counted.
    Closed,
    /// Calls are refused until `until_ms`.
    Open {
        /// When probing may start (ms since the epoch).
        until_ms: u64,
    },
    /// A limited number of probe calls decide between closed and open.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half_open` (for `/status` and dashboards).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// A state change worth telling other isolates about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The breaker opened until this time.
    Opened(u64),
    /// The breaker closed.
    Closed,
}

/// One provider's breaker: closed → open on consecutive failures or an
/// error ratio over a sliding window; open → half-open after the reset
/// timeout; half-open → closed on a successful probe, open on a failed one.
#[derive(Debug, Clone)]
pub struct Breaker {
    cfg: BreakerConfig,
    state: BreakerState,
    window: VecDeque<bool>,
    consecutive_failures: u32,
    probes: u32,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(cfg: BreakerConfig) -> Self {
        Self {
            cfg,
            state: BreakerState::Closed,
            window: VecDeque::new(),
            consecutive_failures: 0,
            probes: 0,
        }
    }

    /// The state at `now` (an expired open state reads as half-open).
    pub fn state(&self, now: u64) -> BreakerState {
        match self.state {
            BreakerState::Open { until_ms } if now >= until_ms => BreakerState::HalfOpen,
            s => s,
        }
    }

    /// Whether a call may go out now. In half-open, takes a probe slot.
    pub fn try_acquire(&mut self, now: u64) -> bool {
        if let BreakerState::Open { until_ms } = self.state {
            if now < until_ms {
                return false;
            }
            self.state = BreakerState::HalfOpen;
            self.probes = 0;
        }
        match self.state {
            BreakerState::Closed => true,
            BreakerState::HalfOpen if self.probes < self.cfg.half_open_probes => {
                self.probes += 1;
                true
            }
            _ => false,
        }
    }

    /// Records a call's outcome.
    pub fn record(&mut self, now: u64, success: bool) -> Option<Transition> {
        match self.state {
            BreakerState::HalfOpen => {
                self.probes = self.probes.saturating_sub(1);
                if success {
                    self.close();
                    Some(Transition::Closed)
                } else {
                    Some(self.open(now))
                }
            }
            BreakerState::Open { .. } => None, // a call that started before it opened
            BreakerState::Closed => {
                self.window.push_back(success);
                while self.window.len() > self.cfg.window as usize {
                    self.window.pop_front();
                }
                if success {
                    self.consecutive_failures = 0;
                    return None;
                }
                self.consecutive_failures += 1;
                let failures = self.window.iter().filter(|ok| !**ok).count();
                let ratio_tripped = self.window.len() >= self.cfg.min_calls as usize
                    && failures as f64 / self.window.len() as f64 >= self.cfg.error_ratio;
                if self.consecutive_failures >= self.cfg.consecutive_failures || ratio_tripped {
                    Some(self.open(now))
                } else {
                    None
                }
            }
        }
    }

    /// Releases a half-open probe slot without judging (e.g. a 429).
    pub fn release(&mut self) {
        if self.state == BreakerState::HalfOpen {
            self.probes = self.probes.saturating_sub(1);
        }
    }

    /// Adopts an outage another isolate saw.
    pub fn force_open(&mut self, until_ms: u64) {
        let later = match self.state {
            BreakerState::Open { until_ms: u } => u.max(until_ms),
            _ => until_ms,
        };
        self.state = BreakerState::Open { until_ms: later };
        self.probes = 0;
    }

    fn open(&mut self, now: u64) -> Transition {
        let until = now.saturating_add(self.cfg.reset_timeout_ms);
        self.state = BreakerState::Open { until_ms: until };
        self.probes = 0;
        Transition::Opened(until)
    }

    fn close(&mut self) {
        self.state = BreakerState::Closed;
        self.window.clear();
        self.consecutive_failures = 0;
        self.probes = 0;
    }
}

/// What isolates share about a provider's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedBreaker {
    /// Open until this time (ms since the epoch); `None` when closed.
    pub open_until_ms: Option<u64>,
}

/// Shares breaker state between isolates or processes.
///
/// [`KvBreakerStore`] is best effort (KV is eventually consistent: other
/// locations learn of an outage within about a minute). For exact shared
/// state, implement this over a Durable Object (single-threaded per id).
#[async_trait(?Send)]
pub trait BreakerStore {
    /// The shared state of a provider's breaker, if any.
    async fn load(&self, provider: &str) -> Option<SharedBreaker>;
    /// Publishes a state change.
    async fn publish(&self, provider: &str, state: SharedBreaker);
}

/// No sharing: each isolate learns on its own.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalOnly;

#[async_trait(?Send)]
impl BreakerStore for LocalOnly {
    async fn load(&self, _: &str) -> Option<SharedBreaker> {
        None
    }
    async fn publish(&self, _: &str, _: SharedBreaker) {}
}

/// Best-effort sharing through a KV store (`router:breaker:{provider}`).
#[derive(Debug, Clone)]
pub struct KvBreakerStore<K> {
    kv: K,
}

impl<K: KvStore> KvBreakerStore<K> {
    /// Shares through `kv`.
    pub fn new(kv: K) -> Self {
        Self { kv }
    }
}

#[async_trait(?Send)]
impl<K: KvStore> BreakerStore for KvBreakerStore<K> {
    async fn load(&self, provider: &str) -> Option<SharedBreaker> {
        let bytes = self
            .kv
            .get(&format!("router:breaker:{provider}"))
            .await
            .ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    async fn publish(&self, provider: &str, state: SharedBreaker) {
        let key = format!("router:breaker:{provider}");
        let Ok(bytes) = serde_json::to_vec(&state) else {
            return;
        };
        // Failure to share is not a request failure: this isolate still has
        // its own breaker.
        let _ = self.kv.put(&key, bytes, PutOptions::ttl(600)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            error_ratio: 0.5,
            window: 10,
            min_calls: 6,
            reset_timeout_ms: 1_000,
            half_open_probes: 1,
        }
    }

    #[test]
    fn opens_probes_and_closes() {
        let mut b = Breaker::new(cfg());
        assert!(b.try_acquire(0));
        assert_eq!(b.record(0, false), None);
        assert_eq!(b.record(0, false), None);
        assert_eq!(b.record(5, false), Some(Transition::Opened(1_005)));
        assert!(!b.try_acquire(1_004));
        assert_eq!(b.state(1_005), BreakerState::HalfOpen);
        assert!(b.try_acquire(1_005), "one probe");
        assert!(!b.try_acquire(1_005), "only one probe at a time");
        assert_eq!(b.record(1_010, false), Some(Transition::Opened(2_010)));
        assert!(b.try_acquire(2_010));
        assert_eq!(b.record(2_010, true), Some(Transition::Closed));
        assert_eq!(b.state(2_010), BreakerState::Closed);
    }

    #[test]
    fn error_ratio_trips_without_consecutive_failures() {
        let mut b = Breaker::new(cfg());
        let mut opened = None;
        for (i, ok) in [true, false, true, false, true, false]
            .into_iter()
            .enumerate()
        {
            opened = b.record(i as u64, ok).or(opened);
        }
        assert_eq!(opened, Some(Transition::Opened(1_005)));
    }
}
