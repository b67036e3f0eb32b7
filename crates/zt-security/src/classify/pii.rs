//! PII detectors: email, phone, US SSN, payment cards, IPv4/IPv6.
//! All scanning is over ASCII bytes, so no UTF-8 boundary can be split.

use super::{FindingKind, Hit};

const PHONE_KEYS: &[&str] = &[
    "phone",
    "mobile",
    "tel",
    "telephone",
    "cell",
    "fax",
    "msisdn",
];
const CARD_KEYS: &[&str] = &[
    "card",
    "cc",
    "ccnum",
    "pan",
    "credit",
    "visa",
    "amex",
    "mastercard",
    "payment",
];
const SSN_KEYS: &[&str] = &["ssn", "social"];

fn segments(key: &str) -> Vec<String> {
    super::secret::key_segments(key)
}

fn key_has(key: Option<&str>, words: &[&str]) -> bool {
    key.is_some_and(|k| segments(k).iter().any(|s| words.contains(&s.as_str())))
}

/// The key names a field whose numbers may be PII.
pub(crate) fn key_has_context(key: &str) -> bool {
    let k = Some(key);
    key_has(k, PHONE_KEYS) || key_has(k, CARD_KEYS) || key_has(k, SSN_KEYS)
}

fn hit(out: &mut Vec<Hit>, kind: FindingKind, confidence: f32, reason: &'static str) {
    if !out.iter().any(|h| h.kind == kind) {
        out.push(Hit {
            kind,
            confidence,
            reason,
        });
    }
}

pub(crate) fn detect(key: Option<&str>, value: &str, out: &mut Vec<Hit>) {
    let b = value.as_bytes();
    if b.contains(&b'@') && has_email(b) {
        hit(out, FindingKind::Email, 0.95, "email address syntax");
    }
    if b.contains(&b':') && has_ipv6(value) {
        hit(out, FindingKind::Ipv6, 0.85, "valid IPv6 address");
    }
    let ctx_lower = value.to_ascii_lowercase();
    let card_ctx = key_has(key, CARD_KEYS)
        || [
            "card",
            "credit",
            "visa",
            "mastercard",
            "amex",
            "cc#",
            "payment",
        ]
        .iter()
        .any(|w| ctx_lower.contains(w));
    let phone_key = key_has(key, PHONE_KEYS);
    let ssn_key = key_has(key, SSN_KEYS)
        || ctx_lower.contains("ssn")
        || ctx_lower.contains("social security");
    // Runs of digits and separators.
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_digit() || c == b'+' || c == b'(')
            || (i > 0 && b[i - 1].is_ascii_alphanumeric())
        {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len()
            && (b[i].is_ascii_digit() || matches!(b[i], b' ' | b'-' | b'.' | b'(' | b')' | b'+'))
        {
            i += 1;
        }
        let mut end = i;
        while end > start && !b[end - 1].is_ascii_digit() && b[end - 1] != b')' {
            end -= 1;
        }
        if end < b.len() && b[end].is_ascii_alphabetic() {
            continue; // glued to letters: an id, not a number
        }
        classify_run(&b[start..end], card_ctx, phone_key, ssn_key, out);
    }
}

