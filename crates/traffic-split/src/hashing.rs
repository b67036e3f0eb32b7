//! Sticky bucketing shared by canary and blue-green routing.

/// A uniform bucket in [0, 1) for `unit` under `seed`, using GrowthBook's
/// hash v2 (FNV-1a 32, applied twice), so edge routing and GrowthBook
/// experiments bucket identically.
pub fn sticky_bucket(seed: &str, unit: &str) -> f64 {
    crate::growthbook::hash(seed, unit, 2).unwrap_or(0.0)
}
