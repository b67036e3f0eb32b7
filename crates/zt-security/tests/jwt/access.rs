//! Cloudflare Access assertions: user and service tokens, and every rejection.

use super::jwks::rsa_jwk;
use super::*;

const TEAM: &str = "acme";
const ACCESS_HOST: &str = "acme.cloudflareaccess.com";
const AUD_TAG: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const ACCESS_KID: &str = "c8b0f8c87e5e86c0de9fdc2e1ffa0bb3ef6d9b5c4cb6c1d6e2f5d0e4a3b2c1d0";

fn access_user_claims() -> Value {
    json!({
        "aud": [AUD_TAG], "email": "dev@acme.example", "exp": NOW + 300, "iat": NOW, "nbf": NOW,
        "iss": "https://acme.cloudflareaccess.com", "type": "app", "identity_nonce": "6ei69kawdKzMIAPF",
        "sub": "7335d417-61da-459d-899c-0a01c76a2f94", "country": "US",
    })
}

fn access_service_claims() -> Value {
    json!({
        "aud": [AUD_TAG], "exp": NOW + 300, "iat": NOW,
        "iss": "https://acme.cloudflareaccess.com", "type": "app",
        "common_name": "f0e1d2c3b4a5.access", "sub": "",
    })
}

fn access() -> (AccessValidator, ScriptedHttpClient) {
    let clock = ManualClock::new(NOW * 1000);
    let http = ScriptedHttpClient::new();
    let certs =
        json!({ "keys": [rsa_jwk(RSA_PRIV, ACCESS_KID)], "public_cert": {}, "public_certs": [] });
    http.fallback(
        ACCESS_HOST,
        Scripted::Respond(ScriptedResponse::json(200, &certs)),
    );
    let v = AccessValidator::new(
        AccessConfig::new(TEAM, AUD_TAG),
        Arc::new(http.clone()),
        None,
        Arc::new(clock.clone()),
    )
    .unwrap();
    assert_eq!(clock.now_secs(), NOW);
    (v, http)
}

fn access_token(alg: Algorithm, claims: &Value) -> String {
    sign(
        alg,
        &EncodingKey::from_rsa_pem(RSA_PRIV).unwrap(),
        Some(ACCESS_KID),
        claims,
    )
}

#[test]
fn access_user_and_service_tokens() {
    block_on(async {
        let (v, http) = access();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            ACCESS_HEADER,
            access_token(Algorithm::RS256, &access_user_claims())
                .parse()
                .unwrap(),
        );
        let p = v.validate_headers(&headers).await.unwrap();
        assert!(p.via_access && !p.service_token);
        assert_eq!(p.email.as_deref(), Some("dev@acme.example"));
        assert_eq!(p.country.as_deref(), Some("US"));
        assert_eq!(p.subject, "7335d417-61da-459d-899c-0a01c76a2f94");

        let p = v
            .validate(&access_token(Algorithm::RS256, &access_service_claims()))
            .await
            .unwrap();
        assert!(p.via_access && p.service_token);
        assert_eq!(p.subject, "f0e1d2c3b4a5.access");
        assert_eq!(p.email, None);

        assert_eq!(http.requests().len(), 1);
        assert_eq!(
            http.requests()[0].uri,
            "https://acme.cloudflareaccess.com/cdn-cgi/access/certs"
        );
        assert_eq!(
            v.validate_headers(&http::HeaderMap::new()).await,
            Err(JwtError::MissingToken)
        );
    });
}

#[test]
fn access_rejections() {
    block_on(async {
        let (v, _http) = access();
        let t = |c: &Value| access_token(Algorithm::RS256, c);
        let u = access_user_claims();
        assert_eq!(
            v.validate(&t(&with(u.clone(), "type", json!("org")))).await,
            Err(JwtError::InvalidClaim("type"))
        );
        assert_eq!(
            v.validate(&t(&without(u.clone(), "type"))).await,
            Err(JwtError::MissingClaim("type"))
        );
        for iss in [
            "https://acme.cloudflareaccess.com/",
            "https://evil.cloudflareaccess.com",
            "http://acme.cloudflareaccess.com",
        ] {
            assert_eq!(
                v.validate(&t(&with(u.clone(), "iss", json!(iss)))).await,
                Err(JwtError::WrongIssuer),
                "{iss}"
            );
        }
        assert_eq!(
            v.validate(&t(&with(u.clone(), "aud", json!(["other"]))))
                .await,
            Err(JwtError::WrongAudience)
        );
        assert_eq!(
            v.validate(&t(&with(u.clone(), "aud", json!(AUD_TAG))))
                .await,
            Err(JwtError::WrongAudience)
        );
        assert_eq!(
            v.validate(&t(&with(u.clone(), "exp", json!(NOW - 120))))
                .await,
            Err(JwtError::Expired)
        );
        let svc_no_cn = without(access_service_claims(), "common_name");
        assert_eq!(
            v.validate(&t(&svc_no_cn)).await,
            Err(JwtError::MissingClaim("sub"))
        );
        let rs384 = access_token(Algorithm::RS384, &u);
        assert!(matches!(
            v.validate(&rs384).await,
            Err(JwtError::AlgorithmNotAllowed(_))
        ));
        let none = raw_token(&json!({ "alg": "none", "kid": ACCESS_KID }), &u, "");
        assert_eq!(v.validate(&none).await, Err(JwtError::AlgorithmNone));
        assert!(
            AccessValidator::new(
                AccessConfig::new("acme.cloudflareaccess.com", AUD_TAG),
                Arc::new(ScriptedHttpClient::new()),
                None,
                Arc::new(ManualClock::new(0)),
            )
            .is_err()
        );
    });
}
