//! GrowthBook-compatible feature flag and experiment evaluation.
//!
//! This module evaluates GrowthBook SDK payloads (features, rules, saved groups,
//! contextual bandits) with the semantics of the GrowthBook JavaScript SDK, and
//! is checked against GrowthBook's cross-SDK test suite (`tests/growthbook_conformance.rs`):
//!
//! - [`hash`], [`get_bucket_ranges`], [`choose_variation`], [`in_namespace`],
//!   [`get_equal_weights`], [`get_query_string_override`]: bucketing primitives;
//! - [`eval_condition`]: the Mongo-like targeting language (`$in`, `$regex`,
//!   `$vgt`, `$inGroup`, `$elemMatch`, ...), with JavaScript comparison rules;
//! - [`Evaluator`]: feature evaluation ([`Evaluator::eval_feature`]) and
//!   experiment runs ([`Evaluator::run`]), including prerequisites, filters,
//!   namespaces, forced variations and sticky bucketing;
//! - [`StickyBucketService`] with [`InMemoryStickyBucketService`] and the KV-backed
//!   [`KvStickyBucketService`]; [`decrypt`] for encrypted payloads.
//!
//! Evaluation is synchronous and never panics on any payload or attributes.
//! Sticky-bucket documents are loaded before evaluation (see
//! [`load_sticky_bucket_docs`]) and handed in through the [`UserContext`]; the
//! evaluator returns the documents it created or changed so the caller can save
//! them ([`save_sticky_bucket_docs`]) after answering the request.
//!
//! ```
//! use traffic_split::growthbook::{Evaluator, FeatureSource, Payload, UserContext};
//!
//! let payload = Payload::from_json(r#"{
//!   "features": {
//!     "new-checkout": {
//!       "defaultValue": false,
//!       "rules": [
//!         { "condition": { "country": { "$in": ["US", "CA"] } }, "force": true },
//!         { "key": "checkout-test", "variations": [false, true], "hashVersion": 2 }
//!       ]
//!     }
//!   }
//! }"#)?;
//! let user = UserContext::with_attributes(serde_json::json!({ "id": "user-42", "country": "US" }));
//!
//! let mut evaluator = Evaluator::new(&payload, &user);
//! let result = evaluator.eval_feature("new-checkout");
//! assert_eq!(result.value, serde_json::json!(true));
//! assert_eq!(result.source, FeatureSource::Force);
//! # Ok::<(), traffic_split::growthbook::GrowthBookError>(())
//! ```
//!
//! Hashing consumes UTF-16 code units like the JavaScript and Python SDKs, so ids
//! with non-ASCII characters get the same variation as in the browser
//! (`tests/js_sdk_parity.rs` checks this against the official JavaScript SDK);
//! [`HashEncoding::Utf8`] is available but differs from those SDKs for such ids.
//!
//! Differences from the JavaScript SDK, all outside the published test vectors:
//! `$regex` uses `regex-lite` syntax (no look-around or back-references: such
//! patterns never match); objects compared by value ignore key order; URL
//! targeting (`urlPatterns`, redirects) and visual experiments are not supported.

mod condition;
mod decrypt;
mod evaluator;
mod experiment;
mod feature;
mod hashing;
mod js;
mod model;
mod pattern;
mod results;
mod sticky;
mod sticky_service;

pub use condition::{eval_condition, padded_version_string};
pub use decrypt::decrypt;
pub use evaluator::{Evaluator, eval_feature, run_experiment};
pub use hashing::{
    FNV_OFFSET_BASIS, FNV_PRIME, HashEncoding, choose_variation, fnv1a32, fnv1a32_utf16,
    get_bucket_ranges, get_equal_weights, get_query_string_override, hash, hash_with, in_namespace,
    in_range,
};
pub use model::{
    BanditContext, ContextualBanditAssignment, ContextualBanditDefinition, Experiment,
    FeatureDefinition, FeatureRule, Filter, Namespace, ParentCondition, Payload, VariationMeta,
    VariationRange,
};
pub use results::{ExperimentResult, FeatureResult, FeatureSource, TrackedExperiment, UserContext};
pub use sticky::{
    StickyAssignmentsDocument, sticky_attribute_key, sticky_bucket_attributes,
    sticky_experiment_key,
};
pub use sticky_service::{
    DEFAULT_KV_PREFIX, InMemoryStickyBucketService, KvStickyBucketService, StickyBucketService,
    load_sticky_bucket_docs, save_sticky_bucket_docs,
};

use edge_ports::KvError;

/// Errors of the GrowthBook module: payload parsing, decryption and sticky-bucket storage.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GrowthBookError {
    /// The decryption key is not valid base64.
    #[error("GrowthBook decryption key is not valid base64; copy the key from the SDK connection")]
    InvalidKeyEncoding,
    /// The decryption key does not decode to 16 or 32 bytes.
    #[error("GrowthBook decryption key is {len} bytes; AES-CBC needs a 16- or 32-byte key")]
    InvalidKeyLength {
        /// Decoded key length in bytes.
        len: usize,
    },
    /// The encrypted string is not `ivBase64.cipherTextBase64`.
    #[error("encrypted GrowthBook payload is malformed: {0}")]
    InvalidEncryptedFormat(&'static str),
    /// The PKCS#7 padding was wrong: almost always a wrong key.
    #[error("GrowthBook payload decryption failed (bad padding): the key is probably wrong")]
    BadPadding,
    /// The decrypted bytes are not UTF-8: almost always a wrong key.
    #[error("decrypted GrowthBook payload is not UTF-8: the key is probably wrong")]
    InvalidUtf8,
    /// An encrypted payload arrived but no decryption key was configured.
    #[error("GrowthBook payload is encrypted but no decryption key was given")]
    MissingDecryptionKey,
    /// The payload JSON could not be parsed into features.
    #[error("invalid GrowthBook payload: {0}")]
    InvalidPayload(String),
    /// A stored sticky-bucket document could not be decoded.
    #[error("invalid sticky-bucket document {key:?}: {reason}")]
    InvalidStickyDoc {
        /// The storage key of the document.
        key: String,
        /// Why decoding failed.
        reason: String,
    },
    /// The KV store behind a sticky-bucket service failed.
    #[error("sticky-bucket storage failed: {0}")]
    Kv(#[from] KvError),
}

/// The error type of [`decrypt`] (the module's single error enum).
pub type DecryptError = GrowthBookError;

impl From<serde_json::Error> for GrowthBookError {
    fn from(e: serde_json::Error) -> Self {
        Self::InvalidPayload(e.to_string())
    }
}
