//! The GrowthBook payload: features, rules, experiments, saved groups and
//! contextual bandits, deserialised from the SDK API's JSON (camelCase).

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::GrowthBookError;
use super::decrypt::decrypt;

/// A bucket range `[start, end)` in `[0, 1]`.
pub type VariationRange = (f64, f64);

/// A namespace slice: `(name, start, end)`.
pub type Namespace = (String, f64, f64);

/// Per-variation metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariationMeta {
    /// Stable variation key used in results and sticky buckets (defaults to the index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A passthrough variation (holdouts): users in it fall through to the next rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough: Option<bool>,
}

/// A hash-based filter: the user passes if their hash falls in one of `ranges`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// The attribute to hash (default `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// The hash seed.
    #[serde(default)]
    pub seed: String,
    /// Hash version (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_version: Option<u32>,
    /// Accepted ranges.
    #[serde(default)]
    pub ranges: Vec<VariationRange>,
}

/// A prerequisite: the parent feature's value must satisfy `condition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentCondition {
    /// The parent feature key.
    pub id: String,
    /// A condition over `{"value": <parent value>}`.
    #[serde(default = "empty_object")]
    pub condition: Value,
    /// When true, failing blocks the whole feature (source `prerequisite`); otherwise only the rule is skipped.
    #[serde(default)]
    pub gate: bool,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Which contextual-bandit leaf a user was routed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextualBanditAssignment {
    /// The matched leaf, or `-1` when no leaf matched (marginal weights).
    pub leaf_id: i64,
    /// The weights used for bucketing.
    pub variation_weights: Vec<f64>,
    /// The bandit definition's version, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandit_version: Option<i64>,
}

/// An experiment: what [`Evaluator::run`](super::Evaluator::run) assigns users to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Experiment {
    /// Experiment key (hash seed unless `seed` is set). Empty in a feature rule means "the feature key".
    pub key: String,
    /// Variation values.
    pub variations: Vec<Value>,
    /// Traffic weights per variation (default equal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// `Some(false)` stops new assignments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// `"draft"`, `"running"` or `"stopped"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Share of traffic included, `[0, 1]` (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// Explicit bucket ranges (override `coverage` and `weights`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Vec<VariationRange>>,
    /// Targeting condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
    /// Prerequisite features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_conditions: Option<Vec<ParentCondition>>,
    /// Namespace slice (ignored when `filters` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Namespace>,
    /// Forces a variation index for everyone included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<i64>,
    /// Attribute to hash (default `id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_attribute: Option<String>,
    /// Attribute to hash when `hash_attribute` is empty (only with sticky bucketing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_attribute: Option<String>,
    /// Hash version (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_version: Option<u32>,
    /// Per-variation metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Vec<VariationMeta>>,
    /// Hash filters (replace `namespace`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
    /// Hash seed (default `key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phase id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Opts this experiment out of sticky bucketing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_sticky_bucketing: bool,
    /// Sticky-bucket version; bumping it re-buckets everyone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_version: Option<u32>,
    /// Users with sticky buckets from versions below this are excluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_bucket_version: Option<u32>,
    /// Set on feature results when a contextual bandit chose the weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contextual_bandit: Option<ContextualBanditAssignment>,
}

