//! Conformance suites that every adapter of a port must pass.
//!
//! Enabled with the `conformance` feature. Each check is a public async
//! function that panics (through `assert!`) on a violation, so it reads like
//! a test; [`kv_conformance_tests!`](crate::kv_conformance_tests) turns the
//! whole KV suite into one `#[test]` per check for an adapter.
//!
//! ```
//! // In an adapter crate's tests/ (here: the in-memory adapter):
//! use edge_ports::{ManualClock, MemoryKv};
//! fn store() -> (MemoryKv, ManualClock) {
//!     let clock = ManualClock::new(1_700_000_000_000);
//!     (MemoryKv::new(clock.clone()), clock)
//! }
//! # fn main() {}
//! edge_ports::kv_conformance_tests!(store);
//! ```

// A test suite reports failures by panicking, exactly as `assert!` does.
#[allow(clippy::panic)]
pub mod kv;
