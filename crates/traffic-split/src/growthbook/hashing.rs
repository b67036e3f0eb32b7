//! Deterministic bucketing: FNV-1a hashing, bucket ranges, namespaces and
//! query-string overrides.

use super::js::parse_int;
use super::model::VariationRange;

/// FNV-1a 32-bit offset basis.
pub const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
/// FNV-1a 32-bit prime.
pub const FNV_PRIME: u32 = 16_777_619;

/// Which code units the hash consumes.
///
/// GrowthBook's JavaScript SDK and its current Python SDK hash UTF-16 code
/// units (`charCodeAt`), so [`HashEncoding::Utf16`] is the default: a user gets
/// the same variation here as in the browser, whatever characters the id holds.
/// For ASCII input (every published test vector, and nearly all ids) both
/// encodings agree. In configuration the values are `"utf16"` and `"utf8"`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum HashEncoding {
    /// Hash UTF-16 code units (the default), bit-compatible with GrowthBook's
    /// JavaScript and Python SDKs.
    #[default]
    Utf16,
    /// Hash UTF-8 bytes.
    ///
    /// **Warning:** differs from GrowthBook's JavaScript and Python SDKs for ids
    /// with non-ASCII characters (accents, CJK, emoji, ...): such users land in
    /// a different bucket than the same SDKs would put them in. Only for
    /// compatibility with buckets already assigned by a UTF-8 hasher.
    Utf8,
}

#[inline]
fn fnv_bytes(mut h: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

#[inline]
fn fnv_str(h: u32, s: &str, encoding: HashEncoding) -> u32 {
    match encoding {
        HashEncoding::Utf8 => fnv_bytes(h, s.as_bytes()),
        HashEncoding::Utf16 if s.is_ascii() => fnv_bytes(h, s.as_bytes()),
        HashEncoding::Utf16 => s
            .encode_utf16()
            .fold(h, |h, unit| (h ^ u32::from(unit)).wrapping_mul(FNV_PRIME)),
    }
}

/// FNV-1a 32-bit hash of the UTF-8 bytes of `input`.
///
/// Note: GrowthBook's SDKs (and [`hash`]) hash UTF-16 code units; for non-ASCII
/// input use [`fnv1a32_utf16`] to match them. Both agree on ASCII.
pub fn fnv1a32(input: &str) -> u32 {
    fnv_bytes(FNV_OFFSET_BASIS, input.as_bytes())
}

/// FNV-1a 32-bit hash of the UTF-16 code units of `input` (the JavaScript SDK's hash).
pub fn fnv1a32_utf16(input: &str) -> u32 {
    fnv_str(FNV_OFFSET_BASIS, input, HashEncoding::Utf16)
}

/// Decimal digits of `n`, without allocating.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        // `n % 10` is a single digit, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// GrowthBook's bucketing hash in `[0, 1)`, over UTF-16 code units like the
/// JavaScript and Python SDKs.
///
/// Version 2: `fnv1a32(str(fnv1a32(seed + value))) % 10000 / 10000`;
/// version 1: `fnv1a32(value + seed) % 1000 / 1000`; other versions: `None`.
/// [`hash_with`] takes an explicit [`HashEncoding`].
///
/// ```
/// use traffic_split::growthbook::hash;
/// assert_eq!(hash("seed", "a", 2), Some(0.0505));
/// assert_eq!(hash("", "a", 1), Some(0.22));
/// assert_eq!(hash("abc", "def", 99), None);
/// ```
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    hash_with(seed, value, version, HashEncoding::default())
}

/// [`hash`] with an explicit [`HashEncoding`].
pub fn hash_with(seed: &str, value: &str, version: u32, encoding: HashEncoding) -> Option<f64> {
    match version {
        2 => {
            let inner = fnv_str(fnv_str(FNV_OFFSET_BASIS, seed, encoding), value, encoding);
            let mut buf = [0u8; 10];
            let outer = fnv_bytes(FNV_OFFSET_BASIS, decimal(inner, &mut buf));
            Some(f64::from(outer % 10_000) / 10_000.0)
        }
        1 => {
            let h = fnv_str(fnv_str(FNV_OFFSET_BASIS, value, encoding), seed, encoding);
            Some(f64::from(h % 1_000) / 1_000.0)
        }
        _ => None,
    }
}

/// `n` equal weights summing to 1 (empty for 0 variations).
pub fn get_equal_weights(n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    // Variation counts are tiny; the conversion is exact.
    let w = 1.0 / n as f64;
    vec![w; n]
}

