//! Starting and stopping `wrangler dev`.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use crate::http_request;

/// How long wrangler may take to serve its first request (~15 s measured).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

/// A running `wrangler dev`; dropping it stops wrangler and workerd.
#[derive(Debug)]
pub struct WranglerDev {
    child: Child,
    port: u16,
    dir: PathBuf,
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

impl WranglerDev {
    /// Starts `wrangler dev` for `workers/<worker>` and waits until
    /// `/health` answers. Returns `Ok(None)` (after printing why) when the
    /// WASM build or wrangler is missing and `EDGEFORGE_E2E` is not
    /// `require`.
    pub fn start(worker: &str) -> Result<Option<Self>, String> {
        Self::start_with(worker, &[], &[])
    }

    /// Like [`WranglerDev::start`], with variables and secrets loaded from
    /// a generated `.env` file (`--env-file`; values single-quoted, so they
    /// must not contain `'` or newlines) and extra `wrangler dev` flags
    /// (e.g. `--test-scheduled`, or a shared `--persist-to`).
    pub fn start_with(
        worker: &str,
        env: &[(&str, &str)],
        extra_args: &[&str],
    ) -> Result<Option<Self>, String> {
        let root = workspace_root();
        let config = root.join("workers").join(worker).join("wrangler.toml");
        let shim = root
            .join("workers")
            .join(worker)
            .join("build/worker/shim.mjs");
        let wrangler = root.join("node_modules/.bin/wrangler");
        let required = std::env::var("EDGEFORGE_E2E").is_ok_and(|v| v == "require");
        for (what, path, fix) in [
            ("the WASM build", &shim, "run scripts/build-workers.sh"),
            ("wrangler", &wrangler, "run scripts/setup.sh (npm ci)"),
        ] {
            if !path.exists() {
                let msg = format!("{what} is missing at {}: {fix}", path.display());
                if required {
                    return Err(msg);
                }
                eprintln!(
                    "SKIPPED workerd end-to-end test: {msg} (set EDGEFORGE_E2E=require to fail instead)"
                );
                return Ok(None);
            }
        }

        let port = free_port()?;
        let inspector = free_port()?;
        let dir = std::env::temp_dir().join(format!(
            "edgeforge-e2e-{worker}-{}-{port}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let env_file = dir.join("e2e.env");
        let mut env_text = String::new();
        for (k, v) in env {
            if v.contains('\'') || v.contains('\n') {
                return Err(format!("env value for {k} contains a quote or newline"));
            }
            env_text.push_str(&format!("{k}='{v}'\n"));
        }
        fs::write(&env_file, env_text).map_err(|e| e.to_string())?;
        let persist = if extra_args.contains(&"--persist-to") {
            None
        } else {
            Some(dir.join("state"))
        };
        let log = fs::File::create(dir.join("wrangler.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&wrangler)
            .current_dir(root.join("workers").join(worker))
            .args(["dev", "--config"])
            .arg(&config)
            .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector.to_string()])
            .args(
                persist
                    .iter()
                    .flat_map(|p| [std::ffi::OsStr::new("--persist-to"), p.as_os_str()]),
            )
            .arg("--env-file")
            .arg(&env_file)
            .args(extra_args)
            .args([
                "--log-level",
                "warn",
                "--show-interactive-dev-session=false",
            ])
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Own process group, so Drop can stop workerd with wrangler.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", wrangler.display()))?;
        let mut dev = Self { child, port, dir };
        #[allow(clippy::disallowed_methods)] // native test harness: std time is fine here
        let started = std::time::Instant::now();
        dev.wait_ready()?;
        eprintln!(
            "wrangler dev for {worker} ready on 127.0.0.1:{port} in {:.1?}",
            started.elapsed()
        );
        Ok(Some(dev))
    }

    /// The loopback port wrangler listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The last lines of wrangler's output, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("wrangler.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let step = Duration::from_millis(250);
        let mut waited = Duration::ZERO;
        while waited < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "wrangler exited early ({status}):\n{}",
                    self.log_tail()
                ));
            }
            match http_request(self.port, "GET", "/health", b"") {
                Ok(r) if r.status == 200 => return Ok(()),
                // The Worker runs but cannot build itself: fail now, with why.
                Ok(r) if r.status == 500 => {
                    return Err(format!(
                        "/health answered 500: {}",
                        String::from_utf8_lossy(&r.body)
                    ));
                }
                _ => {}
            }
            sleep(step);
            waited += step;
        }
        Err(format!(
            "wrangler did not serve /health within {START_TIMEOUT:?}:\n{}",
            self.log_tail()
        ))
    }
}

impl Drop for WranglerDev {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).status();
        for _ in 0..40 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &pgid]).status();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
