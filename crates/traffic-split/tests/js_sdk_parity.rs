//! Hash parity with the official GrowthBook JavaScript SDK, run under node.
//!
//! Thousands of seeded ids (ASCII, accented Latin, CJK, emoji with surrogate
//! pairs, Cyrillic, Arabic, combining marks, edge cases) are bucketed by
//! `@growthbook/growthbook` (`js_sdk_parity.mjs`, through `new GrowthBook` and
//! `evalFeature`) and by this crate with its *default* settings; every id must
//! get the same variation and the same hash. The published conformance vectors
//! are all ASCII, so they cannot catch an encoding mismatch; this test can.
//!
//! Needs `node` and the SDK installed at the workspace root (`npm ci`, pinned in
//! `package.json`). Without them it prints `skipping: ...` and passes, unless
//! `EDGEFORGE_REQUIRE_NODE=1`, in which case it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use traffic_split::growthbook::{
    Evaluator, ExperimentResult, HashEncoding, Payload, UserContext, hash, in_namespace,
};

/// Ids generated per run (plus the fixed edge cases).
const GENERATED_IDS: usize = 2_400;

/// One experiment rule per feature: `(feature key, rule)`. Seeds, keys and the
/// namespace name include non-ASCII text too, since they are hashed with the id.
fn cases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "v2-equal",
            json!({"key": "parity-v2", "variations": [0, 1], "hashVersion": 2}),
        ),
        (
            "v2-weighted-seed",
            json!({"key": "parity-v2-seeded", "seed": "s-3f9a", "variations": [0, 1, 2],
                   "weights": [0.2, 0.3, 0.5], "hashVersion": 2}),
        ),
        (
            "v2-unicode-seed",
            json!({"key": "parity-ü", "seed": "种子-é-🚀", "variations": [0, 1, 2, 3],
                   "weights": [0.1, 0.2, 0.3, 0.4], "hashVersion": 2}),
        ),
        (
            "v1",
            json!({"key": "parity-v1", "variations": [0, 1], "weights": [0.4, 0.6],
                   "hashVersion": 1}),
        ),
        (
            "v1-unicode-seed",
            json!({"key": "parity-v1-seeded", "seed": "ünïcødé", "variations": [0, 1, 2],
                   "hashVersion": 1}),
        ),
        (
            "v2-namespace",
            json!({"key": "parity-ns", "variations": [0, 1], "hashVersion": 2,
                   "namespace": ["ns-日本", 0.25, 0.75]}),
        ),
        (
            "v2-coverage",
            json!({"key": "parity-cov", "variations": [0, 1, 2], "hashVersion": 2,
                   "coverage": 0.6}),
        ),
    ]
}