fn classify_run(run: &[u8], card_ctx: bool, phone_key: bool, ssn_key: bool, out: &mut Vec<Hit>) {
    let digits: Vec<u8> = run
        .iter()
        .filter(|c| c.is_ascii_digit())
        .map(|c| c - b'0')
        .collect();
    let groups: Vec<&[u8]> = run
        .split(|c| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let seps: Vec<u8> = run
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    // IPv4: four dot-separated octets.
    if groups.len() == 4 && seps.iter().all(|&c| c == b'.') && seps.len() == 3 {
        if groups.iter().all(|g| g.len() <= 3 && parse(g) <= 255) {
            hit(out, FindingKind::Ipv4, 0.9, "dotted-quad IPv4 address");
        }
        return;
    }
    if (13..=19).contains(&digits.len())
        && seps.iter().all(|&c| c == b' ' || c == b'-')
        && luhn(&digits)
        && iin(&digits).is_some()
    {
        {
            let conf = if card_ctx { 0.95 } else { 0.7 };
            hit(
                out,
                FindingKind::CreditCard,
                conf,
                "Luhn-valid number in a card IIN range",
            );
            return;
        }
    }
    if digits.len() == 9 && valid_ssn(run, &groups, ssn_key) {
        hit(
            out,
            FindingKind::UsSsn,
            if ssn_key { 0.95 } else { 0.75 },
            "US SSN format passing validity rules",
        );
        return;
    }
    let ssn_shaped =
        groups.len() == 3 && groups[0].len() == 3 && groups[1].len() == 2 && groups[2].len() == 4;
    if !ssn_shaped && is_phone(run, &digits, &groups, &seps, phone_key) {
        hit(
            out,
            FindingKind::Phone,
            if phone_key { 0.9 } else { 0.7 },
            "phone number format (E.164 or national)",
        );
    }
}

fn parse(g: &[u8]) -> u32 {
    g.iter().fold(0u32, |a, &c| {
        a.saturating_mul(10).saturating_add(u32::from(c - b'0'))
    })
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                if x * 2 > 9 { x * 2 - 9 } else { x * 2 }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iin(d: &[u8]) -> Option<&'static str> {
    let p = |n: usize| d.iter().take(n).fold(0u32, |a, &x| a * 10 + u32::from(x));
    let len = d.len();
    match () {
        _ if d[0] == 4 && matches!(len, 13 | 16 | 19) => Some("visa"),
        _ if (51..=55).contains(&p(2)) && len == 16 => Some("mastercard"),
        _ if (2221..=2720).contains(&p(4)) && len == 16 => Some("mastercard"),
        _ if matches!(p(2), 34 | 37) && len == 15 => Some("amex"),
        _ if (p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3))) && len >= 16 => {
            Some("discover")
        }
        _ if (3528..=3589).contains(&p(4)) && len >= 16 => Some("jcb"),
        _ if (p(2) == 36 || (300..=305).contains(&p(3)) || matches!(p(2), 38 | 39))
            && len >= 14 =>
        {
            Some("diners")
        }
        _ if p(2) == 62 && len >= 16 => Some("unionpay"),
        _ => None,
    }
}

/// Presidio's SSN invalidation rules.
fn valid_ssn(run: &[u8], groups: &[&[u8]], ssn_key: bool) -> bool {
    let seps: Vec<u8> = run
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    let shaped = match groups.len() {
        3 => {
            groups[0].len() == 3
                && groups[1].len() == 2
                && groups[2].len() == 4
                && seps.len() == 2
                && seps[0] == seps[1]
        }
        1 => ssn_key, // bare 9 digits only under an SSN key
        _ => false,
    };
    if !shaped {
        return false;
    }
    let d: Vec<u8> = run.iter().filter(|c| c.is_ascii_digit()).copied().collect();
    let (area, group, serial) = (&d[0..3], &d[3..5], &d[5..9]);
    !(d.iter().all(|&c| c == d[0])
        || group == b"00"
        || serial == b"0000"
        || area == b"000"
        || area == b"666"
        || area[0] == b'9')
}

fn is_phone(run: &[u8], digits: &[u8], groups: &[&[u8]], seps: &[u8], phone_key: bool) -> bool {
    let n = digits.len();
    if run.first() == Some(&b'+') {
        return (8..=15).contains(&n) && digits[0] != 0;
    }
    if phone_key && (7..=15).contains(&n) {
        return true;
    }
    if groups.len() < 2 || seps.contains(&b'+') {
        return false;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let parens = run.first() == Some(&b'(') && run.contains(&b')');
    // NANP: 3-3-4, optionally with a leading 1.
    let nanp = lens == [3, 3, 4] || lens == [1, 3, 3, 4] && digits[0] == 1;
    // Other national formats: 9–12 digits in groups of 2–4 separated by spaces/dashes/parentheses.
    let national = (9..=12).contains(&n)
        && lens.iter().all(|&l| (2..=5).contains(&l))
        && digits[0] == 0
        && seps.iter().all(|&c| matches!(c, b' ' | b'-' | b'(' | b')'));
    nanp || national || (parens && (10..=12).contains(&n))
}

fn has_email(b: &[u8]) -> bool {
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let dom = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    b.iter()
        .enumerate()
        .filter(|&(_, &c)| c == b'@')
        .any(|(at, _)| {
            let l = b[..at].iter().rev().take_while(|&&c| local(c)).count();
            let d: &[u8] = &b[at + 1..];
            let dl = d.iter().take_while(|&&c| dom(c)).count();
            let domain = d[..dl].strip_suffix(b".").unwrap_or(&d[..dl]);
            let tld = domain.rsplit(|&c| c == b'.').next().unwrap_or(b"");
            l > 0
                && domain.contains(&b'.')
                && tld.len() >= 2
                && tld.iter().all(u8::is_ascii_alphabetic)
        })
}

fn has_ipv6(value: &str) -> bool {
    value
        .split(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
        .filter(|t| {
            t.matches(':').count() >= 2 && t.split(':').filter(|g| !g.is_empty()).count() >= 2
        })
        .any(|t| t.parse::<std::net::Ipv6Addr>().is_ok())
}
