//! `edgectl`: the native host and operator CLI. Run `edgectl --help`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use edge_gateway::GatewayConfig;
use edgectl::host::EnvSecrets;
use edgectl::server::{ServeConfig, run};

#[derive(Parser)]
#[command(
    name = "edgectl",
    version,
    about = "edgeforge's native host and operator CLI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (embedded default: mock provider, SQLite under ./.edgeforge/).
    Serve(ServeArgs),
    /// Config tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Scan one input per stdin line; prints a JSON line per input.
    Scan {
        /// Treat inputs as this kind: query, query-name, path, header, json, body.
        #[arg(long, default_value = "query")]
        kind: String,
    },
    /// Which variation a user gets for a GrowthBook feature, and why.
    Assign {
        /// The feature (or experiment-backed feature) key.
        #[arg(long)]
        experiment: String,
        /// The user id.
        #[arg(long)]
        user: String,
        /// Extra attributes, `key=value` (repeatable).
        #[arg(long = "attr")]
        attrs: Vec<String>,
        /// The GrowthBook payload (JSON file).
        #[arg(long)]
        features: PathBuf,
        /// The code units the bucketing hash consumes. utf16 matches GrowthBook's
        /// JavaScript and Python SDKs; utf8 differs from them for non-ASCII ids.
        #[arg(long, value_enum, default_value_t = edgectl::tools::HashEncodingArg::Utf16)]
        hash_encoding: edgectl::tools::HashEncodingArg,
    },
    /// JWT tools.
    Jwt {
        #[command(subcommand)]
        command: JwtCommand,
    },
    /// Keyrings for `[security.encryption]` (the `ENVELOPE_KEYRING` secret).
    Keyring {
        #[command(subcommand)]
        command: KeyringCommand,
    },
    /// Encrypt stdin with the active key of a keyring file (prints base64url).
    Encrypt(CryptoArgs),
    /// Decrypt a base64url ciphertext from stdin.
    Decrypt(CryptoArgs),
    /// SLO report from the local analytics store.
    Slo {
        #[command(subcommand)]
        command: SloCommand,
    },
    /// Experiments run by the gateway.
    Experiment {
        #[command(subcommand)]
        command: ExperimentCommand,
    },
    /// Run the loopback mock provider.
    MockUpstream {
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// Fraction of chat requests answered with HTTP 500.
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Latency before headers, ms.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Delay between streamed chunks (ms) for streamed replies.
        #[arg(long, default_value_t = 0)]
        chunk_delay_ms: u64,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Gateway config (TOML or JSON); default: the embedded example.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address. On a non-loopback address the dashboard asks for
    /// the same credentials as the admin routes.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the SQLite database and the dev secrets.
    #[arg(long, default_value = ".edgeforge")]
    data_dir: PathBuf,
    /// Server threads (default: cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Open connections allowed.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds allowed to read request headers, and to wait for the next
    /// request on an idle keep-alive connection.
    #[arg(long, default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds allowed to read a whole request body (408 past it).
    #[arg(long, default_value_t = 30)]
    body_timeout_secs: u64,
    /// Days of analytics data points kept; expired KV rows are deleted too.
    #[arg(long, default_value_t = 7)]
    retain_days: u64,
    /// Prober / canary / retention loop interval in seconds.
    #[arg(long, default_value_t = 60)]
    loop_secs: u64,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "pretty")]
    log_format: LogFormat,
    /// Log every request (costs throughput).
    #[arg(long)]
    access_log: bool,
    /// MiB of in-process cache each thread keeps in front of SQLite for
    /// public cache policies (0 disables it).
    #[arg(long, default_value_t = 32)]
    local_cache_mib: usize,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a gateway config file.
    Validate {
        /// The file (TOML, or JSON by extension).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum JwtCommand {
    /// Verify a token against a JWKS file.
    Verify {
        /// JWKS file.
        #[arg(long)]
        jwks: PathBuf,
        /// Accepted audience.
        #[arg(long)]
        aud: String,
        /// Accepted issuer.
        #[arg(long)]
        iss: String,
        /// The token.
        token: String,
    },
}

