//! The workspace's one hex helper: lower-case encoding and digit values.
//!
//! ```
//! assert_eq!(edge_ports::hex::encode(&[0x0f, 0xa0]), "0fa0");
//! assert_eq!(edge_ports::hex::digit(b'F'), Some(15));
//! assert_eq!(edge_ports::hex::digit(b'g'), None);
//! ```

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push(&mut out, bytes);
    out
}

/// Appends `bytes` as lower-case hex to `out`.
pub fn push(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// The value of one hex digit, either case.
pub fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Hex text (either case) as bytes; `None` on an odd length or a non-digit.
///
/// ```
/// assert_eq!(edge_ports::hex::decode("0fA0"), Some(vec![0x0f, 0xa0]));
/// assert_eq!(edge_ports::hex::decode("0g"), None);
/// ```
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}
