#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Envelope encryption: round trips, tampering, context binding, rotation.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use edge_ports::SeededRandom;
use proptest::prelude::*;
use zt_security::envelope::{Context, EnvelopeError, Key, Keyring};

fn key(id: u32, fill: u8) -> Key {
    Key::from_base64(id, &STANDARD.encode([fill; 32])).unwrap()
}

fn ctx() -> Context {
    Context::new("user:42", "pii")
}

proptest! {
    #[test]
    fn round_trip(pt in proptest::collection::vec(any::<u8>(), 0..512), rec in ".{0,40}", class in "[a-z]{0,10}", seed in any::<u64>()) {
        let ring = Keyring::new(key(7, 1));
        let c = Context::new(rec, class);
        let ct = ring.seal(&SeededRandom::new(seed), &pt, &c).unwrap();
        prop_assert_eq!(ring.open(&ct, &c).unwrap(), pt);
    }
}

#[test]
fn format_is_versioned_base64url() {
    let ring = Keyring::new(key(0x0102_0304, 1));
    let ct = ring.seal(&SeededRandom::new(1), b"hello", &ctx()).unwrap();
    assert!(
        ct.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    let raw = URL_SAFE_NO_PAD.decode(&ct).unwrap();
    assert_eq!(raw[0], 0x01);
    assert_eq!(&raw[1..5], &[1, 2, 3, 4]);
    assert_eq!(raw.len(), 1 + 4 + 12 + 5 + 16);
    // Fresh nonce each time.
    let rng = SeededRandom::new(1);
    assert_ne!(
        ring.seal(&rng, b"hello", &ctx()).unwrap(),
        ring.seal(&rng, b"hello", &ctx()).unwrap()
    );
}

#[test]
fn every_flipped_byte_is_rejected() {
    let ring = Keyring::new(key(9, 2));
    let ct = ring
        .seal(&SeededRandom::new(3), b"attack at dawn", &ctx())
        .unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&ct).unwrap();
    for i in 0..raw.len() {
        let mut t = raw.clone();
        t[i] ^= 0x01;
        let err = ring.open_bytes(&t, &ctx()).unwrap_err();
        match i {
            0 => assert_eq!(err, EnvelopeError::Version(0x00)),
            1..=4 => assert!(matches!(err, EnvelopeError::UnknownKey(_))),
            _ => assert_eq!(err, EnvelopeError::Decrypt),
        }
    }
    for n in 0..raw.len() {
        assert!(ring.open_bytes(&raw[..n], &ctx()).is_err());
    }
    assert_eq!(
        ring.open_bytes(&raw[..20], &ctx()).unwrap_err(),
        EnvelopeError::Truncated
    );
    assert_eq!(
        ring.open("not base64!", &ctx()).unwrap_err(),
        EnvelopeError::Encoding
    );
}

#[test]
fn wrong_context_and_wrong_key_fail() {
    let ring = Keyring::new(key(1, 1));
    let ct = ring.seal(&SeededRandom::new(4), b"x", &ctx()).unwrap();
    assert_eq!(
        ring.open(&ct, &Context::new("user:42", "public"))
            .unwrap_err(),
        EnvelopeError::Decrypt
    );
    assert_eq!(
        ring.open(&ct, &Context::new("user:4", "2pii")).unwrap_err(),
        EnvelopeError::Decrypt
    );
    let other = Keyring::new(key(1, 2)); // same id, different bytes
    assert_eq!(other.open(&ct, &ctx()).unwrap_err(), EnvelopeError::Decrypt);
    let foreign = Keyring::new(key(2, 1));
    assert_eq!(
        foreign.open(&ct, &ctx()).unwrap_err(),
        EnvelopeError::UnknownKey(1)
    );
}

#[test]
fn rotation_and_retirement() {
    let rng = SeededRandom::new(5);
    let mut ring = Keyring::new(key(1, 1));
    let old = ring.seal(&rng, b"old", &ctx()).unwrap();
    ring.rotate(key(2, 2)).unwrap();
    assert_eq!(ring.active_id(), 2);
    assert_eq!(ring.open(&old, &ctx()).unwrap(), b"old");
    let new = ring.seal(&rng, b"new", &ctx()).unwrap();
    assert_eq!(
        &URL_SAFE_NO_PAD.decode(&new).unwrap()[1..5],
        &2u32.to_be_bytes()
    );
    assert_eq!(
        ring.rotate(key(1, 3)).unwrap_err(),
        EnvelopeError::DuplicateKey(1)
    );
    assert_eq!(ring.retire(2).unwrap_err(), EnvelopeError::ActiveKey(2));
    ring.retire(1).unwrap();
    assert_eq!(
        ring.open(&old, &ctx()).unwrap_err(),
        EnvelopeError::UnknownKey(1)
    );
    assert_eq!(ring.retire(1).unwrap_err(), EnvelopeError::UnknownKey(1));
    assert_eq!(ring.open(&new, &ctx()).unwrap(), b"new");
}

#[test]
fn data_key_wrapping() {
    let rng = SeededRandom::new(6);
    let mut ring = Keyring::new(key(1, 1));
    let sealed = ring
        .seal_with_data_key(&rng, b"record body", &ctx())
        .unwrap();
    assert_eq!(
        ring.open_with_data_key(&sealed, &ctx()).unwrap(),
        b"record body"
    );
    ring.rotate(key(2, 2)).unwrap();
    assert_eq!(
        ring.open_with_data_key(&sealed, &ctx()).unwrap(),
        b"record body"
    );
    assert!(
        ring.open_with_data_key(&sealed, &Context::new("user:1", "pii"))
            .is_err()
    );
    let mut swapped = sealed.clone();
    swapped.ciphertext = ring.seal(&rng, b"zz", &ctx()).unwrap();
    assert!(ring.open_with_data_key(&swapped, &ctx()).is_err());
}

#[test]
fn keys_come_from_base64_secrets_and_never_print() {
    assert_eq!(
        Key::from_base64(1, "c2hvcnQ").unwrap_err(),
        EnvelopeError::InvalidKey
    );
    assert_eq!(
        Key::from_base64(1, "!!!").unwrap_err(),
        EnvelopeError::InvalidKey
    );
    let k = Key::from_base64(1, &URL_SAFE_NO_PAD.encode([0xAB; 32])).unwrap();
    let dbg = format!("{k:?} {:?}", Keyring::new(k.clone()));
    assert!(
        !dbg.contains("171") && !dbg.to_lowercase().contains("ab, "),
        "{dbg}"
    );
    assert!(dbg.contains("redacted"));
}
