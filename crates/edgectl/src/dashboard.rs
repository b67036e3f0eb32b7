//! `GET /dashboard`: one self-contained HTML page (inline SVG, no CDN) over
//! `GET /dashboard/data`, aggregated from the SQLite analytics table.

use edge_gateway::Gateway;
use slo_metrics::aggregate::Dashboard;
use slo_metrics::schema::RequestPoint;
use slo_metrics::slo::{CountSource, Sli, Slo};

use crate::host::ThreadStores;
use crate::server::{Out, html, json};

const WINDOW_MS: u64 = 60 * 60_000;
const PAGE: &str = include_str!("dashboard.html");

/// The objective the dashboard's availability and burn rates are about:
/// the config's first availability SLO (the defaults' otherwise).
pub(crate) fn availability_slo(gw: &Gateway) -> Slo {
    let configured = gw.config().slo.slo.iter();
    configured
        .chain(slo_metrics::slo::SloSpec::defaults().slo.iter())
        .find(|s| s.sli == Sli::Availability)
        .cloned()
        .unwrap_or(Slo {
            name: "availability".into(),
            sli: Sli::Availability,
            objective_bp: 9990,
            window_days: 30,
            min_events: 20,
            min_bad_events: 5,
        })
}

/// Request points of the last `window_ms` in slo-metrics' dashboard
/// aggregate (health checks left out): the one aggregate the SLO step,
/// `/status`, `edgectl slo report` and this page share.
pub(crate) fn aggregate(points: &[(u64, edge_ports::DataPoint)]) -> Dashboard {
    let mut dash = Dashboard::new();
    for (ts, p) in points {
        if let Some(rp) = RequestPoint::from_data_point(p)
            && rp.route != "health"
        {
            dash.record(*ts, &rp);
        }
    }
    dash
}

/// The dashboard's numbers for the last hour.
pub async fn data(gw: &Gateway, stores: &ThreadStores, now_ms: u64) -> serde_json::Value {
    let points = stores
        .analytics
        .since(now_ms.saturating_sub(WINDOW_MS))
        .unwrap_or_default();
    let dash = aggregate(&points);
    let slo = availability_slo(gw);
    let view = dash.view(&slo, now_ms, WINDOW_MS / 60_000);
    let series: Vec<_> = (0..WINDOW_MS / 60_000)
        .rev()
        .map(|ago| now_ms / 60_000 * 60_000 - ago * 60_000)
        .filter_map(|minute| {
            let end = minute + 59_999;
            let c = dash.counts(Sli::Availability, end, 1);
            (c.total > 0.0).then(|| {
                let v = dash.view(&slo, end, 1);
                serde_json::json!({"t": minute, "requests": c.total, "errors": c.total - c.good,
                    "p50": v.latency_ms[0], "p95": v.latency_ms[1], "p99": v.latency_ms[2]})
            })
        })
        .collect();
    let providers: Vec<_> = gw
        .router()
        .config()
        .providers
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "breaker": gw.router().breaker_state(&p.name).as_str()}))
        .collect();
    let provider_traffic: Vec<_> = view
        .providers
        .iter()
        .map(|p| {
            serde_json::json!({"provider": p.provider, "requests": p.requests,
                "errors": (p.error_rate * p.requests as f64).round(), "p95_ms": p.p95_ms,
                "tokens_in": p.tokens_in, "tokens_out": p.tokens_out, "cost_usd": p.cost_usd})
        })
        .collect();
    serde_json::json!({
        "window_ms": WINDOW_MS,
        "slo": slo.name,
        "series": series,
        "availability": view.availability,
        "requests": view.requests,
        "cache_hit_rate": view.cache_hit_rate,
        "cache_lookups": view.cache_lookups,
        "burn_rate": {"5m": slo.burn(&dash, now_ms, 5), "1h": slo.burn(&dash, now_ms, 60)},
        "providers": providers,
        "top_regions": view.top_regions,
        "provider_traffic": provider_traffic,
        "rollout": gw.rollout_state().await,
        "experiments": gw.experiment_summaries().await,
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
