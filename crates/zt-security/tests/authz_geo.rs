//! Route authorization and geo rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use zt_security::authz::{AuthzError, DenyReason, PathPattern, Policy, PolicyConfig};
use zt_security::geo::{
    BlockReason, ConsentError, ConsentKey, GeoConfig, GeoError, GeoPolicy, GeoRequest, GeoVerdict,
};
use zt_security::jwt::{Principal, Tier};

#[path = "authz_geo/geo.rs"]
mod geo;

fn policy() -> Policy {
    let config: PolicyConfig = serde_json::from_value(json!({ "routes": [
        { "pattern": "/health", "methods": ["GET"], "public": true },
        { "pattern": "/v1/models", "methods": ["GET"], "tiers": ["anonymous", "authenticated", "premium", "admin"] },
        { "pattern": "/v1/chat/completions", "methods": ["POST"], "tiers": ["authenticated", "premium", "admin"] },
        { "pattern": "/v1/embeddings", "methods": ["POST"], "tiers": ["premium", "admin"] },
        { "pattern": "/v1/files/{file_id}", "methods": ["GET", "DELETE"], "scopes": ["files:rw"] },
        { "pattern": "/v1/users/{user_id}/keys/{key_id}", "methods": ["DELETE"], "roles": ["owner", "support"] },
        { "pattern": "/v1/admin/*", "require_access": true, "roles": ["ops"] },
        { "pattern": "/v1/admin/status", "methods": ["GET"], "require_access": true },
    ]})).unwrap();
    Policy::new(config).unwrap()
}

fn user(tier: Tier) -> Principal {
    let mut p = Principal::anonymous();
    p.subject = "u1".into();
    p.tier = tier;
    p
}

#[test]
fn default_deny_and_public_routes() {
    let p = policy();
    let anon = Principal::anonymous();
    assert!(p.authorize("GET", "/health", &anon).is_ok());
    assert!(p.authorize("GET", "/health?probe=1", &anon).is_ok());
    assert_eq!(
        p.authorize("GET", "/", &user(Tier::Admin)).unwrap_err(),
        DenyReason::NoRoute
    );
    assert_eq!(
        p.authorize("GET", "/v1/unknown", &user(Tier::Admin))
            .unwrap_err(),
        DenyReason::NoRoute
    );
    assert_eq!(
        p.authorize("GET", "/v1/chat", &user(Tier::Admin))
            .unwrap_err(),
        DenyReason::NoRoute
    );
    assert_eq!(
        p.authorize("POST", "/health", &anon).unwrap_err(),
        DenyReason::MethodNotAllowed
    );
    assert_eq!(
        Policy::new(PolicyConfig::default())
            .unwrap()
            .authorize("GET", "/x", &user(Tier::Admin))
            .unwrap_err(),
        DenyReason::NoRoute
    );
    assert_eq!(DenyReason::NoRoute.status(), 404);
    assert_eq!(DenyReason::AuthenticationRequired.status(), 401);
    assert_eq!(DenyReason::AccessRequired.status(), 403);
}

#[test]
fn tiers_roles_and_scopes() {
    let p = policy();
    let anon = Principal::anonymous();
    assert!(p.authorize("GET", "/v1/models", &anon).is_ok());
    assert_eq!(
        p.authorize("POST", "/v1/chat/completions", &anon)
            .unwrap_err(),
        DenyReason::AuthenticationRequired
    );
    assert!(
        p.authorize("POST", "/v1/chat/completions", &user(Tier::Authenticated))
            .is_ok()
    );
    assert_eq!(
        p.authorize("POST", "/v1/embeddings", &user(Tier::Authenticated))
            .unwrap_err(),
        DenyReason::TierNotAllowed(Tier::Authenticated)
    );
    assert!(
        p.authorize("POST", "/v1/embeddings", &user(Tier::Premium))
            .is_ok()
    );

    let mut u = user(Tier::Premium);
    assert_eq!(
        p.authorize("GET", "/v1/files/f-1", &u).unwrap_err(),
        DenyReason::MissingScope("files:rw".into())
    );
    u.scopes.push("files:rw".into());
    let ok = p.authorize("GET", "/v1/files/f-1", &u).unwrap();
    assert_eq!(ok.pattern, "/v1/files/{file_id}");
    assert_eq!(ok.params["file_id"], "f-1");

    assert_eq!(
        p.authorize("DELETE", "/v1/users/u1/keys/k9", &u)
            .unwrap_err(),
        DenyReason::MissingRole
    );
    u.roles.push("support".into());
    let ok = p
        .authorize("DELETE", "/v1/users/u%201/keys/k9", &u)
        .unwrap();
    assert_eq!(ok.params["user_id"], "u 1");
    assert_eq!(ok.params["key_id"], "k9");
    assert_eq!(
        p.authorize("DELETE", "/v1/users/u1/keys", &u).unwrap_err(),
        DenyReason::NoRoute
    );
}

#[test]
fn admin_routes_require_access() {
    let p = policy();
    let mut admin = user(Tier::Admin);
    admin.roles.push("ops".into());
    assert_eq!(
        p.authorize("POST", "/v1/admin/flags", &admin).unwrap_err(),
        DenyReason::AccessRequired
    );
    assert_eq!(
        p.authorize("GET", "/v1/admin", &admin).unwrap_err(),
        DenyReason::AccessRequired
    );
    admin.via_access = true;
    assert!(p.authorize("POST", "/v1/admin/flags", &admin).is_ok());
    assert!(p.authorize("GET", "/v1/admin/a/b/c", &admin).is_ok());
    // The more specific exact rule wins: Access without the ops role.
    let mut viewer = user(Tier::Authenticated);
    viewer.via_access = true;
    assert!(p.authorize("GET", "/v1/admin/status", &viewer).is_ok());
    assert_eq!(
        p.authorize("GET", "/v1/admin/other", &viewer).unwrap_err(),
        DenyReason::MissingRole
    );
    assert_eq!(
        p.authorize("GET", "/v1/admin/x", &Principal::anonymous())
            .unwrap_err(),
        DenyReason::AuthenticationRequired
    );
}

