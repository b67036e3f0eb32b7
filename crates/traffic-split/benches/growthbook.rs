//! Criterion benchmarks for GrowthBook evaluation.
//!
//!   cargo bench -p traffic-split --bench growthbook
//!
//! - `assign/experiment_run`: one inline experiment for one user (targets < 1 µs),
//!   with `baseline/fnv1a32_hash` (one version-2 bucketing hash: two FNV-1a
//!   passes) as the same-run floor;
//! - `feature/eval_50_rules`: a feature whose 50 rules each carry a condition
//!   (`$eq`, `$in`, `$gt`, `$regex` over five attributes) and only the last
//!   matches (targets < 20 µs).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use traffic_split::growthbook::{Evaluator, Experiment, Payload, UserContext, hash};

fn users(n: usize) -> Vec<UserContext> {
    (0..n)
        .map(|i| {
            UserContext::with_attributes(json!({
                "id": format!("user-{i:06}"),
                "country": "DE",
                "plan": "pro",
                "age": 41,
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                "appVersion": "3.4.1",
            }))
        })
        .collect()
}

/// 50 targeting rules; rule `i < 49` never matches the bench users, rule 49 does.
fn fifty_rule_payload() -> Payload {
    let mut rules: Vec<Value> = (0..49)
        .map(|i| {
            let condition = match i % 4 {
                0 => json!({ "country": { "$eq": format!("C{i}") } }),
                1 => json!({ "plan": { "$in": [format!("tier-{i}"), "enterprise", "trial"] } }),
                2 => json!({ "age": { "$gt": 100 + i }, "country": "DE" }),
                _ => json!({ "userAgent": { "$regex": format!("(Edge|Opera)/{i}") } }),
            };
            json!({ "id": format!("rule-{i}"), "condition": condition, "force": i })
        })
        .collect();
    rules.push(json!({
        "id": "rule-49",
        "condition": {
            "country": { "$in": ["DE", "AT", "CH"] },
            "plan": { "$eq": "pro" },
            "age": { "$gt": 18 },
            "userAgent": { "$regex": "Firefox/\\d+" }
        },
        "force": "winner"
    }));
    let payload =
        json!({ "features": { "checkout": { "defaultValue": "default", "rules": rules } } });
    Payload::from_json(&payload.to_string()).unwrap()
}

fn bench(c: &mut Criterion) {
    let users = users(1024);
    let mut i = 0usize;
    let mut next_user = || {
        i = (i + 1) % users.len();
        &users[i]
    };

    let ids: Vec<String> = (0..1024).map(|i| format!("user-{i:06}")).collect();
    let mut j = 0usize;
    c.bench_function("baseline/fnv1a32_hash", |b| {
        b.iter(|| {
            j = (j + 1) % ids.len();
            black_box(hash(black_box("checkout-test"), &ids[j], 2))
        })
    });

    let payload = Payload::default();
    let experiment: Experiment = serde_json::from_value(json!({
        "key": "checkout-test",
        "variations": ["control", "treatment"],
        "weights": [0.5, 0.5],
        "coverage": 1.0,
        "hashVersion": 2,
        "meta": [{ "key": "control" }, { "key": "treatment" }]
    }))
    .unwrap();
    c.bench_function("assign/experiment_run", |b| {
        b.iter(|| {
            let user = next_user();
            let mut evaluator = Evaluator::new(&payload, user);
            black_box(evaluator.run(black_box(&experiment)))
        })
    });

    let payload = fifty_rule_payload();
    let check = Evaluator::new(&payload, &users[0]).eval_feature("checkout");
    assert_eq!(
        check.value,
        json!("winner"),
        "the last rule must be the one that matches"
    );
    c.bench_function("feature/eval_50_rules", |b| {
        b.iter(|| {
            let user = next_user();
            let mut evaluator = Evaluator::new(&payload, user);
            black_box(evaluator.eval_feature(black_box("checkout")))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
