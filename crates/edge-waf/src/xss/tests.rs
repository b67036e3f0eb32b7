//! Helpers for the XSS family tests (each family module has its own).

use crate::{InputKind, ThreatScanner};

/// Rule ids that fire on `value` sent as a query parameter.
pub(super) fn rule_ids(value: &str) -> Vec<&'static str> {
    ThreatScanner::default()
        .rules_for(InputKind::Query, value)
        .iter()
        .map(|rule| rule.id)
        .collect()
}

/// `value` fires rule `id`.
pub(super) fn assert_fires(value: &str, id: &str) {
    let ids = rule_ids(value);
    assert!(
        ids.contains(&id),
        "{value:?} should fire {id}, fired {ids:?}"
    );
}

/// `value` does not fire rule `id`.
pub(super) fn assert_quiet(value: &str, id: &str) {
    let ids = rule_ids(value);
    assert!(
        !ids.contains(&id),
        "{value:?} should not fire {id}, fired {ids:?}"
    );
}
