//! Path segment decoding.

use edge_ports::hex::digit as hex_val;

use crate::ApiError;

/// Decodes `%XX` escapes in a path segment. Invalid escapes and non-UTF-8
/// results are client errors.
pub(crate) fn percent_decode(raw: &str) -> Result<String, ApiError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad_escape)?;
            let hi = hex_val(hex[0]).ok_or_else(bad_escape)?;
            let lo = hex_val(hex[1]).ok_or_else(bad_escape)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::bad_request("invalid_path", "the path does not decode to UTF-8"))
}

fn bad_escape() -> ApiError {
    ApiError::bad_request("invalid_path", "the path has an invalid %-escape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_rejects_bad_ones() {
        assert_eq!(percent_decode("a%2Fb%20c").unwrap(), "a/b c");
        assert_eq!(percent_decode("%E6%97%A5").unwrap(), "日");
        assert_eq!(percent_decode("plain").unwrap(), "plain");
        for bad in ["%", "%4", "%zz", "%ff"] {
            assert_eq!(percent_decode(bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