/// One rule of a feature: a forced value (optionally a percentage rollout) or an experiment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "RawRule")]
pub struct FeatureRule {
    /// Rule id, reported as `ruleId`.
    pub id: String,
    /// Targeting condition.
    pub condition: Option<Value>,
    /// Prerequisite features.
    pub parent_conditions: Vec<ParentCondition>,
    /// The forced value (`Some(Null)` forces `null`); `None` for experiment rules.
    pub force: Option<Value>,
    /// Rollout range (replaces `coverage`).
    pub range: Option<VariationRange>,
    /// Rollout share.
    pub coverage: Option<f64>,
    /// Attribute to hash for the rollout.
    pub hash_attribute: Option<String>,
    /// Fallback hash attribute (only with sticky bucketing).
    pub fallback_attribute: Option<String>,
    /// Rollout hash seed (default: the feature key).
    pub seed: Option<String>,
    /// Rollout hash version (default 1).
    pub hash_version: Option<u32>,
    /// Hash filters.
    pub filters: Option<Vec<Filter>>,
    /// Opts the rule out of sticky bucketing.
    pub disable_sticky_bucketing: bool,
    /// Key into [`Payload::contextual_bandits`].
    pub contextual_bandit_ref: Option<String>,
    /// The experiment an experiment rule runs (its key is empty when the rule has none).
    pub experiment: Option<Experiment>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRule {
    id: Option<String>,
    condition: Option<Value>,
    parent_conditions: Option<Vec<ParentCondition>>,
    #[serde(deserialize_with = "present")]
    force: Option<Value>,
    variations: Option<Vec<Value>>,
    contextual_variations: Option<Vec<Value>>,
    weights: Option<Vec<f64>>,
    key: Option<String>,
    hash_attribute: Option<String>,
    fallback_attribute: Option<String>,
    hash_version: Option<u32>,
    disable_sticky_bucketing: Option<bool>,
    bucket_version: Option<u32>,
    min_bucket_version: Option<u32>,
    range: Option<VariationRange>,
    ranges: Option<Vec<VariationRange>>,
    coverage: Option<f64>,
    namespace: Option<Namespace>,
    meta: Option<Vec<VariationMeta>>,
    filters: Option<Vec<Filter>>,
    seed: Option<String>,
    name: Option<String>,
    phase: Option<String>,
    contextual_bandit_ref: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

impl From<RawRule> for FeatureRule {
    fn from(r: RawRule) -> Self {
        let disable = r.disable_sticky_bucketing.unwrap_or(false);
        // Like the JS SDK, the experiment copies only the rule's truthy experiment fields.
        let experiment = r
            .contextual_variations
            .clone()
            .or_else(|| r.variations.clone())
            .map(|variations| Experiment {
                key: r.key.clone().unwrap_or_default(),
                variations,
                weights: r.weights.clone(),
                coverage: r.coverage,
                ranges: r.ranges.clone(),
                condition: r.condition.clone(),
                namespace: r.namespace.clone(),
                hash_attribute: non_empty(&r.hash_attribute),
                fallback_attribute: non_empty(&r.fallback_attribute),
                hash_version: r.hash_version.filter(|v| *v != 0),
                meta: r.meta.clone(),
                filters: r.filters.clone(),
                seed: non_empty(&r.seed),
                name: non_empty(&r.name),
                phase: non_empty(&r.phase),
                disable_sticky_bucketing: disable,
                bucket_version: r.bucket_version,
                min_bucket_version: r.min_bucket_version,
                ..Experiment::default()
            });
        Self {
            id: r.id.unwrap_or_default(),
            condition: r.condition,
            parent_conditions: r.parent_conditions.unwrap_or_default(),
            force: r.force,
            range: r.range,
            coverage: r.coverage,
            hash_attribute: r.hash_attribute,
            fallback_attribute: r.fallback_attribute,
            seed: r.seed,
            hash_version: r.hash_version,
            filters: r.filters,
            disable_sticky_bucketing: disable,
            contextual_bandit_ref: r.contextual_bandit_ref,
            experiment,
        }
    }
}

/// A feature: its default value and ordered rules.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FeatureDefinition {
    /// Value when no rule applies (`null` when absent).
    pub default_value: Value,
    /// Rules, evaluated in order; the first that applies wins.
    pub rules: Vec<FeatureRule>,
}

/// One leaf of a contextual bandit: users matching `condition` get `weights`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BanditContext {
    /// Leaf id reported in results.
    pub leaf_id: i64,
    /// Condition over the user's attributes (`{}` matches everyone).
    #[serde(default = "empty_object")]
    pub condition: Value,
    /// Variation weights for this leaf.
    #[serde(default)]
    pub weights: Vec<f64>,
}

/// A contextual bandit: leaves tried in order; the first matching leaf sets the weights.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContextualBanditDefinition {
    /// Version of the bandit's weights.
    pub bandit_version: Option<i64>,
    /// Leaves, in priority order.
    pub contexts: Vec<BanditContext>,
}

/// A GrowthBook SDK payload: shared by all requests; parse it once and reuse it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Payload {
    /// Features by key.
    pub features: HashMap<String, FeatureDefinition>,
    /// Saved groups by id (`{"group_id": [values...]}`), used by `$inGroup`.
    pub saved_groups: Value,
    /// Contextual bandits by id, referenced by rules' `contextualBanditRef`.
    pub contextual_bandits: HashMap<String, ContextualBanditDefinition>,
}

impl Payload {
    /// Parses a plain (unencrypted) payload.
    pub fn from_json(json: &str) -> Result<Self, GrowthBookError> {
        Ok(serde_json::from_str(json)?)
    }

    /// Parses an SDK API response, decrypting `encryptedFeatures` and `encryptedSavedGroups`.
    pub fn from_api_response(
        json: &str,
        decryption_key: Option<&str>,
    ) -> Result<Self, GrowthBookError> {
        let mut raw: Value = serde_json::from_str(json)?;
        if let Value::Object(map) = &mut raw {
            for (encrypted, plain) in [
                ("encryptedFeatures", "features"),
                ("encryptedSavedGroups", "savedGroups"),
            ] {
                if let Some(Value::String(cipher)) = map.remove(encrypted) {
                    let key = decryption_key.ok_or(GrowthBookError::MissingDecryptionKey)?;
                    let text = decrypt(&cipher, key)?;
                    map.insert(plain.to_owned(), serde_json::from_str(&text)?);
                }
            }
        }
        Ok(serde_json::from_value(raw)?)
    }
}
