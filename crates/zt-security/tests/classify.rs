#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Data classification: true positives, false-positive fixtures, paths, redaction.

use serde_json::json;
use zt_security::classify::{FindingKind, classify_json, classify_text, redact_json};

fn kinds(field: Option<&str>, v: &str) -> Vec<FindingKind> {
    classify_text(field, v)
        .into_iter()
        .map(|f| f.kind)
        .collect()
}

#[test]
fn true_positives_for_each_type() {
    let cases: &[(Option<&str>, &str, FindingKind)] = &[
        (None, "mail me: ann.lee+x@example.co.uk", FindingKind::Email),
        (None, "call +44 20 7946 0958 today", FindingKind::Phone),
        (None, "(555) 123-4567", FindingKind::Phone),
        (None, "555-123-4567", FindingKind::Phone),
        (Some("mobile"), "5551234567", FindingKind::Phone),
        (None, "ssn 123-45-6789", FindingKind::UsSsn),
        (None, "card 4111 1111 1111 1111", FindingKind::CreditCard),
        (None, "5500-0000-0000-0004", FindingKind::CreditCard),
        (None, "378282246310005", FindingKind::CreditCard),
        (None, "6011111111111117", FindingKind::CreditCard),
        (None, "2223000048400011", FindingKind::CreditCard),
        (None, "from 203.0.113.7", FindingKind::Ipv4),
        (None, "host 2001:db8::8a2e:370:7334", FindingKind::Ipv6),
        (
            None,
            "sk-proj-AbC123dEf456GhI789jKl012",
            FindingKind::OpenAiKey,
        ),
        (
            None,
            "sk-ant-api03-AbC123dEf456GhI789jKl",
            FindingKind::AnthropicKey,
        ),
        (None, "AKIAIOSFODNN7EXAMPLE", FindingKind::AwsAccessKey),
        (
            None,
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            FindingKind::GithubToken,
        ),
        (
            None,
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            FindingKind::GithubToken,
        ),
        (
            None,
            "xoxb-123456789012-abcdefABCDEF",
            FindingKind::SlackToken,
        ),
        (
            None,
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
            FindingKind::PrivateKey,
        ),
        (
            None,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            FindingKind::Jwt,
        ),
        (
            Some("password"),
            "Tr0ub4dor&3xK!pq",
            FindingKind::GenericSecret,
        ),
        (
            Some("clientSecret"),
            "9f8A7b6C5d4E3f2G1h",
            FindingKind::GenericSecret,
        ),
        (
            Some("refresh_token"),
            "r8Kq2mZx9LpW4vNt",
            FindingKind::GenericSecret,
        ),
        (
            None,
            "config: api_key=Zx8Kq2mW9LpR4vNt7Y",
            FindingKind::GenericSecret,
        ),
    ];
    for (field, v, want) in cases {
        let k = kinds(*field, v);
        assert!(
            k.contains(want),
            "{v:?} under {field:?}: got {k:?}, want {want:?}"
        );
    }
    assert!(
        kinds(Some("api_key"), "sk-proj-AbC123dEf456GhI789jKl012")
            .iter()
            .all(|k| k.is_secret())
    );
}

#[test]
fn false_positive_fixtures_stay_clean() {
    let doc = json!({
        "created_at": 1700000000,
        "ts": "1700000000",
        "order_id": "ORD-2024-000123",
        "id": 4_111_111_111_111_112u64,
        "ref": "1234567812345678",
        "tokens_generated": 42,
        "max_tokens": 1024,
        "token_count": "12",
        "prompt_tokens": 7,
        "usage": {"completion_tokens": 88, "total_tokens": 95},
        "version": "1.2.3",
        "build": "v2.10.4-rc.1",
        "uuid": "550e8400-e29b-41d4-a716-446655440000",
        "price": "$1,299.99",
        "amount": 1234.56,
        "date": "2024-01-15",
        "time": "10:30:00",
        "isbn": "978-3-16-148410-0",
        "password_hint": "pet",
        "token": "short",
        "model": "gpt-4o-mini",
        "text": "the sk- prefix marks keys; version 10.2 ships soon",
        "ssn_like": "000-12-3456",
        "bad_ssn": ["666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "111-11-1111", "123-45 6789"],
    });
    let found = classify_json(&doc);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn reports_paths_and_never_echoes_values() {
    let doc = json!({"user": {"contacts": [
        {"email": "a@x.io"}, {"phone": "+1 415 555 0100"}, {"email": "zed@example.com"}
    ]}, "auth": {"api_key": "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3"}, "weird key": "1.2.3.4"});
    let found = classify_json(&doc);
    let paths: Vec<(&str, FindingKind)> = found.iter().map(|f| (f.path.as_str(), f.kind)).collect();
    assert!(
        paths.contains(&("$.user.contacts[2].email", FindingKind::Email)),
        "{paths:?}"
    );
    assert!(
        paths.contains(&("$.user.contacts[1].phone", FindingKind::Phone)),
        "{paths:?}"
    );
    assert!(
        paths.contains(&("$.auth.api_key", FindingKind::OpenAiKey)),
        "{paths:?}"
    );
    assert!(
        paths.contains(&("$[\"weird key\"]", FindingKind::Ipv4)),
        "{paths:?}"
    );
    let ser = serde_json::to_string(&found).unwrap();
    for secret in [
        "zed@example.com",
        "415 555 0100",
        "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3",
        "1.2.3.4",
    ] {
        assert!(!ser.contains(secret), "{ser}");
    }
    assert!(
        found
            .iter()
            .all(|f| (0.0..=1.0).contains(&f.confidence) && !f.reason.is_empty())
    );
}

#[test]
fn redaction_replaces_found_values() {
    let doc = json!({"email": "ann@example.com", "card": 4111111111111111u64, "note": "hi", "n": 3,
                     "nested": [{"secret": "Zx8Kq2mW9LpR4vNt7Y"}]});
    let r = redact_json(&doc);
    assert_eq!(r["email"], "[REDACTED:email]");
    assert_eq!(r["card"], "[REDACTED:credit_card]");
    assert_eq!(r["nested"][0]["secret"], "[REDACTED:secret]");
    assert_eq!(r["note"], "hi");
    assert_eq!(r["n"], 3);
}

#[test]
fn no_panics_on_odd_unicode() {
    for v in [
        "é@ü.ß",
        "+",
        "(((",
        "１２３-４５-６７８９",
        "::",
        "😀4111 1111 1111 1111😀",
        "a@",
        "@b.c",
    ] {
        let _ = classify_text(Some("ключ"), v);
    }
    assert!(kinds(None, "😀4111 1111 1111 1111😀").contains(&FindingKind::CreditCard));
}
