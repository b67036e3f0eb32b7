//! Link hosts disguised from whoever reads the link (the filter-evasion
//! forms of the XSS cheat sheets): dword, octal and hex IPs
//! (`http://1113982867/`, `http://0x42.0x0000066.0x7.0x93/`), userinfo
//! (`http://trusted.example@evil/`), a non-numeric "port"
//! (`http://google:ha.ckers.org`), a scheme split by whitespace. Adds
//! `xss-obfuscated-url` through [`super::attributes`].

use super::is_letter;

/// `http://1113982867/`, `http://0x42.0x0000066.0x7.0x93/`,
/// `http://0102.0146.0007.00000223/`, `htt p://6 6.0.0.1/`,
/// `http://google:ha.ckers.org`, `http://ha.ckers.org@google`: a URL whose
/// host is disguised from whoever reads the link (the filter-evasion forms
/// of the XSS cheat sheets). A dotted-quad IP or a trailing dot is no
/// disguise.
pub(super) fn obfuscated_url(value: &[u8]) -> bool {
    let url = match value.first() {
        Some(b'"' | b'\'' | b'`') => &value[1..],
        _ => value,
    };
    let url = url.trim_ascii_start();
    let authority_start = if let Some(rest) = url.strip_prefix(b"//") {
        rest
    } else {
        let Some(colon) = url.iter().take(16).position(|&b| b == b':') else {
            return false;
        };
        let scheme = &url[..colon];
        if !url[colon + 1..].starts_with(b"//")
            || !scheme.iter().all(|&b| is_letter(b) || b <= b' ')
            || !scheme.first().is_some_and(|&b| is_letter(b))
        {
            return false;
        }
        // `htt p://`, `h⏎tt⏎p://`: whitespace a URL parser drops.
        if scheme.iter().any(|&b| b <= b' ') {
            return true;
        }
        &url[colon + 3..]
    };
    let end = authority_start
        .iter()
        .take(256)
        .position(|&b| {
            matches!(
                b,
                b'/' | b'?' | b'#' | b'\\' | b'"' | b'\'' | b'`' | b'>' | b'<'
            )
        })
        .unwrap_or(authority_start.len().min(256));
    let authority = &authority_start[..end];
    // Userinfo: `http://trusted.example@evil/` shows one host, visits another.
    if authority.contains(&b'@') {
        return true;
    }
    let (host, port) = match authority.first() {
        // `[::1]:8080`
        Some(b'[') => match authority.iter().position(|&b| b == b']') {
            Some(p) => (&authority[..=p], authority[p + 1..].strip_prefix(b":")),
            None => return false,
        },
        _ => match authority.iter().position(|&b| b == b':') {
            Some(p) => (&authority[..p], Some(&authority[p + 1..])),
            None => (authority, None),
        },
    };
    // `http://google:ha.ckers.org`, `http://www.gohttp://…`: no port.
    if port.is_some_and(|p| p.is_empty() || !p.iter().all(u8::is_ascii_digit)) {
        return true;
    }
    numeric_host_disguised(host)
}

/// A host written as numbers other than a plain dotted quad: one or a few
/// decimal words (`1113982867`, `127.1`), octal (`0102.`) or hex (`0x42.`)
/// parts, or numbers split by whitespace (`6 6.0.0.1`).
fn numeric_host_disguised(host: &[u8]) -> bool {
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() {
        return false;
    }
    let mut labels = 0;
    let mut odd = false;
    for label in host.split(|&b| b == b'.') {
        let label_text = label.trim_ascii();
        if label_text.is_empty() {
            return false;
        }
        let hex = label_text.strip_prefix(b"0x");
        let ok = match hex {
            Some(h) => h.iter().all(u8::is_ascii_hexdigit),
            None => label_text.iter().all(|&b| b.is_ascii_digit() || b <= b' '),
        };
        if !ok {
            return false;
        }
        odd |= hex.is_some()
            || (label_text.len() > 1 && label_text[0] == b'0')
            || label_text.iter().any(|&b| b <= b' ')
            || label_text.len() > 3;
        labels += 1;
    }
    odd || labels < 4
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    use super::obfuscated_url;

    #[test]
    fn disguised_hosts() {
        assert!(obfuscated_url(b"http://1113982867/"));
        assert!(obfuscated_url(b"http://trusted.example@evil.example/"));
        assert_fires(
            "<a href=\"http://0x42.0x0000066.0x7.0x93/\">x</a>",
            "xss-obfuscated-url",
        );
    }

    #[test]
    fn plain_hosts_and_ports() {
        assert!(!obfuscated_url(b"http://127.0.0.1:8080/"));
        assert_quiet(
            "<a href=\"https://example.com./a\">x</a>",
            "xss-obfuscated-url",
        );
    }
}
