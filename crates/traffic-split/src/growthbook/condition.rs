//! GrowthBook's Mongo-like targeting conditions, evaluated with JavaScript
//! comparison semantics.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::js::{
    NULL, cmp_js_strings, json_equal, json_number_to_string, loose_compare, num, strict_equals,
    to_js_string, to_number, truthy,
};
use super::pattern::regex_test;

/// Deeper conditions are rejected (evaluate to false) rather than risking the stack.
const MAX_DEPTH: usize = 64;

/// Evaluates a GrowthBook condition against attributes.
///
/// `saved_groups` maps group ids to arrays of values (for `$inGroup` and
/// `$notInGroup`); pass `&Value::Null` when there are none. Keys of the
/// condition are dotted attribute paths or `$and`/`$or`/`$nor`/`$not`; values are
/// literals (compared like JavaScript: `{"n": 8}` matches `"8"`) or operator
/// objects (`$eq $ne $lt $lte $gt $gte $exists $type $in $nin $ini $nini $all
/// $alli $elemMatch $size $regex $regexi $not $veq $vne $vgt $vgte $vlt $vlte
/// $inGroup $notInGroup`). Unknown operators and invalid regexes are false;
/// nothing panics.
///
/// ```
/// use serde_json::json;
/// use traffic_split::growthbook::eval_condition;
///
/// let attrs = json!({ "country": "US", "app": { "version": "2.10.0" } });
/// let cond = json!({ "country": { "$in": ["US", "CA"] }, "app.version": { "$vgte": "2.9.1" } });
/// assert!(eval_condition(&attrs, &cond, &serde_json::Value::Null));
/// ```
pub fn eval_condition(attributes: &Value, condition: &Value, saved_groups: &Value) -> bool {
    eval_obj(attributes, condition, saved_groups, 0)
}

fn eval_obj(obj: &Value, condition: &Value, groups: &Value, depth: usize) -> bool {
    let Value::Object(map) = condition else {
        return false;
    };
    if depth > MAX_DEPTH {
        return false;
    }
    map.iter().all(|(key, value)| match key.as_str() {
        "$or" => eval_or(obj, value, groups, depth),
        "$nor" => !eval_or(obj, value, groups, depth),
        "$and" => as_slice(value)
            .iter()
            .all(|c| eval_obj(obj, c, groups, depth + 1)),
        "$not" => !eval_obj(obj, value, groups, depth + 1),
        path => eval_value(value, get_path(obj, path), groups, false, depth + 1),
    })
}

fn eval_or(obj: &Value, conditions: &Value, groups: &Value, depth: usize) -> bool {
    let conditions = as_slice(conditions);
    conditions.is_empty()
        || conditions
            .iter()
            .any(|c| eval_obj(obj, c, groups, depth + 1))
}

fn as_slice(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        _ => &[],
    }
}

/// The value at a dotted path (`a.b.0`), or `null` when any step is missing.
pub(crate) fn get_path<'v>(obj: &'v Value, path: &str) -> &'v Value {
    let mut current = obj;
    for part in path.split('.') {
        current = match current {
            Value::Object(map) => map.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .unwrap_or(&NULL);
    }
    current
}

fn is_operator_object(map: &Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

fn eval_value(
    condition: &Value,
    value: &Value,
    groups: &Value,
    insensitive: bool,
    depth: usize,
) -> bool {
    match condition {
        Value::String(expected) if insensitive => lower_eq(&to_js_string(value), expected),
        Value::String(expected) => to_js_string(value) == expected.as_str(),
        Value::Number(n) => to_number(value) == num(n),
        Value::Bool(b) => !value.is_null() && truthy(value) == *b,
        Value::Null => value.is_null(),
        Value::Object(ops) if is_operator_object(ops) => {
            depth <= MAX_DEPTH
                && ops
                    .iter()
                    .all(|(op, expected)| eval_operator(op, value, expected, groups, depth))
        }
        Value::Array(_) | Value::Object(_) => json_equal(value, condition),
    }
}

fn lower_eq(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

fn fold_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => lower_eq(x, y),
        _ => strict_equals(a, b),
    }
}

/// `$in`: membership, or intersection when the attribute is an array.
fn is_in(actual: &Value, expected: &[Value], insensitive: bool) -> bool {
    let eq = if insensitive { fold_eq } else { strict_equals };
    match actual {
        Value::Array(items) => items.iter().any(|a| expected.iter().any(|e| eq(a, e))),
        _ => expected.iter().any(|e| eq(actual, e)),
    }
}

fn is_in_all(actual: &Value, expected: &[Value], groups: &Value, ci: bool, depth: usize) -> bool {
    let Value::Array(items) = actual else {
        return false;
    };
    expected.iter().all(|e| {
        items
            .iter()
            .any(|a| eval_value(e, a, groups, ci, depth + 1))
    })
}

fn elem_match(actual: &Value, expected: &Value, groups: &Value, depth: usize) -> bool {
    let Value::Array(items) = actual else {
        return false;
    };
    let operator = matches!(expected, Value::Object(m) if is_operator_object(m));
    items.iter().filter(|item| truthy(item)).any(|item| {
        if operator {
            eval_value(expected, item, groups, false, depth + 1)
        } else {
            eval_obj(item, expected, groups, depth + 1)
        }
    })
}

