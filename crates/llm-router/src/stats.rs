//! Per-provider observations: peak-EWMA latency and a sliding success window.

use std::collections::VecDeque;

/// Decay time of the latency average, in ms.
const TAU_MS: f64 = 10_000.0;
/// Outcomes kept for the success rate.
const WINDOW: usize = 100;

/// What the router has seen of one provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderStats {
    ewma_ms: Option<f64>,
    last_at_ms: u64,
    window: VecDeque<bool>,
    /// Success and total counts seeded from prober records in KV.
    seeded: (u64, u64),
    /// Skipped until this time (auth failure, failed health probe).
    pub unhealthy_until_ms: u64,
}

impl ProviderStats {
    /// Records a latency with peak-EWMA: a slower sample is adopted at once,
    /// a faster one decays in with time constant 10 s.
    pub fn observe_latency(&mut self, now_ms: u64, latency_ms: f64) {
        self.ewma_ms = Some(match self.ewma_ms {
            None => latency_ms,
            Some(cur) if latency_ms > cur => latency_ms,
            Some(cur) => {
                let dt = now_ms.saturating_sub(self.last_at_ms) as f64;
                let w = (-dt / TAU_MS).exp();
                cur * w + latency_ms * (1.0 - w)
            }
        });
        self.last_at_ms = now_ms;
    }

    /// Seeds the latency from a health record when nothing was observed here.
    pub fn seed_latency(&mut self, now_ms: u64, latency_ms: f64) {
        if self.ewma_ms.is_none() {
            self.ewma_ms = Some(latency_ms);
            self.last_at_ms = now_ms;
        }
    }

    /// Records a call outcome.
    pub fn observe_outcome(&mut self, ok: bool) {
        self.window.push_back(ok);
        if self.window.len() > WINDOW {
            self.window.pop_front();
        }
    }

    /// Replaces the prober's success/total counts.
    pub fn seed_outcomes(&mut self, ok: u64, total: u64) {
        self.seeded = (ok.min(total), total);
    }

    /// The latency estimate in ms, if any.
    pub fn latency_ms(&self) -> Option<f64> {
        self.ewma_ms
    }

    /// Success rate with Laplace smoothing: (ok + 1) / (n + 2).
    pub fn reliability(&self) -> f64 {
        let ok = self.window.iter().filter(|o| **o).count() as f64 + self.seeded.0 as f64;
        let n = self.window.len() as f64 + self.seeded.1 as f64;
        (ok + 1.0) / (n + 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_ewma_jumps_up_and_decays_down() {
        let mut s = ProviderStats::default();
        s.observe_latency(0, 100.0);
        s.observe_latency(10, 500.0);
        assert_eq!(s.latency_ms(), Some(500.0));
        s.observe_latency(10_010, 100.0);
        let l = s.latency_ms().unwrap();
        assert!(l > 100.0 && l < 500.0, "{l}");
        s.observe_latency(60_010, 100.0);
        assert!(s.latency_ms().unwrap() < l);
    }

    #[test]
    fn reliability_is_smoothed() {
        let mut s = ProviderStats::default();
        assert_eq!(s.reliability(), 0.5);
        for _ in 0..8 {
            s.observe_outcome(true);
        }
        assert_eq!(s.reliability(), 0.9);
        s.seed_outcomes(0, 10);
        assert_eq!(s.reliability(), 0.45);
    }
}
