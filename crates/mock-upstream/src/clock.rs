//! The one place this crate reads the wall clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch (zero if the clock is before 1970).
///
/// The workspace bans `SystemTime::now` because it panics on
/// `wasm32-unknown-unknown`; this crate is a native-only test binary, so the
/// ban does not apply here.
#[allow(clippy::disallowed_methods)] // native-only binary: SystemTime::now is fine here.
pub(crate) fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Whole seconds since the Unix epoch, for the `created` field.
pub(crate) fn unix_secs() -> u64 {
    since_epoch().as_secs()
}
