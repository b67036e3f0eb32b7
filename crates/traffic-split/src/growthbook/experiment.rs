//! Running an experiment for one user: the GrowthBook assignment algorithm.

use serde_json::Value;

use super::condition::eval_condition;
use super::evaluator::Evaluator;
use super::hashing::{choose_variation, get_bucket_ranges, get_query_string_override, in_range};
use super::js::{num, string_to_number, truthy};
use super::model::{Experiment, Filter};
use super::results::ExperimentResult;
use super::sticky::{StickyLookup, sticky_experiment_key};

/// A forced variation value as an index (`None` when not a non-negative integer).
fn variation_index(v: &Value) -> Option<usize> {
    let f = match v {
        Value::Number(n) => num(n),
        Value::String(s) => string_to_number(s),
        _ => return None,
    };
    // Bounded and integral, so the conversion is exact.
    ((0.0..4_294_967_296.0).contains(&f) && f.fract() == 0.0).then_some(f as usize)
}

impl<'a> Evaluator<'a> {
    /// Runs `exp` under `key` (the feature key when a rule has none).
    ///
    /// `weights` overrides the experiment's weights (contextual bandits);
    /// `stack` holds the features being evaluated, for prerequisite cycles.
    pub(crate) fn run_inner<'s>(
        &mut self,
        exp: &'s Experiment,
        key: &'s str,
        feature_id: Option<&str>,
        weights: Option<&[f64]>,
        stack: &mut Vec<&'s str>,
    ) -> ExperimentResult
    where
        'a: 's,
    {
        let num_variations = exp.variations.len();
        // 1-2. Invalid experiment or evaluation disabled.
        if num_variations < 2 || !self.user.enabled {
            return self.exclude(exp, feature_id);
        }
        // 3. Query-string override.
        if let Some(v) = get_query_string_override(key, &self.user.url, num_variations) {
            return self.build_result(exp, Some(v), false, feature_id, None, false);
        }
        // 4. Forced in the context.
        if let Some(forced) = self.user.forced_variations.get(key) {
            let index = variation_index(forced);
            return self.build_result(exp, index, false, feature_id, None, false);
        }
        // 5. Draft or inactive.
        if exp.status.as_deref() == Some("draft") || exp.active == Some(false) {
            return self.exclude(exp, feature_id);
        }
        // 6. Hash attribute, then any sticky bucket.
        let sticky = self.sticky_enabled(exp.disable_sticky_bucketing);
        let fallback = if sticky {
            exp.fallback_attribute.as_deref()
        } else {
            None
        };
        let (hash_attribute, hash_value) =
            self.hash_attribute(exp.hash_attribute.as_deref(), fallback);
        if !truthy(hash_value) {
            return self.exclude(exp, feature_id);
        }
        let lookup = if sticky {
            self.sticky_variation(exp, key)
        } else {
            StickyLookup {
                variation: None,
                blocked: false,
            }
        };
        let found_sticky = lookup.variation.is_some();
        if !found_sticky {
            // 7. Filters (or the legacy namespace), then 8. the targeting condition.
            let filtered_out = match (&exp.filters, &exp.namespace) {
                (Some(filters), _) => self.is_filtered_out(filters),
                (None, Some(ns)) => !self.in_namespace(hash_value, ns),
                (None, None) => false,
            };
            if filtered_out
                || exp
                    .condition
                    .as_ref()
                    .is_some_and(|c| !self.condition_passes(c))
            {
                return self.exclude(exp, feature_id);
            }
            // 8.05. Prerequisites.
            for parent in exp.parent_conditions.iter().flatten() {
                if !self.check_parent(parent, stack).passed() {
                    return self.exclude(exp, feature_id);
                }
            }
        }
        // 9. Hash and choose a variation (unless a sticky bucket already did).
        let seed = exp.seed.as_deref().filter(|s| !s.is_empty()).unwrap_or(key);
        let Some(n) = self.hash(seed, hash_value, exp.hash_version) else {
            return self.exclude(exp, feature_id);
        };
        let assigned = if found_sticky {
            lookup.variation
        } else if let Some(ranges) = &exp.ranges {
            choose_variation(n, ranges)
        } else {
            let coverage = exp.coverage.unwrap_or(1.0);
            let ranges =
                get_bucket_ranges(num_variations, coverage, weights.or(exp.weights.as_deref()));
            choose_variation(n, &ranges)
        };
        // 9.5. A sticky bucket from a blocked version unenrolls the user.
        if lookup.blocked {
            return self.build_result(exp, None, false, feature_id, None, true);
        }
        // 10. Outside every range (coverage).
        let Some(assigned) = assigned else {
            return self.exclude(exp, feature_id);
        };
        // 11. Forced variation in the experiment.
        if let Some(force) = exp.force {
            let index = usize::try_from(force).ok();
            return self.build_result(exp, index, false, feature_id, None, false);
        }
        // 12. QA mode, stopped experiments.
        if self.user.qa_mode || exp.status.as_deref() == Some("stopped") {
            return self.exclude(exp, feature_id);
        }
        // 13. In the experiment: persist the sticky bucket and record the exposure.
        let result =
            self.build_result(exp, Some(assigned), true, feature_id, Some(n), found_sticky);
        if sticky {
            let sticky_key = sticky_experiment_key(key, exp.bucket_version.unwrap_or(0));
            self.save_sticky_assignment(hash_attribute, hash_value, sticky_key, &result.key);
        }
        self.track(key, &result);
        result
    }

    fn exclude(&self, exp: &Experiment, feature_id: Option<&str>) -> ExperimentResult {
        self.build_result(exp, None, false, feature_id, None, false)
    }

    /// GrowthBook's `getExperimentResult`: an invalid index means "not in the experiment, variation 0".
    fn build_result(
        &self,
        exp: &Experiment,
        index: Option<usize>,
        hash_used: bool,
        feature_id: Option<&str>,
        bucket: Option<f64>,
        sticky_bucket_used: bool,
    ) -> ExperimentResult {
        let (index, in_experiment) = match index {
            Some(i) if i < exp.variations.len() => (i, true),
            _ => (0, false),
        };
        let fallback = if self.sticky_enabled(exp.disable_sticky_bucketing) {
            exp.fallback_attribute.as_deref()
        } else {
            None
        };
        let (hash_attribute, hash_value) =
            self.hash_attribute(exp.hash_attribute.as_deref(), fallback);
        let meta = exp.meta.as_ref().and_then(|m| m.get(index));
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        ExperimentResult {
            in_experiment,
            variation_id: index,
            value: exp.variations.get(index).cloned().unwrap_or(Value::Null),
            hash_used,
            hash_attribute: hash_attribute.to_owned(),
            hash_value: hash_value.clone(),
            feature_id: feature_id.map(str::to_owned),
            key: meta
                .and_then(|m| non_empty(&m.key))
                .unwrap_or_else(|| index.to_string()),
            name: meta.and_then(|m| non_empty(&m.name)),
            bucket,
            passthrough: meta.and_then(|m| m.passthrough).unwrap_or(false),
            sticky_bucket_used,
            leaf_id: None,
            variation_weights: None,
            bandit_version: None,
        }
    }

    /// Whether the user's attributes satisfy a condition (with the payload's saved groups).
    pub(crate) fn condition_passes(&self, condition: &Value) -> bool {
        eval_condition(&self.user.attributes, condition, &self.payload.saved_groups)
    }

    /// True when any filter excludes the user (missing attribute, bad hash version or out of range).
    pub(crate) fn is_filtered_out(&self, filters: &[Filter]) -> bool {
        filters.iter().any(|filter| {
            let (_, value) = self.hash_attribute(filter.attribute.as_deref(), None);
            if !truthy(value) {
                return true;
            }
            let version = Some(filter.hash_version.filter(|v| *v != 0).unwrap_or(2));
            match self.hash(&filter.seed, value, version) {
                Some(n) => !filter.ranges.iter().any(|r| in_range(n, *r)),
                None => true,
            }
        })
    }
}
