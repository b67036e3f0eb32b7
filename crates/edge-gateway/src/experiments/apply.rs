//! One request's flags and experiments: attributes in, typed overrides,
//! headers and exposures out.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use edge_ports::DataPoint;
use http::Request;
use serde_json::{Map, Value};
use traffic_split::growthbook::{
    Evaluator, KvStickyBucketService, UserContext, load_sticky_bucket_docs, save_sticky_bucket_docs,
};

use super::STICKY_PREFIX;
use super::spec::check_value;
use crate::Gateway;
use crate::config::ActionKind;
use crate::context::Scope;

/// What flags and experiments changed on the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Overrides {
    pub(crate) model: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) template_version: Option<String>,
    pub(crate) temperature: Option<f64>,
    pub(crate) top_p: Option<f64>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) bypass_cache: bool,
}

impl Overrides {
    /// Sets what flags and experiments chose on a chat request (values
    /// were checked against the config and `[limits.chat]`).
    pub(crate) fn apply_to(&self, chat: &mut llm_router::ChatRequest) {
        if let Some(m) = &self.model {
            chat.model.clone_from(m);
        }
        if self.temperature.is_some() {
            chat.temperature = self.temperature;
        }
        if self.top_p.is_some() {
            chat.top_p = self.top_p;
        }
        if self.max_tokens.is_some() {
            chat.max_tokens = self.max_tokens;
            chat.max_completion_tokens = None;
        }
    }
}

/// One experiment arm the caller is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arm {
    pub(crate) experiment: String,
    pub(crate) variant: String,
}

/// Everything flags and experiments decided for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Choice {
    pub(crate) overrides: Overrides,
    pub(crate) arms: Vec<Arm>,
    /// Bound features that had a value: (key, compact JSON value).
    pub(crate) features: Vec<(String, String)>,
    /// Payload values that did not fit their action (ignored).
    pub(crate) ignored: Vec<String>,
}

impl Choice {
    /// `x-edgeforge-variant` (`exp=variant;…`), `x-edgeforge-features`
    /// (`feature=value;…`) and, for values that were ignored,
    /// `x-edgeforge-ignored`.
    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        let join = |items: Vec<String>| items.join(";");
        if !self.arms.is_empty() {
            let v = self
                .arms
                .iter()
                .map(|a| format!("{}={}", a.experiment, a.variant))
                .collect();
            h.push(("x-edgeforge-variant", join(v)));
        }
        if !self.features.is_empty() {
            let f = self
                .features
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            h.push(("x-edgeforge-features", join(f)));
        }
        if !self.ignored.is_empty() {
            h.push(("x-edgeforge-ignored", join(self.ignored.clone())));
        }
        h
    }

    /// The label analytics and `x-variant` carry (the first arm).
    pub(crate) fn variant_label(&self) -> Option<String> {
        self.arms
            .first()
            .map(|a| format!("{}={}", a.experiment, a.variant))
    }
}

/// Who is asking, as the traffic stage knows it.
pub(crate) struct Subject<'a> {
    /// The hashed unit: the user's subject, or the anonymous network key.
    pub(crate) unit: &'a str,
    pub(crate) tier: &'a str,
    pub(crate) route: &'static str,
    pub(crate) deployment: &'a str,
}

/// Exposures remembered per isolate before the set starts over.
const MAX_EXPOSURES_REMEMBERED: usize = 50_000;
/// Header values offered to targeting are cut to this many bytes.
const MAX_ATTRIBUTE_BYTES: usize = 128;

/// Which (unit, experiment, variant) this isolate already reported.
#[derive(Debug, Default)]
pub(crate) struct ExposureDedup {
    seen: RefCell<HashSet<u64>>,
}

impl ExposureDedup {
    /// True the first time this isolate sees the triple.
    fn first(&self, unit: &str, arm: &Arm) -> bool {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (unit, &arm.experiment, &arm.variant).hash(&mut h);
        let mut seen = self.seen.borrow_mut();
        if seen.len() >= MAX_EXPOSURES_REMEMBERED {
            seen.clear();
        }
        seen.insert(h.finish())
    }
}

/// `mobile`, `tablet` or `desktop` from a User-Agent.
fn device(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    if ua.contains("ipad") || ua.contains("tablet") {
        "tablet"
    } else if ua.contains("mobi") || ua.contains("iphone") || ua.contains("android") {
        "mobile"
    } else {
        "desktop"
    }
}