/// xorshift64*: deterministic, good enough to pick characters.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        // n is small; the modulo bias is irrelevant here.
        (self.next() % n as u64) as usize
    }

    /// A char from the inclusive scalar range `lo..=hi` (no surrogates in any range used).
    fn char_in(&mut self, lo: u32, hi: u32) -> char {
        let span = (hi - lo + 1) as usize;
        char::from_u32(lo + self.below(span) as u32).expect("ranges avoid surrogates")
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ASCII: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@:+/|~ ";
const LATIN: (u32, u32) = (0x00C0, 0x017F);
const CJK: &[(u32, u32)] = &[(0x4E00, 0x9FFF), (0x3040, 0x30FF), (0xAC00, 0xD7A3)];
const EMOJI: &[(u32, u32)] = &[
    (0x1F300, 0x1F5FF),
    (0x1F600, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F900, 0x1F9FF),
];
/// Multi-scalar emoji: ZWJ sequences, flags (regional indicators), skin tones, keycaps.
const EMOJI_SEQUENCES: &[&str] = &[
    "👩\u{200D}💻",
    "👨\u{200D}👩\u{200D}👧\u{200D}👦",
    "🇯🇵",
    "🇧🇷",
    "👍🏽",
    "1\u{FE0F}\u{20E3}",
    "❤\u{FE0F}",
    "🏳\u{FE0F}\u{200D}🌈",
];
const CYRILLIC: (u32, u32) = (0x0410, 0x044F);
const RTL: &[(u32, u32)] = &[(0x0621, 0x064A), (0x05D0, 0x05EA)];
const COMBINING: (u32, u32) = (0x0300, 0x036F);
/// Other astral and unusual BMP text: math alphanumerics, CJK extension B,
/// private use, the replacement character, BOM.
const OTHER: &[(u32, u32)] = &[
    (0x1D400, 0x1D7FF),
    (0x20000, 0x2A6DF),
    (0xE000, 0xE0FF),
    (0xFFFD, 0xFFFD),
    (0xFEFF, 0xFEFF),
];

fn push_ascii(rng: &mut Rng, s: &mut String) {
    s.push(char::from(ASCII[rng.below(ASCII.len())]));
}

fn push_range(rng: &mut Rng, s: &mut String, ranges: &[(u32, u32)]) {
    let (lo, hi) = ranges[rng.below(ranges.len())];
    s.push(rng.char_in(lo, hi));
}

/// One character (or emoji sequence) of the given family.
fn push_family(rng: &mut Rng, s: &mut String, family: usize) {
    match family {
        0 => push_ascii(rng, s),
        1 => push_range(rng, s, &[LATIN]),
        2 => push_range(rng, s, CJK),
        3 if rng.below(4) == 0 => s.push_str(rng.pick(EMOJI_SEQUENCES)),
        3 => push_range(rng, s, EMOJI),
        4 => push_range(rng, s, &[CYRILLIC]),
        5 => push_range(rng, s, RTL),
        6 => {
            // A base letter with one to three combining marks (decomposed text).
            push_ascii(rng, s);
            for _ in 0..=rng.below(3) {
                push_range(rng, s, &[COMBINING]);
            }
        }
        _ => push_range(rng, s, OTHER),
    }
}

/// Id `i`: its family cycles so every family is well represented.
fn generated_id(rng: &mut Rng, i: usize) -> String {
    let mut s = String::new();
    let len = 1 + rng.below(24);
    match i % 10 {
        // Mostly ASCII, some shaped like real ids.
        0 if rng.below(2) == 0 => s = format!("user-{}", rng.next() % 1_000_000),
        0 => (0..len).for_each(|_| push_ascii(rng, &mut s)),
        // Mixed: every family.
        7 => (0..len).for_each(|_| {
            let family = rng.below(8);
            push_family(rng, &mut s, family);
        }),
        // An ASCII id with one non-ASCII character in it: the smallest difference.
        9 => {
            s = format!("user-{}-", rng.next() % 10_000);
            let family = 1 + rng.below(7);
            push_family(rng, &mut s, family);
        }
        k => {
            let family = [0, 1, 2, 3, 4, 5, 6, 0, 8, 0][k];
            (0..len).for_each(|_| {
                // Sprinkle ASCII into non-ASCII families, as real ids do.
                if rng.below(5) == 0 {
                    push_ascii(rng, &mut s);
                } else {
                    push_family(rng, &mut s, family);
                }
            });
        }
    }
    s
}

/// Fixed edge cases: empty and invisible ids, lone marks, extremes, and 200-char ids.
fn edge_case_ids(rng: &mut Rng) -> Vec<String> {
    let mut ids: Vec<String> = [
        "",
        " ",
        "\t\n",
        "\u{200B}",
        "\u{FEFF}",
        "\u{00A0}",
        "\0",
        "\u{301}",
        "\u{FFFF}",
        "\u{10FFFF}",
        "\u{10000}",
        "0",
        "null",
        "undefined",
        "é",
        "e\u{301}",
        "😀",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    ids.push("a".repeat(200));
    for family in [0, 1, 2, 3, 6] {
        let mut s = String::new();
        while s.chars().count() < 200 {
            push_family(rng, &mut s, family);
        }
        ids.push(s.chars().take(200).collect());
    }
    let mut mixed = String::new();
    while mixed.chars().count() < 200 {
        let family = rng.below(8);
        push_family(rng, &mut mixed, family);
    }
    ids.push(mixed.chars().take(200).collect());
    ids
}

fn ids() -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ids: Vec<String> = (0..GENERATED_IDS)
        .map(|i| generated_id(&mut rng, i))
        .collect();
    ids.extend(edge_case_ids(&mut rng));
    ids
}

fn payload_json() -> Value {
    let features: serde_json::Map<String, Value> = cases()
        .into_iter()
        .map(|(key, rule)| (key.to_owned(), json!({"defaultValue": -1, "rules": [rule]})))
        .collect();
    json!({ "features": features })
}

/// What the JS script reports per id and feature: `(variationId, inExperiment, bucket)`.
type Outcome = Option<(u64, bool, Option<f64>)>;

fn outcome(r: Option<&ExperimentResult>) -> Outcome {
    r.map(|r| (r.variation_id as u64, r.in_experiment, r.bucket))
}

fn js_outcome(v: &Value) -> Outcome {
    if v.is_null() {
        return None;
    }
    Some((
        v[0].as_u64().expect("variationId"),
        v[1].as_bool().expect("inExperiment"),
        v[2].as_f64(),
    ))
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Why the JS side cannot run here, if it cannot.
fn missing_prerequisite() -> Option<&'static str> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node not found");
    }
    let sdk = manifest_dir().join("../../node_modules/@growthbook/growthbook/package.json");
    if !sdk.is_file() {
        return Some("run npm ci at the repo root to install @growthbook/growthbook");
    }
    None
}

