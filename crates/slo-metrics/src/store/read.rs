//! Readers: the multi-resolution window plan, the merged [`Rollups`] and
//! the KV-backed [`KvWindows`] source.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::Engine;
use edge_ports::{KvError, KvStore, ListOptions};

use super::{Granularity, KvHandle, decode_bucket};
use crate::slo::{Bucket, Counts, Sli};
use crate::source::{SliSource, SourceError};

/// The fewest decimal prefixes of 10-digit zero-padded numbers that
/// together match exactly the numbers `a..=b` (so a KV `list` by each
/// prefix returns only the periods wanted).
///
/// ```
/// use slo_metrics::store::prefix_cover;
/// let p = prefix_cover(120, 131);
/// assert_eq!(p, ["000000012", "0000000130", "0000000131"]);
/// assert_eq!(prefix_cover(0, 9_999_999_999), [""]);
/// ```
pub fn prefix_cover(a: u64, b: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut a = a;
    while a <= b {
        let (mut p, mut k) = (1u64, 0usize);
        while k < 10
            && a.is_multiple_of(p.saturating_mul(10))
            && a.saturating_add(p.saturating_mul(10) - 1) <= b
        {
            p = p.saturating_mul(10);
            k += 1;
        }
        let digits = format!("{a:010}");
        out.push(
            digits
                .get(..digits.len().saturating_sub(k))
                .unwrap_or("")
                .to_owned(),
        );
        match a.checked_add(p) {
            Some(n) => a = n,
            None => break,
        }
    }
    out
}

/// Buckets merged across writers, by granularity and period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollups {
    buckets: BTreeMap<(Granularity, u64), Bucket>,
}

/// What a [`KvWindows::load`] cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// `list` calls (pages).
    pub lists: u64,
    /// `get` calls (buckets too big for metadata).
    pub gets: u64,
    /// Writer buckets merged.
    pub buckets: u64,
}

impl Rollups {
    /// Merges one writer's bucket.
    pub fn add(&mut self, g: Granularity, period: u64, b: &Bucket) {
        self.buckets.entry((g, period)).or_default().merge(b);
    }

    /// The buckets that make up the `window_min` minutes ending at
    /// `now_ms`: minutes back to an hour boundary, hours back to a day
    /// boundary, whole days, then hours and minutes at the old end while
    /// they are retained (see the module docs for the approximation).
    pub fn plan(now_ms: u64, window_min: u64) -> Vec<(Granularity, u64)> {
        let end = now_ms / 60_000 + 1;
        let from = end.saturating_sub(window_min);
        let mut cursor = end;
        let mut out = Vec::new();
        while cursor > from {
            let pick = [Granularity::Day, Granularity::Hour, Granularity::Minute]
                .into_iter()
                .find(|g| {
                    let len = g.minutes();
                    cursor.is_multiple_of(len)
                        && cursor - from >= len
                        && end - (cursor - len) <= g.retention_min()
                });
            let Some(g) = pick else { break };
            cursor -= g.minutes();
            out.push((g, cursor / g.minutes()));
        }
        out
    }

    /// The merged bucket of a window.
    pub fn window(&self, now_ms: u64, window_min: u64) -> Bucket {
        let mut out = Bucket::default();
        for k in Self::plan(now_ms, window_min) {
            if let Some(b) = self.buckets.get(&k) {
                out.merge(b);
            }
        }
        out
    }

    /// Good/total for `sli` over a window.
    pub fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Counts {
        let (mut good, mut total) = (0u64, 0u64);
        for k in Self::plan(now_ms, window_min) {
            if let Some(b) = self.buckets.get(&k) {
                good = good.saturating_add(b.good(sli));
                total = total.saturating_add(b.total);
            }
        }
        Counts {
            good: good as f64,
            total: total as f64,
        }
    }
}

impl crate::slo::CountSource for Rollups {
    fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Counts {
        Rollups::counts(self, sli, now_ms, window_min)
    }
}

/// Windows read from the per-writer buckets in KV.
pub struct KvWindows<'a> {
    kv: KvHandle<'a>,
    namespace: String,
    cache: RefCell<Option<(u64, Vec<u64>, Rollups)>>,
}

