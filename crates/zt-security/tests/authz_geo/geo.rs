//! Geo rules: countries, regions, XX/T1, ASN and consent tokens.

use super::*;

const SECRET: &[u8] = b"test-only-consent-secret-0123456789abcdef";
const NOW: u64 = 1_700_000_000;

fn geo(extra: serde_json::Value) -> GeoPolicy {
    let mut base = json!({
        "rules": [
            { "pattern": "/v1/*", "blocked_countries": ["KP", "IR"] },
            { "pattern": "/v1/eu/*", "allowed_countries": ["DE", "FR", "NL"], "consent_required": true },
            { "pattern": "/v1/us/*", "allowed_countries": ["US"], "allowed_regions": ["California", "Oregon"] },
        ],
        "blocked_asns": [64496],
        "consent_max_age_secs": 86400,
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    GeoPolicy::new(
        serde_json::from_value(base).unwrap(),
        ConsentKey::new(SECRET).unwrap(),
    )
    .unwrap()
}

fn req<'a>(path: &'a str, country: Option<&'a str>) -> GeoRequest<'a> {
    GeoRequest {
        path,
        country,
        ..GeoRequest::default()
    }
}

#[test]
fn geo_allow_block_and_regions() {
    let g = geo(json!({}));
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("DE")), NOW),
        GeoVerdict::Allow
    );
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("kp")), NOW),
        GeoVerdict::Block(BlockReason::CountryBlocked("KP".into()))
    );
    assert_eq!(
        g.evaluate(&req("/v1/eu/x", Some("US")), NOW),
        GeoVerdict::Block(BlockReason::CountryNotAllowed("US".into()))
    );
    assert_eq!(
        g.evaluate(&req("/other", Some("KP")), NOW),
        GeoVerdict::Allow
    );
    let mut r = req("/v1/us/x", Some("US"));
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::Block(BlockReason::RegionNotAllowed)
    );
    r.region = Some("california");
    assert_eq!(g.evaluate(&r, NOW), GeoVerdict::Allow);
    r.region = Some("Texas");
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::Block(BlockReason::RegionNotAllowed)
    );
    let mut r = req("/v1/chat", Some("DE"));
    r.asn = Some(64496);
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::Block(BlockReason::Asn(64496))
    );
    r.asn = Some(13335);
    assert_eq!(g.evaluate(&r, NOW), GeoVerdict::Allow);
}

#[test]
fn unknown_and_tor_are_explicit() {
    // Defaults: XX → challenge, T1 → block; a missing or junk country counts as XX.
    let g = geo(json!({}));
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("XX")), NOW),
        GeoVerdict::Challenge
    );
    assert_eq!(
        g.evaluate(&req("/v1/chat", None), NOW),
        GeoVerdict::Challenge
    );
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("Germany")), NOW),
        GeoVerdict::Challenge
    );
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("T1")), NOW),
        GeoVerdict::Block(BlockReason::Tor)
    );
    let g = geo(json!({ "unknown_country": "block", "tor": "challenge" }));
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("XX")), NOW),
        GeoVerdict::Block(BlockReason::UnknownCountry)
    );
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("T1")), NOW),
        GeoVerdict::Challenge
    );
    // allow: exempt from the country lists, still subject to consent.
    let g = geo(json!({ "unknown_country": "allow", "tor": "allow" }));
    assert_eq!(
        g.evaluate(&req("/v1/chat", Some("T1")), NOW),
        GeoVerdict::Allow
    );
    assert_eq!(
        g.evaluate(&req("/v1/eu/x", Some("XX")), NOW),
        GeoVerdict::RequireConsent(ConsentError::Missing)
    );
}

#[test]
fn consent_tokens() {
    let g = geo(json!({}));
    let key = ConsentKey::new(SECRET).unwrap();
    let good = key.issue("user-1", "gdpr", NOW - 3600);
    assert!(good.starts_with(&format!("v1.{}.gdpr.", NOW - 3600)));
    let mut r = req("/v1/eu/chat", Some("DE"));
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::RequireConsent(ConsentError::Missing)
    );
    r.consent = Some(&good);
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::RequireConsent(ConsentError::Missing)
    ); // no user
    r.user_id = Some("user-1");
    assert_eq!(g.evaluate(&r, NOW), GeoVerdict::Allow);
    // Bound to the user.
    r.user_id = Some("user-2");
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::RequireConsent(ConsentError::BadSignature)
    );
    r.user_id = Some("user-1");
    // Forged: another secret, edited timestamp or scope, truncated signature.
    let other = ConsentKey::new(b"another-test-only-secret-0123456789abcdef")
        .unwrap()
        .issue("user-1", "gdpr", NOW);
    let bumped = good.replacen(&(NOW - 3600).to_string(), &NOW.to_string(), 1);
    let rescoped = key.issue("user-1", "marketing", NOW);
    let truncated = &good[..good.len() - 2];
    for (tok, want) in [
        (other.as_str(), ConsentError::BadSignature),
        (bumped.as_str(), ConsentError::BadSignature),
        (rescoped.as_str(), ConsentError::WrongScope),
        (truncated, ConsentError::Malformed),
        ("v1.abc.gdpr.xyz", ConsentError::Malformed),
        ("v2.1.gdpr.AAAA", ConsentError::Malformed),
        ("", ConsentError::Malformed),
        ("v1..gdpr.", ConsentError::Malformed),
        ("v1.1.gd.pr.x", ConsentError::Malformed),
    ] {
        r.consent = Some(tok);
        assert_eq!(
            g.evaluate(&r, NOW),
            GeoVerdict::RequireConsent(want),
            "{tok}"
        );
    }
    // Expired and future-dated.
    let old = key.issue("user-1", "gdpr", NOW - 86_401);
    r.consent = Some(&old);
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::RequireConsent(ConsentError::Expired)
    );
    let future = key.issue("user-1", "gdpr", NOW + 3600);
    r.consent = Some(&future);
    assert_eq!(
        g.evaluate(&r, NOW),
        GeoVerdict::RequireConsent(ConsentError::FromTheFuture)
    );
    // User ids with separators cannot be spliced into another user's token.
    let t = key.issue("a\n1", "gdpr", NOW);
    assert_eq!(
        key.verify(&t, "a", "gdpr", NOW, 60),
        Err(ConsentError::BadSignature)
    );
    assert_eq!(key.verify(&t, "a\n1", "gdpr", NOW, 60), Ok(NOW));
}

#[test]
fn geo_config_validation() {
    assert_eq!(
        ConsentKey::new(b"short").unwrap_err(),
        GeoError::SecretTooShort
    );
    let key = ConsentKey::new(SECRET).unwrap();
    let bad = |v: serde_json::Value| {
        GeoPolicy::new(serde_json::from_value::<GeoConfig>(v).unwrap(), key.clone()).unwrap_err()
    };
    assert!(matches!(
        bad(json!({ "rules": [{ "pattern": "/a", "blocked_countries": ["Germany"] }] })),
        GeoError::Country(_)
    ));
    assert!(matches!(
        bad(json!({ "rules": [{ "pattern": "a" }] })),
        GeoError::Pattern(_)
    ));
    assert!(matches!(
        bad(
            json!({ "rules": [{ "pattern": "/a", "consent_required": true, "consent_scope": "a.b" }] })
        ),
        GeoError::Scope(_)
    ));
    assert!(serde_json::from_value::<GeoConfig>(json!({ "tor": "maybe" })).is_err());
}
