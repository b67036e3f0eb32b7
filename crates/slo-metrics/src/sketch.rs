//! DDSketch (Masson, Rim and Lee, VLDB 2019) with 1% relative accuracy:
//! mergeable, bounded memory, compact serialisation.
//!
//! A value `v > 0` goes to bucket `ceil(log_γ v)` with `γ = (1 + α)/(1 − α)`;
//! the bucket's representative `2γ^i / (γ + 1)` is within relative error
//! `α` of every value in it. Values are latencies in milliseconds; the
//! range 1 µs – 100 s (1e-3 – 1e5 ms) spans ~921 buckets at α = 1%, stored
//! as a dense `u32` array from the lowest to the highest bucket seen, so
//! memory stays under 4 KB (see `memory_bytes`). Values ≤ 1e-3 ms are
//! counted in a zero bucket; values above 1e5 ms are clamped to it.
//!
//! ```
//! use slo_metrics::sketch::DdSketch;
//! let mut s = DdSketch::new();
//! for v in 1..=1000 { s.insert(v as f64); }
//! let p99 = s.quantile(0.99).unwrap();
//! assert!((p99 - 990.0).abs() / 990.0 <= 0.01);
//! let bytes = s.to_bytes();
//! assert_eq!(DdSketch::from_bytes(&bytes).unwrap().quantile(0.99), Some(p99));
//! ```

/// Relative accuracy.
pub const ALPHA: f64 = 0.01;
/// Smallest tracked value (ms): 1 µs.
pub const MIN_VALUE: f64 = 1e-3;
/// Largest tracked value (ms): 100 s.
pub const MAX_VALUE: f64 = 1e5;

fn gamma() -> f64 {
    (1.0 + ALPHA) / (1.0 - ALPHA)
}

fn key(v: f64) -> i32 {
    (v.ln() / gamma().ln()).ceil() as i32
}

/// A mergeable quantile sketch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DdSketch {
    offset: i32,
    bins: Vec<u32>,
    zero: u64,
    count: u64,
    sum: f64,
}

