//! GrowthBook cross-SDK conformance: runs every case of the suite in
//! `shared/conformance/growthbook/cases.json` (specVersion 0.8.0) against
//! `traffic_split::growthbook`.
//!
//! Out of scope: `urlRedirect` (URL redirect experiments are not implemented;
//! not run), `contextualBandit` and `getQueryStringOverride`. The last two are
//! beyond the required scope but implemented, so they run as extra tests
//! (`contextual_bandit_cases`, `get_query_string_override_cases`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use edge_ports::testing::block_on;
use serde_json::{Value, json};
use traffic_split::growthbook::{
    Evaluator, Experiment, InMemoryStickyBucketService, Payload, StickyAssignmentsDocument,
    StickyBucketService, UserContext, choose_variation, decrypt, eval_condition, get_bucket_ranges,
    get_equal_weights, get_query_string_override, hash, in_namespace, load_sticky_bucket_docs,
    save_sticky_bucket_docs,
};

/// Cases not expected to pass: `(array, case name, reason)`. Empty: every case passes.
const EXCLUDED: &[(&str, &str, &str)] = &[];

/// Arrays of the suite this test does not run, with the reason.
const OUT_OF_SCOPE: &[(&str, &str)] = &[
    (
        "urlRedirect",
        "out of scope: URL redirect experiments are not implemented",
    ),
    (
        "contextualBandit",
        "out of scope, run anyway as an extra test",
    ),
    (
        "getQueryStringOverride",
        "out of scope, run anyway as an extra test",
    ),
];

const TOLERANCE: f64 = 1e-9;

fn suite_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/growthbook/cases.json")
}

/// The cases of one array, or `None` (with a SKIPPED note) when the suite is absent.
fn cases(array: &str) -> Option<Vec<Vec<Value>>> {
    let path = suite_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "SKIPPED: GrowthBook conformance suite not found at {}",
            path.display()
        );
        return None;
    };
    let suite: Value = serde_json::from_str(&text).expect("cases.json is valid JSON");
    for (name, reason) in OUT_OF_SCOPE {
        eprintln!("note: GrowthBook array `{name}` not run: {reason}");
    }
    let list = suite[array]
        .as_array()
        .expect("array present in cases.json");
    Some(
        list.iter()
            .map(|c| c.as_array().cloned().expect("each case is an array"))
            .collect(),
    )
}

/// Runs `check` on every non-excluded case; asserts all pass and the count is right.
fn run_array(
    array: &str,
    name_of: impl Fn(&[Value]) -> String,
    check: impl Fn(&[Value]) -> Result<(), String>,
) {
    let Some(cases) = cases(array) else { return };
    let excluded: Vec<&str> = EXCLUDED
        .iter()
        .filter(|e| e.0 == array)
        .map(|e| e.1)
        .collect();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        let name = name_of(case);
        if excluded.contains(&name.as_str()) {
            continue;
        }
        ran += 1;
        if let Err(msg) = check(case) {
            failures.push(format!("{array} / {name}: {msg}"));
        }
    }
    eprintln!(
        "{array}: {} passed, {} excluded, {} failed",
        ran - failures.len(),
        excluded.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(ran, cases.len() - excluded.len(), "{array}: cases run");
}

fn named(case: &[Value]) -> String {
    case[0].as_str().unwrap_or_default().to_owned()
}

fn expect_eq(expected: &Value, got: &Value) -> Result<(), String> {
    if json_close(expected, got) {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {got}"))
    }
}

/// JSON equality with numbers compared within `TOLERANCE`.
fn json_close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() <= TOLERANCE
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_close(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
        }
        _ => a == b,
    }
}

fn contexts(ctx: &Value) -> (Payload, UserContext) {
    let payload: Payload = serde_json::from_value(ctx.clone()).expect("payload parses");
    let user: UserContext = serde_json::from_value(ctx.clone()).expect("user context parses");
    (payload, user)
}

#[test]
fn eval_condition_cases() {
    run_array("evalCondition", named, |c| {
        let groups = c.get(4).cloned().unwrap_or(Value::Null);
        let got = eval_condition(&c[2], &c[1], &groups);
        expect_eq(&c[3], &json!(got))
    });
}

#[test]
fn hash_cases() {
    let name = |c: &[Value]| format!("hash({}, {}, {})", c[0], c[1], c[2]);
    run_array("hash", name, |c| {
        let version = u32::try_from(c[2].as_u64().unwrap()).unwrap();
        let got = hash(c[0].as_str().unwrap(), c[1].as_str().unwrap(), version);
        expect_eq(&c[3], &json!(got))
    });
}

#[test]
fn get_bucket_range_cases() {
    run_array("getBucketRange", named, |c| {
        let (n, coverage) = (c[1][0].as_u64().unwrap(), c[1][1].as_f64().unwrap());
        let weights: Option<Vec<f64>> = serde_json::from_value(c[1][2].clone()).unwrap();
        let got = get_bucket_ranges(usize::try_from(n).unwrap(), coverage, weights.as_deref());
        expect_eq(&c[2], &json!(got))
    });
}

