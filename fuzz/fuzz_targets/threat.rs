//! Threat normalisation and detection on arbitrary values of every kind.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zt_security::threat::{Input, InputKind, ThreatScanner, normalize_text};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = normalize_text(s, true);
    let _ = normalize_text(s, false);
    let scanner = ThreatScanner::default();
    for kind in [InputKind::Query, InputKind::Path, InputKind::Header, InputKind::Json, InputKind::Body] {
        let _ = scanner.scan(&[Input { kind, name: "x", value: s }]);
    }
});
