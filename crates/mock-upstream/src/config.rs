//! Configuration and hand-rolled command-line parsing.

use std::net::SocketAddr;
use std::time::Duration;

/// Usage text printed by `mock-upstream --help`.
pub const USAGE: &str = "\
mock-upstream: loopback OpenAI-compatible mock LLM upstream with fault injection

USAGE:
    mock-upstream [--listen ADDR] [OPTIONS]

OPTIONS:
    --listen ADDR          address to bind (default 127.0.0.1:9001; port 0 picks a free port)
    --error-rate F         fraction 0..=1 of chat requests answered with an injected error (default 0)
    --error-status LIST    comma list of statuses 400..=599 to inject, chosen uniformly (default 500);
                           429 carries `Retry-After: 1`, 529 is Anthropic's `overloaded`
    --latency-ms SPEC      `N` (fixed) or `A..B` (uniform, A <= B) ms added before response headers (default 0)
    --spike-rate F         fraction 0..=1 of requests that get an extra --spike-ms of latency (default 0)
    --spike-ms N           size of a latency spike in ms (default 0)
    --timeout-rate F       fraction 0..=1 of chat requests never answered (held open up to 5 minutes)
    --truncate-rate F      fraction 0..=1 of chat replies cut short and the connection closed
    --stream-chunks N      content chunks in a streamed reply, 1..=4096 (default 8)
    --chunk-delay-ms N     delay between streamed chunks in ms (default 0)
    --model NAME           model name used when a request names none (default mock-1)
    --seed N               seed for the fault PRNG (default: from the clock)
    -h, --help             print this help and exit

Options also accept the `--name=value` form.

ENDPOINTS:
    POST /v1/chat/completions   GET /v1/models   GET /health   GET /__stats
";

/// Largest millisecond value accepted for any delay option (one hour).
const MAX_MS: u64 = 3_600_000;

/// Largest accepted `--stream-chunks`.
const MAX_STREAM_CHUNKS: usize = 4096;

/// Latency added before response headers: fixed, or uniform in an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencySpec {
    /// Always this many milliseconds.
    Fixed(u64),
    /// Uniformly distributed in `[start, end]` milliseconds (`start <= end`).
    Range(u64, u64),
}

impl Default for LatencySpec {
    fn default() -> Self {
        Self::Fixed(0)
    }
}

impl LatencySpec {
    /// Parses `N` or `A..B` (milliseconds, `A <= B`, at most one hour).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        let parsed = match spec.split_once("..") {
            None => Self::Fixed(parse_ms(spec)?),
            Some((a, b)) => Self::Range(parse_ms(a.trim())?, parse_ms(b.trim())?),
        };
        parsed.validate()?;
        Ok(parsed)
    }

    /// Checks `start <= end` and the one-hour cap.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Self::Fixed(ms) => check_ms(ms),
            Self::Range(a, b) if a > b => Err(format!(
                "range start {a} is greater than range end {b} (expected A..B with A <= B)"
            )),
            Self::Range(a, b) => check_ms(a).and_then(|()| check_ms(b)),
        }
    }

    /// `true` when this never adds any latency.
    pub fn is_zero(&self) -> bool {
        matches!(*self, Self::Fixed(0) | Self::Range(0, 0))
    }
}

fn parse_ms(s: &str) -> Result<u64, String> {
    let ms = s
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a whole number of milliseconds"))?;
    check_ms(ms)?;
    Ok(ms)
}

fn check_ms(ms: u64) -> Result<(), String> {
    if ms > MAX_MS {
        Err(format!(
            "{ms} ms is more than the {MAX_MS} ms (one hour) limit"
        ))
    } else {
        Ok(())
    }
}

