//! A bounded, streaming walk over a JSON body: every string value and every
//! `$operator` key is handed to a sink as it is read, with its path kept in
//! one small buffer and rendered only when the sink asks (for a finding).
//!
//! Nothing is built per value: no tree, no path per string. Memory is the
//! path buffer (at most [`MAX_PATH_BYTES`]) and the stack of the levels
//! being read; levels past the walk's depth limit are skipped unread, and
//! serde_json refuses nesting past 128 levels, so the stack is bounded too.

use std::fmt::Write as _;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Where the path stops growing: segments past it are elided (`…`), so a
/// path is at most this plus one segment.
pub const MAX_PATH_BYTES: usize = 512;
/// Bytes of one object key kept in the path.
const MAX_KEY_BYTES: usize = 48;
/// Operator keys (`$ne`) longer than this are not operators.
const MAX_OPERATOR_KEY: usize = 32;

/// The JSON path of the value being visited (`$.messages[0].content`).
#[derive(Debug, Default)]
pub struct JsonPath {
    buf: String,
    marks: Vec<usize>,
    elided: usize,
    /// The top-level object key above the current value (at most
    /// `MAX_KEY_BYTES`), if the root is an object.
    root_key: Option<String>,
}

impl JsonPath {
    fn root() -> Self {
        Self {
            buf: "$".into(),
            marks: Vec::new(),
            elided: 0,
            root_key: None,
        }
    }

    fn push_index(&mut self, index: usize) {
        self.marks.push(self.buf.len());
        if self.buf.len() < MAX_PATH_BYTES {
            let _ = write!(self.buf, "[{index}]");
        } else {
            self.elided += 1;
        }
    }

    fn push_key(&mut self, key: &str) {
        if self.marks.is_empty() {
            self.root_key = Some(prefix(key, MAX_KEY_BYTES).to_owned());
        }
        self.marks.push(self.buf.len());
        if self.buf.len() >= MAX_PATH_BYTES {
            self.elided += 1;
            return;
        }
        let short = prefix(key, MAX_KEY_BYTES);
        let cut = if short.len() < key.len() { "…" } else { "" };
        if !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            self.buf.push('.');
            self.buf.push_str(short);
            self.buf.push_str(cut);
        } else {
            self.buf.push_str("[\"");
            for c in short.chars() {
                match c {
                    '"' | '\\' => {
                        self.buf.push('\\');
                        self.buf.push(c);
                    }
                    c if c.is_control() => self.buf.push('?'),
                    c => self.buf.push(c),
                }
            }
            self.buf.push_str(cut);
            self.buf.push_str("\"]");
        }
    }

    fn pop(&mut self) {
        if self.marks.len() == 1 {
            self.root_key = None;
        }
        if let Some(mark) = self.marks.pop() {
            if mark >= self.buf.len() && self.elided > 0 {
                self.elided -= 1;
            }
            self.buf.truncate(mark);
        }
    }

    /// The path as text, at most [`MAX_PATH_BYTES`] plus one segment and an
    /// ellipsis.
    pub fn render(&self) -> String {
        if self.elided > 0 {
            format!("{}…", self.buf)
        } else {
            self.buf.clone()
        }
    }

    /// The number of levels below the root.
    pub fn depth(&self) -> usize {
        self.marks.len()
    }

    /// The top-level key the current value sits under (`messages` for
    /// `$.messages[0].content`); `None` at the root or under a top-level
    /// array.
    pub fn root_key(&self) -> Option<&str> {
        if self.marks.is_empty() {
            return None;
        }
        self.root_key.as_deref()
    }
}

/// The longest prefix of `s` of at most `max` bytes on a char boundary.
pub(crate) fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What a sink says after each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep walking.
    Continue,
    /// Stop here (a budget ran out); the rest of the body is not read.
    Stop,
}

