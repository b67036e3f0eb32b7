//! Feature evaluation: overrides, prerequisites, force and rollout rules,
//! experiment rules and contextual bandits.

use serde_json::{Map, Value};

use super::condition::eval_condition;
use super::evaluator::Evaluator;
use super::hashing::{get_equal_weights, in_range};
use super::js::truthy;
use super::model::{
    ContextualBanditAssignment, Experiment, FeatureRule, ParentCondition, VariationRange,
};
use super::results::{FeatureResult, FeatureSource};

/// The outcome of checking one prerequisite.
pub(crate) enum ParentOutcome {
    /// The parent's value satisfies the condition.
    Pass,
    /// It does not.
    Fail,
    /// The prerequisites form a cycle.
    Cyclic,
}

impl ParentOutcome {
    pub(crate) fn passed(&self) -> bool {
        matches!(self, Self::Pass)
    }
}

/// Inputs of a percentage rollout on a force rule.
struct Rollout<'r> {
    seed: &'r str,
    hash_attribute: Option<&'r str>,
    fallback_attribute: Option<&'r str>,
    range: Option<VariationRange>,
    coverage: Option<f64>,
    hash_version: Option<u32>,
}

impl<'a> Evaluator<'a> {
    /// Evaluates feature `id`; `stack` holds the features whose prerequisites led here.
    pub(crate) fn eval_feature_inner<'s>(
        &mut self,
        id: &'s str,
        stack: &mut Vec<&'s str>,
    ) -> FeatureResult
    where
        'a: 's,
    {
        if stack.contains(&id) {
            return FeatureResult::new(Value::Null, FeatureSource::CyclicPrerequisite, "");
        }
        stack.push(id);
        let result = self.eval_feature_rules(id, stack);
        stack.pop();
        result
    }

    fn eval_feature_rules<'s>(&mut self, id: &'s str, stack: &mut Vec<&'s str>) -> FeatureResult
    where
        'a: 's,
    {
        let user = self.user;
        if let Some(value) = user.forced_feature_values.get(id) {
            return FeatureResult::new(value.clone(), FeatureSource::Override, "");
        }
        let payload = self.payload;
        let Some(feature) = payload.features.get(id) else {
            return FeatureResult::new(Value::Null, FeatureSource::UnknownFeature, "");
        };
        'rules: for rule in &feature.rules {
            for parent in &rule.parent_conditions {
                match self.check_parent(parent, stack) {
                    ParentOutcome::Pass => {}
                    ParentOutcome::Cyclic => {
                        return FeatureResult::new(
                            Value::Null,
                            FeatureSource::CyclicPrerequisite,
                            "",
                        );
                    }
                    ParentOutcome::Fail if parent.gate => {
                        return FeatureResult::new(Value::Null, FeatureSource::Prerequisite, "");
                    }
                    ParentOutcome::Fail => continue 'rules,
                }
            }
            if rule
                .filters
                .as_ref()
                .is_some_and(|f| self.is_filtered_out(f))
            {
                continue;
            }
            if let Some(force) = &rule.force {
                if rule
                    .condition
                    .as_ref()
                    .is_some_and(|c| !self.condition_passes(c))
                {
                    continue;
                }
                let sticky = self.sticky_enabled(rule.disable_sticky_bucketing);
                let rollout = Rollout {
                    seed: rule.seed.as_deref().filter(|s| !s.is_empty()).unwrap_or(id),
                    hash_attribute: rule.hash_attribute.as_deref(),
                    fallback_attribute: rule.fallback_attribute.as_deref().filter(|_| sticky),
                    range: rule.range,
                    coverage: rule.coverage,
                    hash_version: rule.hash_version,
                };
                if !self.included_in_rollout(&rollout) {
                    continue;
                }
                return FeatureResult::new(force.clone(), FeatureSource::Force, &rule.id);
            }
            let Some(exp) = &rule.experiment else {
                continue;
            };
            if let Some(result) = self.eval_experiment_rule(id, rule, exp, stack) {
                return result;
            }
        }
        FeatureResult::new(
            feature.default_value.clone(),
            FeatureSource::DefaultValue,
            "",
        )
    }

    /// Runs an experiment rule; `Some` when the user is in a non-passthrough variation.
    fn eval_experiment_rule<'s>(
        &mut self,
        id: &'s str,
        rule: &'s FeatureRule,
        exp: &'s Experiment,
        stack: &mut Vec<&'s str>,
    ) -> Option<FeatureResult>
    where
        'a: 's,
    {
        let key = if exp.key.is_empty() {
            id
        } else {
            exp.key.as_str()
        };
        let bandit = self.contextual_bandit(rule, exp);
        let leaf_weights = bandit
            .as_ref()
            .filter(|b| b.leaf_id != -1)
            .map(|b| b.variation_weights.as_slice());
        let mut result = self.run_inner(exp, key, Some(id), leaf_weights, stack);
        if !result.in_experiment || result.passthrough {
            return None;
        }
        let mut experiment = exp.clone();
        experiment.key = key.to_owned();
        if let Some(weights) = leaf_weights {
            experiment.weights = Some(weights.to_vec());
        }
        // Bandit metadata is reported only for hash-based assignments, not forced ones.
        if let Some(bandit) = bandit.filter(|_| result.hash_used) {
            result.leaf_id = Some(bandit.leaf_id);
            result.variation_weights = Some(bandit.variation_weights.clone());
            result.bandit_version = bandit.bandit_version;
            experiment.contextual_bandit = Some(bandit);
        }
        let mut feature =
            FeatureResult::new(result.value.clone(), FeatureSource::Experiment, &rule.id);
        feature.experiment = Some(experiment);
        feature.experiment_result = Some(result);
        Some(feature)
    }

    /// The contextual-bandit leaf for this user: the first leaf whose condition
    /// matches, else leaf `-1` with the rule's own (marginal) weights. `None` when
    /// the rule references no known bandit.
    fn contextual_bandit(
        &self,
        rule: &FeatureRule,
        exp: &Experiment,
    ) -> Option<ContextualBanditAssignment> {
        let reference = rule.contextual_bandit_ref.as_deref()?;
        let definition = self.payload.contextual_bandits.get(reference)?;
        let leaf = definition
            .contexts
            .iter()
            .find(|leaf| self.condition_passes(&leaf.condition));
        let (leaf_id, variation_weights) = match leaf {
            Some(leaf) => (leaf.leaf_id, leaf.weights.clone()),
            None => (
                -1,
                exp.weights
                    .clone()
                    .unwrap_or_else(|| get_equal_weights(exp.variations.len())),
            ),
        };
        Some(ContextualBanditAssignment {
            leaf_id,
            variation_weights,
            bandit_version: definition.bandit_version,
        })
    }

    /// Evaluates a prerequisite: the parent feature's value against the condition.
    pub(crate) fn check_parent<'s>(
        &mut self,
        parent: &'s ParentCondition,
        stack: &mut Vec<&'s str>,
    ) -> ParentOutcome
    where
        'a: 's,
    {
        let result = self.eval_feature_inner(&parent.id, stack);
        if result.source == FeatureSource::CyclicPrerequisite {
            return ParentOutcome::Cyclic;
        }
        let mut obj = Map::with_capacity(1);
        obj.insert("value".to_owned(), result.value);
        let obj = Value::Object(obj);
        if eval_condition(&obj, &parent.condition, &self.payload.saved_groups) {
            ParentOutcome::Pass
        } else {
            ParentOutcome::Fail
        }
    }

    /// GrowthBook's `isIncludedInRollout` for force rules.
    fn included_in_rollout(&self, rollout: &Rollout<'_>) -> bool {
        match (rollout.range, rollout.coverage) {
            (None, None) => return true,
            (None, Some(0.0)) => return false,
            _ => {}
        }
        let (_, value) = self.hash_attribute(rollout.hash_attribute, rollout.fallback_attribute);
        if !truthy(value) {
            return false;
        }
        let Some(n) = self.hash(rollout.seed, value, rollout.hash_version) else {
            return false;
        };
        match (rollout.range, rollout.coverage) {
            (Some(range), _) => in_range(n, range),
            (None, Some(coverage)) => n <= coverage,
            (None, None) => true,
        }
    }
}
