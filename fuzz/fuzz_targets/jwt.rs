//! JWT header parsing and HS256/RS256 verification of arbitrary tokens.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zt_security::jwt::{Algorithm, JwtConfig, VerificationKey, Verifier, parse_header};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let _ = parse_header(token, 8192);
    let key = VerificationKey::hmac(Some("k1"), b"fuzz-secret-of-at-least-32-bytes-long!!", &[Algorithm::HS256]).unwrap();
    let verifier = Verifier::new(JwtConfig::new(["iss"], ["aud"]), vec![key]).unwrap();
    let _ = verifier.verify(token, 1_700_000_000);
});
