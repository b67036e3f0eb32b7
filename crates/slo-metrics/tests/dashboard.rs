//! dashboards/edgeforge.json embeds exactly the queries the schema builds.
//! Regenerate with `UPDATE_DASHBOARD=1 cargo test -p slo-metrics --test dashboard`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use slo_metrics::sql::{AnalyticsSql, dashboard_queries};

const DATASET: &str = "edgeforge_requests";

fn dashboard() -> Value {
    let http = edge_ports::ScriptedHttpClient::new();
    let provider = AnalyticsSql::new(&http, "acct", "tok", DATASET).provider_sql(1440);
    let mut panels: Vec<Value> = dashboard_queries(DATASET)
        .into_iter()
        .chain([("Providers: latency, errors, tokens, cost", provider)])
        .enumerate()
        .map(|(i, (title, sql))| {
            let table = title.starts_with("Top") || title.starts_with("Providers");
            json!({
                "id": i + 1,
                "type": if table { "table" } else { "timeseries" },
                "title": title,
                "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
                "datasource": {"type": "vertamedia-clickhouse-datasource", "uid": "${DS_ANALYTICS_ENGINE}"},
                "targets": [{"refId": "A", "format": if table { "table" } else { "time_series" }, "rawQuery": true, "query": sql}],
            })
        })
        .collect();
    panels.sort_by_key(|p| p["id"].as_u64());
    json!({
        "title": "edgeforge",
        "uid": "edgeforge-overview",
        "schemaVersion": 39,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "description": "Analytics Engine SQL API through the Altinity ClickHouse data source (URL https://api.cloudflare.com/client/v4/accounts/<account>/analytics_engine/sql, header Authorization: Bearer <token>). Queries generated from slo-metrics' schema.",
        "__inputs": [{"name": "DS_ANALYTICS_ENGINE", "label": "Analytics Engine", "type": "datasource", "pluginId": "vertamedia-clickhouse-datasource"}],
        "panels": panels,
    })
}

#[test]
fn the_committed_dashboard_matches_the_schema_queries() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../dashboards/edgeforge.json"
    );
    let want = dashboard();
    if std::env::var("UPDATE_DASHBOARD").is_ok() {
        std::fs::write(path, serde_json::to_string_pretty(&want).unwrap() + "\n").unwrap();
    }
    let got: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        got, want,
        "dashboards/edgeforge.json is stale: rerun with UPDATE_DASHBOARD=1"
    );
    // Every query is sample-weighted.
    for p in got["panels"].as_array().unwrap() {
        let q = p["targets"][0]["query"].as_str().unwrap();
        assert!(q.contains("_sample_interval"), "{q}");
    }
}
