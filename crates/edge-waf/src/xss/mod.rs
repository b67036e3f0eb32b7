//! XSS detection with a small HTML/JS scanner over normalised bytes: the
//! entry point, which runs the attack families in a fixed order.
//!
//! Tags are parsed (`<name attr=value ...`), so `a < b`, `<3` and `<b>` are
//! text; event-handler attributes, script-capable URIs and JS sinks reached
//! through a string break are what count. Each family adds its rules at most
//! once, in this order, so a finding lists rules the way it always did:
//! [tags] (and their [attributes], [links], [css]), [script_uris],
//! [sinks], [markup_breaks], [event_handlers] and [obfuscation].
//!
//! This module adds no rule of its own beyond what those families find:
//! `xss-script`, `xss-dangerous-tag`, `xss-suspect-tag`,
//! `xss-event-handler`, `xss-js-uri`, `xss-data-uri`, `xss-css`,
//! `xss-js-call`, `xss-js-break`, `xss-js-obfuscated`,
//! `xss-context-break` and `xss-obfuscated-url`.

mod attributes;
mod css;
mod event_handlers;
mod links;
mod markup_breaks;
mod obfuscation;
mod script_uris;
mod sinks;
mod tags;

use crate::rules::{self, Rule};

/// Appends `rule` unless it is already there.
fn add(out: &mut Vec<&'static Rule>, rule: &'static Rule) {
    if !out.iter().any(|found| found.id == rule.id) {
        out.push(rule);
    }
}

/// A letter of a normalised (lowercased) value.
fn is_letter(b: u8) -> bool {
    b.is_ascii_lowercase()
}

/// The value of a hex digit (0 for any other byte).
fn hex_value(b: u8) -> u8 {
    crate::normalize::hex(b).unwrap_or(0)
}

/// Appends the XSS rules matched by normalised `text` to `out`.
pub(crate) fn detect(text: &[u8], out: &mut Vec<&'static Rule>) {
    // Each byte class in its own SIMD pass (memchr), so prose costs little.
    for i in memchr::memchr_iter(b'<', text) {
        tags::scan_tag(text, i + 1, out);
    }
    for i in memchr::memchr_iter(b':', text) {
        script_uris::scan_colon(text, i, out);
    }
    let template = crate::normalize::find(text, b"${");
    sinks::scan_sink_calls(text, template, out);
    tags::scan_high_bit_markup(text, out);
    if obfuscation::tagged_template_call(text) {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
    if markup_breaks::context_break(text) {
        add(out, &rules::XSS_CONTEXT_BREAK);
    }
    if sinks::js_import(text) || sinks::sink_as_value(text) {
        add(out, &rules::XSS_JS_CALL);
    }
    if text.contains(&b'=') && sinks::sink_alias(text) {
        add(out, &rules::XSS_JS_CALL);
    }
    if obfuscation::split_string_sink(text) || obfuscation::javascript_entity(text) {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
    if event_handlers::injected_formaction(text) || event_handlers::handler_outside_tag(text) {
        add(out, &rules::XSS_EVENT);
    }
    obfuscation::scan_hidden_sinks(text, template.is_some(), out);
}

#[cfg(test)]
mod tests;
