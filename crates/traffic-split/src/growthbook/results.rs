//! The per-request user context and the results of evaluation.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::Experiment;
use super::sticky::StickyAssignmentsDocument;

/// Everything about one user (one request): attributes, overrides and sticky buckets.
///
/// Deserialises from the user half of a GrowthBook SDK context (camelCase keys).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserContext {
    /// Targeting and hashing attributes (a JSON object).
    pub attributes: Value,
    /// The page URL, for `?experiment-key=N` query-string overrides.
    pub url: String,
    /// Forced variation indexes by experiment key.
    pub forced_variations: HashMap<String, Value>,
    /// Forced feature values by feature key (source `override`).
    pub forced_feature_values: HashMap<String, Value>,
    /// QA mode: nobody is bucketed into experiments unless forced.
    pub qa_mode: bool,
    /// `false` turns every experiment off.
    pub enabled: bool,
    /// Whether sticky bucketing is on (a sticky-bucket service is configured).
    #[serde(skip)]
    pub sticky_bucketing: bool,
    /// Pre-loaded sticky-bucket documents keyed `"{attributeName}||{attributeValue}"`.
    pub sticky_bucket_assignment_docs: HashMap<String, StickyAssignmentsDocument>,
}

impl Default for UserContext {
    fn default() -> Self {
        Self {
            attributes: Value::Object(serde_json::Map::new()),
            url: String::new(),
            forced_variations: HashMap::new(),
            forced_feature_values: HashMap::new(),
            qa_mode: false,
            enabled: true,
            sticky_bucketing: false,
            sticky_bucket_assignment_docs: HashMap::new(),
        }
    }
}

impl UserContext {
    /// A context with these attributes and defaults otherwise.
    pub fn with_attributes(attributes: Value) -> Self {
        Self {
            attributes,
            ..Self::default()
        }
    }

    /// Turns sticky bucketing on with documents loaded from a [`StickyBucketService`](super::StickyBucketService).
    pub fn with_sticky_bucket_docs(
        mut self,
        docs: HashMap<String, StickyAssignmentsDocument>,
    ) -> Self {
        self.sticky_bucketing = true;
        self.sticky_bucket_assignment_docs = docs;
        self
    }
}

/// The outcome of running an experiment for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentResult {
    /// Whether the user is in the experiment (otherwise `value` is variation 0's).
    pub in_experiment: bool,
    /// The assigned variation index.
    pub variation_id: usize,
    /// The assigned variation's value.
    pub value: Value,
    /// Whether the assignment came from hashing (not forced).
    pub hash_used: bool,
    /// The attribute that was hashed.
    pub hash_attribute: String,
    /// That attribute's value (`""` when missing).
    pub hash_value: Value,
    /// The feature whose rule ran the experiment (`null` for inline experiments).
    pub feature_id: Option<String>,
    /// The variation key (meta key or the index as a string).
    pub key: String,
    /// The variation's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's hash in `[0, 1)`, when hashing ran to completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<f64>,
    /// A passthrough variation: feature evaluation continues with the next rule.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub passthrough: bool,
    /// Whether a sticky bucket decided (or blocked) the assignment.
    pub sticky_bucket_used: bool,
    /// Contextual bandit leaf (bandit rules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_id: Option<i64>,
    /// Contextual bandit weights used (bandit rules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_weights: Option<Vec<f64>>,
    /// Contextual bandit version (bandit rules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandit_version: Option<i64>,
}

/// Why a feature has its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FeatureSource {
    /// The feature is not in the payload.
    UnknownFeature,
    /// No rule applied.
    DefaultValue,
    /// A force (or rollout) rule applied.
    Force,
    /// Forced through [`UserContext::forced_feature_values`].
    Override,
    /// An experiment rule assigned the value.
    Experiment,
    /// A gating prerequisite failed.
    Prerequisite,
    /// Prerequisites form a cycle.
    CyclicPrerequisite,
}

/// The value of a feature for one user, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureResult {
    /// The value (`null` when unknown).
    pub value: Value,
    /// JavaScript truthiness of `value`.
    pub on: bool,
    /// `!on`.
    pub off: bool,
    /// Why the feature has this value.
    pub source: FeatureSource,
    /// The id of the rule that applied (`""` if none or unnamed).
    pub rule_id: String,
    /// The experiment that assigned the value (source `experiment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Experiment>,
    /// The assignment (source `experiment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_result: Option<ExperimentResult>,
}

impl FeatureResult {
    pub(crate) fn new(value: Value, source: FeatureSource, rule_id: &str) -> Self {
        let on = super::js::truthy(&value);
        Self {
            value,
            on,
            off: !on,
            source,
            rule_id: rule_id.to_owned(),
            experiment: None,
            experiment_result: None,
        }
    }
}

/// An exposure to report to analytics ("Experiment Viewed"), recorded once per
/// user, experiment and variation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackedExperiment {
    /// The experiment key.
    pub experiment_key: String,
    /// The assignment.
    pub result: ExperimentResult,
}
