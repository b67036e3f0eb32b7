//! `GET /dashboard`: one self-contained HTML page (inline SVG, no CDN) over
//! `GET /dashboard/data`, aggregated from the SQLite analytics table.

use std::collections::BTreeMap;

use edge_gateway::Gateway;

use crate::host::ThreadStores;
use crate::server::{Out, html, json};

const WINDOW_MS: u64 = 60 * 60_000;
const PAGE: &str = include_str!("dashboard.html");

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

/// The dashboard's numbers for the last hour.
pub async fn data(gw: &Gateway, stores: &ThreadStores, now_ms: u64) -> serde_json::Value {
    let points = stores
        .analytics
        .since(now_ms.saturating_sub(WINDOW_MS))
        .unwrap_or_default();
    let mut minutes: BTreeMap<u64, (u64, u64, Vec<f64>)> = BTreeMap::new();
    let (mut hits, mut lookups) = (0u64, 0u64);
    let (mut total, mut errors, mut total_5m, mut errors_5m) = (0u64, 0u64, 0u64, 0u64);
    let mut regions: BTreeMap<String, u64> = BTreeMap::new();
    for (ts, p) in &points {
        if p.doubles.len() == 3 && p.blobs.len() == 3 {
            // edge-cache point: [policy, status, bypass reason]
            let status = p.blobs[1].as_str();
            if status != "BYPASS" {
                lookups += 1;
                if status == "HIT" || status == "STALE" || status == "REVALIDATED" {
                    hits += 1;
                }
            }
            continue;
        }
        if p.doubles.len() != 2 || p.indexes.first().is_some_and(|i| i == "health") {
            continue;
        }
        let status = p.doubles[0];
        let latency = p.doubles[1];
        let m = minutes.entry(ts / 60_000 * 60_000).or_default();
        m.0 += 1;
        total += 1;
        let recent = now_ms.saturating_sub(*ts) <= 5 * 60_000;
        total_5m += u64::from(recent);
        if status >= 500.0 {
            m.1 += 1;
            errors += 1;
            errors_5m += u64::from(recent);
        }
        m.2.push(latency);
        if let Some(country) = p.blobs.get(2).filter(|c| !c.is_empty()) {
            *regions.entry(country.clone()).or_default() += 1;
        }
    }
    let series: Vec<_> = minutes
        .into_iter()
        .map(|(t, (n, e, mut lat))| {
            lat.sort_by(f64::total_cmp);
            serde_json::json!({"t": t, "requests": n, "errors": e,
                "p50": quantile(&lat, 0.5), "p95": quantile(&lat, 0.95), "p99": quantile(&lat, 0.99)})
        })
        .collect();
    let ratio = |e: u64, n: u64| if n == 0 { 0.0 } else { e as f64 / n as f64 };
    let budget = 1.0 - 0.999;
    let providers: Vec<_> = gw
        .router()
        .config()
        .providers
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "breaker": format!("{:?}", gw.router().breaker_state(&p.name)).to_lowercase()}))
        .collect();
    let mut top: Vec<_> = regions.into_iter().collect();
    top.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    top.truncate(10);
    serde_json::json!({
        "window_ms": WINDOW_MS,
        "series": series,
        "availability": 1.0 - ratio(errors, total),
        "requests": total,
        "cache_hit_rate": ratio(hits, lookups),
        "cache_lookups": lookups,
        "burn_rate": {"5m": ratio(errors_5m, total_5m) / budget, "1h": ratio(errors, total) / budget},
        "providers": providers,
        "top_regions": top,
        "rollout": gw.rollout_state().await,
    })
}

pub(crate) async fn serve(gw: &Gateway, stores: &ThreadStores, path: &str) -> Out {
    use edge_ports::Clock;
    if path == "/dashboard/data" {
        let now = edge_ports::SystemClock::new().now_ms();
        json(200, &data(gw, stores, now).await)
    } else {
        html(PAGE.to_owned())
    }
}