#[derive(Subcommand)]
enum KeyringCommand {
    /// Print a new keyring of one random key.
    New,
    /// Print the keyring in FILE with a new random key added and made
    /// active (deploy it, wait for the old key's entries to expire, then
    /// drop the old key: docs/deploy.md).
    Rotate {
        /// The current keyring (JSON).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum SloCommand {
    /// Every objective's SLI, error budget left and burn rates, from the
    /// local analytics store (the same maths as the SLO step).
    Report {
        /// Directory of the SQLite database.
        #[arg(long, default_value = ".edgeforge")]
        data_dir: PathBuf,
        /// Gateway config whose `[slo]` objectives to report (default: the
        /// embedded example's).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExperimentCommand {
    /// Per-arm counts, rates, intervals, SRM p-value, verdict and audit
    /// log of one experiment, from the local store.
    Report {
        /// The experiment key.
        key: String,
        /// Directory of the SQLite database.
        #[arg(long, default_value = ".edgeforge")]
        data_dir: PathBuf,
        /// Gateway config the server runs (default: the embedded example).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct CryptoArgs {
    /// Keyring file: JSON `{"active": 2, "keys": {"1": "<base64 32 bytes>", "2": "..."}}`.
    #[arg(long)]
    keyring: PathBuf,
    /// The record id bound into the ciphertext.
    #[arg(long, default_value = "")]
    record: String,
    /// The classification bound into the ciphertext.
    #[arg(long, default_value = "confidential")]
    classification: String,
}

fn read_file(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn load_config(path: &PathBuf) -> Result<GatewayConfig, String> {
    let text = read_file(path)?;
    let json = path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let cfg = if json {
        GatewayConfig::from_json(&text)
    } else {
        GatewayConfig::from_toml(&text)
    };
    cfg.map_err(|e| format!("{}: {e}", path.display()))
}

/// The config at `path`, or the embedded example's.
fn config_or_example(path: Option<&PathBuf>) -> Result<GatewayConfig, String> {
    match path {
        Some(p) => load_config(p),
        None => GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).map_err(|e| e.to_string()),
    }
}

/// A random secret kept in `dir/name` (0600), created on first use: the
/// embedded default's HS256 key and anonymous salt.
fn dev_secret(dir: &std::path::Path, name: &str) -> Result<String, String> {
    let path = dir.join(name);
    if let Ok(s) = std::fs::read_to_string(&path)
        && s.trim().len() >= 32
    {
        restrict(&path)?;
        return Ok(s.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    edge_ports::Random::fill(&edge_ports::OsRandom, &mut bytes).map_err(|e| e.to_string())?;
    let secret = edge_ports::hex::encode(&bytes);
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    restrict(&path)?;
    Ok(secret)
}

/// Makes a secret file readable by its owner only (older versions wrote 0644).
fn restrict(path: &std::path::Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    }
    let _ = path;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The embedded default switches real providers on when their keys are in
/// the environment (the mock provider stays for `mock-1`).
fn with_env_providers(mut cfg: GatewayConfig) -> Result<GatewayConfig, String> {
    let known = [
        (
            "OPENAI_API_KEY",
            serde_json::json!({"name": "openai", "kind": "openai", "base_url": "https://api.openai.com/v1",
            "api_key_secrets": ["OPENAI_API_KEY"], "regions": ["local"],
            "models": [{"name": "gpt-4o-mini", "input_per_mtok": 0.15, "output_per_mtok": 0.6}, {"name": "gpt-4o", "input_per_mtok": 2.5, "output_per_mtok": 10.0}]}),
        ),
        (
            "ANTHROPIC_API_KEY",
            serde_json::json!({"name": "anthropic", "kind": "anthropic", "base_url": "https://api.anthropic.com/v1",
            "api_key_secrets": ["ANTHROPIC_API_KEY"], "regions": ["local"],
            "models": [{"name": "claude-sonnet-4-5", "input_per_mtok": 3.0, "output_per_mtok": 15.0}, {"name": "claude-haiku-4-5", "input_per_mtok": 1.0, "output_per_mtok": 5.0}]}),
        ),
    ];
    for (var, provider) in known {
        if std::env::var(var).is_ok_and(|v| !v.is_empty()) {
            let p: llm_router::ProviderConfig =
                serde_json::from_value(provider).map_err(|e| format!("{var}: {e}"))?;
            cfg.router.providers.push(p);
        }
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// The secret name the embedded default's anonymous salt is served under
/// when the config names none.
const DEV_SALT_SECRET: &str = "EDGEFORGE_DEV_ANON_SALT";

fn serve(args: ServeArgs) -> Result<(), String> {
    let embedded = args.config.is_none();
    let mut gateway = match &args.config {
        Some(p) => load_config(p)?,
        None => with_env_providers(
            GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).map_err(|e| e.to_string())?,
        )?,
    };
    let mut overrides = HashMap::new();
    let secret = match std::env::var("JWT_HS256_SECRET") {
        Ok(s) if !s.is_empty() => s,
        _ => {
            let s = dev_secret(&args.data_dir, "dev-jwt-secret")?;
            overrides.insert("JWT_HS256_SECRET".to_owned(), s.clone());
            s
        }
    };
    // One salt for every thread (anonymous rate-limit keys must agree), kept
    // across restarts: generated into the data directory when the config
    // names none.
    if gateway.security.anonymous_salt_secret.is_none() {
        let salt = dev_secret(&args.data_dir, "dev-anon-salt")?;
        overrides.insert(DEV_SALT_SECRET.to_owned(), salt);
        gateway.security.anonymous_salt_secret = Some(DEV_SALT_SECRET.to_owned());
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let cfg = ServeConfig {
        listen: args.listen,
        threads,
        db: args.data_dir.join("edgeforge.sqlite3"),
        gateway,
        local_cache_bytes: args.local_cache_mib.saturating_mul(1 << 20),
        secrets: EnvSecrets::with(overrides),
        max_connections: args.max_connections,
        header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
        body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
        retention: Duration::from_secs(args.retain_days.max(1) * 86_400),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        background_loops: true,
        loop_interval: Duration::from_secs(args.loop_secs.max(1)),
    };
    let db = cfg.db.clone();
    let dashboard_open = args.listen.ip().is_loopback();
    run(
        cfg,
        |addr| {
            println!(
                "edgectl {} serving on http://{addr} ({threads} threads, data in {})",
                env!("CARGO_PKG_VERSION"),
                db.display()
            );
            if dashboard_open {
                println!(
                    "dashboard: http://{addr}/dashboard (open: this server listens on loopback only)"
                );
            } else {
                println!(
                    "dashboard: http://{addr}/dashboard (needs the admin routes' credentials)"
                );
            }
            edgectl::log::info(
                "listening",
                &[("addr", addr.to_string()), ("threads", threads.to_string())],
            );
            if embedded {
                let token = edgectl::dev_token(&secret, "dev-user", 3600).unwrap_or_default();
                println!("try it (a dev token valid for 1 h):");
                println!(
                    "  curl -s http://{addr}/v1/chat/completions -H 'authorization: Bearer {token}' -H 'content-type: application/json' -d '{{\"model\":\"mock-1\",\"messages\":[{{\"role\":\"user\",\"content\":\"hello\"}}]}}'"
                );
            }
            let _ = std::io::stdout().flush();
        },
        shutdown_signal(),
    )?;
    edgectl::log::info("stopped", &[]);
    println!("edgectl stopped");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            let format = match args.log_format {
                LogFormat::Pretty => edgectl::log::Format::Pretty,
                LogFormat::Json => edgectl::log::Format::Json,
            };
            edgectl::log::init(format, args.access_log);
            serve(args)
        }
        Command::Config {
            command: ConfigCommand::Validate { file },
        } => load_config(&file).map(|cfg| {
            println!(
                "{}: ok ({} providers, {} route rules, {} cache policies)",
                file.display(),
                cfg.router.providers.len(),
                cfg.security.policy.routes.len(),
                cfg.cache.policies.len()
            );
        }),
        Command::Scan { kind } => edgectl::tools::scan(
            &kind,
            std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ),
        Command::Assign {
            experiment,
            user,
            attrs,
            features,
            hash_encoding,
        } => read_file(&features).and_then(|text| {
            edgectl::tools::assign(&text, &experiment, &user, &attrs, hash_encoding)
        }),
        Command::Jwt {
            command:
                JwtCommand::Verify {
                    jwks,
                    aud,
                    iss,
                    token,
                },
        } => {
            read_file(&jwks).and_then(|text| edgectl::tools::jwt_verify(&text, &aud, &iss, &token))
        }
        Command::Keyring {
            command: KeyringCommand::New,
        } => edgectl::tools::keyring_new(),
        Command::Keyring {
            command: KeyringCommand::Rotate { file },
        } => read_file(&file).and_then(|text| edgectl::tools::keyring_rotate(&text)),
        Command::Encrypt(a) => read_file(&a.keyring).and_then(|ring| {
            let mut input = Vec::new();
            std::io::stdin()
                .read_to_end(&mut input)
                .map_err(|e| e.to_string())?;
            edgectl::tools::encrypt(&ring, &a.record, &a.classification, &input)
        }),
        Command::Decrypt(a) => read_file(&a.keyring).and_then(|ring| {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| e.to_string())?;
            edgectl::tools::decrypt(&ring, &a.record, &a.classification, input.trim())
        }),
        Command::Slo {
            command: SloCommand::Report { data_dir, config },
        } => config_or_example(config.as_ref()).and_then(|cfg| {
            edgectl::tools::slo_report(&data_dir.join("edgeforge.sqlite3"), &cfg.slo)
        }),
        Command::Experiment {
            command:
                ExperimentCommand::Report {
                    key,
                    data_dir,
                    config,
                    json,
                },
        } => config_or_example(config.as_ref()).and_then(|cfg| {
            edgectl::experiment::report(&data_dir.join("edgeforge.sqlite3"), cfg, &key, json)
        }),
        Command::MockUpstream {
            port,
            error_rate,
            latency_ms,
            chunk_delay_ms,
        } => edgectl::tools::mock_upstream(port, error_rate, latency_ms, chunk_delay_ms),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "edgectl: {e}");
            ExitCode::FAILURE
        }
    }
}
