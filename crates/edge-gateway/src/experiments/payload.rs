//! The effective GrowthBook payload of an isolate: the stored payload
//! (decrypted when it came encrypted) with every stored experiment compiled
//! into its feature's rules, reused until the version key in KV changes.

use std::cell::RefCell;
use std::rc::Rc;

use edge_ports::{KvStore, ListOptions, PutOptions};
use traffic_split::growthbook::{FeatureDefinition, FeatureRule, Payload};

use super::spec::{ExperimentStatus, StoredExperiment};
use super::{EXPERIMENT_PREFIX, MAX_EXPERIMENTS, VERSION_KEY};
use crate::Gateway;
use crate::admin::FEATURES_KEY;

/// What requests evaluate.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Features (with experiments compiled in).
    pub(crate) payload: Payload,
    /// A running experiment asks for sticky buckets.
    pub(crate) sticky: bool,
    /// Why the stored payload was not used, if it was not.
    pub(crate) error: Option<String>,
}

struct Cached {
    checked_ms: u64,
    version: String,
    loaded: Rc<Loaded>,
}

/// The per-isolate copy.
#[derive(Default)]
pub(crate) struct PayloadCache {
    cached: RefCell<Option<Cached>>,
}

impl std::fmt::Debug for PayloadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadCache").finish_non_exhaustive()
    }
}

impl PayloadCache {
    /// Forgets the copy (after a write in this isolate).
    pub(crate) fn forget(&self) {
        *self.cached.borrow_mut() = None;
    }
}

/// Marks a change: every isolate reloads at its next version check.
pub(crate) async fn bump_version(gw: &Gateway) -> Result<(), edge_ports::KvError> {
    let v = format!(
        "{:016x}",
        gw.inner
            .random
            .next_u64()
            .unwrap_or(gw.inner.clock.now_ms())
    );
    gw.inner.experiments.forget();
    gw.inner
        .kv
        .put(VERSION_KEY, v.into_bytes(), PutOptions::default())
        .await
}

/// Every stored experiment (at most [`MAX_EXPERIMENTS`]), by key.
pub(crate) async fn list_experiments(
    kv: &dyn KvStore,
) -> Result<Vec<StoredExperiment>, edge_ports::KvError> {
    let page = kv
        .list(ListOptions::prefix(EXPERIMENT_PREFIX).limit(MAX_EXPERIMENTS as u32))
        .await?;
    let mut out = Vec::new();
    for k in page.keys {
        if let Some(bytes) = kv.get(&k.name).await?
            && let Ok(e) = serde_json::from_slice::<StoredExperiment>(&bytes)
        {
            out.push(e);
        }
    }
    Ok(out)
}

impl Gateway {
    /// The effective payload, re-read when its version changed (checked at
    /// most every `refresh_ms`). A KV failure keeps the last copy.
    pub(crate) async fn experiments_payload(&self) -> Rc<Loaded> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let refresh = inner.cfg.experiments.refresh_ms;
        if let Some(c) = &*inner.experiments.cached.borrow()
            && now.saturating_sub(c.checked_ms) < refresh
        {
            return c.loaded.clone();
        }
        let version = match inner.kv.get(VERSION_KEY).await {
            Ok(v) => v.map(|b| String::from_utf8_lossy(&b).into_owned()),
            Err(_) => {
                return inner
                    .experiments
                    .cached
                    .borrow()
                    .as_ref()
                    .map(|c| c.loaded.clone())
                    .unwrap_or_default();
            }
        };
        let version = version.unwrap_or_default();
        if let Some(c) = &mut *inner.experiments.cached.borrow_mut()
            && c.version == version
        {
            c.checked_ms = now;
            return c.loaded.clone();
        }
        let loaded = Rc::new(self.load_payload(now).await);
        *inner.experiments.cached.borrow_mut() = Some(Cached {
            checked_ms: now,
            version,
            loaded: loaded.clone(),
        });
        loaded
    }

    async fn load_payload(&self, now_ms: u64) -> Loaded {
        let inner = &self.inner;
        let mut loaded = Loaded::default();
        match inner.kv.get(FEATURES_KEY).await {
            Ok(Some(bytes)) => match self.parse_payload(&bytes) {
                Ok(p) => loaded.payload = p,
                Err(e) => loaded.error = Some(e),
            },
            Ok(None) => {}
            Err(e) => loaded.error = Some(format!("reading the payload: {e}")),
        }
        let experiments = match list_experiments(inner.kv.as_ref()).await {
            Ok(list) => list,
            Err(e) => {
                loaded.error = Some(format!("listing experiments: {e}"));
                Vec::new()
            }
        };
        for exp in &experiments {
            let Some(rule) = exp.rule(now_ms) else {
                continue;
            };
            let rule = match serde_json::from_value::<FeatureRule>(rule) {
                Ok(rule) => rule,
                Err(e) => {
                    loaded.error = Some(format!("experiment {:?}: {e}", exp.key()));
                    continue;
                }
            };
            loaded.sticky |= exp.spec.sticky && exp.status == ExperimentStatus::Running;
            loaded
                .payload
                .features
                .entry(exp.spec.feature.clone())
                .or_insert_with(FeatureDefinition::default)
                .rules
                .insert(0, rule);
        }
        loaded
    }

    /// Parses a stored payload: plain, or an SDK response with
    /// `encryptedFeatures` (decrypted with `decryption_key_secret`).
    pub(crate) fn parse_payload(&self, bytes: &[u8]) -> Result<Payload, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "the payload is not UTF-8".to_owned())?;
        let key = self
            .inner
            .cfg
            .experiments
            .decryption_key_secret
            .as_deref()
            .and_then(|name| self.inner.secrets.get(name));
        Payload::from_api_response(text, key.as_deref()).map_err(|e| e.to_string())
    }
}
