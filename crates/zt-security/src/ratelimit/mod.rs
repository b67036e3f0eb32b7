//! Rate limiting: a pure GCRA over the Clock port, a complete tier × category
//! quota table, pluggable stores and the IETF `RateLimit` headers.
//!
//! GCRA keeps one number per key, the theoretical arrival time (TAT), in
//! microseconds (ms × 1000 fixed point), so fractional refill is kept: "1
//! request every 1.5 s" is exact. The emission interval is rounded *up* to the
//! microsecond (an error below 1 µs per unit, never in the client's favour), so
//! over any interval of length `Δ` at most `burst + Δ / emission_interval`
//! units are allowed.
//!
//! Stores: [`MemoryStore`] (exact within one isolate/process),
//! [`KvStoreLimiter`] (approximate, see its docs) and the [`RateLimitStore`]
//! trait that a Durable Object implements for exact global limits.
//!
//! ```
//! use zt_security::ratelimit::{Gcra, Quota};
//!
//! let gcra = Gcra::new(Quota::new(2, 3).unwrap()); // 2 per 3 s: one every 1.5 s
//! let (d, tat) = gcra.decide(None, 0, 1);
//! assert!(d.allowed && d.remaining == 1);
//! let (d, tat) = gcra.decide(tat, 0, 1);
//! assert!(d.allowed && d.remaining == 0);
//! let (d, _) = gcra.decide(tat, 0, 1);
//! assert!(!d.allowed);
//! assert_eq!(d.retry_after_ms, 1_500);
//! ```

mod store;
mod table;
mod wire;

pub use store::{KvStoreLimiter, MemoryStore, RateLimitStore, RateLimiter};
pub use table::{RateLimitConfig, RateLimitTable};
pub use wire::{
    anonymous_key, anonymous_key_salted, api_key_key, client_network, headers, policy_header,
    ratelimit_header, user_key,
};

use serde::{Deserialize, Serialize};

/// Why a rate-limit config or store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// A tier × category cell is missing from the table.
    #[error("rate-limit table has no quota for tier {tier:?} × category {category:?}")]
    MissingCell {
        /// The tier.
        tier: String,
        /// The category.
        category: String,
    },
    /// A tier name is not known.
    #[error("unknown tier {0:?} in the rate-limit table")]
    UnknownTier(String),
    /// A category is used but not declared (or declared twice, or empty).
    #[error("invalid or undeclared category {0:?}")]
    InvalidCategory(String),
    /// A quota has a zero window or a burst of zero with a non-zero limit.
    #[error("invalid quota: {0}")]
    InvalidQuota(String),
    /// The backing store failed.
    #[error("rate-limit store failed: {0}")]
    Store(String),
}

/// `limit` units per `window_secs`, with a burst (default: `limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Units per window. 0 denies everything.
    pub limit: u32,
    /// Window length in seconds (≥ 1).
    pub window_secs: u32,
    /// Units that may be spent at once (default `limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl Quota {
    /// A quota of `limit` per `window_secs`.
    pub fn new(limit: u32, window_secs: u32) -> Result<Self, RateLimitError> {
        let q = Self {
            limit,
            window_secs,
            burst: None,
        };
        q.validate()?;
        Ok(q)
    }

    /// Checks the window and burst.
    pub fn validate(&self) -> Result<(), RateLimitError> {
        if self.window_secs == 0 {
            return Err(RateLimitError::InvalidQuota(
                "window_secs must be ≥ 1".into(),
            ));
        }
        if self.limit > 0 && self.burst == Some(0) {
            return Err(RateLimitError::InvalidQuota("burst must be ≥ 1".into()));
        }
        Ok(())
    }

    /// The burst size.
    pub fn burst(&self) -> u32 {
        self.burst.unwrap_or(self.limit)
    }
}

/// A theoretical arrival time: GCRA's one number of state per key, in
/// microseconds since the Unix epoch. A type of its own so it is never
/// compared with a millisecond clock reading by mistake: ask
/// [`Tat::has_passed`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tat(u64);