/// Receives what the walk finds.
pub trait JsonSink {
    /// Any value (scalar, string, array or object), before its contents.
    fn value(&mut self) -> Flow {
        Flow::Continue
    }
    /// A string value at `path`.
    fn string(&mut self, path: &JsonPath, value: &str) -> Flow;
    /// An object key starting with `$` (a MongoDB operator where a value
    /// was expected), at `path` (which ends with the key).
    fn operator_key(&mut self, path: &JsonPath, key: &str) -> Flow;
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkEnd {
    /// Every value was visited.
    Complete,
    /// Every value was visited but those nested deeper than the limit.
    SkippedDeep,
    /// The sink stopped the walk.
    Stopped,
    /// The body is not JSON (or nests past serde_json's 128 levels); the
    /// values before the error were visited.
    Invalid,
}

/// Walks `body`, visiting values nested at most `max_depth` levels deep.
pub fn walk(body: &[u8], max_depth: usize, sink: &mut dyn JsonSink) -> WalkEnd {
    let mut state = Walk {
        path: JsonPath::root(),
        sink,
        max_depth,
        skipped_deep: false,
        stopped: false,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Node(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match parsed {
        _ if state.stopped => WalkEnd::Stopped,
        Err(_) => WalkEnd::Invalid,
        Ok(()) if state.skipped_deep => WalkEnd::SkippedDeep,
        Ok(()) => WalkEnd::Complete,
    }
}

struct Walk<'s> {
    path: JsonPath,
    sink: &'s mut dyn JsonSink,
    max_depth: usize,
    skipped_deep: bool,
    stopped: bool,
}

impl Walk<'_> {
    fn flow<E: de::Error>(&mut self, flow: Flow) -> Result<(), E> {
        match flow {
            Flow::Continue => Ok(()),
            Flow::Stop => {
                self.stopped = true;
                Err(E::custom("scan budget exhausted"))
            }
        }
    }
}

/// One value of the walk (a seed, so it can carry the walk's state).
struct Node<'w, 's>(&'w mut Walk<'s>);

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let flow = self.0.sink.value();
        self.0.flow::<D::Error>(flow)?;
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let walk = self.0;
        let flow = walk.sink.string(&walk.path, v);
        walk.flow(flow)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let walk = self.0;
        if walk.path.depth() >= walk.max_depth {
            walk.skipped_deep = true;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            walk.path.push_index(index);
            let more = seq.next_element_seed(Node(walk))?;
            walk.path.pop();
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.0;
        if walk.path.depth() >= walk.max_depth {
            walk.skipped_deep = true;
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        while map.next_key_seed(Key(walk))?.is_some() {
            let value = map.next_value_seed(Node(walk));
            walk.path.pop();
            value?;
        }
        Ok(())
    }
}

/// An object key: pushed onto the path (the value's visit pops it), and
/// reported when it is an operator.
struct Key<'w, 's>(&'w mut Walk<'s>);

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        let walk = self.0;
        walk.path.push_key(key);
        if key.starts_with('$') && key.len() <= MAX_OPERATOR_KEY {
            let flow = walk.sink.operator_key(&walk.path, key);
            return walk.flow(flow);
        }
        Ok(())
    }
}