fn saved_group<'g>(groups: &'g Value, id: &Value) -> &'g [Value] {
    match groups {
        Value::Object(map) => map.get(to_js_string(id).as_ref()).map_or(&[], as_slice),
        _ => &[],
    }
}

fn js_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn eval_operator(op: &str, actual: &Value, expected: &Value, groups: &Value, depth: usize) -> bool {
    let cmp = || loose_compare(actual, expected);
    let vcmp = || {
        cmp_js_strings(
            &padded_version_string(actual),
            &padded_version_string(expected),
        )
    };
    let array = || match expected {
        Value::Array(items) => Some(items.as_slice()),
        _ => None,
    };
    match op {
        "$eq" => strict_equals(actual, expected),
        "$ne" => !strict_equals(actual, expected),
        "$lt" => cmp() == Some(Ordering::Less),
        "$lte" => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
        "$gt" => cmp() == Some(Ordering::Greater),
        "$gte" => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
        "$veq" => vcmp() == Ordering::Equal,
        "$vne" => vcmp() != Ordering::Equal,
        "$vgt" => vcmp() == Ordering::Greater,
        "$vgte" => vcmp() != Ordering::Less,
        "$vlt" => vcmp() == Ordering::Less,
        "$vlte" => vcmp() != Ordering::Greater,
        "$exists" => truthy(expected) != actual.is_null(),
        "$in" => array().is_some_and(|e| is_in(actual, e, false)),
        "$ini" => array().is_some_and(|e| is_in(actual, e, true)),
        "$nin" => array().is_some_and(|e| !is_in(actual, e, false)),
        "$nini" => array().is_some_and(|e| !is_in(actual, e, true)),
        "$inGroup" => is_in(actual, saved_group(groups, expected), false),
        "$notInGroup" => !is_in(actual, saved_group(groups, expected), false),
        "$all" => array().is_some_and(|e| is_in_all(actual, e, groups, false, depth)),
        "$alli" => array().is_some_and(|e| is_in_all(actual, e, groups, true, depth)),
        "$not" => !eval_value(expected, actual, groups, false, depth + 1),
        "$size" => match actual {
            Value::Array(items) => eval_value(
                expected,
                &Value::from(items.len()),
                groups,
                false,
                depth + 1,
            ),
            _ => false,
        },
        "$elemMatch" => elem_match(actual, expected, groups, depth),
        "$regex" => regex_test(&to_js_string(expected), &to_js_string(actual), false),
        "$regexi" => regex_test(&to_js_string(expected), &to_js_string(actual), true),
        "$type" => expected.as_str() == Some(js_type(actual)),
        _ => false,
    }
}

/// GrowthBook's sortable version string: `v1.2.3-rc.1+build` → `"    1-    2-    3-rc-    1"`.
///
/// Leading `v` and build metadata are dropped, numeric parts are left-padded to
/// five characters, and a release (exactly three parts) gets a `~` suffix so it
/// sorts after its pre-releases. Non-strings other than numbers become `"0"`.
pub fn padded_version_string(input: &Value) -> String {
    let owned;
    let raw = match input {
        Value::String(s) if !s.is_empty() => s.as_str(),
        Value::Number(n) => {
            owned = json_number_to_string(n);
            owned.as_str()
        }
        _ => "0",
    };
    let raw = raw.strip_prefix('v').unwrap_or(raw);
    let raw = raw.split_once('+').map_or(raw, |(core, _)| core);
    let mut parts: Vec<&str> = raw.split(['-', '.']).collect();
    if parts.len() == 3 {
        parts.push("~");
    }
    let mut out = String::with_capacity(parts.len() * 6);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            for _ in part.len()..5 {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            (-1e6..1e6f64).prop_map(Value::from),
            prop_oneof![
                Just("$in".to_owned()),
                Just("$regex".to_owned()),
                Just("$vgt".to_owned()),
                Just("$elemMatch".to_owned()),
                Just("$not".to_owned()),
                Just("$or".to_owned()),
                "[a-z$.(\\[*?]{0,6}".prop_map(|s| s),
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z$]{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics(attrs in arb_json(), cond in arb_json(), groups in arb_json()) {
            let _ = eval_condition(&attrs, &cond, &groups);
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let mut cond = json!({"a": 1});
        for _ in 0..200 {
            cond = json!({ "$not": cond });
        }
        let _ = eval_condition(&json!({"a": 1}), &cond, &Value::Null);
    }

    #[test]
    fn javascript_edge_cases() {
        let attrs = json!({"tags": ["a", 0, "b"], "n": "8", "v": "v2.10.0"});
        assert!(eval_condition(
            &attrs,
            &json!({"tags.2": "b"}),
            &Value::Null
        ));
        assert!(eval_condition(&attrs, &json!({"n": 8}), &Value::Null));
        assert!(eval_condition(
            &attrs,
            &json!({"v": {"$vgt": "2.9.9"}}),
            &Value::Null
        ));
        // Invalid patterns never match, including from the cache.
        for _ in 0..2 {
            assert!(!eval_condition(
                &attrs,
                &json!({"n": {"$regex": "(?=8)"}}),
                &Value::Null
            ));
        }
        assert_eq!(
            padded_version_string(&json!("1.2.3-rc.1+b")),
            "    1-    2-    3-rc-    1"
        );
    }
}
