//! The operator subcommands, as functions (testable without a process).
//! Each returns `Err` with one readable line; `main` prints it and exits 1.

use std::io::{BufRead, Write};
use std::path::Path;

use edge_waf::{Input, InputKind, ThreatScanner};
use serde_json::{Value, json};
use traffic_split::growthbook::{self, HashEncoding};
use zt_security::envelope::{Context, Keyring, KeyringFile};
use zt_security::jwt::{Algorithm, JwtConfig, VerificationKey, Verifier};

fn kind(name: &str) -> Result<InputKind, String> {
    Ok(match name {
        "query" => InputKind::Query,
        "query-name" => InputKind::QueryName,
        "path" => InputKind::Path,
        "header" => InputKind::Header,
        "json" => InputKind::Json,
        "body" => InputKind::Body,
        other => {
            return Err(format!(
                "unknown --kind {other:?} (query, query-name, path, header, json, body)"
            ));
        }
    })
}

/// `edgectl scan`: one JSON line per input line.
/// With `progress`, a count goes to stderr every 10,000 lines.
pub fn scan(
    kind_name: &str,
    input: impl BufRead,
    out: &mut impl Write,
    progress: bool,
) -> Result<(), String> {
    let kind = kind(kind_name)?;
    let scanner = ThreatScanner::default();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        let input = Input {
            kind,
            name: "input",
            value: &line,
        };
        let verdict = scanner.scan(std::slice::from_ref(&input));
        let reasons: Vec<Value> = verdict
            .findings
            .iter()
            .flat_map(|f| {
                f.rules
                    .iter()
                    .map(|r| json!({"rule": r.id, "why": r.description}))
            })
            .collect();
        let v = json!({"line": n + 1, "blocked": verdict.blocked, "score": verdict.score, "reasons": reasons});
        writeln!(out, "{v}").map_err(|e| e.to_string())?;
        if progress && (n + 1) % 10_000 == 0 {
            eprint!("\rscanned {} lines", n + 1);
        }
    }
    if progress {
        eprintln!();
    }
    Ok(())
}

/// The hash encoding `edgectl assign` buckets with (`--hash-encoding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HashEncodingArg {
    /// UTF-16 code units, like GrowthBook's JavaScript and Python SDKs (the default).
    #[default]
    #[value(name = "utf16")]
    Utf16,
    /// UTF-8 bytes: differs from those SDKs for ids with non-ASCII characters.
    #[value(name = "utf8")]
    Utf8,
}

impl From<HashEncodingArg> for HashEncoding {
    fn from(arg: HashEncodingArg) -> Self {
        match arg {
            HashEncodingArg::Utf16 => Self::Utf16,
            HashEncodingArg::Utf8 => Self::Utf8,
        }
    }
}

/// The stderr line `edgectl assign --hash-encoding utf8` prints.
pub const UTF8_HASH_WARNING: &str = "edgectl: warning: --hash-encoding utf8 differs from GrowthBook's JavaScript and Python SDKs for non-ASCII ids";

/// `edgectl assign`: the feature's value for a user, and why.
pub fn assign(
    payload: &str,
    key: &str,
    user: &str,
    attrs: &[String],
    encoding: HashEncodingArg,
) -> Result<(), String> {
    if encoding == HashEncodingArg::Utf8 {
        eprintln!("{UTF8_HASH_WARNING}");
    }
    let out = assignment(payload, key, user, attrs, encoding.into())?;
    println!("{out}");
    Ok(())
}

/// What `edgectl assign` prints, as JSON.
fn assignment(
    payload: &str,
    key: &str,
    user: &str,
    attrs: &[String],
    encoding: HashEncoding,
) -> Result<Value, String> {
    let payload = growthbook::Payload::from_json(payload)
        .map_err(|e| format!("not a GrowthBook payload: {e}"))?;
    if !payload.features.contains_key(key) {
        return Err(format!("no feature or experiment {key:?} in the payload"));
    }
    let mut attributes = serde_json::Map::new();
    attributes.insert("id".into(), Value::String(user.to_owned()));
    for a in attrs {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| format!("--attr {a:?} is not key=value"))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        attributes.insert(k.to_owned(), value);
    }
    let user_ctx = growthbook::UserContext::with_attributes(Value::Object(attributes));
    let r = growthbook::Evaluator::new(&payload, &user_ctx)
        .with_hash_encoding(encoding)
        .eval_feature(key);
    Ok(json!({
        "feature": key,
        "value": r.value,
        "source": r.source,
        "rule_id": r.rule_id,
        "variation": r.experiment_result.as_ref().map(|e| e.variation_id),
        "in_experiment": r.experiment_result.as_ref().map(|e| e.in_experiment),
        "hash_attribute": r.experiment_result.as_ref().map(|e| e.hash_attribute.clone()),
    }))
}

/// `edgectl jwt verify` against a JWKS document.
pub fn jwt_verify(jwks: &str, aud: &str, iss: &str, token: &str) -> Result<(), String> {
    use edge_ports::Clock;
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(jwks).map_err(|e| format!("not a JWKS document: {e}"))?;
    let allowed = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    let keys: Vec<VerificationKey> = set
        .keys
        .iter()
        .filter_map(|k| VerificationKey::from_jwk(k, &allowed).ok())
        .collect();
    if keys.is_empty() {
        return Err("the JWKS has no usable public keys".into());
    }
    let verifier = Verifier::new(JwtConfig::new([iss], [aud]), keys).map_err(|e| e.to_string())?;
    let now = edge_ports::SystemClock::new().now_secs();
    let p = verifier
        .verify(token, now)
        .map_err(|e| format!("token rejected: {e}"))?;
    println!(
        "{}",
        json!({"valid": true, "subject": p.subject, "tier": p.tier.as_str(), "roles": p.roles, "scopes": p.scopes, "claims": p.claims})
    );
    Ok(())
}