fn cut(s: &str) -> String {
    let mut end = s.len().min(MAX_ATTRIBUTE_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl Gateway {
    fn attributes(&self, req: &Request<Vec<u8>>, who: &Subject<'_>, scope: &Scope<'_>) -> Value {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let mut a = Map::new();
        let mut put = |k: &str, v: &str| {
            if !v.is_empty() {
                a.insert(k.to_owned(), Value::String(cut(v)));
            }
        };
        put("id", who.unit);
        put("country", scope.ctx.country.as_deref().unwrap_or(""));
        put("region", scope.ctx.region.as_deref().unwrap_or(""));
        put("tier", who.tier);
        put("device", device(header("user-agent")));
        put("route", who.route);
        put("deployment", who.deployment);
        for (name, attr) in &self.inner.cfg.experiments.attributes {
            put(attr, header(name));
        }
        Value::Object(a)
    }

    /// Evaluates the bound features for this request.
    pub(crate) async fn choose(
        &self,
        req: &Request<Vec<u8>>,
        who: &Subject<'_>,
        scope: &Scope<'_>,
    ) -> Choice {
        let cfg = &self.inner.cfg.experiments;
        let mut choice = Choice::default();
        if !cfg.enabled || cfg.actions.is_empty() || who.unit.is_empty() {
            return choice;
        }
        let loaded = self.experiments_payload().await;
        if loaded.payload.features.is_empty() {
            return choice;
        }
        let mut user = UserContext::with_attributes(self.attributes(req, who, scope));
        let sticky = KvStickyBucketService::new(self.inner.kv.clone()).with_prefix(STICKY_PREFIX);
        if loaded.sticky {
            // A store failure assigns by hash alone, as without stickiness.
            let docs = load_sticky_bucket_docs(&sticky, &loaded.payload, &user)
                .await
                .unwrap_or_default();
            user = user.with_sticky_bucket_docs(docs);
        }
        let mut eval = Evaluator::new(&loaded.payload, &user).with_hash_encoding(cfg.hash_encoding);
        for binding in &cfg.actions {
            let r = eval.eval_feature(&binding.feature);
            if r.value.is_null() {
                continue;
            }
            let compact = r.value.to_string();
            if check_value(
                binding.action,
                &r.value,
                &self.inner.cfg,
                &self.inner.models.names,
            )
            .is_err()
            {
                choice.ignored.push(binding.feature.clone());
                continue;
            }
            apply(&mut choice.overrides, binding.action, &r.value);
            choice
                .features
                .push((binding.feature.clone(), cut(&compact)));
            if let (Some(exp), Some(res)) = (&r.experiment, &r.experiment_result)
                && res.in_experiment
                && res.hash_used
            {
                choice.arms.push(Arm {
                    experiment: exp.key.clone(),
                    variant: res.key.clone(),
                });
            }
        }
        let changed = eval.take_sticky_bucket_changes();
        if !changed.is_empty() {
            scope.bg.wait_until(Box::pin(async move {
                let _ = save_sticky_bucket_docs(&sticky, changed.iter()).await;
            }));
        }
        self.record_exposures(&choice, who);
        choice
    }

    fn record_exposures(&self, choice: &Choice, who: &Subject<'_>) {
        for arm in &choice.arms {
            if !self.inner.exposures.first(who.unit, arm) {
                continue;
            }
            self.inner.arm_metrics.expose(arm);
            // Analytics never fails a request; the sink validates and counts.
            let _ = self.inner.experiment_analytics.write(DataPoint {
                indexes: vec![arm.experiment.chars().take(96).collect()],
                blobs: vec![
                    arm.experiment.clone(),
                    arm.variant.clone(),
                    who.route.to_owned(),
                    who.deployment.to_owned(),
                ],
                doubles: vec![1.0],
            });
        }
    }
}

fn apply(o: &mut Overrides, action: ActionKind, value: &Value) {
    let text = || value.as_str().map(str::to_owned);
    match action {
        ActionKind::Model => o.model = text(),
        ActionKind::Provider => o.provider = text(),
        ActionKind::TemplateVersion => o.template_version = text(),
        ActionKind::Temperature => o.temperature = value.as_f64(),
        ActionKind::TopP => o.top_p = value.as_f64(),
        ActionKind::MaxTokens => {
            o.max_tokens = value.as_u64().and_then(|n| u32::try_from(n).ok());
        }
        ActionKind::CachePolicy => o.bypass_cache = value.as_str() == Some("bypass"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_cut_values() {
        assert_eq!(device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"), "mobile");
        assert_eq!(device("Mozilla/5.0 (iPad; CPU OS 17_0)"), "tablet");
        assert_eq!(device("curl/8.0"), "desktop");
        let long = "é".repeat(100);
        assert!(cut(&long).len() <= MAX_ATTRIBUTE_BYTES);
        assert!(long.starts_with(&cut(&long)));
    }
}
