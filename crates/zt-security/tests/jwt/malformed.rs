//! Key selection by kid, the size limit, and malformed or random input.

use super::*;

#[test]
fn unknown_kid_size_limit_and_garbage() {
    let k = VerificationKey::hmac(Some("k1"), SECRET, &[Algorithm::HS256]).unwrap();
    let v = Verifier::new(config(), vec![k]).unwrap();
    let key = EncodingKey::from_secret(SECRET).unwrap();
    assert!(
        v.verify(&sign(Algorithm::HS256, &key, Some("k1"), &claims()), NOW)
            .is_ok()
    );
    assert_eq!(
        v.verify(&sign(Algorithm::HS256, &key, Some("k2"), &claims()), NOW),
        Err(JwtError::UnknownKid("k2".into()))
    );

    let big = hs(&with(claims(), "pad", json!("x".repeat(9000))));
    assert!(matches!(
        v.verify(&big, NOW),
        Err(JwtError::TokenTooLarge { max: 8192, .. })
    ));

    let garbage = [
        "",
        ".",
        "..",
        "...",
        "a",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "!!!.@@@.###",
        "eyJ.eyJ.sig",
        &format!("{}.e30.c2ln", B64.encode("not json")),
        &format!("{}.e30.c2ln", B64.encode("[1,2]")),
        &format!("{}.e30.c2ln", B64.encode(r#"{"alg":5}"#)),
        &format!("{}.e30.c2ln", B64.encode(r#"{"typ":"JWT"}"#)),
        &format!("{}.e30.c2ln", B64.encode(r#"{"alg":"HS999"}"#)),
        &format!(
            "{}.e30.c2ln",
            B64.encode(r#"{"alg":"HS256","crit":["exp"]}"#)
        ),
        &format!(
            "{}.e30.c2ln",
            B64.encode(r#"{"alg":"HS256","kid":{"x":1}}"#)
        ),
        &format!("{}.bm90IGpzb24.c2ln", B64.encode(r#"{"alg":"HS256"}"#)),
        &format!("{}.e30.", B64.encode(r#"{"alg":"HS256"}"#)),
        "é.ü.ß",
        "\u{0}.\u{0}.\u{0}",
    ];
    for g in garbage {
        assert!(v.verify(g, NOW).is_err(), "{g:?}");
        assert!(rs_verifier().verify(g, NOW).is_err(), "{g:?}");
    }
    assert!(matches!(
        v.verify(
            &format!("{}.e30.c2ln", B64.encode(r#"{"alg":"HS999"}"#)),
            NOW
        ),
        Err(JwtError::AlgorithmNotAllowed(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn arbitrary_input_never_panics(s in ".{0,300}", parts in proptest::collection::vec("[A-Za-z0-9_-]{0,40}", 0..5)) {
        let _ = hs_verifier().verify(&s, NOW);
        let _ = rs_verifier().verify(&parts.join("."), NOW);
    }
}

#[test]
fn keys_without_kid_accept_any_kid_but_named_keys_are_exact() {
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let t = sign(Algorithm::HS256, &key, Some("rotating-1"), &claims());
    assert!(hs_verifier().verify(&t, NOW).is_ok());
    let named = VerificationKey::hmac(Some("k1"), SECRET, &[Algorithm::HS256]).unwrap();
    let other = EncodingKey::from_secret(b"another-test-only-secret-0123456789").unwrap();
    let wildcard = VerificationKey::hmac(
        None,
        b"another-test-only-secret-0123456789",
        &[Algorithm::HS256],
    )
    .unwrap();
    let v = Verifier::new(config(), vec![named, wildcard]).unwrap();
    // kid k1 selects the named key only: the other secret's signature fails.
    assert_eq!(
        v.verify(&sign(Algorithm::HS256, &other, Some("k1"), &claims()), NOW),
        Err(JwtError::BadSignature)
    );
    assert!(
        v.verify(&sign(Algorithm::HS256, &key, Some("k1"), &claims()), NOW)
            .is_ok()
    );
    assert!(
        v.verify(&sign(Algorithm::HS256, &other, Some("zz"), &claims()), NOW)
            .is_ok()
    );
    assert_eq!(
        v.verify(&sign(Algorithm::HS256, &key, Some("zz"), &claims()), NOW),
        Err(JwtError::BadSignature)
    );
}
