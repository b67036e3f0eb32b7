//! Markup breaks: closing the raw-text element the value lands in and
//! opening new markup (`</title><img src=x>`, `</textarea><script>`,
//! `';</script>`). Adds `xss-context-break` (dangling markup, the other way
//! to break a context, is read by [`super::attributes`]).

use super::is_letter;

/// Elements whose content is raw text: markup inside them is inert until
/// their closing tag, which is what an injection into them sends first.
const RAW_TEXT: &[&[u8]] = &[
    b"title",
    b"textarea",
    b"script",
    b"style",
    b"noscript",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
];

/// New markup after leaving the raw-text element the value lands in:
/// `</title><img src=x>`, `</style/</title/</textarea/</script/--!>`.
/// (`"><b>` alone is not counted: pasted HTML fragments look the same.)
pub(super) fn context_break(text: &[u8]) -> bool {
    let tag_at = |p: usize| {
        text.get(p + 1).is_some_and(|&c| {
            is_letter(c) || (c == b'/' && text.get(p + 2).is_some_and(|&d| is_letter(d)))
        })
    };
    // Closing raw-text tags: two in a row, or one followed by a new tag.
    let mut closed = 0;
    for p in memchr::memchr_iter(b'<', text) {
        if text.get(p + 1) != Some(&b'/') {
            if closed > 0 && tag_at(p) {
                return true;
            }
            continue;
        }
        let name = &text[p + 2..];
        let name_len = name.iter().take_while(|&&c| is_letter(c)).count();
        let end = name.get(name_len);
        // `</script>`, `';</script>`: ending the script block the value is
        // echoed into, from its first byte (not prose about the tag).
        if &name[..name_len] == b"script"
            && matches!(end, None | Some(b'>' | b'/' | b' '))
            && text[..p]
                .iter()
                .all(|&c| c <= b' ' || b"'\";)}]*/-".contains(&c))
        {
            return true;
        }
        if RAW_TEXT.contains(&&name[..name_len]) && matches!(end, Some(b'>' | b'/' | b' ')) {
            closed += 1;
            if closed >= 2 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn closing_a_raw_text_element_then_new_markup() {
        assert_fires("</title><img src=x>", "xss-context-break");
        assert_fires("';</script>", "xss-context-break");
    }

    #[test]
    fn closing_tags_named_in_prose() {
        assert_quiet("close it with </title> at the end", "xss-context-break");
        assert_quiet("\"><b>pasted</b>", "xss-context-break");
    }
}
