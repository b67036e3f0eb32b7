//! The jailbreak vocabulary: personas and modes without rules.

use super::Pattern;

/// A persona or mode without rules: the jailbreak vocabulary. Each pattern
/// is weak on its own; several together are a jailbreak.
pub(crate) const PERSONA: &[Pattern] = &[
    Pattern {
        slots: &[&["do"], &["anything"], &["now"]],
        gap: 0,
    },
    Pattern {
        slots: &[
            &[
                "developer",
                "dan",
                "god",
                "jailbreak",
                "unrestricted",
                "unfiltered",
                "evil",
                "opposite",
                "debug",
                "maintenance",
            ],
            &["mode"],
        ],
        gap: 0,
    },
    Pattern {
        slots: &[&[
            "jailbreak",
            "jailbroken",
            "jailbreaking",
            "unfiltered",
            "uncensored",
            "amoral",
            "unethical",
            "unchained",
            "unrestricted",
        ]],
        gap: 0,
    },
    Pattern {
        slots: &[
            &["stay", "remain", "break", "breaking"],
            &["in", "out", "character"],
        ],
        gap: 1,
    },
    Pattern {
        slots: &[
            &[
                "not", "doesn't", "doesnt", "never", "won't", "wont", "don't", "dont",
            ],
            &[
                "follow", "follows", "obey", "obeys", "abide", "respect", "care",
            ],
            &[
                "any",
                "rules",
                "guidelines",
                "policies",
                "ethics",
                "laws",
                "morals",
                "restrictions",
                "about",
            ],
        ],
        gap: 1,
    },
    Pattern {
        slots: &[
            &[
                "no", "without", "any", "free", "beyond", "ignoring", "unbound", "bound",
            ],
            &[
                "restrictions",
                "limitations",
                "filters",
                "censorship",
                "rules",
                "guidelines",
                "ethics",
                "morals",
                "boundaries",
                "limits",
                "constraints",
                "policies",
                "safeguards",
                "disclaimers",
                "warnings",
                "caveats",
                "hesitation",
                "judgment",
                "judgement",
            ],
        ],
        gap: 2,
    },
    Pattern {
        slots: &[
            &["not"],
            &["bound", "restricted", "limited", "constrained"],
            &["by"],
        ],
        gap: 1,
    },
    Pattern {
        slots: &[
            &[
                "against",
                "violate",
                "violates",
                "violating",
                "break",
                "breaking",
                "bypass",
                "regardless",
                "despite",
                "ignoring",
                "disregarding",
            ],
            &[
                "policies",
                "policy",
                "guidelines",
                "rules",
                "ethics",
                "laws",
                "morals",
                "morality",
                "legality",
                "principles",
                "safeguards",
            ],
        ],
        gap: 3,
    },
    Pattern {
        slots: &[
            &["openai", "anthropic", "content", "usage", "safety"],
            &["policy", "policies", "guidelines", "rules", "filters"],
        ],
        gap: 1,
    },
    Pattern {
        slots: &[
            &["never", "not", "cannot", "wont", "won't", "don't", "dont"],
            &[
                "refuse", "refuses", "decline", "declines", "warn", "warns", "censor", "censors",
            ],
        ],
        gap: 1,
    },
    Pattern {
        slots: &[
            &["even"],
            &["if"],
            &["it", "the", "they", "its", "that"],
            &[
                "harmful",
                "illegal",
                "unethical",
                "immoral",
                "dangerous",
                "against",
                "harms",
                "offensive",
                "inappropriate",
            ],
        ],
        gap: 3,
    },
    Pattern {
        slots: &[&["no", "without"], &["matter"], &["what", "how"]],
        gap: 0,
    },
];

/// Playing a role defined by having no rules ("pretend you are an AI with
/// no ethics"): stronger than the vocabulary alone.
pub(crate) const UNBOUND_ROLEPLAY: &[Pattern] = &[Pattern {
    slots: &[
        &[
            "pretend", "act", "roleplay", "imagine", "behave", "simulate", "become", "you",
        ],
        &["you", "as", "be", "like", "are"],
        &[
            "no",
            "without",
            "never",
            "unrestricted",
            "unfiltered",
            "evil",
            "amoral",
            "unethical",
            "uncensored",
        ],
        &[
            "rules",
            "restrictions",
            "limits",
            "ethics",
            "morals",
            "filters",
            "guidelines",
            "boundaries",
            "ai",
            "assistant",
            "bot",
            "model",
            "chatbot",
            "limitations",
            "censorship",
        ],
    ],
    gap: 5,
}];
