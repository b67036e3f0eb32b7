//! JWT attack matrix, JWKS caching/cooldown and Cloudflare Access tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use edge_ports::testing::block_on;
use edge_ports::{Clock, ManualClock, MemoryKv, Scripted, ScriptedHttpClient, ScriptedResponse};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use proptest::prelude::*;
use serde_json::{Value, json};
use zt_security::jwt::{
    ACCESS_HEADER, AccessConfig, AccessValidator, JwksCache, JwksConfig, JwksVerifier, JwtConfig,
    JwtError, Tier, VerificationKey, Verifier,
};

// TEST-ONLY keys (see tests/fixtures/README.md).
#[path = "jwt/access.rs"]
mod access;
#[path = "jwt/jwks.rs"]
mod jwks;
#[path = "jwt/malformed.rs"]
mod malformed;

const RSA_PRIV: &[u8] = include_bytes!("fixtures/test_only_rsa_private.pem");
const RSA_PUB: &[u8] = include_bytes!("fixtures/test_only_rsa_public.pem");
const RSA2_PRIV: &[u8] = include_bytes!("fixtures/test_only_rsa2_private.pem");
const EC_PRIV: &[u8] = include_bytes!("fixtures/test_only_ec_p256_private.pem");
const EC_PUB: &[u8] = include_bytes!("fixtures/test_only_ec_p256_public.pem");
const ED_PRIV: &[u8] = include_bytes!("fixtures/test_only_ed25519_private.pem");
const ED_PUB: &[u8] = include_bytes!("fixtures/test_only_ed25519_public.pem");
const SECRET: &[u8] = b"test-only-hs-secret-0123456789abcdef";

const ISS: &str = "https://issuer.example";
const AUD: &str = "edgeforge-api";
const NOW: u64 = 1_700_000_000;

fn claims() -> Value {
    json!({ "sub": "user-1", "iss": ISS, "aud": AUD, "exp": NOW + 300, "iat": NOW, "nbf": NOW })
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    encode(&h, claims, key).unwrap()
}

fn hs(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET).unwrap(),
        None,
        claims,
    )
}

fn rs(claims: &Value) -> String {
    sign(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(RSA_PRIV).unwrap(),
        None,
        claims,
    )
}

fn config() -> JwtConfig {
    JwtConfig::new([ISS], [AUD])
}

fn hs_verifier() -> Verifier {
    let k = VerificationKey::hmac(None, SECRET, &[Algorithm::HS256]).unwrap();
    Verifier::new(config(), vec![k]).unwrap()
}

fn rs_verifier() -> Verifier {
    let k = VerificationKey::rsa_pem(None, RSA_PUB, &[Algorithm::RS256]).unwrap();
    Verifier::new(config(), vec![k]).unwrap()
}

fn with(mut base: Value, k: &str, v: Value) -> Value {
    base[k] = v;
    base
}

fn without(mut base: Value, k: &str) -> Value {
    base.as_object_mut().unwrap().remove(k);
    base
}

