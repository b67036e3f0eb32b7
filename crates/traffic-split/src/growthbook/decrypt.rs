//! Decryption of GrowthBook's encrypted payloads (`ivBase64.cipherTextBase64`,
//! AES-CBC with PKCS#7 padding).

use aes::{Aes128, Aes256};
use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};

use super::GrowthBookError;

/// AES block (and IV) size in bytes.
const BLOCK: usize = 16;

/// Base64 as the browser's `atob` reads it: padding optional, trailing bits ignored.
const FORGIVING_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn decode_base64(input: &str) -> Option<Vec<u8>> {
    // `atob` ignores ASCII whitespace anywhere in its input.
    if input.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = input.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        return FORGIVING_BASE64.decode(compact).ok();
    }
    FORGIVING_BASE64.decode(input).ok()
}

/// Decrypts a GrowthBook encrypted payload (`encryptedFeatures`, `encryptedSavedGroups`).
///
/// `encrypted` is `ivBase64.cipherTextBase64`; `key_b64` is the SDK connection's
/// base64 key (128 or 256 bits). Every failure is a typed error: a malformed
/// key, string, IV or ciphertext, bad padding (usually a wrong key), or
/// non-UTF-8 plaintext (the JavaScript SDK would return replacement characters
/// there; treating it as an error catches wrong keys earlier).
///
/// ```
/// use traffic_split::growthbook::decrypt;
/// let plain = decrypt(
///     "m5ylFM6ndyOJA2OPadubkw==.Uu7ViqgKEt/dWvCyhI46q088PkAEJbnXKf3KPZjf9IEQQ+A8fojNoxw4wIbPX3aj",
///     "Zvwv/+uhpFDznZ6SX28Yjg==",
/// )?;
/// assert_eq!(plain, r#"{"feature":{"defaultValue":true}}"#);
/// # Ok::<(), traffic_split::growthbook::DecryptError>(())
/// ```
pub fn decrypt(encrypted: &str, key_b64: &str) -> Result<String, GrowthBookError> {
    let key = decode_base64(key_b64).ok_or(GrowthBookError::InvalidKeyEncoding)?;
    if key.len() != 16 && key.len() != 32 {
        return Err(GrowthBookError::InvalidKeyLength { len: key.len() });
    }
    let mut parts = encrypted.split('.');
    let iv_b64 = parts.next().unwrap_or_default();
    let cipher_b64 = parts.next().ok_or(GrowthBookError::InvalidEncryptedFormat(
        "expected \"ivBase64.cipherTextBase64\" (no '.' found)",
    ))?;
    let iv = decode_base64(iv_b64).ok_or(GrowthBookError::InvalidEncryptedFormat(
        "the IV is not valid base64",
    ))?;
    if iv.len() != BLOCK {
        return Err(GrowthBookError::InvalidEncryptedFormat(
            "the IV must decode to 16 bytes",
        ));
    }
    let cipher_text = decode_base64(cipher_b64).ok_or(GrowthBookError::InvalidEncryptedFormat(
        "the ciphertext is not valid base64",
    ))?;
    if cipher_text.is_empty() || cipher_text.len() % BLOCK != 0 {
        return Err(GrowthBookError::InvalidEncryptedFormat(
            "the ciphertext must be a non-empty multiple of 16 bytes",
        ));
    }
    let plain = if key.len() == 16 {
        cbc::Decryptor::<Aes128>::new_from_slices(&key, &iv)
            .map_err(|_| GrowthBookError::InvalidKeyLength { len: key.len() })?
            .decrypt_padded_vec::<Pkcs7>(&cipher_text)
    } else {
        cbc::Decryptor::<Aes256>::new_from_slices(&key, &iv)
            .map_err(|_| GrowthBookError::InvalidKeyLength { len: key.len() })?
            .decrypt_padded_vec::<Pkcs7>(&cipher_text)
    }
    .map_err(|_| GrowthBookError::BadPadding)?;
    String::from_utf8(plain).map_err(|_| GrowthBookError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockModeEncrypt;

    fn encrypt(plain: &str, key: &[u8], iv: &[u8; 16]) -> String {
        let ct = if key.len() == 16 {
            cbc::Encryptor::<Aes128>::new_from_slices(key, iv)
                .unwrap()
                .encrypt_padded_vec::<Pkcs7>(plain.as_bytes())
        } else {
            cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
                .unwrap()
                .encrypt_padded_vec::<Pkcs7>(plain.as_bytes())
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        format!("{}.{}", b64.encode(iv), b64.encode(ct))
    }

    #[test]
    fn round_trips_128_and_256_bit_keys() {
        let b64 = base64::engine::general_purpose::STANDARD;
        for key in [vec![7u8; 16], vec![9u8; 32]] {
            let enc = encrypt(r#"{"features":{}}"#, &key, &[3u8; 16]);
            assert_eq!(
                decrypt(&enc, &b64.encode(&key)).unwrap(),
                r#"{"features":{}}"#
            );
        }
    }

    #[test]
    fn failures_are_typed() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = b64.encode([1u8; 16]);
        let enc = encrypt("hello", &[1u8; 16], &[0u8; 16]);
        assert_eq!(
            decrypt(&enc, "%%%"),
            Err(GrowthBookError::InvalidKeyEncoding)
        );
        assert_eq!(
            decrypt(&enc, &b64.encode([1u8; 20])),
            Err(GrowthBookError::InvalidKeyLength { len: 20 })
        );
        assert!(matches!(
            decrypt("no-delimiter", &key),
            Err(GrowthBookError::InvalidEncryptedFormat(_))
        ));
        assert!(matches!(
            decrypt("", &key),
            Err(GrowthBookError::InvalidEncryptedFormat(_))
        ));
        let wrong = decrypt(&enc, &b64.encode([2u8; 16]));
        assert!(matches!(
            wrong,
            Err(GrowthBookError::BadPadding | GrowthBookError::InvalidUtf8)
        ));
    }
}
