//! Errors of this crate.

/// Why a traffic-split operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration is invalid; the message names the field.
    #[error("invalid config: {0}")]
    Config(String),
    /// A state write lost a race with another writer.
    #[error("stale write: expected version {expected}, found {found}; reload and retry")]
    StaleWrite {
        /// The version the writer read.
        expected: u64,
        /// The version now stored.
        found: u64,
    },
    /// The store failed.
    #[error("store error: {0}")]
    Store(String),
    /// Metrics could not be read.
    #[error("metrics unavailable: {0}")]
    Metrics(String),
}
