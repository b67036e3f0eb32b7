//! An incremental Server-Sent Events parser that is indifferent to where
//! the byte stream is split (mid-line, mid-UTF-8 character, mid-`\r\n`).

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental parser: feed bytes, take complete events.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Where the next unparsed line starts in `buf`.
    pos: usize,
    current: SseEvent,
    has_data: bool,
    /// Largest buffered line allowed (a hostile upstream must not exhaust memory).
    max_line: usize,
}

/// The stream sent a line longer than the parser accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong;

impl SseParser {
    /// A parser accepting lines up to 1 MiB.
    pub fn new() -> Self {
        Self {
            max_line: 1 << 20,
            ..Self::default()
        }
    }

    /// Feeds bytes; returns the events they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, LineTooLong> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let rest = &self.buf[self.pos..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if rest.len() > self.max_line {
                    return Err(LineTooLong);
                }
                break;
            };
            // A '\r' at the very end might be the first half of "\r\n".
            if rest[nl] == b'\r' && nl + 1 == rest.len() {
                break;
            }
            let line_end = self.pos + nl;
            let skip = if rest[nl] == b'\r' && rest.get(nl + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            let line = String::from_utf8_lossy(&self.buf[self.pos..line_end]).into_owned();
            self.pos = line_end + skip;
            if let Some(ev) = self.line(&line) {
                out.push(ev);
            }
        }
        // Compact once the consumed prefix dominates.
        if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        Ok(out)
    }

    /// Ends the stream: returns a final event that had no trailing blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let rest = String::from_utf8_lossy(&self.buf[self.pos..]).into_owned();
        self.buf.clear();
        self.pos = 0;
        let mut last = None;
        for line in rest.split(['\r', '\n']) {
            if let Some(ev) = self.line(line) {
                last = Some(ev);
            }
        }
        if self.has_data {
            self.has_data = false;
            return Some(std::mem::take(&mut self.current));
        }
        last
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            if self.has_data {
                self.has_data = false;
                return Some(std::mem::take(&mut self.current));
            }
            self.current = SseEvent::default();
            return None;
        }
        if line.starts_with(':') {
            return None; // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.current.event = Some(value.to_owned()),
            _ => {} // id, retry: not needed here
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.feed(c).unwrap());
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn parses_events_fields_and_comments() {
        let text = b": keep-alive\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
        let evs = parse_all(&[text]);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].event.as_deref(), Some("message_start"));
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert_eq!(evs[1].data, "line1\nline2");
        assert_eq!(evs[2].data, "[DONE]");
    }

    #[test]
    fn split_at_every_offset_gives_the_same_events() {
        let text = "event: x\r\ndata: héllo wörld 日本\r\n\r\ndata: {\"k\":\"v\"}\n\ndata: tail-without-blank-line".as_bytes();
        let whole = parse_all(&[text]);
        assert_eq!(whole.len(), 3);
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(
                    parse_all(&[&text[..i], &text[i..j], &text[j..]]),
                    whole,
                    "split at {i},{j}"
                );
            }
        }
    }

    #[test]
    fn rejects_unbounded_lines() {
        let mut p = SseParser::new();
        assert!(p.feed(&vec![b'a'; (1 << 20) + 1]).is_err());
    }
}
