//! The evaluator: one user's view of a payload, with sticky-bucket changes and
//! exposures collected for the caller to persist and report.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::hashing::{HashEncoding, hash_with, in_namespace_with};
use super::js::{to_js_string, truthy};
use super::model::{Experiment, Payload};
use super::results::{ExperimentResult, FeatureResult, TrackedExperiment, UserContext};
use super::sticky::{StickyAssignmentsDocument, resolve_attribute};

/// Evaluates features and experiments for one user against a shared [`Payload`].
///
/// Create one per request: it borrows the payload and the user, records the
/// sticky-bucket documents it creates or changes ([`Self::sticky_bucket_changes`])
/// and the experiment exposures to report ([`Self::tracked_experiments`]).
/// Evaluation is synchronous and allocation-light; nothing in it panics.
#[derive(Debug)]
pub struct Evaluator<'a> {
    pub(crate) payload: &'a Payload,
    pub(crate) user: &'a UserContext,
    pub(crate) encoding: HashEncoding,
    pub(crate) sticky_changes: BTreeMap<String, StickyAssignmentsDocument>,
    pub(crate) tracked: Vec<TrackedExperiment>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator for `user` over `payload`, hashing UTF-16 code units like
    /// GrowthBook's JavaScript and Python SDKs.
    pub fn new(payload: &'a Payload, user: &'a UserContext) -> Self {
        Self {
            payload,
            user,
            encoding: HashEncoding::default(),
            sticky_changes: BTreeMap::new(),
            tracked: Vec::new(),
        }
    }

    /// Chooses the hash encoding. The default, [`HashEncoding::Utf16`], reproduces
    /// GrowthBook's JavaScript and Python SDKs; [`HashEncoding::Utf8`] buckets
    /// ids with non-ASCII characters differently from them.
    pub fn with_hash_encoding(mut self, encoding: HashEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Evaluates a feature: overrides, rules in order (prerequisites, filters,
    /// force/rollout rules, experiments), then the default value.
    pub fn eval_feature(&mut self, key: &str) -> FeatureResult {
        let mut stack = Vec::new();
        self.eval_feature_inner(key, &mut stack)
    }

    /// Runs an inline experiment for this user.
    pub fn run(&mut self, experiment: &Experiment) -> ExperimentResult {
        let mut stack = Vec::new();
        self.run_inner(experiment, &experiment.key, None, None, &mut stack)
    }

    /// The sticky-bucket documents this evaluator created or changed, by key.
    pub fn sticky_bucket_changes(&self) -> &BTreeMap<String, StickyAssignmentsDocument> {
        &self.sticky_changes
    }

    /// Takes the created or changed sticky-bucket documents, to save them.
    pub fn take_sticky_bucket_changes(&mut self) -> Vec<StickyAssignmentsDocument> {
        std::mem::take(&mut self.sticky_changes)
            .into_values()
            .collect()
    }

    /// All sticky-bucket documents as they stand: the loaded ones with this evaluator's changes applied.
    pub fn sticky_bucket_docs(&self) -> HashMap<String, StickyAssignmentsDocument> {
        let mut docs = self.user.sticky_bucket_assignment_docs.clone();
        for (key, doc) in &self.sticky_changes {
            docs.insert(key.clone(), doc.clone());
        }
        docs
    }

    /// Experiment exposures so far (once per experiment, variation and user).
    pub fn tracked_experiments(&self) -> &[TrackedExperiment] {
        &self.tracked
    }

    /// Takes the exposures, to send them to analytics.
    pub fn take_tracked_experiments(&mut self) -> Vec<TrackedExperiment> {
        std::mem::take(&mut self.tracked)
    }

    /// Whether sticky bucketing applies to an experiment or rule.
    pub(crate) fn sticky_enabled(&self, disabled_by_rule: bool) -> bool {
        self.user.sticky_bucketing && !disabled_by_rule
    }

    /// GrowthBook's `getHashAttribute`: the attribute (default `id`) and its value,
    /// trying `fallback` when the value is falsy.
    pub(crate) fn hash_attribute<'s>(
        &self,
        attribute: Option<&'s str>,
        fallback: Option<&'s str>,
    ) -> (&'s str, &'a Value) {
        let attrs = &self.user.attributes;
        let name = attribute.filter(|a| !a.is_empty()).unwrap_or("id");
        let value = resolve_attribute(attrs, name);
        if !truthy(value)
            && let Some(fallback) = fallback.filter(|f| !f.is_empty())
        {
            let fallback_value = resolve_attribute(attrs, fallback);
            if truthy(fallback_value) {
                return (fallback, fallback_value);
            }
        }
        (name, value)
    }

    /// The bucketing hash of an attribute value (`None` for unknown versions).
    pub(crate) fn hash(&self, seed: &str, value: &Value, version: Option<u32>) -> Option<f64> {
        let version = version.filter(|v| *v != 0).unwrap_or(1);
        hash_with(seed, &to_js_string(value), version, self.encoding)
    }

    /// Whether the user's value falls in the namespace slice.
    pub(crate) fn in_namespace(&self, value: &Value, ns: &(String, f64, f64)) -> bool {
        in_namespace_with(&to_js_string(value), (&ns.0, ns.1, ns.2), self.encoding)
    }

    /// Records an exposure unless this user already saw this variation.
    pub(crate) fn track(&mut self, experiment_key: &str, result: &ExperimentResult) {
        let seen = self.tracked.iter().any(|t| {
            t.experiment_key == experiment_key
                && t.result.variation_id == result.variation_id
                && t.result.hash_attribute == result.hash_attribute
                && t.result.hash_value == result.hash_value
        });
        if !seen {
            self.tracked.push(TrackedExperiment {
                experiment_key: experiment_key.to_owned(),
                result: result.clone(),
            });
        }
    }
}

