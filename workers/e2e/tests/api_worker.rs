//! The `api` Worker's WASM build in real workerd: health, a KV round trip,
//! and typed JSON errors.

use edgeforge_e2e::{WranglerDev, http_request};

#[test]
fn api_worker_in_workerd() {
    let dev = match WranglerDev::start("api") {
        Ok(Some(dev)) => dev,
        Ok(None) => return, // skipped, with the reason printed
        Err(e) => panic!("{e}"),
    };
    let port = dev.port();
    let call = |method: &str, path: &str, body: &[u8]| {
        eprintln!("{method} {}", &path[..path.len().min(40)]);
        http_request(port, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", dev.log_tail()))
    };

    // Health reports the version this workspace built.
    let r = call("GET", "/health", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json().unwrap(),
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );

    // PUT then GET round-trips bytes through Workers KV (local, in workerd).
    let payload = b"hello \x00\xff from the edge";
    let r = call("PUT", "/v1/kv-echo/e2e%2Fkey", payload);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json().unwrap()["key"], "e2e/key");
    let r = call("GET", "/v1/kv-echo/e2e%2Fkey", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, payload);

    // Overwrite replaces.
    call("PUT", "/v1/kv-echo/e2e%2Fkey", b"second");
    assert_eq!(call("GET", "/v1/kv-echo/e2e%2Fkey", b"").body, b"second");

    // A missing key is a 404 JSON error.
    let r = call("GET", "/v1/kv-echo/does-not-exist", b"");
    assert_eq!(r.status, 404);
    let err = r.json().unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    assert_eq!(err["error"]["type"], "not_found_error");

    // An oversized key (513 bytes) is a 400 JSON error, on PUT and GET.
    let long = "k".repeat(513);
    for method in ["PUT", "GET"] {
        let r = call(method, &format!("/v1/kv-echo/{long}"), b"v");
        assert_eq!(r.status, 400, "{method}");
        let err = r.json().unwrap();
        assert_eq!(err["error"]["code"], "key_too_long");
        assert!(err["error"]["message"].as_str().unwrap().contains("512"));
    }
    // Exactly 512 bytes is accepted by the port and by Workers KV.
    let max = "m".repeat(512);
    assert_eq!(
        call("PUT", &format!("/v1/kv-echo/{max}"), b"edge").status,
        200
    );
    assert_eq!(
        call("GET", &format!("/v1/kv-echo/{max}"), b"").body,
        b"edge"
    );

    // Unknown routes and methods are JSON too.
    assert_eq!(call("GET", "/nope", b"").status, 404);
    let r = call("DELETE", "/v1/kv-echo/x", b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, PUT"));
}