/// The number of JSON values in `body`, counting up to `cap` (past it the
/// walk stops and `cap + 1` is returned): a cheap check before a parse that
/// builds a tree, whose memory grows with the number of values.
pub fn count_values(body: &[u8], cap: usize) -> usize {
    struct Count {
        n: usize,
        cap: usize,
    }
    impl JsonSink for Count {
        fn value(&mut self) -> Flow {
            self.n += 1;
            if self.n > self.cap {
                Flow::Stop
            } else {
                Flow::Continue
            }
        }
        fn string(&mut self, _: &JsonPath, _: &str) -> Flow {
            Flow::Continue
        }
        fn operator_key(&mut self, _: &JsonPath, _: &str) -> Flow {
            Flow::Continue
        }
    }
    let mut count = Count { n: 0, cap };
    walk(body, usize::MAX, &mut count);
    count.n.min(cap.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        strings: Vec<(String, String)>,
        operators: Vec<(String, String)>,
        stop_after: Option<usize>,
    }

    impl JsonSink for Collect {
        fn string(&mut self, path: &JsonPath, value: &str) -> Flow {
            self.strings.push((path.render(), value.to_owned()));
            match self.stop_after {
                Some(n) if self.strings.len() >= n => Flow::Stop,
                _ => Flow::Continue,
            }
        }
        fn operator_key(&mut self, path: &JsonPath, key: &str) -> Flow {
            self.operators.push((path.render(), key.to_owned()));
            Flow::Continue
        }
    }

    #[test]
    fn values_are_counted_up_to_a_cap() {
        assert_eq!(count_values(br#"{"a":[1,"x",{"b":null}]}"#, 100), 6);
        assert_eq!(count_values(&b"[1,".repeat(1000)[..], 10), 11);
        assert_eq!(count_values(b"[]", 10), 1);
    }

    #[test]
    fn paths_are_rendered_like_json_path() {
        let mut c = Collect::default();
        let body = br#"{"messages":[{"role":"user","content":"hi"}],"a b":{"$ne":null},"n":1}"#;
        assert_eq!(walk(body, 64, &mut c), WalkEnd::Complete);
        assert_eq!(
            c.strings,
            vec![
                ("$.messages[0].role".into(), "user".into()),
                ("$.messages[0].content".into(), "hi".into()),
            ]
        );
        assert_eq!(
            c.operators,
            vec![("$[\"a b\"][\"$ne\"]".into(), "$ne".into())]
        );
    }

    #[test]
    fn the_root_key_is_known_at_any_depth() {
        struct Roots(Vec<Option<String>>);
        impl JsonSink for Roots {
            fn string(&mut self, path: &JsonPath, _: &str) -> Flow {
                self.0.push(path.root_key().map(str::to_owned));
                Flow::Continue
            }
            fn operator_key(&mut self, _: &JsonPath, _: &str) -> Flow {
                Flow::Continue
            }
        }
        let mut r = Roots(Vec::new());
        walk(br#"{"messages":[{"content":"a"}],"model":"m"}"#, 64, &mut r);
        assert_eq!(r.0, vec![Some("messages".into()), Some("model".into())]);
        let mut r = Roots(Vec::new());
        walk(br#"["x", {"k": "y"}]"#, 64, &mut r);
        assert_eq!(r.0, vec![None, None]);
    }

    #[test]
    fn escaped_strings_and_keys_are_decoded() {
        let mut c = Collect::default();
        let body = br#"{"k\"ey":"a\u0027b"}"#;
        assert_eq!(walk(body, 64, &mut c), WalkEnd::Complete);
        assert_eq!(c.strings, vec![("$[\"k\\\"ey\"]".into(), "a'b".into())]);
    }

    #[test]
    fn long_keys_and_deep_paths_are_cut() {
        let key = "k".repeat(100_000);
        let body = format!(r#"{{"{key}":["x"]}}"#);
        let mut c = Collect::default();
        walk(body.as_bytes(), 64, &mut c);
        let (path, _) = &c.strings[0];
        assert!(path.len() < 80, "{path}");
        assert!(
            path.starts_with("$.kkk") && path.ends_with("…[0]"),
            "{path}"
        );

        let level = format!(r#"{{"{}":"#, "k".repeat(40));
        let deep = format!("{}\"x\"{}", level.repeat(60), "}".repeat(60));
        let mut c = Collect::default();
        assert_eq!(walk(deep.as_bytes(), 100, &mut c), WalkEnd::Complete);
        assert!(c.strings[0].0.len() <= MAX_PATH_BYTES + 2 * MAX_KEY_BYTES + 8);
        assert!(c.strings[0].0.ends_with('…'));
    }

    #[test]
    fn values_past_the_depth_limit_are_skipped_and_the_rest_is_read() {
        let body = br#"{"a":[[["deep"]]],"b":"after"}"#;
        let mut c = Collect::default();
        assert_eq!(walk(body, 2, &mut c), WalkEnd::SkippedDeep);
        assert_eq!(c.strings, vec![("$.b".into(), "after".into())]);
    }

    #[test]
    fn a_sink_can_stop_the_walk_and_invalid_json_keeps_what_was_read() {
        let mut c = Collect {
            stop_after: Some(2),
            ..Collect::default()
        };
        assert_eq!(walk(br#"["a","b","c"]"#, 64, &mut c), WalkEnd::Stopped);
        assert_eq!(c.strings.len(), 2);

        let mut c = Collect::default();
        assert_eq!(walk(br#"["a","b", oops"#, 64, &mut c), WalkEnd::Invalid);
        assert_eq!(c.strings.len(), 2);
        let too_deep = "[".repeat(10_000);
        let mut c = Collect::default();
        assert_eq!(walk(too_deep.as_bytes(), 64, &mut c), WalkEnd::Invalid);
    }
}
