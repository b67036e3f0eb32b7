//! Sticky bucketing: users keep their variation when an experiment's traffic
//! split changes, keyed by `"{attribute}||{value}"` documents.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::evaluator::Evaluator;
use super::js::{to_sticky_string, truthy};
use super::model::{Experiment, Payload};
use super::results::UserContext;

/// The sticky-bucket assignments of one attribute value (e.g. `id = "u1"`).
///
/// `assignments` maps `"{experimentKey}__{bucketVersion}"` to a variation key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickyAssignmentsDocument {
    /// The attribute name, e.g. `id` or `deviceId`.
    pub attribute_name: String,
    /// The attribute value as a string.
    pub attribute_value: String,
    /// Experiment assignments.
    #[serde(default)]
    pub assignments: BTreeMap<String, String>,
}

impl StickyAssignmentsDocument {
    /// The document's storage key, `"{attribute_name}||{attribute_value}"`.
    pub fn key(&self) -> String {
        sticky_attribute_key(&self.attribute_name, &self.attribute_value)
    }
}

/// `"{attribute_name}||{attribute_value}"`.
pub fn sticky_attribute_key(attribute_name: &str, attribute_value: &str) -> String {
    format!("{attribute_name}||{attribute_value}")
}

/// `"{experiment_key}__{bucket_version}"`.
pub fn sticky_experiment_key(experiment_key: &str, bucket_version: u32) -> String {
    format!("{experiment_key}__{bucket_version}")
}

/// The attribute names and values whose sticky-bucket documents a user needs:
/// every hash and fallback attribute used by the payload's experiment rules.
///
/// Load `sticky_attribute_key(name, value)` for each entry before evaluating.
pub fn sticky_bucket_attributes(payload: &Payload, user: &UserContext) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let rules = payload.features.values().flat_map(|f| &f.rules);
    for exp in rules.filter_map(|r| r.experiment.as_ref()) {
        let names = [
            Some(exp.hash_attribute.as_deref().unwrap_or("id")),
            exp.fallback_attribute.as_deref(),
        ];
        for name in names.into_iter().flatten() {
            if !out.contains_key(name) {
                let value = resolve_attribute(&user.attributes, name);
                out.insert(name.to_owned(), to_sticky_string(value));
            }
        }
    }
    out
}

/// An attribute by literal key, else by dotted path; `""` when missing or null.
pub(crate) fn resolve_attribute<'v>(attributes: &'v Value, key: &str) -> &'v Value {
    if let Some(v) = attributes.as_object().and_then(|m| m.get(key)) {
        return v;
    }
    let v = super::condition::get_path(attributes, key);
    if v.is_null() {
        &super::js::EMPTY_STR
    } else {
        v
    }
}

/// The outcome of looking up an experiment's sticky bucket.
pub(crate) struct StickyLookup {
    /// The stored variation index, if a valid one exists.
    pub variation: Option<usize>,
    /// The user has an assignment from a version below `minBucketVersion`.
    pub blocked: bool,
}

impl Evaluator<'_> {
    /// A sticky document by key: this evaluation's changes first, then the loaded docs.
    fn sticky_doc(&self, key: &str) -> Option<&StickyAssignmentsDocument> {
        self.sticky_changes
            .get(key)
            .or_else(|| self.user.sticky_bucket_assignment_docs.get(key))
    }

    /// Merged assignments of the hash attribute's and the fallback attribute's documents.
    fn sticky_assignments(&self, exp: &Experiment) -> HashMap<&str, &str> {
        let mut merged = HashMap::new();
        let attrs = &self.user.attributes;
        let hash_attr = exp.hash_attribute.as_deref().unwrap_or("id");
        // Without a fallback attribute GrowthBook looks at `id` as the fallback.
        let fallback_attr = exp.fallback_attribute.as_deref().unwrap_or("id");
        let fallback_value = resolve_attribute(attrs, fallback_attr);
        let mut keys = Vec::with_capacity(2);
        if truthy(fallback_value) {
            keys.push(sticky_attribute_key(
                fallback_attr,
                &to_sticky_string(fallback_value),
            ));
        }
        let hash_value = resolve_attribute(attrs, hash_attr);
        keys.push(sticky_attribute_key(
            hash_attr,
            &to_sticky_string(hash_value),
        ));
        for key in &keys {
            if let Some(doc) = self.sticky_doc(key) {
                for (k, v) in &doc.assignments {
                    merged.insert(k.as_str(), v.as_str());
                }
            }
        }
        merged
    }

    /// The sticky variation of `exp` (keyed `key`) for this user.
    pub(crate) fn sticky_variation(&self, exp: &Experiment, key: &str) -> StickyLookup {
        let assignments = self.sticky_assignments(exp);
        let min_version = exp.min_bucket_version.unwrap_or(0);
        let blocked = (0..min_version)
            .any(|v| assignments.contains_key(sticky_experiment_key(key, v).as_str()));
        if blocked {
            return StickyLookup {
                variation: None,
                blocked: true,
            };
        }
        let id = sticky_experiment_key(key, exp.bucket_version.unwrap_or(0));
        let variation = assignments.get(id.as_str()).and_then(|variation_key| {
            exp.meta.as_ref().and_then(|meta| {
                meta.iter()
                    .position(|m| m.key.as_deref() == Some(*variation_key))
            })
        });
        StickyLookup {
            variation,
            blocked: false,
        }
    }

    /// Records `experiment_key → variation_key` in the user's document for
    /// `attribute_name = value`, keeping it only if something changed.
    pub(crate) fn save_sticky_assignment(
        &mut self,
        attribute_name: &str,
        value: &Value,
        experiment_key: String,
        variation_key: &str,
    ) {
        let attribute_value = to_sticky_string(value);
        let doc_key = sticky_attribute_key(attribute_name, &attribute_value);
        let mut doc =
            self.sticky_doc(&doc_key)
                .cloned()
                .unwrap_or_else(|| StickyAssignmentsDocument {
                    attribute_name: attribute_name.to_owned(),
                    attribute_value,
                    assignments: BTreeMap::new(),
                });
        if doc.assignments.get(&experiment_key).map(String::as_str) == Some(variation_key) {
            return;
        }
        doc.assignments
            .insert(experiment_key, variation_key.to_owned());
        self.sticky_changes.insert(doc_key, doc);
    }
}
