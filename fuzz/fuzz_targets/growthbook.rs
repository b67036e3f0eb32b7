//! GrowthBook condition evaluation on arbitrary conditions and attributes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use traffic_split::growthbook::eval_condition;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (cond, attrs) = s.split_once('\n').unwrap_or((s, "{}"));
    let Ok(condition) = serde_json::from_str::<Value>(cond) else { return };
    let attributes = serde_json::from_str::<Value>(attrs).unwrap_or(json!({"id": "u1", "country": "US", "version": "1.2.3"}));
    let _ = eval_condition(&attributes, &condition, &json!({"g1": ["a", "b"]}));
});