/// A serialised sketch could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sketch encoding: {0}")]
pub struct SketchError(pub &'static str);

impl DdSketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of recorded values (for the mean).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Records one value (ms). Non-finite or negative values are ignored.
    pub fn insert(&mut self, v: f64) {
        if !v.is_finite() || v < 0.0 {
            return;
        }
        self.count += 1;
        self.sum += v;
        if v <= MIN_VALUE {
            self.zero += 1;
            return;
        }
        let k = key(v.min(MAX_VALUE));
        if self.bins.is_empty() {
            self.offset = k;
            self.bins.push(0);
        } else if k < self.offset {
            let grow = usize::try_from(self.offset - k).unwrap_or(0);
            self.bins.reserve_exact(grow);
            self.bins.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = k;
        } else {
            let idx = usize::try_from(k - self.offset).unwrap_or(0);
            if idx >= self.bins.len() {
                self.bins.reserve_exact(idx + 1 - self.bins.len());
                self.bins.resize(idx + 1, 0);
            }
        }
        let idx = usize::try_from(k - self.offset).unwrap_or(0);
        if let Some(b) = self.bins.get_mut(idx) {
            *b = b.saturating_add(1);
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &DdSketch) {
        self.count += other.count;
        self.sum += other.sum;
        self.zero += other.zero;
        for (i, n) in other.bins.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let k = other.offset + i32::try_from(i).unwrap_or(0);
            // Insert the bucket's count at its key.
            if self.bins.is_empty() {
                self.offset = k;
                self.bins.push(0);
            } else if k < self.offset {
                let grow = usize::try_from(self.offset - k).unwrap_or(0);
                self.bins.reserve_exact(grow);
                self.bins.splice(0..0, std::iter::repeat_n(0, grow));
                self.offset = k;
            }
            let idx = usize::try_from(k - self.offset).unwrap_or(0);
            if idx >= self.bins.len() {
                self.bins.reserve_exact(idx + 1 - self.bins.len());
                self.bins.resize(idx + 1, 0);
            }
            self.bins[idx] = self.bins[idx].saturating_add(*n);
        }
    }

    /// The `q` quantile (0–1), within 1% relative error; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !q.is_finite() {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).floor() as u64;
        if rank < self.zero {
            return Some(0.0);
        }
        let mut seen = self.zero;
        for (i, n) in self.bins.iter().enumerate() {
            seen += u64::from(*n);
            if seen > rank {
                let k = self.offset + i32::try_from(i).unwrap_or(0);
                let g = gamma();
                return Some(2.0 * g.powi(k) / (g + 1.0));
            }
        }
        None
    }

    /// Values at or under `threshold` (bucket-accurate: within 1%).
    pub fn count_le(&self, threshold: f64) -> u64 {
        if !threshold.is_finite() || threshold < 0.0 {
            return 0;
        }
        let g = gamma();
        let mut n = self.zero;
        for (i, c) in self.bins.iter().enumerate() {
            let k = self.offset + i32::try_from(i).unwrap_or(0);
            if 2.0 * g.powi(k) / (g + 1.0) <= threshold {
                n += u64::from(*c);
            } else {
                break;
            }
        }
        n
    }

    /// Heap and inline memory in bytes.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.bins.capacity() * std::mem::size_of::<u32>()
    }

    /// Compact encoding: version, count, zero, sum, offset, then the bins
    /// as (zero-run length, value) LEB128 varint pairs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![1u8];
        put(&mut out, self.count);
        put(&mut out, self.zero);
        out.extend_from_slice(&self.sum.to_le_bytes());
        put(&mut out, zigzag(self.offset));
        let mut run = 0u64;
        let mut pairs = Vec::new();
        for n in &self.bins {
            if *n == 0 {
                run += 1;
            } else {
                pairs.push((run, u64::from(*n)));
                run = 0;
            }
        }
        put(&mut out, pairs.len() as u64);
        for (r, n) in pairs {
            put(&mut out, r);
            put(&mut out, n);
        }
        out
    }

    /// Decodes [`DdSketch::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, SketchError> {
        let mut r = Reader { b, i: 0 };
        if r.byte()? != 1 {
            return Err(SketchError("unknown version"));
        }
        let count = r.varint()?;
        let zero = r.varint()?;
        let sum = f64::from_le_bytes(r.take(8)?.try_into().map_err(|_| SketchError("sum"))?);
        let offset = unzigzag(r.varint()?);
        let pairs = r.varint()?;
        if pairs > 100_000 {
            return Err(SketchError("too many bins"));
        }
        let mut bins = Vec::new();
        for _ in 0..pairs {
            let run = r.varint()?;
            let n = u32::try_from(r.varint()?).map_err(|_| SketchError("bin count"))?;
            if run > 100_000 || bins.len() > 100_000 {
                return Err(SketchError("sketch too wide"));
            }
            bins.extend(std::iter::repeat_n(0, usize::try_from(run).unwrap_or(0)));
            bins.push(n);
        }
        let total: u64 = zero + bins.iter().map(|n| u64::from(*n)).sum::<u64>();
        if total != count {
            return Err(SketchError("counts do not add up"));
        }
        Ok(Self {
            offset,
            bins,
            zero,
            count,
            sum,
        })
    }
}

fn zigzag(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

fn unzigzag(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, SketchError> {
        let v = *self.b.get(self.i).ok_or(SketchError("truncated"))?;
        self.i += 1;
        Ok(v)
    }
    fn take(&mut self, n: usize) -> Result<&[u8], SketchError> {
        let s = self
            .b
            .get(self.i..self.i + n)
            .ok_or(SketchError("truncated"))?;
        self.i += n;
        Ok(s)
    }
    fn varint(&mut self) -> Result<u64, SketchError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SketchError("varint too long"))
    }
}
