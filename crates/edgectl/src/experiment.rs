//! `edgectl experiment report KEY`: an experiment's per-arm report from the
//! local store (what `GET /admin/experiments/{key}` answers), as a table or
//! JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use edge_gateway::{ExperimentReport, Gateway, GatewayConfig, GatewayPorts};
use edge_ports::SystemClock;

/// Prints the report of `key` from the database at `db`.
#[allow(clippy::arc_with_non_send_sync)] // one gateway, this thread
pub fn report(db: &Path, cfg: GatewayConfig, key: &str, json: bool) -> Result<(), String> {
    if !db.exists() {
        return Err(format!(
            "no database at {} (run `edgectl serve` first)",
            db.display()
        ));
    }
    let clock: Arc<dyn edge_ports::Clock> = Arc::new(SystemClock::new());
    let mut ports = GatewayPorts::in_memory(0);
    // The server's secrets: the environment, and the embedded default's
    // generated keys when the environment has none.
    let mut dev = std::collections::HashMap::new();
    if let Some(dir) = db.parent() {
        for (file, name) in [
            ("dev-jwt-secret", "JWT_HS256_SECRET"),
            ("dev-anon-salt", "EDGEFORGE_DEV_ANON_SALT"),
        ] {
            if std::env::var(name).is_err()
                && let Ok(text) = std::fs::read_to_string(dir.join(file))
            {
                dev.insert(name.to_owned(), text.trim().to_owned());
            }
        }
    }
    ports.secrets = Arc::new(crate::host::EnvSecrets::with(dev));
    ports.kv = Arc::new(crate::sqlite::SqliteKv::new(
        crate::sqlite::open(db)?,
        clock.clone(),
    ));
    ports.clock = clock;
    let gw = Gateway::new(cfg, ports, env!("CARGO_PKG_VERSION")).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let view = rt
        .block_on(gw.experiment_view(key))
        .map_err(|e| e.message().to_owned())?;
    if json {
        println!("{view:#}");
        return Ok(());
    }
    print!("{}", render(&view));
    Ok(())
}

/// The report as a text table.
pub fn render(view: &serde_json::Value) -> String {
    let report: ExperimentReport =
        serde_json::from_value(view["report"].clone()).unwrap_or_default();
    let mut out = String::new();
    let status = &view["status"];
    let status = match status["state"].as_str() {
        Some("stopped") => format!(
            "stopped ({}), serving {}",
            status["reason"].as_str().unwrap_or("?"),
            status["serving"].as_str().unwrap_or("?")
        ),
        Some(state) => state.to_owned(),
        None => "unknown".to_owned(),
    };
    let _ = writeln!(
        out,
        "experiment {}  feature {}  metric {}  status {status}",
        view["key"].as_str().unwrap_or(""),
        view["feature"].as_str().unwrap_or(""),
        view["primary_metric"].as_str().unwrap_or(""),
    );
    let _ = writeln!(
        out,
        "{:<14} {:>6} {:>9} {:>9} {:>7} {:>8} {:>8} {:>11}  {:<28} {:>8}",
        "variant",
        "share",
        "exposed",
        "requests",
        "errors",
        "success",
        "p95 ms",
        "cost/req",
        "metric mean [95% CI]",
        "p"
    );
    for a in &report.arms {
        let p = a
            .p_value
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.4}"));
        let metric = format!(
            "{:.4} [{:.4}, {:.4}]",
            a.metric_mean, a.metric_ci95.0, a.metric_ci95.1
        );
        let _ = writeln!(
            out,
            "{:<14} {:>5.1}% {:>9} {:>9} {:>7} {:>7.2}% {:>8.0} {:>11.6}  {:<28} {:>8}",
            a.variant,
            a.traffic_percent,
            a.exposures,
            a.requests,
            a.errors,
            a.success_rate * 100.0,
            a.p95_ms,
            a.cost_per_request_usd,
            metric,
            p
        );
    }
    let srm = report
        .srm_p_value
        .map_or_else(|| "-".to_owned(), |p| format!("{p:.4}"));
    let verdict = report
        .verdict
        .as_ref()
        .and_then(|v| serde_json::to_string(v).ok())
        .unwrap_or_else(|| "-".into());
    let _ = writeln!(out, "SRM p-value {srm}; verdict {verdict}");
    if let Some(audit) = view["audit"].as_array() {
        for entry in audit {
            let _ = writeln!(
                out,
                "audit at_ms={} {} by {}",
                entry["at_ms"],
                entry["action"].as_str().unwrap_or("?"),
                entry["by"].as_str().unwrap_or("?")
            );
        }
    }
    out
}