/// Server configuration; every field has a CLI flag except `timeout_hold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address the binary binds (`--listen`); port 0 picks a free port.
    pub listen: SocketAddr,
    /// Fraction of chat requests answered with an injected error (`--error-rate`).
    pub error_rate: f64,
    /// Statuses injected errors are drawn from uniformly (`--error-status`).
    pub error_statuses: Vec<u16>,
    /// Latency added before response headers (`--latency-ms`).
    pub latency: LatencySpec,
    /// Probability of an extra `spike_ms` of latency (`--spike-rate`).
    pub spike_rate: f64,
    /// Size of a latency spike in milliseconds (`--spike-ms`).
    pub spike_ms: u64,
    /// Fraction of chat requests never answered (`--timeout-rate`).
    pub timeout_rate: f64,
    /// Fraction of chat replies cut short (`--truncate-rate`).
    pub truncate_rate: f64,
    /// Content chunks in a streamed reply (`--stream-chunks`).
    pub stream_chunks: usize,
    /// Delay between streamed SSE frames in milliseconds (`--chunk-delay-ms`).
    pub chunk_delay_ms: u64,
    /// Model name reported when a request names none (`--model`).
    pub model: String,
    /// Seed of the fault PRNG (`--seed`); `None` seeds from the clock.
    pub seed: Option<u64>,
    /// Longest time a timeout-injected request is held open (default 5 minutes).
    pub timeout_hold: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9001)),
            error_rate: 0.0,
            error_statuses: vec![500],
            latency: LatencySpec::default(),
            spike_rate: 0.0,
            spike_ms: 0,
            timeout_rate: 0.0,
            truncate_rate: 0.0,
            stream_chunks: 8,
            chunk_delay_ms: 0,
            model: "mock-1".to_owned(),
            seed: None,
            timeout_hold: Duration::from_secs(300),
        }
    }
}

/// `true` if the arguments ask for `-h`/`--help` (the binary then prints [`USAGE`]).
pub fn wants_help<S: AsRef<str>>(args: &[S]) -> bool {
    args.iter().any(|a| matches!(a.as_ref(), "-h" | "--help"))
}

impl Config {
    /// Parses command-line arguments (without the program name) over the defaults.
    ///
    /// Errors are one readable line, e.g. ``invalid --error-rate `1.5`: must be
    /// between 0 and 1``. `--help` is not handled here: check [`wants_help`] first.
    pub fn from_args(args: impl Iterator<Item = String>) -> Result<Config, String> {
        let mut cfg = Config::default();
        let mut args = args;
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg, None),
            };
            if !flag.starts_with('-') {
                return Err(format!(
                    "unexpected argument `{flag}` (options start with --; try --help)"
                ));
            }
            if !is_known(&flag) {
                return Err(format!("unknown option `{flag}` (try --help)"));
            }
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| format!("option {flag} needs a value (try --help)"))?,
            };
            let bad = |why: String| format!("invalid {flag} `{value}`: {why}");
            match flag.as_str() {
                "--listen" => {
                    cfg.listen = value
                        .parse()
                        .map_err(|_| bad("expected IP:PORT such as 127.0.0.1:9001".into()))?;
                }
                "--error-rate" => cfg.error_rate = parse_rate(&value).map_err(bad)?,
                "--error-status" => cfg.error_statuses = parse_statuses(&value).map_err(bad)?,
                "--latency-ms" => cfg.latency = LatencySpec::parse(&value).map_err(bad)?,
                "--spike-rate" => cfg.spike_rate = parse_rate(&value).map_err(bad)?,
                "--spike-ms" => cfg.spike_ms = parse_ms(value.trim()).map_err(bad)?,
                "--timeout-rate" => cfg.timeout_rate = parse_rate(&value).map_err(bad)?,
                "--truncate-rate" => cfg.truncate_rate = parse_rate(&value).map_err(bad)?,
                "--stream-chunks" => cfg.stream_chunks = parse_chunks(&value).map_err(bad)?,
                "--chunk-delay-ms" => cfg.chunk_delay_ms = parse_ms(value.trim()).map_err(bad)?,
                "--model" => {
                    if value.trim().is_empty() {
                        return Err(bad("must not be empty".into()));
                    }
                    cfg.model = value.clone();
                }
                "--seed" => {
                    let seed = value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| bad("expected a whole number".into()))?;
                    cfg.seed = Some(seed);
                }
                _ => return Err(format!("unknown option `{flag}` (try --help)")),
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field's range (used by [`Config::from_args`] and `serve`).
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("--error-rate", self.error_rate),
            ("--spike-rate", self.spike_rate),
            ("--timeout-rate", self.timeout_rate),
            ("--truncate-rate", self.truncate_rate),
        ] {
            check_rate(rate).map_err(|why| format!("invalid {name} `{rate}`: {why}"))?;
        }
        if self.error_statuses.is_empty() {
            return Err("invalid --error-status: the list is empty".to_owned());
        }
        for &status in &self.error_statuses {
            check_status(status).map_err(|why| format!("invalid --error-status: {why}"))?;
        }
        self.latency
            .validate()
            .map_err(|why| format!("invalid --latency-ms: {why}"))?;
        check_ms(self.spike_ms).map_err(|why| format!("invalid --spike-ms: {why}"))?;
        check_ms(self.chunk_delay_ms).map_err(|why| format!("invalid --chunk-delay-ms: {why}"))?;
        if !(1..=MAX_STREAM_CHUNKS).contains(&self.stream_chunks) {
            return Err(format!(
                "invalid --stream-chunks `{}`: must be between 1 and {MAX_STREAM_CHUNKS}",
                self.stream_chunks
            ));
        }
        if self.model.trim().is_empty() {
            return Err("invalid --model: must not be empty".to_owned());
        }
        Ok(())
    }
}

