//! Helpers for the SQLi family tests (each family module has its own), and
//! the rules the token scan in `mod.rs` adds by itself.

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

#[test]
fn system_objects_and_variables_count_anywhere() {
    assert_fires(
        "1 union select table_name from information_schema.tables",
        "sqli-object",
    );
    assert_fires("1 and @@version", "sqli-sysvar");
}

#[test]
fn prose_and_javascript_symbols_are_no_system_objects() {
    assert_quiet("the information about our schema", "sqli-object");
    // `@@iterator` is how JavaScript docs write a well-known symbol.
    assert_quiet("arrays implement @@iterator", "sqli-sysvar");
}

#[test]
fn a_hex_literal_after_sql_counts_at_paranoia_2() {
    let scanner = ThreatScanner::new(crate::ThreatConfig {
        paranoia: 2,
        ..crate::ThreatConfig::default()
    });
    let ids = |value: &str| -> Vec<&str> {
        scanner
            .rules_for(InputKind::Query, value)
            .iter()
            .map(|rule| rule.id)
            .collect()
    };
    assert!(ids("1 and 0x41=0x41").contains(&"sqli-hex"));
    // A colour or an address on its own is no hex literal after SQL.
    assert!(!ids("0x1f2e").contains(&"sqli-hex"));
}
