//! The per-request routing decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use traffic_split::canary::{CanaryConfig, CanaryState};
use traffic_split::decision::RoutingDecision;
use traffic_split::experiment::ExperimentConfig;
use traffic_split::growthbook::Payload;

#[test]
fn deployment_variants_and_flags_with_reasons() {
    let mut rollout = CanaryState::start("api", "v1", "v2", &CanaryConfig::default(), 0);
    rollout.percent = 100.0;
    let exp: ExperimentConfig = serde_json::from_value(json!({
        "key": "e1", "variants": [{"name": "a", "traffic_percent": 50}, {"name": "b", "traffic_percent": 50}], "primary_metric": "m"
    }))
    .unwrap();
    let payload = Payload::from_json(r#"{"features": {"dark-mode": {"defaultValue": false, "rules": [{"condition": {"country": "JP"}, "force": true}]}}}"#).unwrap();
    let attrs = json!({"id": "u1", "country": "JP"});
    let d = RoutingDecision::decide("v1", Some(&rollout), &[exp], &attrs, 0, None).with_flags(
        &payload,
        &attrs,
        &["dark-mode", "missing"],
    );
    assert_eq!(d.deployment, "v2");
    assert!(d.deployment_reason.contains("rollout api at 100%"));
    assert_eq!(d.variants.len(), 1);
    assert_eq!(
        d.flags[0],
        ("dark-mode".to_owned(), json!(true), "force".to_owned())
    );
    assert_eq!(d.flags[1].2, "unknownFeature");
    let h = d.headers();
    assert_eq!(h[0], ("x-edgeforge-deployment", "v2".to_owned()));
    assert!(h[1].1.starts_with("e1="));
    assert_eq!(
        h[2],
        (
            "x-edgeforge-flags",
            "dark-mode=true;missing=null".to_owned()
        )
    );
    // No rollout, no unit: stable.
    let d = RoutingDecision::decide("v1", None, &[], &json!({}), 0, None);
    assert_eq!((d.deployment.as_str(), d.headers().len()), ("v1", 1));
}
