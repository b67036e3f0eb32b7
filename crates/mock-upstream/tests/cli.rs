//! `Config::from_args` and the `mock-upstream` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use mock_upstream::{Config, LatencySpec};

fn parse(args: &[&str]) -> Result<Config, String> {
    Config::from_args(args.iter().map(|s| (*s).to_owned()))
}

#[test]
fn defaults() {
    let cfg = parse(&[]).unwrap();
    assert_eq!(cfg, Config::default());
    assert_eq!(cfg.listen.to_string(), "127.0.0.1:9001");
    assert_eq!(cfg.error_statuses, [500]);
    assert_eq!((cfg.stream_chunks, cfg.model.as_str()), (8, "mock-1"));
}

#[test]
fn every_option_parses() {
    let cfg = parse(&[
        "--listen",
        "127.0.0.1:0",
        "--error-rate",
        "0.25",
        "--error-status",
        "429, 529,503",
        "--latency-ms",
        "5..10",
        "--spike-rate=0.1",
        "--spike-ms",
        "250",
        "--timeout-rate",
        "0",
        "--truncate-rate",
        "1",
        "--stream-chunks",
        "3",
        "--chunk-delay-ms",
        "2",
        "--model",
        "gpt-x",
        "--seed",
        "7",
    ])
    .unwrap();
    assert_eq!(cfg.listen.port(), 0);
    assert_eq!(cfg.error_rate, 0.25);
    assert_eq!(cfg.error_statuses, [429, 529, 503]);
    assert_eq!(cfg.latency, LatencySpec::Range(5, 10));
    assert_eq!((cfg.spike_rate, cfg.spike_ms), (0.1, 250));
    assert_eq!((cfg.timeout_rate, cfg.truncate_rate), (0.0, 1.0));
    assert_eq!((cfg.stream_chunks, cfg.chunk_delay_ms), (3, 2));
    assert_eq!((cfg.model.as_str(), cfg.seed), ("gpt-x", Some(7)));
}

fn error_of(args: &[&str]) -> String {
    let err = parse(args).unwrap_err();
    assert!(!err.contains('\n'), "one line: {err}");
    err
}

#[test]
fn readable_errors() {
    let err = error_of(&["--error-rate", "1.5"]);
    assert_eq!(err, "invalid --error-rate `1.5`: must be between 0 and 1");
    let err = error_of(&["--latency-ms", "9..3"]);
    assert!(err.starts_with("invalid --latency-ms `9..3`"), "{err}");
    assert!(err.contains("9 is greater than range end 3"), "{err}");
    assert_eq!(
        error_of(&["--frobnicate"]),
        "unknown option `--frobnicate` (try --help)"
    );
    assert_eq!(
        error_of(&["--seed"]),
        "option --seed needs a value (try --help)"
    );
    assert!(error_of(&["stray"]).contains("unexpected argument `stray`"));
    assert!(error_of(&["--error-status", "200"]).contains("200 is not an error status"));
    assert!(error_of(&["--error-status", ""]).contains("--error-status"));
    assert!(error_of(&["--timeout-rate", "-0.1"]).contains("between 0 and 1"));
    assert!(error_of(&["--spike-rate", "NaN"]).contains("between 0 and 1"));
    assert!(error_of(&["--stream-chunks", "0"]).contains("between 1 and"));
    assert!(error_of(&["--listen", "localhost"]).contains("IP:PORT"));
    assert!(error_of(&["--seed", "-3"]).contains("whole number"));
    assert!(error_of(&["--model", ""]).contains("empty"));
}

#[test]
fn validate_catches_hand_built_configs() {
    let cfg = Config {
        latency: LatencySpec::Range(9, 3),
        ..Config::default()
    };
    assert!(cfg.validate().unwrap_err().contains("--latency-ms"));
    let cfg = Config {
        error_statuses: vec![],
        ..Config::default()
    };
    assert!(cfg.validate().is_err());
}

const BIN: &str = env!("CARGO_BIN_EXE_mock-upstream");

#[test]
fn binary_help_and_bad_input() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("--error-rate")
    );

    let out = Command::new(BIN)
        .args(["--error-rate", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--error-rate"), "{stderr}");
}

#[test]
fn binary_serves_and_stops() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--seed", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("mock-upstream listening on http://")
        .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
        .to_owned();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    child.kill().unwrap();
    child.wait().unwrap();
}