/// A token with a hand-made header (for `none` and other forged headers).
fn raw_token(header: &Value, claims: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

#[test]
fn valid_tokens_for_every_family() {
    let p = hs_verifier().verify(&hs(&claims()), NOW).unwrap();
    assert_eq!(p.subject, "user-1");
    assert_eq!(p.tier, Tier::Authenticated);
    assert_eq!(p.issuer.as_deref(), Some(ISS));
    rs_verifier().verify(&rs(&claims()), NOW).unwrap();

    let ec = VerificationKey::ec_pem(None, EC_PUB, &[Algorithm::ES256]).unwrap();
    let t = sign(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(EC_PRIV).unwrap(),
        None,
        &claims(),
    );
    Verifier::new(config(), vec![ec])
        .unwrap()
        .verify(&t, NOW)
        .unwrap();

    let ed = VerificationKey::ed_pem(None, ED_PUB).unwrap();
    let t = sign(
        Algorithm::EdDSA,
        &EncodingKey::from_ed_pem(ED_PRIV).unwrap(),
        None,
        &claims(),
    );
    Verifier::new(config(), vec![ed])
        .unwrap()
        .verify(&t, NOW)
        .unwrap();

    let ps = VerificationKey::rsa_pem(None, RSA_PUB, &[Algorithm::PS256]).unwrap();
    let t = sign(
        Algorithm::PS256,
        &EncodingKey::from_rsa_pem(RSA_PRIV).unwrap(),
        None,
        &claims(),
    );
    Verifier::new(config(), vec![ps])
        .unwrap()
        .verify(&t, NOW)
        .unwrap();
}

#[test]
fn principal_maps_tier_roles_and_scopes() {
    let c = with(claims(), "tier", json!("premium"));
    let c = with(c, "roles", json!(["ops", "billing"]));
    let c = with(c, "scope", json!("chat:write embeddings:read"));
    let c = with(c, "email", json!("a@example.com"));
    let p = hs_verifier().verify(&hs(&c), NOW).unwrap();
    assert_eq!(p.tier, Tier::Premium);
    assert!(p.has_role("ops") && p.has_role("billing"));
    assert!(p.has_scope("chat:write") && p.has_scope("embeddings:read"));
    assert_eq!(p.email.as_deref(), Some("a@example.com"));
    assert!(!p.via_access && !p.service_token);
    // A signed "anonymous" or unknown tier never goes below authenticated.
    for t in ["anonymous", "gold", ""] {
        let p = hs_verifier()
            .verify(&hs(&with(claims(), "tier", json!(t))), NOW)
            .unwrap();
        assert_eq!(p.tier, Tier::Authenticated);
    }
    // The tier claim is configurable.
    let mut cfg = config();
    cfg.tier_claim = "plan".into();
    let k = VerificationKey::hmac(None, SECRET, &[Algorithm::HS256]).unwrap();
    let v = Verifier::new(cfg, vec![k]).unwrap();
    assert_eq!(
        v.verify(&hs(&with(claims(), "plan", json!("admin"))), NOW)
            .unwrap()
            .tier,
        Tier::Admin
    );
}

#[test]
fn alg_none_in_every_spelling_is_rejected() {
    for alg in ["none", "None", "NONE", "nOnE", " none"] {
        for sig in ["", "c2ln"] {
            let t = raw_token(&json!({ "alg": alg, "typ": "JWT" }), &claims(), sig);
            assert_eq!(
                hs_verifier().verify(&t, NOW),
                Err(JwtError::AlgorithmNone),
                "{alg}"
            );
            assert_eq!(
                rs_verifier().verify(&t, NOW),
                Err(JwtError::AlgorithmNone),
                "{alg}"
            );
        }
    }
}

#[test]
fn hs_rs_algorithm_confusion_fails() {
    // HS256 signed with the RSA public key PEM as the HMAC secret.
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUB).unwrap(),
        None,
        &claims(),
    );
    assert!(matches!(
        rs_verifier().verify(&forged, NOW),
        Err(JwtError::AlgorithmNotAllowed(_))
    ));
    // Even when the verifier also holds an HMAC key, the RSA key is never used for HS.
    let both = Verifier::new(
        config(),
        vec![
            VerificationKey::rsa_pem(None, RSA_PUB, &[Algorithm::RS256]).unwrap(),
            VerificationKey::hmac(None, SECRET, &[Algorithm::HS256]).unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(both.verify(&forged, NOW), Err(JwtError::BadSignature));
    // An RS token never verifies against an HMAC-only verifier.
    assert!(matches!(
        hs_verifier().verify(&rs(&claims()), NOW),
        Err(JwtError::AlgorithmNotAllowed(_))
    ));
    // Keys refuse allow-lists outside their family.
    assert!(matches!(
        VerificationKey::rsa_pem(None, RSA_PUB, &[Algorithm::HS256]),
        Err(JwtError::Config(_))
    ));
    assert!(matches!(
        VerificationKey::hmac(None, SECRET, &[Algorithm::RS256]),
        Err(JwtError::Config(_))
    ));
    // An RS256-only key refuses RS384 and PS256 tokens signed by the same key.
    let t = sign(
        Algorithm::RS384,
        &EncodingKey::from_rsa_pem(RSA_PRIV).unwrap(),
        None,
        &claims(),
    );
    assert!(matches!(
        rs_verifier().verify(&t, NOW),
        Err(JwtError::AlgorithmNotAllowed(_))
    ));
    // Short HMAC secrets are refused.
    assert!(matches!(
        VerificationKey::hmac(None, b"short", &[Algorithm::HS256]),
        Err(JwtError::InvalidKey(_))
    ));
}

#[test]
fn wrong_key_and_tampering_fail() {
    let t = sign(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(RSA2_PRIV).unwrap(),
        None,
        &claims(),
    );
    assert_eq!(rs_verifier().verify(&t, NOW), Err(JwtError::BadSignature));
    let other = EncodingKey::from_secret(b"another-test-only-secret-0123456789").unwrap();
    let t = sign(Algorithm::HS256, &other, None, &claims());
    assert_eq!(hs_verifier().verify(&t, NOW), Err(JwtError::BadSignature));

    for token in [hs(&claims()), rs(&claims())] {
        let parts: Vec<&str> = token.split('.').collect();
        let evil = B64.encode(with(claims(), "tier", json!("admin")).to_string());
        let tampered = format!("{}.{evil}.{}", parts[0], parts[2]);
        let v = if token == hs(&claims()) {
            hs_verifier()
        } else {
            rs_verifier()
        };
        assert_eq!(v.verify(&tampered, NOW), Err(JwtError::BadSignature));
        // A flipped signature byte.
        let mut sig = B64.decode(parts[2]).unwrap();
        sig[0] ^= 1;
        let t = format!("{}.{}.{}", parts[0], parts[1], B64.encode(sig));
        assert_eq!(v.verify(&t, NOW), Err(JwtError::BadSignature));
    }
}

#[test]
fn time_claims_use_the_given_clock_with_leeway() {
    let v = hs_verifier();
    assert_eq!(
        v.verify(&hs(&with(claims(), "exp", json!(NOW - 61))), NOW),
        Err(JwtError::Expired)
    );
    assert_eq!(
        v.verify(&hs(&with(claims(), "exp", json!(NOW - 60))), NOW),
        Err(JwtError::Expired)
    );
    assert!(
        v.verify(&hs(&with(claims(), "exp", json!(NOW - 30))), NOW)
            .is_ok()
    );
    assert_eq!(v.verify(&hs(&claims()), NOW + 400), Err(JwtError::Expired));
    assert_eq!(
        v.verify(&hs(&with(claims(), "nbf", json!(NOW + 120))), NOW),
        Err(JwtError::NotYetValid)
    );
    assert!(
        v.verify(&hs(&with(claims(), "nbf", json!(NOW + 30))), NOW)
            .is_ok()
    );
    assert_eq!(
        v.verify(&hs(&with(claims(), "iat", json!(NOW + 120))), NOW),
        Err(JwtError::IssuedInFuture)
    );
    assert!(
        v.verify(&hs(&with(claims(), "iat", json!(NOW + 30))), NOW)
            .is_ok()
    );
    assert_eq!(
        v.verify(&hs(&without(claims(), "exp")), NOW),
        Err(JwtError::MissingClaim("exp"))
    );
    assert_eq!(
        v.verify(&hs(&with(claims(), "exp", json!("soon"))), NOW),
        Err(JwtError::InvalidClaim("exp"))
    );
    assert_eq!(
        v.verify(&hs(&with(claims(), "exp", json!(-5))), NOW),
        Err(JwtError::InvalidClaim("exp"))
    );
}

#[test]
fn issuer_and_audience_are_required_and_exact() {
    let v = hs_verifier();
    assert_eq!(
        v.verify(&hs(&with(claims(), "aud", json!("other"))), NOW),
        Err(JwtError::WrongAudience)
    );
    assert_eq!(
        v.verify(&hs(&with(claims(), "aud", json!(["a", "b"]))), NOW),
        Err(JwtError::WrongAudience)
    );
    assert!(
        v.verify(&hs(&with(claims(), "aud", json!(["a", AUD]))), NOW)
            .is_ok()
    );
    assert_eq!(
        v.verify(
            &hs(&with(claims(), "iss", json!("https://evil.example"))),
            NOW
        ),
        Err(JwtError::WrongIssuer)
    );
    assert_eq!(
        v.verify(&hs(&with(claims(), "iss", json!(format!("{ISS}/")))), NOW),
        Err(JwtError::WrongIssuer)
    );
    assert_eq!(
        v.verify(&hs(&without(claims(), "iss")), NOW),
        Err(JwtError::MissingClaim("iss"))
    );
    assert_eq!(
        v.verify(&hs(&without(claims(), "aud")), NOW),
        Err(JwtError::MissingClaim("aud"))
    );
    assert!(matches!(
        Verifier::new(JwtConfig::new(Vec::<String>::new(), [AUD]), vec![]),
        Err(JwtError::Config(_))
    ));
}
