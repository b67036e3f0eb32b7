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
    type ProviderAgg = (u64, u64, Vec<f64>, f64, f64, f64);
    let mut by_provider: BTreeMap<String, ProviderAgg> = BTreeMap::new();
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
        let Some(rp) = slo_metrics::schema::RequestPoint::from_data_point(p) else {
            continue;
        };
        if rp.route == "health" {
            continue;
        }
        let status = f64::from(rp.status);
        let latency = rp.response_ms;
        if !rp.provider.is_empty() {
            let e = by_provider.entry(rp.provider.clone()).or_insert((
                0u64,
                0u64,
                Vec::new(),
                0.0,
                0.0,
                0.0,
            ));
            e.0 += 1;
            e.1 += u64::from(rp.status >= 500);
            e.2.push(latency);
            e.3 += rp.tokens_in;
            e.4 += rp.tokens_out;
            e.5 += rp.cost_usd;
        }
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
        if !rp.country.is_empty() {
            *regions.entry(rp.country.clone()).or_default() += 1;
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
    let provider_traffic: Vec<_> = by_provider
        .into_iter()
        .map(|(name, (n, e, mut lat, tin, tout, cost))| {
            lat.sort_by(f64::total_cmp);
            serde_json::json!({"provider": name, "requests": n, "errors": e, "p95_ms": quantile(&lat, 0.95),
                "tokens_in": tin, "tokens_out": tout, "cost_usd": cost})
        })
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
        "provider_traffic": provider_traffic,
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
