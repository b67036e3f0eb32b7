//! The clock port: milliseconds since the Unix epoch.
//!
//! `std::time::SystemTime::now()` and `Instant::now()` panic on
//! `wasm32-unknown-unknown`, and tests need time they can move, so every
//! component that needs time takes a [`Clock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// Implementations must be monotonic enough for rate limiting: readings never
/// go backwards within one process (adapters clamp to the last reading).
pub trait Clock {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_ms(&self) -> u64;

    /// Whole seconds since the Unix epoch (rounded down).
    fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use edge_ports::{Clock, ManualClock};
/// let clock = ManualClock::new(1_000);
/// clock.advance_ms(250);
/// assert_eq!(clock.now_ms(), 1_250);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        Self {
            now: Arc::new(AtomicU64::new(start_ms)),
        }
    }

    /// Moves time forward by `ms` (saturating).
    pub fn advance_ms(&self, ms: u64) {
        let mut cur = self.now.load(Ordering::SeqCst);
        loop {
            let next = cur.saturating_add(ms);
            match self
                .now
                .compare_exchange(cur, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Moves time forward by `secs` seconds.
    pub fn advance_secs(&self, secs: u64) {
        self.advance_ms(secs.saturating_mul(1000));
    }

    /// Sets the time. Going backwards is allowed here so tests can model a
    /// misbehaving host clock.
    pub fn set_ms(&self, ms: u64) {
        self.now.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The operating system's wall clock, clamped so it never goes backwards.
///
/// Native only: on `wasm32-unknown-unknown` use the platform adapter
/// (`edge_cloudflare::WorkersClock`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default)]
pub struct SystemClock {
    last: AtomicU64,
}

#[cfg(not(target_arch = "wasm32"))]
impl SystemClock {
    /// A new system clock.
    pub fn new() -> Self {
        Self::default()
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // native-only adapter: this is the one place std time is read
    fn now_ms(&self) -> u64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        // fetch_max keeps readings monotonic if the host clock steps back.
        let prev = self.last.fetch_max(wall, Ordering::SeqCst);
        prev.max(wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let a = ManualClock::new(5);
        let b = a.clone();
        assert_eq!(b.now_ms(), 5);
        a.advance_secs(2);
        assert_eq!(b.now_ms(), 2_005);
        assert_eq!(b.now_secs(), 2);
        a.advance_ms(u64::MAX);
        assert_eq!(b.now_ms(), u64::MAX);
    }

    #[test]
    fn system_clock_is_monotonic_and_recent() {
        let c = SystemClock::new();
        let t1 = c.now_ms();
        let t2 = c.now_ms();
        assert!(t2 >= t1);
        // 2020-01-01 in ms: a sanity floor that catches unit mistakes (s vs ms).
        assert!(t1 > 1_577_836_800_000);
    }
}
