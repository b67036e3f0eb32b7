//! Threat normalisation and detection on arbitrary values of every kind.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zt_security::threat::{
    Input, InputKind, RequestInputs, ThreatScanner, normalize_text, scan_request,
};

fuzz_target!(|data: &[u8]| {
    // Any bytes as a JSON body: the bounded streaming walk must never panic.
    let uri = http::Uri::from_static("/v1/chat/completions");
    let _ = scan_request(
        &ThreatScanner::default(),
        &RequestInputs { uri: &uri, headers: &http::HeaderMap::new(), json_body: Some(data) },
    );
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = normalize_text(s, true);
    let _ = normalize_text(s, false);
    let scanner = ThreatScanner::default();
    for kind in [InputKind::Query, InputKind::Path, InputKind::Header, InputKind::Json, InputKind::Body] {
        let _ = scanner.scan(&[Input { kind, name: "x", value: s }]);
    }
});
