//! The logs pane as data: the followed container's lines (bounded), or ctfdeck's activity log
//! from the store; scroll-back, search, timestamps.

use std::collections::VecDeque;

use tui_input::Input;

use crate::store::AuditEntry;

/// Lines kept per followed container; older ones scroll away.
pub const MAX_LINES: usize = 5_000;

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
        let raw = raw.trim_end_matches(['\r', '\n']);
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
    /// An incomplete last line, waiting for its end.
    partial: String,
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
            partial: String::new(),
        }
    }
}

impl LogsState {
    /// Start over for a new source; returns the new generation.
    pub fn switch(&mut self, source: LogSource) -> u64 {
        self.source = source;
        self.lines.clear();
        self.partial.clear();
        self.scroll = 0;
        self.ended = None;
        self.container = None;
        self.generation += 1;
        self.generation
    }

    /// Append raw chunks; they may split or join lines arbitrarily.
    pub fn push_chunks(&mut self, chunks: Vec<String>) {
        for chunk in chunks {
            self.partial.push_str(&chunk);
            while let Some(end) = self.partial.find('\n') {
                let line: String = self.partial.drain(..=end).collect();
                self.lines.push_back(LogLine::parse(&line));
                if self.scroll > 0 {
                    // Scrolled back: keep the same lines in view while new ones arrive.
                    self.scroll += 1;
                }
            }
        }
        while self.lines.len() > MAX_LINES {
            self.lines.pop_front();
        }
        self.scroll = self.scroll.min(self.len().saturating_sub(1));
    }

    /// Number of lines of the current source.
    pub fn len(&self) -> usize {
        match self.source {
            LogSource::Audit => self.audit.len(),
            _ => self.lines.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of line `i` of the current source, with its time.
    pub fn line(&self, i: usize) -> Option<LogLine> {
        match self.source {
            LogSource::Audit => self.audit.get(i).map(|e| LogLine {
                time: Some(super::format::clock(e.at)),
                text: format!(
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
                ),
            }),
            _ => self.lines.get(i).cloned(),
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
