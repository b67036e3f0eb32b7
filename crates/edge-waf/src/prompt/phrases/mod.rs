//! Instructions aimed at the model, matched on words rather than exact
//! strings: a pattern is a few slots of word sets that must appear in order
//! with at most a few other words between them, and every word also matches
//! its scrambled spellings. "Ignore all previous instructions", "pls
//! disregard the prior rules", "ignroe prevoius insturctions" are one
//! pattern.

use super::text::Word;

mod exfiltration;
mod hijack;
mod instructions;
mod persona;

pub(crate) use exfiltration::EXFILTRATE;
pub(crate) use hijack::HIJACK;
pub(crate) use instructions::{OVERRIDE, REASSIGN};
pub(crate) use persona::{PERSONA, UNBOUND_ROLEPLAY};

/// One slot: any of these words.
pub(crate) type Slot = &'static [&'static str];

/// Slots in order, at most `gap` other words between two slots.
pub(crate) struct Pattern {
    pub(crate) slots: &'static [Slot],
    pub(crate) gap: usize,
}

impl Pattern {
    /// The index of the first word of the first match, if any.
    pub(crate) fn find(&self, words: &[Word<'_>]) -> Option<usize> {
        let (first, rest) = self.slots.split_first()?;
        (0..words.len()).find(|&i| words[i].is_any(first) && self.rest_from(words, i + 1, rest))
    }

    fn rest_from(&self, words: &[Word<'_>], from: usize, slots: &[Slot]) -> bool {
        let Some((slot, rest)) = slots.split_first() else {
            return true;
        };
        let end = (from + self.gap + 1).min(words.len());
        (from..end).any(|j| words[j].is_any(slot) && self.rest_from(words, j + 1, rest))
    }
}

/// True when one of `patterns` matches `text` (tests).
#[cfg(test)]
fn hits(patterns: &[Pattern], text: &str) -> bool {
    let folded = super::text::fold(text);
    let w = super::text::words(&folded, 10_000);
    patterns.iter().any(|p| p.find(&w).is_some())
}