/// Evaluates one feature for a user (discarding sticky-bucket changes and exposures).
pub fn eval_feature(payload: &Payload, user: &UserContext, key: &str) -> FeatureResult {
    Evaluator::new(payload, user).eval_feature(key)
}

/// Runs one inline experiment for a user (discarding sticky-bucket changes and exposures).
pub fn run_experiment(
    payload: &Payload,
    user: &UserContext,
    experiment: &Experiment,
) -> ExperimentResult {
    Evaluator::new(payload, user).run(experiment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growthbook::FeatureSource;
    use serde_json::json;

    fn payload() -> Payload {
        Payload::from_json(
            r#"{"features": {
                "exp": {"defaultValue": 0, "rules": [
                    {"key": "e", "variations": [0, 1], "meta": [{"key": "a"}, {"key": "b"}], "hashVersion": 2}
                ]},
                "child": {"defaultValue": "off", "rules": [
                    {"parentConditions": [{"id": "exp", "condition": {"value": {"$exists": true}}}], "force": "on"}
                ]}
            }}"#,
        )
        .unwrap()
    }

    #[test]
    fn exposures_are_tracked_once() {
        let payload = payload();
        let user = UserContext::with_attributes(json!({"id": "u1"}));
        let mut ev = Evaluator::new(&payload, &user);
        let first = ev.eval_feature("exp");
        assert_eq!(first.source, FeatureSource::Experiment);
        ev.eval_feature("exp");
        assert_eq!(ev.eval_feature("child").value, json!("on"));
        assert_eq!(ev.tracked_experiments().len(), 1);
        assert_eq!(ev.take_tracked_experiments()[0].experiment_key, "e");
        assert!(ev.tracked_experiments().is_empty());
    }

    #[test]
    fn overrides_win_and_unknown_features_are_null() {
        let payload = payload();
        let mut user = UserContext::with_attributes(json!({"id": "u1"}));
        user.forced_feature_values.insert("exp".into(), json!(42));
        let mut ev = Evaluator::new(&payload, &user);
        let r = ev.eval_feature("exp");
        assert_eq!((r.value, r.source), (json!(42), FeatureSource::Override));
        let r = ev.eval_feature("missing");
        assert_eq!((r.value, r.on), (Value::Null, false));
    }

    #[test]
    fn sticky_changes_are_handed_back() {
        let payload = payload();
        let user = UserContext::with_attributes(json!({"id": "u1"}))
            .with_sticky_bucket_docs(HashMap::new());
        let mut ev = Evaluator::new(&payload, &user);
        let variation = ev.eval_feature("exp").experiment_result.unwrap().key;
        let changes = ev.take_sticky_bucket_changes();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key(), "id||u1");
        assert_eq!(changes[0].assignments.get("e__0"), Some(&variation));

        // Re-evaluating with the saved doc uses the sticky bucket and changes nothing.
        let docs = HashMap::from([(changes[0].key(), changes[0].clone())]);
        let user = UserContext::with_attributes(json!({"id": "u1"})).with_sticky_bucket_docs(docs);
        let mut ev = Evaluator::new(&payload, &user);
        assert!(
            ev.eval_feature("exp")
                .experiment_result
                .unwrap()
                .sticky_bucket_used
        );
        assert!(ev.sticky_bucket_changes().is_empty());
    }

    #[test]
    fn hash_encoding_only_matters_for_non_ascii() {
        let payload = Payload::default();
        let exp = Experiment {
            key: "k".into(),
            variations: vec![json!(0), json!(1)],
            hash_version: Some(2),
            ..Experiment::default()
        };
        for (id, same) in [("plain-id", true), ("zoë", false)] {
            let user = UserContext::with_attributes(json!({ "id": id }));
            let default = Evaluator::new(&payload, &user).run(&exp).bucket;
            let utf16 = Evaluator::new(&payload, &user)
                .with_hash_encoding(HashEncoding::Utf16)
                .run(&exp)
                .bucket;
            let utf8 = Evaluator::new(&payload, &user)
                .with_hash_encoding(HashEncoding::Utf8)
                .run(&exp)
                .bucket;
            assert_eq!(default, utf16, "{id}: the default is UTF-16");
            assert_eq!(utf8 == utf16, same, "{id}");
        }
    }
}
