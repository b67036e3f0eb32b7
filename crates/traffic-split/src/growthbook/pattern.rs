//! `$regex` support: a per-thread cache of compiled patterns, each with a
//! conservative literal prefilter.
//!
//! `regex-lite` is small (good for WASM size) but scans without literal
//! optimisations, about a microsecond per short haystack. Most targeting
//! regexes contain literals every match must include (`Firefox/\d+` needs
//! `Firefox/`), so checking those with a substring search first skips the
//! regex for nearly all non-matching users. The prefilter is only built when
//! the pattern is simple enough to analyse exactly; otherwise the regex runs.

use std::cell::RefCell;
use std::collections::HashMap;

use regex_lite::{Regex, RegexBuilder};

/// Compiled regexes cached per thread; the cache is cleared when it grows past this.
const CACHE_CAP: usize = 512;

struct Compiled {
    regex: Regex,
    /// Literals every match contains (case-folded to ASCII lowercase when insensitive).
    required: Vec<String>,
}

thread_local! {
    static CACHE: RefCell<[HashMap<String, Option<Compiled>>; 2]> =
        RefCell::new([HashMap::new(), HashMap::new()]);
}

/// `new RegExp(pattern, insensitive ? "i" : "").test(haystack)` with `regex-lite`
/// syntax; patterns that do not compile never match.
pub(crate) fn regex_test(pattern: &str, haystack: &str, insensitive: bool) -> bool {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let map = &mut cache[usize::from(insensitive)];
        if let Some(compiled) = map.get(pattern) {
            return compiled
                .as_ref()
                .is_some_and(|c| c.is_match(haystack, insensitive));
        }
        if map.len() >= CACHE_CAP {
            map.clear();
        }
        let compiled = compile(pattern, insensitive);
        let matched = compiled
            .as_ref()
            .is_some_and(|c| c.is_match(haystack, insensitive));
        map.insert(pattern.to_owned(), compiled);
        matched
    })
}

fn compile(pattern: &str, insensitive: bool) -> Option<Compiled> {
    let regex = RegexBuilder::new(pattern)
        .case_insensitive(insensitive)
        .build()
        .ok()?;
    let mut required = required_literals(pattern).unwrap_or_default();
    if insensitive {
        required.iter_mut().for_each(|l| l.make_ascii_lowercase());
    }
    Some(Compiled { regex, required })
}

impl Compiled {
    fn is_match(&self, haystack: &str, insensitive: bool) -> bool {
        let present = |lit: &String| {
            if insensitive {
                contains_ignore_ascii_case(haystack.as_bytes(), lit.as_bytes())
            } else {
                haystack.contains(lit.as_str())
            }
        };
        self.required.iter().all(present) && self.regex.is_match(haystack)
    }
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Literal runs that every match of `pattern` contains, or `None` when the
/// pattern has a top-level `|`, inline flags, or escapes this analysis does not
/// model. Only call on patterns that compile.
fn required_literals(pattern: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut run = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '\\' => {
                let e = *chars.get(i)?;
                i += 1;
                if e.is_ascii_punctuation() && e != '<' && e != '>' {
                    run.push(e); // escaped punctuation is a literal
                } else if "dDwWsSbBAznrtfv<>".contains(e) {
                    flush(&mut run, &mut out); // classes, assertions, control characters
                } else {
                    return None; // \x41, \u{..}, \p{..}: payloads not modelled
                }
            }
            '|' => return None,
            '(' => {
                if chars.get(i) == Some(&'?') && !matches!(chars.get(i + 1), Some(':' | 'P' | '<'))
                {
                    return None; // inline flags change how the rest matches
                }
                flush(&mut run, &mut out);
                i = skip_group(&chars, i)?;
            }
            '[' => {
                flush(&mut run, &mut out);
                i = skip_class(&chars, i)?;
            }
            '?' | '*' | '+' => {
                // The quantified character may be optional (`x?`, `x*`, and `x+*`,
                // which repeats `x+` zero times), so it is never required.
                run.pop();
                flush(&mut run, &mut out);
            }
            '{' => {
                run.pop();
                flush(&mut run, &mut out);
                i += chars.get(i..)?.iter().position(|&ch| ch == '}')? + 1;
            }
            '.' | '^' | '$' => flush(&mut run, &mut out),
            ')' | ']' | '}' => return None,
            literal => run.push(literal),
        }
    }
    flush(&mut run, &mut out);
    Some(out)
}

fn flush(run: &mut String, out: &mut Vec<String>) {
    if !run.is_empty() {
        out.push(std::mem::take(run));
    }
}

/// The index just past the `)` closing a group whose `(` is before `i`.
fn skip_group(chars: &[char], mut i: usize) -> Option<usize> {
    let mut depth = 1;
    while depth > 0 {
        match *chars.get(i)? {
            '\\' => i += 1,
            '[' => i = skip_class(chars, i + 1)? - 1,
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    Some(i)
}

/// The index just past the `]` closing a class whose `[` is before `i`
/// (nested classes, escapes and a leading literal `]` included).
fn skip_class(chars: &[char], mut i: usize) -> Option<usize> {
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    loop {
        match *chars.get(i)? {
            '\\' => i += 2,
            '[' => i = skip_class(chars, i + 1)?,
            ']' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extracts_required_literals() {
        let lits = |p: &str| required_literals(p);
        assert_eq!(lits(r"Firefox/\d+"), Some(vec!["Firefox/".into()]));
        assert_eq!(lits("(Edge|Opera)/7"), Some(vec!["/7".into()]));
        assert_eq!(
            lits(r"^a\.bc?d{2}[x\]y]zz+$"),
            Some(vec!["a.b".into(), "z".into()])
        );
        // `d+*` repeats `d+` zero or more times: `d` is not required.
        assert_eq!(lits("1d+*"), Some(vec!["1".into()]));
        assert_eq!(lits("a|b"), None);
        assert_eq!(lits("(?i)abc"), None);
        assert_eq!(lits(r"\x41bc"), None);
        assert_eq!(lits("(?:ab)cd"), Some(vec!["cd".into()]));
    }

    #[test]
    fn prefilter_respects_case_insensitivity() {
        assert!(regex_test("firefox/[0-9]+", "Mozilla Firefox/128", true));
        assert!(!regex_test("firefox/[0-9]+", "Mozilla Firefox/128", false));
        assert!(!regex_test("(unclosed", "(unclosed", false));
    }

    proptest! {
        /// The prefilter never rejects a haystack the regex matches.
        #[test]
        fn prefilter_has_no_false_negatives(
            pattern in r"[abA1\.\\()|?*+{}\[\]^$,dwsbxPi:<>=-]{0,12}",
            haystack in "[abAB.\\-1 ]{0,12}",
            insensitive in any::<bool>(),
        ) {
            if let Ok(re) = RegexBuilder::new(&pattern).case_insensitive(insensitive).build() {
                prop_assert_eq!(regex_test(&pattern, &haystack, insensitive), re.is_match(&haystack));
            }
        }
    }
}