impl std::fmt::Debug for KvWindows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvWindows")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl<'a> KvWindows<'a> {
    /// A reader of the buckets [`super::BucketWriter`]s write under
    /// `namespace`.
    pub fn new(kv: &'a dyn KvStore, namespace: &str) -> Self {
        Self {
            kv: KvHandle::Borrowed(kv),
            namespace: namespace.to_owned(),
            cache: RefCell::new(None),
        }
    }

    /// [`KvWindows::new`] over a shared port.
    pub fn shared(kv: Arc<dyn KvStore>, namespace: &str) -> KvWindows<'static> {
        KvWindows {
            kv: KvHandle::Shared(kv),
            namespace: namespace.to_owned(),
            cache: RefCell::new(None),
        }
    }

    /// Reads and merges every bucket the given windows need.
    pub async fn load(
        &self,
        now_ms: u64,
        windows_min: &[u64],
    ) -> Result<(Rollups, ReadStats), KvError> {
        let needed: BTreeSet<(Granularity, u64)> = windows_min
            .iter()
            .flat_map(|w| Rollups::plan(now_ms, *w))
            .collect();
        let mut out = Rollups::default();
        let mut stats = ReadStats::default();
        for g in Granularity::ALL {
            let periods: Vec<u64> = needed
                .iter()
                .filter(|(gg, _)| *gg == g)
                .map(|(_, p)| *p)
                .collect();
            for (a, b) in runs(&periods) {
                for digits in prefix_cover(a, b) {
                    let base = format!("{}:{}:", self.namespace, g.letter());
                    self.list_into(&base, &digits, g, &needed, &mut out, &mut stats)
                        .await?;
                }
            }
        }
        Ok((out, stats))
    }

    async fn list_into(
        &self,
        base: &str,
        digits: &str,
        g: Granularity,
        needed: &BTreeSet<(Granularity, u64)>,
        out: &mut Rollups,
        stats: &mut ReadStats,
    ) -> Result<(), KvError> {
        let mut cursor = None;
        loop {
            let page = self
                .kv
                .get()
                .list(ListOptions::prefix(format!("{base}{digits}")).cursor(cursor.take()))
                .await?;
            stats.lists += 1;
            for k in &page.keys {
                let Some(period) = k
                    .name
                    .get(base.len()..base.len() + 10)
                    .and_then(|d| d.parse::<u64>().ok())
                    .filter(|p| needed.contains(&(g, *p)))
                else {
                    continue;
                };
                let inline = k
                    .metadata
                    .as_ref()
                    .and_then(|m| m["b"].as_str())
                    .and_then(|b| {
                        base64::engine::general_purpose::STANDARD_NO_PAD
                            .decode(b)
                            .ok()
                    });
                let bytes = match inline {
                    Some(b) => Some(b),
                    None => {
                        stats.gets += 1;
                        self.kv.get().get(&k.name).await?
                    }
                };
                // A corrupt or foreign value is skipped, never fatal.
                if let Some(b) = bytes.as_deref().and_then(decode_bucket) {
                    out.add(g, period, &b);
                    stats.buckets += 1;
                }
            }
            match page.cursor {
                Some(c) if !page.list_complete => cursor = Some(c),
                _ => return Ok(()),
            }
        }
    }
}

/// Contiguous runs of sorted numbers.
fn runs(sorted: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &p in sorted {
        match out.last_mut() {
            Some((_, b)) if *b + 1 == p => *b = p,
            _ => out.push((p, p)),
        }
    }
    out
}

impl SliSource for KvWindows<'_> {
    async fn prepare(&self, now_ms: u64, windows_min: &[u64]) -> Result<(), SourceError> {
        let (rollups, _) = self.load(now_ms, windows_min).await?;
        *self.cache.borrow_mut() = Some((now_ms / 60_000, windows_min.to_vec(), rollups));
        Ok(())
    }

    async fn counts(&self, sli: Sli, now_ms: u64, window_min: u64) -> Result<Counts, SourceError> {
        if let Some((minute, windows, rollups)) = self.cache.borrow().as_ref()
            && *minute == now_ms / 60_000
            && windows.contains(&window_min)
        {
            return Ok(rollups.counts(sli, now_ms, window_min));
        }
        let (rollups, _) = self.load(now_ms, &[window_min]).await?;
        Ok(rollups.counts(sli, now_ms, window_min))
    }
}