fn keyring(text: &str) -> Result<Keyring, String> {
    Keyring::from_json(text)
}

/// `edgectl keyring new`.
pub fn keyring_new() -> Result<(), String> {
    let ring = KeyringFile::generate(&edge_ports::OsRandom).map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string(&ring).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// `edgectl keyring rotate FILE`: the ring must load as it is first.
pub fn keyring_rotate(text: &str) -> Result<(), String> {
    keyring(text)?;
    let ring: KeyringFile =
        serde_json::from_str(text).map_err(|e| format!("keyring is not valid: {e}"))?;
    let next = ring
        .rotated(&edge_ports::OsRandom)
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string(&next).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// `edgectl encrypt`.
pub fn encrypt(
    ring: &str,
    record: &str,
    classification: &str,
    plaintext: &[u8],
) -> Result<(), String> {
    let ring = keyring(ring)?;
    let ct = ring
        .seal(
            &edge_ports::OsRandom,
            plaintext,
            &Context::new(record, classification),
        )
        .map_err(|e| e.to_string())?;
    println!("{ct}");
    Ok(())
}

/// `edgectl decrypt`.
pub fn decrypt(
    ring: &str,
    record: &str,
    classification: &str,
    ciphertext: &str,
) -> Result<(), String> {
    let ring = keyring(ring)?;
    let pt = ring
        .open(ciphertext, &Context::new(record, classification))
        .map_err(|e| format!("cannot decrypt: {e}"))?;
    std::io::stdout().write_all(&pt).map_err(|e| e.to_string())
}

/// `edgectl slo report`: the default SLOs over the last hour of local data.
pub fn slo_report(db: &Path, spec: &slo_metrics::slo::SloSpec) -> Result<(), String> {
    use edge_ports::Clock;
    if !db.exists() {
        return Err(format!(
            "no database at {} (run `edgectl serve` first)",
            db.display()
        ));
    }
    let now = edge_ports::SystemClock::new().now_ms();
    // The longest compliance window, or what the retention kept.
    let days = spec
        .slo
        .iter()
        .map(|s| u64::from(s.window_days))
        .max()
        .unwrap_or(30);
    let points = crate::sqlite::SqliteAnalytics::read(
        db,
        "requests",
        now.saturating_sub(days * 86_400_000),
    )?;
    let mut dash = slo_metrics::aggregate::Dashboard::new();
    for (ts, p) in &points {
        if let Some(rp) = slo_metrics::schema::RequestPoint::from_data_point(p)
            && rp.route != "health"
        {
            dash.record(*ts, &rp);
        }
    }
    let reports: Vec<_> = spec.slo.iter().map(|s| s.report(&dash, now)).collect();
    let hour =
        slo_metrics::slo::CountSource::counts(&dash, slo_metrics::slo::Sli::Availability, now, 60);
    let report = json!({"requests_last_hour": hour.total, "slos": reports});
    println!("{report}");
    Ok(())
}

/// `edgectl mock-upstream`.
pub fn mock_upstream(
    port: u16,
    error_rate: f64,
    latency_ms: u64,
    chunk_delay_ms: u64,
) -> Result<(), String> {
    let mut args = vec![
        "--listen".to_owned(),
        format!("127.0.0.1:{port}"),
        "--error-rate".to_owned(),
        error_rate.to_string(),
        "--latency-ms".to_owned(),
        latency_ms.to_string(),
        "--chunk-delay-ms".to_owned(),
        chunk_delay_ms.to_string(),
    ];
    let config = mock_upstream::Config::from_args(args.drain(..))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        println!("mock upstream on http://{}", config.listen);
        mock_upstream::serve(listener, config, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str = r#"{"features":{"f":{"defaultValue":0,"rules":[
        {"key":"exp","variations":[0,1,2,3],"hashVersion":2}]}}}"#;

    fn variation(user: &str, encoding: HashEncodingArg) -> Value {
        assignment(PAYLOAD, "f", user, &[], encoding.into()).unwrap()["variation"].clone()
    }

    #[test]
    fn assign_defaults_to_utf16_and_utf8_differs_only_for_non_ascii() {
        assert_eq!(HashEncodingArg::default(), HashEncodingArg::Utf16);
        assert_eq!(
            HashEncoding::from(HashEncodingArg::default()),
            HashEncoding::default()
        );
        for id in ["user-1", "user-2", "abc", "42"] {
            assert_eq!(
                variation(id, HashEncodingArg::Utf16),
                variation(id, HashEncodingArg::Utf8),
                "{id}"
            );
        }
        let non_ascii = [
            "zoë",
            "José",
            "Łukasz",
            "田中",
            "ユーザー",
            "🚀",
            "Дмитрий",
            "محمد",
        ];
        let differ = non_ascii
            .iter()
            .filter(|id| {
                variation(id, HashEncodingArg::Utf16) != variation(id, HashEncodingArg::Utf8)
            })
            .count();
        assert!(differ > 0, "UTF-8 and UTF-16 agree on every non-ASCII id");
    }

    #[test]
    fn hash_encoding_values_parse_from_the_command_line() {
        use clap::ValueEnum;
        assert_eq!(
            HashEncodingArg::from_str("utf16", false),
            Ok(HashEncodingArg::Utf16)
        );
        assert_eq!(
            HashEncodingArg::from_str("utf8", false),
            Ok(HashEncodingArg::Utf8)
        );
        assert!(HashEncodingArg::from_str("latin1", false).is_err());
    }
}
