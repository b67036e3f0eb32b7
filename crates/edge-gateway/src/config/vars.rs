//! `${NAME}` in a config file: a deployment's variable (the Access team,
//! the JWT issuer), filled in when the config is loaded, so one committed
//! file per environment serves every account. Secrets are never variables:
//! a config names them and they are looked up at run time.

use super::{ConfigError, GatewayConfig};

/// The longest variable name.
const MAX_NAME: usize = 64;

/// `text` with every `${NAME}` (`NAME` of `A-Z`, `0-9`, `_`) replaced by
/// `lookup(NAME)`, escaped for a TOML or JSON basic string. A variable with
/// no value is an error naming it.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').filter(|&e| {
            e > 0
                && e <= MAX_NAME
                && after[..e]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
        let Some(end) = end else {
            // Not a variable (`${` in a template string): kept as is.
            out.push_str("${");
            rest = after;
            continue;
        };
        let name = &after[..end];
        let value = lookup(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            ConfigError::at(
                &format!("${{{name}}}"),
                format!(
                    "the variable {name} is not set (wrangler `--var {name}:…` or the environment)"
                ),
            )
        })?;
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl GatewayConfig {
    /// Parses TOML (or JSON, when it starts with `{`) after filling in its
    /// `${NAME}` variables from `lookup`.
    pub fn from_text_with_vars(
        text: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let filled = interpolate(text, lookup)?;
        if filled.trim_start().starts_with('{') {
            Self::from_json(&filled)
        } else {
            Self::from_toml(&filled)
        }
    }

    /// Every `${NAME}` a config text uses, in order of first use.
    pub fn variables(text: &str) -> Vec<String> {
        let names = std::cell::RefCell::new(Vec::<String>::new());
        let _ = interpolate(text, &|name| {
            let mut seen = names.borrow_mut();
            if !seen.iter().any(|n| n == name) {
                seen.push(name.to_owned());
            }
            Some("x".into())
        });
        names.into_inner()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn variables_are_filled_and_escaped_and_missing_ones_named() {
        let vars = |n: &str| match n {
            "TEAM" => Some("acme".to_owned()),
            "TRICKY" => Some("a\"b\\c\n".to_owned()),
            _ => None,
        };
        assert_eq!(
            interpolate("t = \"${TEAM}\"", &vars).unwrap(),
            "t = \"acme\""
        );
        assert_eq!(
            interpolate("x = \"${TRICKY}\"", &vars).unwrap(),
            "x = \"a\\\"b\\\\c\""
        );
        assert_eq!(
            interpolate("keep ${lower} and ${", &vars).unwrap(),
            "keep ${lower} and ${"
        );
        let err = interpolate("a = \"${MISSING}\"", &vars).unwrap_err();
        assert_eq!(err.field, "${MISSING}");
        assert_eq!(GatewayConfig::variables("${A} ${B} ${A}"), vec!["A", "B"]);
    }
}
