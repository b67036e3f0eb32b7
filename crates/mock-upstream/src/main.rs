//! The `mock-upstream` binary: parse argv, bind, print the address, serve
//! until SIGINT or SIGTERM.

use std::io::{self, Write};
use std::process::ExitCode;

use mock_upstream::{Config, USAGE, serve, wants_help};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if wants_help(&args) {
        let _ = io::stdout().write_all(USAGE.as_bytes());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_args(args.into_iter()) {
        Ok(config) => config,
        Err(message) => {
            let _ = writeln!(io::stderr(), "mock-upstream: {message}");
            return ExitCode::from(2);
        }
    };
    // One multi-thread runtime (one worker per core): a single accept loop
    // hands connections to a work-stealing pool, which spreads wrk's
    // keep-alive connections over all cores without SO_REUSEPORT tricks.
    // Per-request state is per connection (the fault PRNG) or atomic (stats),
    // so the workers never contend on a lock.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(io::stderr(), "mock-upstream: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "mock-upstream: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> io::Result<()> {
    let listener = TcpListener::bind(config.listen).await.map_err(|e| {
        io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.listen))
    })?;
    let addr = listener.local_addr()?;
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "mock-upstream listening on http://{addr}");
        let _ = out.flush();
    }
    serve(listener, config, shutdown_signal()).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. If a handler cannot be
/// installed, that signal is simply not awaited.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
