//! JWKS: fetch once, cache in memory and KV, cooldown-limited refresh.

use super::*;

const HOST: &str = "issuer.example";

pub(crate) fn rsa_jwk(private: &[u8], kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(
        &EncodingKey::from_rsa_pem(private).unwrap(),
        Algorithm::RS256,
    )
    .unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

fn jwks_verifier(
    http: &ScriptedHttpClient,
    kv: Option<Arc<MemoryKv>>,
    clock: &ManualClock,
) -> JwksVerifier {
    let cfg = JwksConfig::new(format!("https://{HOST}/.well-known/jwks.json"));
    let cache = JwksCache::new(
        cfg,
        Arc::new(http.clone()),
        kv.map(|k| k as Arc<dyn edge_ports::KvStore>),
        Arc::new(clock.clone()),
    );
    JwksVerifier::new(config(), cache, Arc::new(clock.clone())).unwrap()
}

/// A clock at `NOW` and an issuer whose first answer is a set holding `k1`
/// (once its queue is empty it refuses connections).
fn issuer_with_k1() -> (ManualClock, ScriptedHttpClient) {
    let http = ScriptedHttpClient::new();
    http.push(
        HOST,
        ScriptedResponse::json(200, &json!({ "keys": [rsa_jwk(RSA_PRIV, "k1")] })),
    );
    (ManualClock::new(NOW * 1000), http)
}

fn rs_kid(kid: &str, private: &[u8]) -> String {
    sign(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(private).unwrap(),
        Some(kid),
        &claims(),
    )
}

#[test]
fn jwks_fetches_once_caches_and_shares_through_kv() {
    block_on(async {
        let (clock, http) = issuer_with_k1();
        let kv = Arc::new(MemoryKv::new(clock.clone()));
        let v = jwks_verifier(&http, Some(kv.clone()), &clock);
        for _ in 0..5 {
            v.verify(&rs_kid("k1", RSA_PRIV)).await.unwrap();
        }
        assert_eq!(http.requests().len(), 1);
        // Another isolate reads the set from KV, not from the issuer.
        let v2 = jwks_verifier(&http, Some(kv), &clock);
        v2.verify(&rs_kid("k1", RSA_PRIV)).await.unwrap();
        assert_eq!(http.requests().len(), 1);
        // Wrong key under a known kid, and a token without kid.
        assert_eq!(
            v.verify(&rs_kid("k1", RSA2_PRIV)).await,
            Err(JwtError::BadSignature)
        );
        assert_eq!(v.verify(&rs(&claims())).await, Err(JwtError::MissingKid));
        // HS256 forged with the PEM never reaches a key lookup.
        let forged = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(RSA_PUB).unwrap(),
            Some("k1"),
            &claims(),
        );
        assert!(matches!(
            v.verify(&forged).await,
            Err(JwtError::AlgorithmNotAllowed(_))
        ));
    });
}

#[test]
fn kid_flood_within_cooldown_causes_at_most_one_fetch() {
    block_on(async {
        let clock = ManualClock::new(NOW * 1000);
        let http = ScriptedHttpClient::new();
        let set = ScriptedResponse::json(200, &json!({ "keys": [rsa_jwk(RSA_PRIV, "k1")] }));
        http.fallback(HOST, Scripted::Respond(set));
        let v = jwks_verifier(&http, None, &clock);
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..1000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let kid = format!("{seed:016x}");
            // Signature bytes are irrelevant: an unknown kid is refused before any crypto.
            let t = raw_token(
                &json!({ "alg": "RS256", "kid": kid }),
                &claims(),
                "c2lnbmF0dXJl",
            );
            assert_eq!(v.verify(&t).await, Err(JwtError::UnknownKid(kid)));
        }
        assert_eq!(http.requests().len(), 1);
        // After the cooldown one unknown kid may refresh once more.
        clock.advance_secs(61);
        assert!(v.verify(&rs_kid("nope", RSA2_PRIV)).await.is_err());
        assert!(v.verify(&rs_kid("nope2", RSA2_PRIV)).await.is_err());
        assert_eq!(http.requests().len(), 2);
    });
}

#[test]
fn rotated_key_is_picked_up_after_the_cooldown() {
    block_on(async {
        let (clock, http) = issuer_with_k1();
        let both = json!({ "keys": [rsa_jwk(RSA_PRIV, "k1"), rsa_jwk(RSA2_PRIV, "k2")] });
        http.push(HOST, ScriptedResponse::json(200, &both));
        let v = jwks_verifier(&http, None, &clock);
        v.verify(&rs_kid("k1", RSA_PRIV)).await.unwrap();
        assert_eq!(
            v.verify(&rs_kid("k2", RSA2_PRIV)).await,
            Err(JwtError::UnknownKid("k2".into()))
        );
        clock.advance_secs(60);
        v.verify(&rs_kid("k2", RSA2_PRIV)).await.unwrap();
        assert_eq!(http.requests().len(), 2);
        // Past the TTL with the issuer down, the cached keys stay in use: the
        // result is the token's own expiry, not a JWKS error.
        clock.advance_secs(7200);
        assert!(
            v.verify(&rs_kid("k1", RSA_PRIV))
                .await
                .is_err_and(|e| e == JwtError::Expired)
        );
    });
}

#[test]
fn stale_keys_are_dropped_after_the_bound_while_the_issuer_is_down() {
    block_on(async {
        let (clock, http) = issuer_with_k1();
        // Once its queue is empty the scripted issuer refuses connections.
        let cfg = JwksConfig::new(format!("https://{HOST}/.well-known/jwks.json"));
        let cache = JwksCache::new(cfg, Arc::new(http.clone()), None, Arc::new(clock.clone()));
        let long_lived = JwtConfig {
            leeway_secs: 10 * 24 * 3600,
            ..config()
        };
        let v = JwksVerifier::new(long_lived, cache, Arc::new(clock.clone())).unwrap();
        v.verify(&rs_kid("k1", RSA_PRIV)).await.unwrap();
        // Past the TTL (1 h) but within TTL + 24 h: refreshes fail, keys stay.
        clock.advance_secs(3600 + 23 * 3600);
        v.verify(&rs_kid("k1", RSA_PRIV)).await.unwrap();
        // Past the bound: the stale set is dropped and verification fails closed.
        clock.advance_secs(2 * 3600);
        assert!(matches!(
            v.verify(&rs_kid("k1", RSA_PRIV)).await,
            Err(JwtError::Jwks(m)) if m.contains("keys dropped")
        ));
        // Within the cooldown nothing is fetched and nothing is trusted.
        assert!(matches!(
            v.verify(&rs_kid("k1", RSA_PRIV)).await,
            Err(JwtError::Jwks(_))
        ));
        let before = http.requests().len();
        // The issuer recovers: after the cooldown the next call fetches again.
        http.push(
            HOST,
            ScriptedResponse::json(200, &json!({ "keys": [rsa_jwk(RSA_PRIV, "k1")] })),
        );
        clock.advance_secs(61);
        v.verify(&rs_kid("k1", RSA_PRIV)).await.unwrap();
        assert_eq!(http.requests().len(), before + 1);
    });
}
