//! The logs pane as data: the followed container's lines (bounded), or ctfdeck's activity log
//! from the store; scroll-back, search, timestamps.

use std::collections::VecDeque;

use tui_input::Input;

use crate::console::logging::Warning;
use crate::store::{AuditEntry, Millis};

/// Lines kept per followed container; older ones scroll away.
pub const MAX_LINES: usize = 5_000;
/// Characters of one log line; a longer line (or output without any newline) is cut into
/// pieces of this size, so a container cannot grow the console's memory with one endless line.
pub const MAX_LINE_CHARS: usize = 2_048;
/// Bytes of text kept for the followed container, whatever the line lengths.
pub const MAX_BYTES: usize = 4 << 20;
/// Warnings of this console kept in the activity pane.
pub const MAX_NOTES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// The selected instance's container.
    Instance {
        id: String,
    },
    /// ctfdeck's own activity (the audit log).
    Audit,
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The engine's timestamp, when it sent one.
    pub time: Option<String>,
    pub text: String,
}

impl LogLine {
    /// Split the engine's `2024-01-01T12:00:00.123456789Z text` form.
    pub fn parse(raw: &str) -> LogLine {
        // Container output is the container's to choose: no escape sequence reaches the
        // terminal through the pane.
        let raw = crate::terminal_text::clean_line(raw.trim_end_matches(['\r', '\n']));
        let raw = raw.as_ref();
        match raw.split_once(' ') {
            Some((t, rest))
                if t.len() >= 20 && t.as_bytes().get(4) == Some(&b'-') && t.contains('T') =>
            {
                // Keep seconds precision: the rest is noise on a small screen.
                let short = t.get(..19).unwrap_or(t).replace('T', " ");
                LogLine {
                    time: Some(short),
                    text: rest.to_string(),
                }
            }
            _ => LogLine {
                time: None,
                text: raw.to_string(),
            },
        }
    }
}