impl Tat {
    /// From microseconds since the epoch (as stored).
    pub fn from_micros(us: u64) -> Self {
        Self(us)
    }

    /// Microseconds since the epoch (to store).
    pub fn micros(self) -> u64 {
        self.0
    }

    /// The TAT of a clock reading in milliseconds.
    pub fn at_ms(now_ms: u64) -> Self {
        Self(now_ms.saturating_mul(1000))
    }

    /// True when the bucket is full again at `now_ms`: the key carries no
    /// state and can be forgotten.
    pub fn has_passed(self, now_ms: u64) -> bool {
        self <= Self::at_ms(now_ms)
    }
}

/// The outcome of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The quota's limit (units per window).
    pub limit: u32,
    /// Units that could still be spent right now.
    pub remaining: u32,
    /// Milliseconds until the bucket is full again.
    pub reset_after_ms: u64,
    /// Milliseconds until this request would be allowed (0 when allowed).
    pub retry_after_ms: u64,
}

/// The generic cell rate algorithm for one quota. Pure: state in, state out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    limit: u32,
    burst: u32,
    /// Microseconds per unit (rounded up, so rounding never allows extra).
    emission_us: u64,
    /// `burst × emission`.
    tau_us: u64,
}

impl Gcra {
    /// The GCRA for `quota`.
    pub fn new(quota: Quota) -> Self {
        let burst = quota.burst();
        let window_us = u64::from(quota.window_secs.max(1)) * 1_000_000;
        let emission_us = if quota.limit == 0 {
            u64::MAX / 4
        } else {
            window_us.div_ceil(u64::from(quota.limit))
        };
        Self {
            limit: quota.limit,
            burst,
            emission_us,
            tau_us: emission_us.saturating_mul(u64::from(burst)),
        }
    }

    /// Microseconds per unit.
    pub fn emission_interval_us(&self) -> u64 {
        self.emission_us
    }

    /// Decides a request of `cost` units at `now_ms` given the stored TAT
    /// (`None` for a new key). Returns the decision and the TAT to store
    /// (unchanged when denied). `cost` 0 only reports the state; a `cost`
    /// above the burst is always denied, with a retry of one window.
    pub fn decide(&self, tat: Option<Tat>, now_ms: u64, cost: u32) -> (Decision, Option<Tat>) {
        let now = Tat::at_ms(now_ms).micros();
        let tat_now = tat.map_or(now, Tat::micros).max(now);
        let remaining_at = |t: u64| {
            let used = t.saturating_sub(now);
            let rem = self.tau_us.saturating_sub(used) / self.emission_us.max(1);
            u32::try_from(rem).unwrap_or(u32::MAX).min(self.burst)
        };
        let reset = |t: u64| t.saturating_sub(now).div_ceil(1000);
        if cost > self.burst || self.limit == 0 {
            let d = Decision {
                allowed: false,
                limit: self.limit,
                remaining: remaining_at(tat_now),
                reset_after_ms: reset(tat_now),
                retry_after_ms: self.tau_us.max(1_000_000).div_ceil(1000),
            };
            return (d, tat);
        }
        let new_tat = tat_now.saturating_add(self.emission_us.saturating_mul(u64::from(cost)));
        let allow_at = new_tat.saturating_sub(self.tau_us);
        if now < allow_at {
            let d = Decision {
                allowed: false,
                limit: self.limit,
                remaining: remaining_at(tat_now),
                reset_after_ms: reset(tat_now),
                retry_after_ms: (allow_at - now).div_ceil(1000),
            };
            return (d, tat);
        }
        let d = Decision {
            allowed: true,
            limit: self.limit,
            remaining: remaining_at(new_tat),
            reset_after_ms: reset(new_tat),
            retry_after_ms: 0,
        };
        (d, Some(Tat(new_tat)))
    }
}