/// Runs the SDK over `ids`; returns its version and one row of outcomes per id.
fn run_js_sdk(payload: &Value, features: &[&str], ids: &[String]) -> (String, Vec<Vec<Outcome>>) {
    let input = std::env::temp_dir().join(format!(
        "edgeforge-js-sdk-parity-{}.json",
        std::process::id()
    ));
    let body = json!({"payload": payload, "features": features, "ids": ids});
    std::fs::write(&input, body.to_string()).expect("write the temp input file");
    let script = manifest_dir().join("tests/js_sdk_parity.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(&input)
        .current_dir(manifest_dir())
        .output()
        .expect("run node");
    let _ = std::fs::remove_file(&input);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    let rows = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("a row")
                .iter()
                .map(js_outcome)
                .collect()
        })
        .collect();
    (v["sdkVersion"].as_str().unwrap_or("?").to_owned(), rows)
}

fn rust_outcome(payload: &Payload, id: &str, key: &str, encoding: Option<HashEncoding>) -> Outcome {
    let user = UserContext::with_attributes(json!({ "id": id }));
    let evaluator = Evaluator::new(payload, &user);
    let mut evaluator = match encoding {
        Some(e) => evaluator.with_hash_encoding(e),
        None => evaluator,
    };
    outcome(evaluator.eval_feature(key).experiment_result.as_ref())
}

