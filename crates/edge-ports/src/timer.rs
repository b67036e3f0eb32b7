//! The timer port: wait for a duration (backoff, timeouts on body reads).

use std::time::Duration;

use async_trait::async_trait;

use crate::ManualClock;

/// Sleeps without blocking the thread (Workers: `setTimeout`; native: tokio).
#[async_trait(?Send)]
pub trait Timer {
    /// Completes after `duration`.
    async fn sleep(&self, duration: Duration);
}

#[async_trait(?Send)]
impl<T: Timer + ?Sized> Timer for std::sync::Arc<T> {
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await;
    }
}

#[async_trait(?Send)]
impl<T: Timer + ?Sized> Timer for std::rc::Rc<T> {
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await;
    }
}

/// A timer for tests: `sleep` advances a [`ManualClock`] and returns at once,
/// so backoff and deadlines are tested without waiting.
///
/// ```
/// use edge_ports::{Clock, ManualClock, ManualTimer, Timer};
/// # edge_ports::testing::block_on(async {
/// let clock = ManualClock::new(0);
/// ManualTimer::new(clock.clone()).sleep(std::time::Duration::from_millis(250)).await;
/// assert_eq!(clock.now_ms(), 250);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ManualTimer {
    clock: ManualClock,
}

impl ManualTimer {
    /// A timer that moves `clock`.
    pub fn new(clock: ManualClock) -> Self {
        Self { clock }
    }
}

#[async_trait(?Send)]
impl Timer for ManualTimer {
    async fn sleep(&self, duration: Duration) {
        self.clock
            .advance_ms(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
    }
}
