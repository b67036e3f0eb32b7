//! `GET /v1/models`: the configured models in OpenAI's list shape, served
//! through the edge cache (`[cache.policies.models]`; with the Workers Cache
//! API tier, from the location itself) with `Cache-Control`, an `ETag`
//! and `304 Not Modified` for clients that send `If-None-Match`.
//!
//! The list depends only on the config, so its ETag (a hash of the list)
//! is the cache key's variant: a deployment with other models never reads
//! the old list.

use edge_cache::CacheRequest;
use edge_ports::http::Body;
use http::{Request, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::context::WaitUntil;
use crate::{ApiError, Gateway, RequestContext};

/// The cache policy `/v1/models` uses.
pub const MODELS_CACHE_POLICY: &str = "models";

/// The model list of one config, rendered once per isolate.
#[derive(Debug)]
pub(crate) struct ModelCatalog {
    body: Vec<u8>,
    etag: String,
    /// Every model name the router serves.
    pub(crate) names: Vec<String>,
}

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<Model<'a>>,
}

#[derive(Serialize)]
struct Model<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'a str,
}

impl ModelCatalog {
    pub(crate) fn new(router: &llm_router::Router) -> Self {
        let mut seen = std::collections::BTreeMap::new();
        for (model, provider) in router.models() {
            seen.entry(model).or_insert(provider);
        }
        let list = ModelList {
            object: "list",
            data: seen
                .iter()
                .map(|(id, owner)| Model {
                    id,
                    object: "model",
                    created: 0,
                    owned_by: owner,
                })
                .collect(),
        };
        let body = serde_json::to_vec(&list).unwrap_or_default();
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", edge_ports::hex::encode(&digest[..16]));
        let names = seen.keys().cloned().collect();
        Self { body, etag, names }
    }
}

pub(crate) async fn models(
    gw: &Gateway,
    req: &Request<Vec<u8>>,
    ctx: &RequestContext,
    bg: &dyn WaitUntil,
) -> Result<Response<Body>, ApiError> {
    let catalog = &gw.inner.models;
    let mut creq = CacheRequest::from_http(req).variant(&catalog.etag);
    creq.country = ctx.country.as_deref();
    creq.continent = ctx.continent.as_deref();
    let (body, etag) = (catalog.body.clone(), catalog.etag.clone());
    let outcome = gw
        .inner
        .cache
        .get_or_fetch(MODELS_CACHE_POLICY, &creq, move |_| async move {
            http::Response::builder()
                .header("content-type", "application/json")
                .header("etag", etag)
                .body(body)
                .map_err(|e| edge_cache::OriginError(e.to_string()))
        })
        .await;
    crate::routes::cached_response(outcome, bg)
}