/// One entry of the activity pane.
enum Activity<'a> {
    Audit(&'a AuditEntry),
    Note(Millis, &'a String),
}

#[derive(Debug)]
pub struct LogsState {
    pub source: LogSource,
    pub lines: VecDeque<LogLine>,
    pub audit: Vec<AuditEntry>,
    /// The newest audit entry seen so far; `None` until the first snapshot, whose entries are
    /// history rather than news.
    pub audit_seen: Option<i64>,
    /// Lines scrolled back from the end; 0 follows new lines.
    pub scroll: usize,
    pub timestamps: bool,
    pub search: String,
    /// Open while the search is being typed.
    pub search_input: Option<Input>,
    pub generation: u64,
    /// Why the stream ended, if it did.
    pub ended: Option<String>,
    /// The container being followed (None while the instance has none yet).
    pub container: Option<String>,
    /// This console's own warnings (time, text), for the activity pane beside the audit log.
    pub notes: VecDeque<(Millis, String)>,
    /// An incomplete last line, waiting for its end (at most [`MAX_LINE_CHARS`]).
    partial: String,
    /// Bytes of text in `lines`.
    bytes: usize,
}

impl Default for LogsState {
    fn default() -> Self {
        LogsState {
            source: LogSource::Nothing,
            lines: VecDeque::new(),
            audit: Vec::new(),
            audit_seen: None,
            scroll: 0,
            timestamps: false,
            search: String::new(),
            search_input: None,
            generation: 0,
            ended: None,
            container: None,
            notes: VecDeque::new(),
            partial: String::new(),
            bytes: 0,
        }
    }
}

impl LogsState {
    /// Start over for a new source; returns the new generation.
    pub fn switch(&mut self, source: LogSource) -> u64 {
        self.source = source;
        self.lines.clear();
        self.partial.clear();
        self.bytes = 0;
        self.scroll = 0;
        self.ended = None;
        self.container = None;
        self.generation += 1;
        self.generation
    }

    /// Append raw chunks; they may split or join lines arbitrarily. Linear in the input:
    /// each character is looked at once, whatever the line lengths.
    pub fn push_chunks(&mut self, chunks: Vec<String>) {
        for chunk in chunks {
            for piece in chunk.split_inclusive('\n') {
                let (text, ended) = match piece.strip_suffix('\n') {
                    Some(text) => (text, true),
                    None => (piece, false),
                };
                self.push_partial(text);
                if ended {
                    self.end_line();
                }
            }
        }
        while self.lines.len() > MAX_LINES || self.bytes > MAX_BYTES {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= old.text.len();
        }
        self.scroll = self.scroll.min(self.len().saturating_sub(1));
    }

    /// Add text to the unfinished line, ending it early whenever it reaches the cap.
    fn push_partial(&mut self, mut text: &str) {
        loop {
            let room = MAX_LINE_CHARS.saturating_sub(self.partial.chars().count());
            match text.char_indices().nth(room) {
                None => {
                    self.partial.push_str(text);
                    return;
                }
                Some((at, _)) => {
                    self.partial.push_str(&text[..at]);
                    text = &text[at..];
                    self.end_line();
                }
            }
        }
    }

    fn end_line(&mut self) {
        let line = LogLine::parse(&self.partial);
        self.partial.clear();
        self.bytes += line.text.len();
        self.lines.push_back(line);
        if self.scroll > 0 {
            // Scrolled back: keep the same lines in view while new ones arrive.
            self.scroll += 1;
        }
    }

    /// A warning of this console itself, shown in the activity pane at its time.
    /// Returns the line as shown.
    pub fn note(&mut self, at: Millis, warning: &Warning) -> String {
        let text = format!("{}: {}", warning.label(), warning.message);
        let text = crate::terminal_text::clean_line(&text).into_owned();
        self.notes.push_back((at, text.clone()));
        while self.notes.len() > MAX_NOTES {
            self.notes.pop_front();
        }
        if self.source == LogSource::Audit && self.scroll > 0 {
            self.scroll += 1;
        }
        text
    }

    /// Number of lines of the current source.
    pub fn len(&self) -> usize {
        match self.source {
            LogSource::Audit => self.audit.len() + self.notes.len(),
            _ => self.lines.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of line `i` of the current source, with its time.
    pub fn line(&self, i: usize) -> Option<LogLine> {
        match self.source {
            LogSource::Audit => match self.activity(i)? {
                Activity::Note(at, text) => Some(LogLine {
                    time: Some(super::format::clock(at)),
                    text: text.clone(),
                }),
                Activity::Audit(e) => Some(self.audit_line(e)),
            },
            _ => self.lines.get(i).cloned(),
        }
    }

    /// Entry `i` of the activity pane: the audit log and this console's warnings, merged by
    /// time (both are in time order).
    fn activity(&self, i: usize) -> Option<Activity<'_>> {
        if self.notes.is_empty() {
            return self.audit.get(i).map(Activity::Audit);
        }
        let (mut a, mut n) = (0, 0);
        loop {
            let next = match (self.audit.get(a), self.notes.get(n)) {
                (Some(e), Some(note)) if e.at <= note.0 => {
                    a += 1;
                    Activity::Audit(e)
                }
                (_, Some(note)) => {
                    n += 1;
                    Activity::Note(note.0, &note.1)
                }
                (Some(e), None) => {
                    a += 1;
                    Activity::Audit(e)
                }
                (None, None) => return None,
            };
            if a + n > i {
                return Some(next);
            }
        }
    }

    fn audit_line(&self, e: &AuditEntry) -> LogLine {
        let text = format!(
            "{} {}{} by {}@{}: {}",
            e.action,
            e.instance.as_deref().unwrap_or("-"),
            if e.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.detail)
            },
            e.actor,
            e.origin,
            e.outcome
        );
        LogLine {
            time: Some(super::format::clock(e.at)),
            // Details and origins carry what others typed (owners, SSH origins).
            text: crate::terminal_text::clean_line(&text).into_owned(),
        }
    }

    pub fn scroll_by(&mut self, delta: isize) {
        let max = self.len().saturating_sub(1) as isize;
        self.scroll = (self.scroll as isize + delta).clamp(0, max.max(0)) as usize;
    }

    /// Scroll back to the previous line (from the current view's end) matching the search.
    pub fn next_match(&mut self) -> bool {
        if self.search.is_empty() {
            return false;
        }
        let needle = self.search.to_lowercase();
        let n = self.len();
        // Backwards from the line above the last visible one, wrapping once round.
        let current = n.saturating_sub(1 + self.scroll);
        for step in 1..=n {
            let i = (current + n - step) % n;
            if self
                .line(i)
                .is_some_and(|l| l.text.to_lowercase().contains(&needle))
            {
                self.scroll = n - 1 - i;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_into_lines_and_timestamps_are_parsed() {
        let mut s = LogsState::default();
        s.switch(LogSource::Instance { id: "a".into() });
        s.push_chunks(vec!["2024-05-01T10:00:00.123456789Z hello\n2024-05".into()]);
        assert_eq!(s.lines.len(), 1);
        s.push_chunks(vec!["-01T10:00:01.000000000Z world\nplain\n".into()]);
        assert_eq!(s.lines.len(), 3);
        assert_eq!(s.lines[0].time.as_deref(), Some("2024-05-01 10:00:00"));
        assert_eq!(s.lines[1].text, "world");
        assert_eq!(s.lines[2].time, None);
    }

    #[test]
    fn output_without_newlines_is_cut_into_capped_lines() {
        let mut s = LogsState::default();
        s.switch(LogSource::Instance { id: "a".into() });
        // A megabyte in 64 KiB writes, no newline anywhere.
        for _ in 0..16 {
            s.push_chunks(vec!["x".repeat(64 * 1024)]);
        }
        // Never more than one line's worth waits for its end.
        assert_eq!(s.partial.chars().count(), MAX_LINE_CHARS);
        assert_eq!(s.lines.len(), (1 << 20) / MAX_LINE_CHARS - 1);
        assert!(s.lines.iter().all(|l| l.text.len() == MAX_LINE_CHARS));
        s.push_chunks(vec!["tail\n".into()]);
        assert!(s.partial.is_empty());
        assert_eq!(s.lines.len(), (1 << 20) / MAX_LINE_CHARS + 1);
        assert_eq!(s.lines.back().unwrap().text, "tail");
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let mut s = LogsState::default();
        s.switch(LogSource::Instance { id: "a".into() });
        s.push_chunks(vec!["é".repeat(MAX_LINE_CHARS + 5)]);
        assert_eq!(s.lines.len(), 1);
        assert_eq!(s.lines[0].text.chars().count(), MAX_LINE_CHARS);
        assert_eq!(s.partial.chars().count(), 5);
    }

    #[test]
    fn the_pane_keeps_a_bounded_number_of_bytes_and_lines() {
        let mut s = LogsState::default();
        s.switch(LogSource::Instance { id: "a".into() });
        let line = format!("{}\n", "y".repeat(MAX_LINE_CHARS - 1));
        for _ in 0..4 {
            s.push_chunks(vec![line.repeat(1_000)]);
        }
        assert!(s.bytes <= MAX_BYTES, "{}", s.bytes);
        assert_eq!(s.bytes, s.lines.iter().map(|l| l.text.len()).sum::<usize>());
        s.push_chunks(vec!["z\n".repeat(MAX_LINES + 10)]);
        assert_eq!(s.lines.len(), MAX_LINES);
    }

    #[test]
    fn escape_sequences_from_the_container_never_reach_the_pane() {
        let mut s = LogsState::default();
        s.switch(LogSource::Instance { id: "a".into() });
        s.push_chunks(vec![
            "2024-05-01T10:00:00.1Z \u{1b}]52;c;ZXZpbA==\u{7}ok\r\n".into(),
        ]);
        assert_eq!(s.lines[0].text, "ok");
    }

    #[test]
    fn search_scrolls_back_to_the_match() {
        let mut s = LogsState::default();
        s.switch(LogSource::Instance { id: "a".into() });
        let text: String = (0..10).map(|i| format!("line {i}\n")).collect();
        s.push_chunks(vec![text]);
        s.search = "line 3".into();
        assert!(s.next_match());
        assert_eq!(s.scroll, 6);
        s.search = "absent".into();
        assert!(!s.next_match());
    }
}
