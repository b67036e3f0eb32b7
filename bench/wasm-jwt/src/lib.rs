//! JWT verification timed inside WASM (node, V8): the Workers free plan
//! allows 10 ms of CPU per request, so this is the figure that matters.
//! Run `scripts/bench-wasm-jwt.sh`.

#[cfg(target_arch = "wasm32")]
mod bench {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    use wasm_bindgen::prelude::wasm_bindgen;
    use zt_security::jwt::{JwtConfig, VerificationKey, Verifier};

    // TEST-ONLY keys (crates/zt-security/tests/fixtures/README.md).
    const RSA_PRIV: &[u8] =
        include_bytes!("../../../crates/zt-security/tests/fixtures/test_only_rsa_private.pem");
    const RSA_PUB: &[u8] =
        include_bytes!("../../../crates/zt-security/tests/fixtures/test_only_rsa_public.pem");
    const EC_PRIV: &[u8] =
        include_bytes!("../../../crates/zt-security/tests/fixtures/test_only_ec_p256_private.pem");
    const EC_PUB: &[u8] =
        include_bytes!("../../../crates/zt-security/tests/fixtures/test_only_ec_p256_public.pem");
    const SECRET: &[u8] = b"test-only-hs-secret-0123456789abcdef";
    const NOW: u64 = 1_700_000_000;

    fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// Microseconds per verification of `alg` (`HS256`, `RS256`, `ES256`)
    /// over `iterations`; negative on setup failure.
    #[wasm_bindgen]
    pub fn verify_us(alg: &str, iterations: u32) -> f64 {
        let claims = serde_json::json!({"sub": "u", "iss": "https://issuer.example", "aud": "api", "exp": NOW + 300, "iat": NOW});
        let (algorithm, enc, key) = match alg {
            "HS256" => (
                Algorithm::HS256,
                EncodingKey::from_secret(SECRET),
                VerificationKey::hmac(None, SECRET, &[Algorithm::HS256]),
            ),
            "RS256" => (
                Algorithm::RS256,
                EncodingKey::from_rsa_pem(RSA_PRIV),
                VerificationKey::rsa_pem(None, RSA_PUB, &[Algorithm::RS256]),
            ),
            "ES256" => (
                Algorithm::ES256,
                EncodingKey::from_ec_pem(EC_PRIV),
                VerificationKey::ec_pem(None, EC_PUB, &[Algorithm::ES256]),
            ),
            _ => return -1.0,
        };
        let (Ok(enc), Ok(key)) = (enc, key) else {
            return -2.0;
        };
        let Ok(token) = encode(&Header::new(algorithm), &claims, &enc) else {
            return -3.0;
        };
        let Ok(verifier) = Verifier::new(
            JwtConfig::new(["https://issuer.example"], ["api"]),
            vec![key],
        ) else {
            return -4.0;
        };
        if verifier.verify(&token, NOW).is_err() {
            return -5.0;
        }
        let start = now_ms();
        for _ in 0..iterations {
            let _ = verifier.verify(&token, NOW);
        }
        (now_ms() - start) * 1000.0 / f64::from(iterations.max(1))
    }
}
