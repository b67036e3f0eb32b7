//! Gateway config parsing and validation (TOML and JSON).
#![no_main]
use edge_gateway::GatewayConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = GatewayConfig::from_toml(s);
    let _ = GatewayConfig::from_json(s);
});
