//! JWT verification and rate-limit decisions, each next to a same-run baseline
//! (SHA-256 of 32 bytes), natively.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_ports::ManualClock;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use sha2::{Digest, Sha256};
use zt_security::jwt::{JwtConfig, VerificationKey, Verifier};
use zt_security::ratelimit::{MemoryStore, Quota, anonymous_key};

// TEST-ONLY keys (see tests/fixtures/README.md).
const RSA_PRIV: &[u8] = include_bytes!("../tests/fixtures/test_only_rsa_private.pem");
const RSA_PUB: &[u8] = include_bytes!("../tests/fixtures/test_only_rsa_public.pem");
const EC_PRIV: &[u8] = include_bytes!("../tests/fixtures/test_only_ec_p256_private.pem");
const EC_PUB: &[u8] = include_bytes!("../tests/fixtures/test_only_ec_p256_public.pem");
const SECRET: &[u8] = b"test-only-hs-secret-0123456789abcdef";
const NOW: u64 = 1_700_000_000;

fn token(alg: Algorithm, key: &EncodingKey) -> String {
    let claims = json!({
        "sub": "user-1", "iss": "https://issuer.example", "aud": "api",
        "exp": NOW + 300, "iat": NOW, "tier": "premium", "scope": "chat:write",
    });
    encode(&Header::new(alg), &claims, key).unwrap()
}

fn verifier(key: VerificationKey) -> Verifier {
    Verifier::new(
        JwtConfig::new(["https://issuer.example"], ["api"]),
        vec![key],
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let input = [7u8; 32];
    c.bench_function("baseline/sha256_32B", |b| {
        b.iter(|| Sha256::digest(black_box(&input)))
    });

    let hs = verifier(VerificationKey::hmac(None, SECRET, &[Algorithm::HS256]).unwrap());
    let t = token(Algorithm::HS256, &EncodingKey::from_secret(SECRET).unwrap());
    c.bench_function("jwt/hs256_verify", |b| {
        b.iter(|| hs.verify(black_box(&t), NOW).unwrap())
    });

    let rs = verifier(VerificationKey::rsa_pem(None, RSA_PUB, &[Algorithm::RS256]).unwrap());
    let t = token(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(RSA_PRIV).unwrap(),
    );
    c.bench_function("jwt/rs256_verify", |b| {
        b.iter(|| rs.verify(black_box(&t), NOW).unwrap())
    });

    let es = verifier(VerificationKey::ec_pem(None, EC_PUB, &[Algorithm::ES256]).unwrap());
    let t = token(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(EC_PRIV).unwrap(),
    );
    c.bench_function("jwt/es256_verify", |b| {
        b.iter(|| es.verify(black_box(&t), NOW).unwrap())
    });

    let clock = ManualClock::new(NOW * 1000);
    let store = MemoryStore::new(Arc::new(clock.clone()));
    let quota = Quota::new(1_000_000, 1).unwrap();
    let key = format!("chat:{}", anonymous_key("203.0.113.9"));
    c.bench_function("ratelimit/decide_in_memory", |b| {
        b.iter(|| {
            clock.advance_ms(1);
            store.decide_now(black_box(&key), &quota, 1)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
