//! Seeded randomness for the simulation tests (no `rand` dependency).
#![allow(dead_code)]

/// xorshift64: deterministic uniform draws.
pub struct XorShift(pub u64);

impl XorShift {
    /// A uniform draw in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}
