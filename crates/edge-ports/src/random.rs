//! The randomness port: fill a buffer with random bytes.

use std::sync::Mutex;

/// The platform's random source failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("random source failed: {0}")]
pub struct RandomError(pub String);

/// A source of random bytes. Production adapters must be cryptographically
/// secure (`crypto.getRandomValues` on Workers, the OS CSPRNG natively).
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;

    /// A random `u64`.
    fn next_u64(&self) -> Result<u64, RandomError> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    fn next_f64(&self) -> Result<f64, RandomError> {
        // Top 53 bits → exact multiples of 2^-53.
        Ok((self.next_u64()? >> 11) as f64 / (1u64 << 53) as f64)
    }
}

impl<R: Random + ?Sized> Random for &R {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(buf)
    }
}

impl<R: Random + ?Sized> Random for std::sync::Arc<R> {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(buf)
    }
}

impl<R: Random + ?Sized> Random for Box<R> {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(buf)
    }
}

/// A deterministic generator (SplitMix64) for tests. **Not** for keys or nonces.
///
/// ```
/// use edge_ports::{Random, SeededRandom};
/// let a = SeededRandom::new(7);
/// let b = SeededRandom::new(7);
/// assert_eq!(a.next_u64().unwrap(), b.next_u64().unwrap());
/// ```
#[derive(Debug)]
pub struct SeededRandom {
    state: Mutex<u64>,
}

impl SeededRandom {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(seed),
        }
    }

    fn step(&self) -> u64 {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        for chunk in buf.chunks_mut(8) {
            let v = self.step().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

/// The operating system's CSPRNG (native only).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

#[cfg(not(target_arch = "wasm32"))]
impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_fills_odd_lengths() {
        let a = SeededRandom::new(1);
        let b = SeededRandom::new(1);
        let mut x = [0u8; 13];
        let mut y = [0u8; 13];
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 13]);
        let f = a.next_f64().unwrap();
        assert!((0.0..1.0).contains(&f));
    }

    #[test]
    fn os_random_differs_between_calls() {
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        OsRandom.fill(&mut x).unwrap();
        OsRandom.fill(&mut y).unwrap();
        assert_ne!(x, y);
    }
}
