//! Envelope decryption of arbitrary ciphertexts (text and raw bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zt_security::envelope::{Context, Key, Keyring};

fuzz_target!(|data: &[u8]| {
    let key = Key::from_base64(1, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").unwrap();
    let ring = Keyring::new(key);
    let ctx = Context::new("record", "pii");
    let _ = ring.open_bytes(data, &ctx);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ring.open(s, &ctx);
    }
});