#[test]
fn default_hashing_matches_the_growthbook_js_sdk() {
    if let Some(reason) = missing_prerequisite() {
        if std::env::var("EDGEFORGE_REQUIRE_NODE").is_ok_and(|v| v == "1") {
            panic!("EDGEFORGE_REQUIRE_NODE=1 but {reason}");
        }
        eprintln!("skipping: {reason}");
        return;
    }
    let ids = ids();
    let cases = cases();
    let features: Vec<&str> = cases.iter().map(|(k, _)| *k).collect();
    let payload_value = payload_json();
    let payload = Payload::from_json(&payload_value.to_string()).expect("a valid payload");
    let (sdk_version, js) = run_js_sdk(&payload_value, &features, &ids);
    assert_eq!(js.len(), ids.len(), "one row per id");

    let mut mismatches = Vec::new();
    let mut differ_utf8 = 0;
    let mut differ_utf8_variation = 0;
    for (id, row) in ids.iter().zip(&js) {
        let mut utf8_differs = false;
        let mut utf8_variation_differs = false;
        for ((key, rule), js_out) in cases.iter().zip(row) {
            let ours = rust_outcome(&payload, id, key, None);
            if ours != *js_out {
                mismatches.push(format!("{key} {id:?}: ours {ours:?}, JS SDK {js_out:?}"));
            }
            // The primitives agree with the SDK's hash wherever it exposes one.
            if let Some((_, true, Some(bucket))) = js_out {
                let version = rule["hashVersion"].as_u64().expect("hashVersion") as u32;
                let seed = rule["seed"]
                    .as_str()
                    .or(rule["key"].as_str())
                    .expect("seed");
                if hash(seed, id, version) != Some(*bucket) {
                    mismatches.push(format!("{key} {id:?}: hash() != JS bucket {bucket}"));
                }
            }
            if let Some(ns) = rule["namespace"].as_array().filter(|_| !id.is_empty()) {
                let ns = (
                    ns[0].as_str().expect("name"),
                    ns[1].as_f64().expect("start"),
                    ns[2].as_f64().expect("end"),
                );
                if in_namespace(id, ns) != js_out.is_some() {
                    mismatches.push(format!("{key} {id:?}: in_namespace() disagrees"));
                }
            }
            // Under UTF-8, count ids that differ because of the id alone: rules
            // whose seed and namespace are ASCII (non-ASCII seeds change every id).
            if rule.to_string().is_ascii() {
                let utf8 = rust_outcome(&payload, id, key, Some(HashEncoding::Utf8));
                utf8_differs |= utf8 != *js_out;
                utf8_variation_differs |= utf8.map(|o| (o.0, o.1)) != js_out.map(|o| (o.0, o.1));
            }
        }
        if utf8_differs {
            assert!(!id.is_ascii(), "UTF-8 and UTF-16 differ on ASCII id {id:?}");
            differ_utf8 += 1;
        }
        differ_utf8_variation += usize::from(utf8_variation_differs);
    }

    let non_ascii = ids.iter().filter(|id| !id.is_ascii()).count();
    eprintln!(
        "@growthbook/growthbook {sdk_version}: {} ids ({non_ascii} non-ASCII) x {} features; \
         {} mismatches; under HashEncoding::Utf8 {differ_utf8} non-ASCII ids differ \
         ({differ_utf8_variation} in variation)",
        ids.len(),
        features.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} checks disagree with the JS SDK, first ones:\n{}",
        mismatches.len(),
        ids.len() * features.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
    assert!(ids.len() >= 2_000 && non_ascii >= 1_000);
    // The comparison can fail: UTF-8 hashing gives different answers.
    assert!(
        differ_utf8 > 0,
        "no id differs under UTF-8: the test cannot tell encodings apart"
    );
}

#[test]
fn ids_are_deterministic_and_cover_every_family() {
    let (a, b) = (ids(), ids());
    assert_eq!(a, b);
    let has = |f: &dyn Fn(char) -> bool| a.iter().any(|id| id.chars().any(f));
    assert!(
        has(&|c| ('\u{C0}'..='\u{17F}').contains(&c)),
        "Latin accented"
    );
    assert!(has(&|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)), "CJK");
    assert!(has(&|c| u32::from(c) > 0xFFFF), "astral (surrogate pairs)");
    assert!(has(&|c| ('\u{410}'..='\u{44F}').contains(&c)), "Cyrillic");
    assert!(has(&|c| ('\u{621}'..='\u{64A}').contains(&c)), "Arabic");
    assert!(
        has(&|c| ('\u{300}'..='\u{36F}').contains(&c)),
        "combining marks"
    );
    assert!(a.iter().any(String::is_empty), "empty id");
    assert!(a.iter().any(|id| id.chars().count() == 200), "200-char id");
}
