//! The Workers Deployments API client against scripted responses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edge_ports::testing::block_on;
use edge_ports::{ScriptedHttpClient, ScriptedResponse};
use serde_json::{Value, json};
use traffic_split::gradual::{GradualDeployments, GradualError};

const HOST: &str = "api.cloudflare.com";
const URL: &str = "https://api.cloudflare.com/client/v4/accounts/acct-1/workers/scripts/edgeforge-api/deployments";

fn client(http: &ScriptedHttpClient) -> GradualDeployments {
    GradualDeployments::new(
        Box::new(http.clone()),
        "acct-1",
        "edgeforge-api",
        "cf-token",
    )
}

fn ok(result: Value) -> ScriptedResponse {
    ScriptedResponse::json(
        200,
        &json!({"success": true, "errors": [], "messages": [], "result": result}),
    )
}

#[test]
fn split_posts_both_versions_with_the_token_and_parses_the_result() {
    let http = ScriptedHttpClient::new();
    http.push(
        HOST,
        ok(json!({"id": "d2", "strategy": "percentage", "versions": [
        {"version_id": "new", "percentage": 25.0}, {"version_id": "old", "percentage": 75.0}]})),
    );
    let d = block_on(client(&http).split("old", "new", 25.0, "canary stage 2")).unwrap();
    assert_eq!(
        (d.id.as_str(), d.percent_of("new"), d.percent_of("old")),
        ("d2", 25.0, 75.0)
    );
    let reqs = http.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, http::Method::POST);
    assert_eq!(reqs[0].uri, URL);
    assert_eq!(reqs[0].headers["authorization"], "Bearer cf-token");
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        body,
        json!({"strategy": "percentage", "annotations": {"workers/message": "canary stage 2"},
        "versions": [{"version_id": "new", "percentage": 25.0}, {"version_id": "old", "percentage": 75.0}]})
    );
}

#[test]
fn full_promotion_and_rollback_send_one_version() {
    let http = ScriptedHttpClient::new();
    http.push(HOST, ok(json!({"strategy": "percentage", "versions": [{"version_id": "new", "percentage": 100.0}]})));
    http.push(HOST, ok(json!({"strategy": "percentage", "versions": [{"version_id": "old", "percentage": 100.0}]})));
    let c = client(&http);
    assert_eq!(
        block_on(c.split("old", "new", 100.0, "promote"))
            .unwrap()
            .percent_of("new"),
        100.0
    );
    assert_eq!(
        block_on(c.split("old", "new", 0.0, "rollback"))
            .unwrap()
            .percent_of("old"),
        100.0
    );
    let bodies: Vec<Value> = http
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies[0]["versions"],
        json!([{"version_id": "new", "percentage": 100.0}])
    );
    assert_eq!(
        bodies[1]["versions"],
        json!([{"version_id": "old", "percentage": 100.0}])
    );
}

#[test]
fn current_reads_the_first_deployment() {
    let http = ScriptedHttpClient::new();
    http.push(HOST, ok(json!({"deployments": [
        {"id": "latest", "strategy": "percentage", "versions": [{"version_id": "a", "percentage": 100.0}]},
        {"id": "older", "strategy": "percentage", "versions": [{"version_id": "b", "percentage": 100.0}]}]})));
    let d = block_on(client(&http).current()).unwrap();
    assert_eq!(d.id, "latest");
    assert_eq!(http.requests()[0].method, http::Method::GET);
}

#[test]
fn api_errors_invalid_splits_and_bad_bodies_are_typed() {
    let http = ScriptedHttpClient::new();
    http.push(HOST, ScriptedResponse::json(403, &json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], "result": null})));
    http.push(
        HOST,
        ScriptedResponse::new(502).body("<html>bad gateway</html>"),
    );
    let c = client(&http);
    assert_eq!(
        block_on(c.split("a", "b", 5.0, "x")).unwrap_err(),
        GradualError::Api {
            status: 403,
            messages: "Authentication error".into()
        }
    );
    assert!(matches!(
        block_on(c.current()).unwrap_err(),
        GradualError::Protocol(_)
    ));
    for bad in [-1.0, 100.5, f64::NAN] {
        assert!(matches!(
            block_on(c.split("a", "b", bad, "x")).unwrap_err(),
            GradualError::Invalid(_)
        ));
    }
    assert_eq!(
        http.requests().len(),
        2,
        "invalid splits never reach the API"
    );
}