fn is_known(flag: &str) -> bool {
    matches!(
        flag,
        "--listen"
            | "--error-rate"
            | "--error-status"
            | "--latency-ms"
            | "--spike-rate"
            | "--spike-ms"
            | "--timeout-rate"
            | "--truncate-rate"
            | "--stream-chunks"
            | "--chunk-delay-ms"
            | "--model"
            | "--seed"
    )
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate = s
        .trim()
        .parse::<f64>()
        .map_err(|_| "expected a number between 0 and 1".to_owned())?;
    check_rate(rate)?;
    Ok(rate)
}

fn check_rate(rate: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err("must be between 0 and 1".to_owned())
    }
}

fn parse_statuses(s: &str) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let status = part
            .parse::<u16>()
            .map_err(|_| format!("`{part}` is not an HTTP status code"))?;
        check_status(status)?;
        out.push(status);
    }
    if out.is_empty() {
        return Err("expected a comma-separated list such as 429,500,503".to_owned());
    }
    Ok(out)
}

fn check_status(status: u16) -> Result<(), String> {
    if (400..=599).contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "{status} is not an error status (expected 400..=599)"
        ))
    }
}

fn parse_chunks(s: &str) -> Result<usize, String> {
    let n = s
        .trim()
        .parse::<usize>()
        .map_err(|_| "expected a whole number".to_owned())?;
    if (1..=MAX_STREAM_CHUNKS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be between 1 and {MAX_STREAM_CHUNKS}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_spec_parses_fixed_and_ranges() {
        assert_eq!(LatencySpec::parse("0"), Ok(LatencySpec::Fixed(0)));
        assert_eq!(LatencySpec::parse(" 25 "), Ok(LatencySpec::Fixed(25)));
        assert_eq!(LatencySpec::parse("3..9"), Ok(LatencySpec::Range(3, 9)));
        assert_eq!(LatencySpec::parse("5..5"), Ok(LatencySpec::Range(5, 5)));
        assert!(LatencySpec::parse("0..0").is_ok_and(|l| l.is_zero()));
    }

    #[test]
    fn latency_spec_rejects_garbage() {
        let err = LatencySpec::parse("9..3").unwrap_err();
        assert!(err.contains("9 is greater than range end 3"), "{err}");
        assert!(LatencySpec::parse("").is_err());
        assert!(LatencySpec::parse("-1").is_err());
        assert!(LatencySpec::parse("1..").is_err());
        assert!(LatencySpec::parse("a..b").is_err());
        assert!(LatencySpec::parse("1.5").is_err());
        assert!(
            LatencySpec::parse("99999999")
                .unwrap_err()
                .contains("one hour")
        );
    }

    #[test]
    fn help_detection() {
        assert!(wants_help(&["--seed", "1", "--help"]));
        assert!(wants_help(&["-h"]));
        assert!(!wants_help(&["--seed", "1"]));
    }
}
