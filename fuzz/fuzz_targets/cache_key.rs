//! Cache keys from arbitrary requests (method, path, query, headers, body).
#![no_main]
use edge_cache::{CacheConfig, CacheRequest, build_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let mut parts = s.splitn(5, '\n');
    let method = http::Method::from_bytes(parts.next().unwrap_or("GET").as_bytes()).unwrap_or(http::Method::GET);
    let path = parts.next().unwrap_or("/");
    let query = parts.next();
    let mut headers = http::HeaderMap::new();
    for line in parts.next().unwrap_or("").split(';') {
        if let Some((k, v)) = line.split_once(':')
            && let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v))
        {
            headers.append(k, v);
        }
    }
    let body = parts.next().map(str::as_bytes);
    let cfg = CacheConfig::default();
    let req = CacheRequest { method: &method, path, query, headers: &headers, user_id: Some("u"), country: Some("DE"), continent: None, body };
    for name in ["prompt-templates", "default", "user-preferences"] {
        let (policy_name, policy) = cfg.policy(name);
        let _ = build_key(&cfg.namespace, policy_name, 1, policy, &cfg.drop_query_params, &req);
    }
});