#[test]
fn choose_variation_cases() {
    run_array("chooseVariation", named, |c| {
        let ranges: Vec<(f64, f64)> = serde_json::from_value(c[2].clone()).unwrap();
        let got = choose_variation(c[1].as_f64().unwrap(), &ranges);
        expect_eq(&c[3], &json!(got.map_or(-1, |i| i64::try_from(i).unwrap())))
    });
}

#[test]
fn in_namespace_cases() {
    run_array("inNamespace", named, |c| {
        let ns = (
            c[2][0].as_str().unwrap(),
            c[2][1].as_f64().unwrap(),
            c[2][2].as_f64().unwrap(),
        );
        let got = in_namespace(c[1].as_str().unwrap(), ns);
        expect_eq(&c[3], &json!(got))
    });
}

#[test]
fn get_equal_weights_cases() {
    let name = |c: &[Value]| format!("getEqualWeights({})", c[0]);
    run_array("getEqualWeights", name, |c| {
        // GrowthBook returns [] for n <= 0; the Rust API takes a count.
        let n = usize::try_from(c[0].as_i64().unwrap()).unwrap_or(0);
        let got = get_equal_weights(n);
        let expected = c[1].as_array().unwrap();
        // The suite rounds 1/3 to 8 decimals (the JS test floors to 1e-8).
        let close = got.len() == expected.len()
            && got
                .iter()
                .zip(expected)
                .all(|(g, e)| (g - e.as_f64().unwrap()).abs() < 1e-8);
        if close {
            Ok(())
        } else {
            Err(format!("expected {}, got {got:?}", c[1]))
        }
    });
}

#[test]
fn decrypt_cases() {
    run_array("decrypt", named, |c| {
        let got = decrypt(c[1].as_str().unwrap(), c[2].as_str().unwrap());
        match (&c[3], got) {
            (Value::Null, Ok(plain)) => Err(format!("expected an error, got {plain:?}")),
            (Value::Null, Err(_)) => Ok(()),
            (expected, Ok(plain)) => expect_eq(expected, &json!(plain)),
            (expected, Err(e)) => Err(format!("expected {expected}, got error {e}")),
        }
    });
}

#[test]
fn run_cases() {
    run_array("run", named, |c| {
        let (payload, user) = contexts(&c[1]);
        let experiment: Experiment =
            serde_json::from_value(c[2].clone()).map_err(|e| e.to_string())?;
        let result = Evaluator::new(&payload, &user).run(&experiment);
        let got = json!([result.value, result.in_experiment, result.hash_used]);
        expect_eq(&json!([c[3], c[4], c[5]]), &got)
    });
}

fn check_feature_case(c: &[Value]) -> Result<(), String> {
    let (payload, user) = contexts(&c[1]);
    let result = Evaluator::new(&payload, &user).eval_feature(c[2].as_str().unwrap());
    let mut expected = c[3].clone();
    expected
        .as_object_mut()
        .unwrap()
        .entry("ruleId")
        .or_insert(json!(""));
    expect_eq(&expected, &serde_json::to_value(&result).unwrap())
}

#[test]
fn feature_cases() {
    run_array("feature", named, check_feature_case);
}

/// Extra (out of the required scope): contextual-bandit rules, same shape as `feature`.
#[test]
fn contextual_bandit_cases() {
    run_array("contextualBandit", named, check_feature_case);
}

/// Extra (out of the required scope): `?experiment-key=N` overrides.
#[test]
fn get_query_string_override_cases() {
    run_array("getQueryStringOverride", named, |c| {
        let n = usize::try_from(c[3].as_u64().unwrap()).unwrap();
        let got = get_query_string_override(c[1].as_str().unwrap(), c[2].as_str().unwrap(), n);
        expect_eq(&c[4], &json!(got))
    });
}

#[test]
fn sticky_bucket_cases() {
    run_array("stickyBucket", named, |c| {
        let (payload, user) = contexts(&c[1]);
        let service = InMemoryStickyBucketService::new();
        let seeded: Vec<StickyAssignmentsDocument> = serde_json::from_value(c[2].clone()).unwrap();
        block_on(save_sticky_bucket_docs(&service, &seeded)).map_err(|e| e.to_string())?;
        let docs = block_on(load_sticky_bucket_docs(&service, &payload, &user))
            .map_err(|e| e.to_string())?;
        let user = user.with_sticky_bucket_docs(docs);

        let mut evaluator = Evaluator::new(&payload, &user);
        let result = evaluator.eval_feature(c[3].as_str().unwrap());
        let got = serde_json::to_value(&result.experiment_result).unwrap();
        expect_eq(&c[4], &got).map_err(|e| format!("experimentResult: {e}"))?;

        let all: HashMap<String, StickyAssignmentsDocument> = evaluator.sticky_bucket_docs();
        expect_eq(&c[5], &serde_json::to_value(&all).unwrap()).map_err(|e| format!("docs: {e}"))?;

        // What the evaluator hands back for saving round-trips through the service.
        let changes = evaluator.take_sticky_bucket_changes();
        block_on(save_sticky_bucket_docs(&service, &changes)).map_err(|e| e.to_string())?;
        for doc in &changes {
            let stored =
                block_on(service.get_assignments(&doc.attribute_name, &doc.attribute_value));
            if stored.as_ref().ok().and_then(Option::as_ref) != Some(doc) {
                return Err(format!("saved doc {} not stored", doc.key()));
            }
        }
        Ok(())
    });
}