/// Issue 18 (low): a method the most specific rule does not list is
/// refused there, not handed to a broader rule (`/v1/admin/*` would let an
/// `ops` admin POST to the GET-only status route, and `/v1/*` below would
/// let anyone DELETE a file).
#[test]
fn the_most_specific_path_decides_and_a_method_mismatch_is_refused() {
    let p = policy();
    let mut admin = user(Tier::Admin);
    admin.roles.push("ops".into());
    admin.via_access = true;
    assert_eq!(
        p.authorize("POST", "/v1/admin/status", &admin).unwrap_err(),
        DenyReason::MethodNotAllowed
    );
    let config: PolicyConfig = serde_json::from_value(json!({ "routes": [
        { "pattern": "/v1/*", "public": true },
        { "pattern": "/v1/files/{id}", "methods": ["GET"], "tiers": ["admin"] },
        { "pattern": "/v1/files/{id}", "methods": ["PUT"], "tiers": ["premium", "admin"] },
    ]}))
    .unwrap();
    let p = Policy::new(config).unwrap();
    let anon = Principal::anonymous();
    assert!(p.authorize("GET", "/v1/models", &anon).is_ok());
    assert_eq!(
        p.authorize("DELETE", "/v1/files/f1", &anon).unwrap_err(),
        DenyReason::MethodNotAllowed
    );
    assert_eq!(
        p.authorize("GET", "/v1/files/f1", &anon).unwrap_err(),
        DenyReason::AuthenticationRequired
    );
    assert!(
        p.authorize("PUT", "/v1/files/f1", &user(Tier::Premium))
            .is_ok()
    );
    assert_eq!(
        p.authorize("GET", "/v1/files/f1", &user(Tier::Premium))
            .unwrap_err(),
        DenyReason::TierNotAllowed(Tier::Premium)
    );
}

#[test]
fn path_tricks_are_malformed() {
    let p = policy();
    let mut admin = user(Tier::Admin);
    admin.roles.push("ops".into());
    for path in [
        "/v1/models/../admin/flags",
        "/v1/./models",
        "//v1/models",
        "/v1//models",
        "v1/models",
        "/v1/%2e%2e/admin",
        "/v1/admin%2fflags",
        "/v1/models%",
        "/v1/models%zz",
        "/v1/%00",
        "/v1/%c3%28",
        "",
    ] {
        assert_eq!(
            p.authorize("GET", path, &admin).unwrap_err(),
            DenyReason::MalformedPath,
            "{path}"
        );
    }
    assert!(
        p.authorize("GET", "/v1/models/", &Principal::anonymous())
            .is_ok()
    );
    assert!(
        p.authorize("GET", "/v1/%6Dodels", &Principal::anonymous())
            .is_ok()
    );
    assert!(
        p.authorize("GET", &format!("/{}", "a/".repeat(5000)), &admin)
            .is_err()
    );
}

#[test]
fn config_validation_errors() {
    let bad = |routes: serde_json::Value| {
        Policy::new(serde_json::from_value(json!({ "routes": routes })).unwrap()).unwrap_err()
    };
    assert!(
        matches!(bad(json!([{ "pattern": "/a", "tiers": ["gold"] }])), AuthzError::UnknownTier { tier, .. } if tier == "gold")
    );
    assert!(matches!(
        bad(json!([{ "pattern": "/a/{id}" }, { "pattern": "/a/{other}" }])),
        AuthzError::Overlap { .. }
    ));
    assert!(matches!(
        bad(json!([{ "pattern": "/a", "methods": ["GET"] }, { "pattern": "/a" }])),
        AuthzError::Overlap { .. }
    ));
    assert!(matches!(
        bad(json!([{ "pattern": "/a/*" }, { "pattern": "/a/*", "methods": ["POST"] }])),
        AuthzError::Overlap { .. }
    ));
    let ok = Policy::new(
        serde_json::from_value(json!({ "routes": [
            { "pattern": "/a", "methods": ["GET"] }, { "pattern": "/a", "methods": ["POST"] }
        ]}))
        .unwrap(),
    );
    assert!(ok.is_ok());
    for pat in [
        "a",
        "/a/*/b",
        "/a/{}",
        "/a/{x}/{x}",
        "/a//b",
        "/a/",
        "/a/b*",
        "/a/%2e",
        "/a/..",
    ] {
        assert!(
            matches!(
                bad(json!([{ "pattern": pat }])),
                AuthzError::InvalidPattern { .. }
            ),
            "{pat}"
        );
    }
    assert!(matches!(
        bad(json!([{ "pattern": "/a", "methods": ["get"] }])),
        AuthzError::InvalidMethod { .. }
    ));
    assert!(matches!(
        bad(json!([{ "pattern": "/a", "public": true, "roles": ["x"] }])),
        AuthzError::PublicWithRequirements(_)
    ));
    assert!(
        serde_json::from_value::<PolicyConfig>(
            json!({ "routes": [{ "pattern": "/a", "role": ["x"] }] })
        )
        .is_err()
    );
    assert!(
        bad(json!([{ "pattern": "/a", "tiers": ["gold"] }]))
            .to_string()
            .contains("gold")
    );
    assert!(
        PathPattern::parse("/*")
            .unwrap()
            .matches_path("/anything/at/all")
            .is_some()
    );
}
