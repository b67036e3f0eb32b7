//! The A/B experiment config: validation, targeting, schedule, split
//! accuracy, uniformity, stickiness and exposure events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edge_ports::MemoryAnalytics;
use serde_json::json;
use traffic_split::experiment::{ExperimentConfig, assign, session_fingerprint};
use traffic_split::stats::srm;

fn exp(json: serde_json::Value) -> ExperimentConfig {
    serde_json::from_value(json).unwrap()
}

fn base() -> serde_json::Value {
    json!({
        "key": "prompt-v2",
        "variants": [{"name": "control", "traffic_percent": 50}, {"name": "short", "traffic_percent": 30}, {"name": "long", "traffic_percent": 20}],
        "primary_metric": "thumbs_up",
        "targeting": {"countries": ["US", "DE"], "devices": ["desktop"], "attributes": {"plan": {"$in": ["pro", "team"]}}},
        "schedule": {"start": "2026-11-01T09:00", "end": "2026-12-01T09:00", "timezone": "+01:00"}
    })
}

const NOW: u64 = 1_763_942_400_000; // 2025-11-24T00:00Z: before the schedule
const DURING: u64 = 1_794_700_800_000; // 2026-11-15T00:00Z: inside the schedule

#[test]
fn validation_names_each_problem() {
    let custom = vec!["plan".to_owned()];
    exp(base()).validate(&custom).unwrap();
    let mut j = base();
    j["variants"][1]["traffic_percent"] = json!(20);
    assert!(
        exp(j)
            .validate(&custom)
            .unwrap_err()
            .to_string()
            .contains("sum to 90")
    );
    let mut j = base();
    j["variants"][2]["name"] = json!("control");
    assert!(
        exp(j)
            .validate(&custom)
            .unwrap_err()
            .to_string()
            .contains("duplicate variant name")
    );
    let mut j = base();
    j["schedule"]["end"] = json!("2026-10-01T09:00");
    assert!(
        exp(j)
            .validate(&custom)
            .unwrap_err()
            .to_string()
            .contains("not after start")
    );
    let e = exp(base()).validate(&[]).unwrap_err().to_string();
    assert!(e.contains("unknown attribute \"plan\""), "{e}");
    let mut j = base();
    j["schedule"]["timezone"] = json!("Europe/Paris");
    assert!(
        exp(j)
            .validate(&custom)
            .unwrap_err()
            .to_string()
            .contains("offset")
    );
}

#[test]
fn targeting_and_schedule_gate_entry() {
    let e = exp(base());
    let user = json!({"id": "u1", "country": "US", "device": "desktop", "plan": "pro"});
    assert!(assign(&e, &user, NOW, None).is_none(), "before the start");
    assert!(assign(&e, &user, DURING, None).is_some());
    for other in [
        json!({"id": "u1", "country": "FR", "device": "desktop", "plan": "pro"}),
        json!({"id": "u1", "country": "US", "device": "mobile", "plan": "pro"}),
        json!({"id": "u1", "country": "US", "device": "desktop", "plan": "free"}),
    ] {
        assert!(assign(&e, &other, DURING, None).is_none(), "{other}");
    }
}

#[test]
fn split_accuracy_uniformity_stickiness_and_exposures() {
    let mut j = base();
    j["targeting"] = json!({});
    j["schedule"] = serde_json::Value::Null;
    let e = exp(j);
    let sink = MemoryAnalytics::new();
    let n = 100_000;
    let mut counts = [0u64; 3];
    for i in 0..n {
        let a = assign(&e, &json!({"id": format!("user-{i}")}), NOW, Some(&sink)).unwrap();
        counts[["control", "short", "long"]
            .iter()
            .position(|v| *v == a.variant)
            .unwrap()] += 1;
    }
    for (c, w) in counts.iter().zip([50.0, 30.0, 20.0]) {
        let share = *c as f64 / n as f64 * 100.0;
        assert!((share - w).abs() <= 0.5, "share {share:.3}% vs {w}%");
    }
    // χ² goodness of fit against the intended split: no mismatch.
    let s = srm(&counts, &[0.5, 0.3, 0.2]).unwrap();
    assert!(!s.mismatch, "{s:?}");
    // Uniformity of the bucket function over 20 equal cells.
    let mut cells = [0u64; 20];
    for i in 0..n {
        let b = traffic_split::growthbook::hash("uniformity", &format!("id-{i}"), 2).unwrap();
        cells[((b * 20.0) as usize).min(19)] += 1;
    }
    let u = srm(&cells, &[1.0; 20]).unwrap();
    assert!(u.p_value > 0.001, "bucket hash is not uniform: {u:?}");
    // Sticky: the same id always gets the same variant.
    let a1 = assign(&e, &json!({"id": "alice"}), NOW, None).unwrap();
    let a2 = assign(
        &e,
        &json!({"id": "alice", "country": "JP"}),
        NOW + 86_400_000,
        None,
    )
    .unwrap();
    assert_eq!(a1.variant, a2.variant);
    assert_eq!(a1.unit, "id");
    // One exposure per assignment, indexed by experiment.
    let points = sink.points();
    assert_eq!(points.len(), n);
    assert_eq!(points[0].indexes, vec!["prompt-v2"]);
}

#[test]
fn anonymous_users_use_a_hashed_fingerprint() {
    let mut j = base();
    j["targeting"] = json!({});
    j["schedule"] = serde_json::Value::Null;
    let e = exp(j);
    let fp = session_fingerprint("2026-11-28", "203.0.113.7", "Mozilla/5.0");
    assert!(!fp.contains("203.0.113.7"));
    assert_eq!(fp.len(), 32);
    assert_eq!(
        fp,
        session_fingerprint("2026-11-28", "203.0.113.7", "Mozilla/5.0")
    );
    assert_ne!(
        fp,
        session_fingerprint("2026-11-29", "203.0.113.7", "Mozilla/5.0"),
        "daily salt"
    );
    let a = assign(&e, &json!({"fingerprint": fp}), NOW, None).unwrap();
    assert_eq!(a.unit, "fingerprint");
    assert!(
        assign(&e, &json!({}), NOW, None).is_none(),
        "no unit, no assignment"
    );
}