/// Bucket ranges for `num_variations` variations.
///
/// `coverage` is clamped to `[0, 1]`; `weights` that are missing, of the wrong
/// length, or that do not sum to 1 (±0.01) are replaced by equal weights. Each
/// variation gets `[start, start + coverage * weight)` where `start` is the sum
/// of the preceding weights.
pub fn get_bucket_ranges(
    num_variations: usize,
    coverage: f64,
    weights: Option<&[f64]>,
) -> Vec<VariationRange> {
    let coverage = if coverage >= 0.0 {
        coverage.min(1.0)
    } else {
        0.0 // negative or NaN
    };
    let equal;
    let mut weights = match weights {
        Some(w) if w.len() == num_variations => w,
        _ => {
            equal = get_equal_weights(num_variations);
            equal.as_slice()
        }
    };
    let total: f64 = weights.iter().sum();
    let fallback;
    if !(0.99..=1.01).contains(&total) {
        fallback = get_equal_weights(num_variations);
        weights = fallback.as_slice();
    }
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect()
}

/// Whether `n` is in `[range.0, range.1)`.
pub fn in_range(n: f64, range: VariationRange) -> bool {
    n >= range.0 && n < range.1
}

/// The index of the first range containing `n`, or `None` (GrowthBook's `-1`).
pub fn choose_variation(n: f64, ranges: &[VariationRange]) -> Option<usize> {
    ranges.iter().position(|r| in_range(n, *r))
}

/// Whether a user id falls in a namespace slice `(name, start, end)`.
///
/// Uses the version-1 hash (UTF-16 code units) of the id with seed `"__" + name`.
pub fn in_namespace(user_id: &str, namespace: (&str, f64, f64)) -> bool {
    in_namespace_with(user_id, namespace, HashEncoding::default())
}

pub(crate) fn in_namespace_with(
    user_id: &str,
    (name, start, end): (&str, f64, f64),
    encoding: HashEncoding,
) -> bool {
    let seed = format!("__{name}");
    hash_with(&seed, user_id, 1, encoding).is_some_and(|n| n >= start && n < end)
}

/// A variation forced through the URL query string (`?experiment-key=1`).
///
/// Returns the index when the first `id=` parameter parses (like `parseInt`)
/// to an integer in `0..num_variations`.
pub fn get_query_string_override(id: &str, url: &str, num_variations: usize) -> Option<usize> {
    // JS: url.split("?")[1], i.e. the text between the first and second '?'.
    let search = url.split('?').nth(1).filter(|s| !s.is_empty())?;
    let search = search.split_once('#').map_or(search, |(before, _)| before);
    let value = search.split('&').find_map(|kv| {
        let mut parts = kv.split('=');
        (parts.next() == Some(id)).then(|| parts.next())
    })?;
    let n = parse_int(value?)?;
    // Indexes are small; `n` is integral and non-negative here.
    (n >= 0.0 && n < num_variations as f64).then_some(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a32_known_vectors() {
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c_292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn utf16_mode_hashes_code_units() {
        // ASCII: identical. "é" is one UTF-16 unit (0xE9) but two UTF-8 bytes.
        assert_eq!(fnv1a32_utf16("user-1"), fnv1a32("user-1"));
        let js = (FNV_OFFSET_BASIS ^ 0xE9).wrapping_mul(FNV_PRIME);
        assert_eq!(fnv1a32_utf16("é"), js);
        assert_ne!(fnv1a32("é"), js);
        let (a, b) = (
            hash_with("s", "zoë", 2, HashEncoding::Utf16),
            hash_with("s", "zoë", 2, HashEncoding::Utf8),
        );
        assert!(a.is_some() && b.is_some() && a != b);
    }

    #[test]
    fn utf16_is_the_default_everywhere() {
        assert_eq!(HashEncoding::default(), HashEncoding::Utf16);
        for id in ["user-1", "zoë", "用户-42", "🚀x", "e\u{301}"] {
            for v in [1, 2] {
                assert_eq!(
                    hash("seed", id, v),
                    hash_with("seed", id, v, HashEncoding::Utf16)
                );
            }
            let ns = ("ns", 0.0, 0.5);
            assert_eq!(
                in_namespace(id, ns),
                in_namespace_with(id, ns, HashEncoding::Utf16)
            );
        }
    }

    #[test]
    fn encoding_names_in_config_are_lowercase() {
        for (enc, name) in [
            (HashEncoding::Utf16, "\"utf16\""),
            (HashEncoding::Utf8, "\"utf8\""),
        ] {
            assert_eq!(serde_json::to_string(&enc).unwrap(), name);
            assert_eq!(serde_json::from_str::<HashEncoding>(name).unwrap(), enc);
        }
        assert!(serde_json::from_str::<HashEncoding>("\"UTF-8\"").is_err());
    }

    #[test]
    fn bucket_ranges_handle_degenerate_input() {
        assert!(get_bucket_ranges(0, 1.0, None).is_empty());
        assert_eq!(
            get_bucket_ranges(2, f64::NAN, None),
            vec![(0.0, 0.0), (0.5, 0.5)]
        );
        assert_eq!(get_query_string_override("k", "http://x?k=0x1", 3), Some(1));
        assert_eq!(get_query_string_override("k", "http://x?k", 3), None);
    }
}
