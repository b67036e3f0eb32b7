//! Storing origin responses (storability, tags, size, expiry) and the
//! cache's analytics points.

use edge_ports::kv::limits::{MAX_VALUE_BYTES, MIN_TTL_SECS};
use edge_ports::{DataPoint, PutOptions};
use http::StatusCode;
use http::header;

use crate::cache::{Fetched, Inner, OriginResult};
use crate::entry::{Entry, EntryMeta, STORED_HEADERS};
use crate::headers::{BypassReason, CacheStatus, scale, storable_ttl};
use crate::invalidate::tag_gen_key;
use crate::tier::CacheTier;

impl Inner {
    /// Processes an origin result: stores it when allowed.
    pub(crate) async fn complete(
        &self,
        key: &str,
        policy_name: &str,
        result: OriginResult,
        old: Option<Entry>,
        corrupt: bool,
    ) -> Fetched {
        let policy = self.config.policy(policy_name).1;
        let resp = match result {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(e),
        };
        let now = self.clock.now_ms();
        if let (StatusCode::NOT_MODIFIED, Some(mut entry)) = (resp.status(), old) {
            entry.meta.stored_at_ms = now;
            let expiry = self.expiry_secs(&entry.meta);
            // If the refresh cannot be stored the old entry still serves.
            let bytes = entry.encode();
            if self
                .kv
                .put(key, bytes.clone(), PutOptions::ttl(expiry))
                .await
                .is_ok()
            {
                self.store_local(key, policy.scope, &entry.meta, bytes)
                    .await;
            }
            return Fetched::Revalidated(entry);
        }
        let (parts, body) = resp.into_parts();
        let stored = match storable_ttl(parts.status, &parts.headers, policy) {
            None => Err(BypassReason::NotStorable),
            Some(ttl) => {
                let negative = matches!(parts.status.as_u16(), 404 | 410);
                let mut tags = Vec::new();
                let response_tags = parts
                    .headers
                    .get_all("cache-tag")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && t.len() <= 64)
                    .map(str::to_owned);
                for tag in policy.tags.iter().cloned().chain(response_tags) {
                    match self.generation(&tag_gen_key(&self.config, &tag)).await {
                        Ok(g) => tags.push((tag, g)),
                        // Without the tag's generation the entry could never
                        // be invalidated by tag: do not store it.
                        Err(_) => {
                            return Fetched::Response {
                                status: parts.status,
                                headers: parts.headers,
                                body,
                                stored: Err(BypassReason::StoreUnavailable),
                            };
                        }
                    }
                }
                let meta = EntryMeta {
                    status: parts.status.as_u16(),
                    headers: STORED_HEADERS
                        .iter()
                        .filter_map(|name| {
                            let v = parts.headers.get(*name)?.to_str().ok()?;
                            Some(((*name).to_owned(), v.to_owned()))
                        })
                        .collect(),
                    stored_at_ms: now,
                    ttl_secs: ttl,
                    swr_secs: if negative {
                        0
                    } else {
                        policy.stale_while_revalidate_secs
                    },
                    sie_secs: if negative {
                        0
                    } else {
                        policy.stale_if_error_secs
                    },
                    etag: parts
                        .headers
                        .get(header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    tags,
                };
                let entry = Entry { meta, body };
                let bytes = entry.encode();
                let body = entry.body;
                if bytes.len() > MAX_VALUE_BYTES {
                    if corrupt {
                        let _ = self.kv.delete(key).await;
                    }
                    return Fetched::Response {
                        status: parts.status,
                        headers: parts.headers,
                        body,
                        stored: Err(BypassReason::TooLarge),
                    };
                }
                let expiry = self.expiry_secs(&entry.meta);
                let put = self
                    .kv
                    .put(key, bytes.clone(), PutOptions::ttl(expiry))
                    .await;
                if put.is_ok() {
                    self.store_local(key, policy.scope, &entry.meta, bytes)
                        .await;
                }
                return Fetched::Response {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                    stored: put.map_err(|_| BypassReason::StoreUnavailable),
                };
            }
        };
        if corrupt {
            // Never leave an unreadable entry behind.
            let _ = self.kv.delete(key).await;
        }
        Fetched::Response {
            status: parts.status,
            headers: parts.headers,
            body,
            stored,
        }
    }

    /// KV expiration: the TTL in the longest-lived region plus the larger
    /// stale window, and at least Workers KV's 60 s.
    pub(crate) fn expiry_secs(&self, meta: &EntryMeta) -> u64 {
        let ttl = scale(meta.ttl_secs, self.config.max_multiplier());
        ttl.saturating_add(meta.swr_secs.max(meta.sie_secs))
            .max(MIN_TTL_SECS)
    }

    /// One analytics point per request: index = policy; blobs = policy,
    /// `X-Cache-Status`, bypass reason, tier (`local`, `kv`, or empty when
    /// nothing was read); doubles = 1, body bytes, age in seconds.
    pub(crate) fn record(
        &self,
        policy: &str,
        status: CacheStatus,
        reason: Option<BypassReason>,
        tier: Option<CacheTier>,
        bytes: usize,
        age_secs: u64,
    ) {
        let point = DataPoint {
            indexes: vec![policy.to_owned()],
            blobs: vec![
                policy.to_owned(),
                status.as_str().to_owned(),
                reason.map_or("", BypassReason::as_str).to_owned(),
                tier.map_or("", CacheTier::as_str).to_owned(),
            ],
            doubles: vec![1.0, bytes as f64, age_secs as f64],
        };
        // Analytics is best effort and must never fail a request.
        let _ = self.analytics.write(point);
    }
}
