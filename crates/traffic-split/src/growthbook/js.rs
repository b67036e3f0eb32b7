//! JavaScript value semantics (truthiness, `String(x)`, `Number(x)`, `<`, `===`)
//! over JSON values, as GrowthBook's JavaScript SDK applies them.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

/// JSON `null`, returned by reference for missing paths.
pub(crate) static NULL: Value = Value::Null;
/// The empty string, GrowthBook's "missing hash attribute" value.
pub(crate) static EMPTY_STR: Value = Value::String(String::new());

/// `!!value` in JavaScript.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => {
            let f = num(n);
            f != 0.0 && !f.is_nan()
        }
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A JSON number as a JavaScript number.
pub(crate) fn num(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// `String(f)` for a JavaScript number.
pub(crate) fn number_to_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    let abs = f.abs();
    if (1e-6..1e21).contains(&abs) {
        // Rust prints the shortest round-trip digits without an exponent, as JS does here.
        return format!("{f}");
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        _ => s,
    }
}

/// `String(n)` for a JSON number (integers keep their exact digits).
pub(crate) fn json_number_to_string(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        n.to_string()
    } else {
        number_to_string(num(n))
    }
}

/// `String(value)` (also `value + ""`) in JavaScript.
pub(crate) fn to_js_string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Number(n) => Cow::Owned(json_number_to_string(n)),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Null => Cow::Borrowed("null"),
        Value::Array(items) => {
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !item.is_null() {
                    out.push_str(&to_js_string(item));
                }
            }
            Cow::Owned(out)
        }
        Value::Object(_) => Cow::Borrowed("[object Object]"),
    }
}

/// `Number(value)` (also `value * 1`) in JavaScript.
pub(crate) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => num(n),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_js_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// JavaScript's `StringToNumber`: trimmed decimal, `Infinity`, or `0x`/`0o`/`0b` literals.
pub(crate) fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return parse_radix(digits, radix);
        }
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // Rust's float grammar also accepts "inf"/"nan"; JS only accepts these characters.
    if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

fn parse_radix(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut acc = 0.0_f64;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => acc = acc * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    acc
}

/// `parseInt(s, 10)`-like parsing used by query-string overrides (`0x` is hexadecimal).
pub(crate) fn parse_int(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(is_js_whitespace);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (digits, radix) = match t.get(..2) {
        Some("0x" | "0X") => (&t[2..], 16),
        _ => (t, 10),
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let v = parse_radix(&digits[..end], radix);
    Some(if neg { -v } else { v })
}

/// Compares strings by UTF-16 code units, as JavaScript does.
pub(crate) fn cmp_js_strings(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

enum Primitive<'a> {
    Str(Cow<'a, str>),
    Num(f64),
}

fn to_primitive(v: &Value) -> Primitive<'_> {
    match v {
        Value::String(s) => Primitive::Str(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => Primitive::Str(to_js_string(v)),
        other => Primitive::Num(to_number(other)),
    }
}

/// JavaScript's abstract relational comparison; `None` when either side is `NaN`.
pub(crate) fn loose_compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (to_primitive(a), to_primitive(b)) {
        (Primitive::Str(x), Primitive::Str(y)) => Some(cmp_js_strings(&x, &y)),
        (x, y) => {
            let nx = match x {
                Primitive::Str(s) => string_to_number(&s),
                Primitive::Num(n) => n,
            };
            let ny = match y {
                Primitive::Str(s) => string_to_number(&s),
                Primitive::Num(n) => n,
            };
            nx.partial_cmp(&ny)
        }
    }
}

/// `a === b`: arrays and objects are never identical (they are distinct JS objects).
pub(crate) fn strict_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => num(x) == num(y),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// Structural equality (GrowthBook compares `JSON.stringify` outputs); numbers by value.
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => strict_equals(a, b),
    }
}

/// GrowthBook's `toString`: strings as-is, anything else as JSON (numbers JS-formatted).
pub(crate) fn to_sticky_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => json_number_to_string(n),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_like_javascript() {
        for (f, s) in [
            (5.0, "5"),
            (-0.0, "0"),
            (1.5, "1.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (123_456_789_012.0, "123456789012"),
        ] {
            assert_eq!(number_to_string(f), s);
        }
        assert_eq!(to_js_string(&json!(1.0)), "1");
        assert_eq!(to_js_string(&json!([1, null, "a", [2, 3]])), "1,,a,2,3");
    }

    #[test]
    fn coercions_follow_javascript() {
        assert_eq!(to_number(&json!(" 8 ")), 8.0);
        assert_eq!(to_number(&json!("")), 0.0);
        assert_eq!(to_number(&json!("0x1A")), 26.0);
        assert!(to_number(&json!("inf")).is_nan());
        assert_eq!(to_number(&json!("-Infinity")), f64::NEG_INFINITY);
        assert_eq!(to_number(&json!([7])), 7.0);
        assert_eq!(parse_int("2.054"), Some(2.0));
        assert_eq!(parse_int("foo"), None);
        assert_eq!(
            loose_compare(&json!("10"), &json!("9")),
            Some(Ordering::Less)
        );
        assert_eq!(
            loose_compare(&json!("10"), &json!(9)),
            Some(Ordering::Greater)
        );
        assert_eq!(loose_compare(&json!("abc"), &json!(1)), None);
        assert!(!strict_equals(&json!([1]), &json!([1])));
        assert!(json_equal(&json!({"a": [1.0]}), &json!({"a": [1]})));
    }
}
