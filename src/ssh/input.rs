//! Keys from the bytes an SSH client sends. Locally crossterm reads the terminal itself; over
//! SSH the bytes arrive on a channel, so they are decoded here into the same `KeyEvent`s the
//! console's key table dispatches on. A sequence cut between two packets waits for the rest;
//! an escape alone at the end of a packet is the Esc key (what a person pressing Esc sends).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};

/// Longest escape sequence kept waiting for its end; anything longer is noise and dropped.
const MAX_PENDING: usize = 32;

#[derive(Debug, Default)]
pub struct KeyDecoder {
    pending: Vec<u8>,
}

enum Step {
    /// A key (or nothing, for a sequence that names no key) and the bytes it took.
    Done(Option<KeyEvent>, usize),
    /// The bytes so far start a sequence that is not complete yet.
    NeedMore,
}

impl KeyDecoder {
    /// The keys in `bytes`, after whatever was left waiting from the previous call.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<KeyEvent> {
        self.pending.extend_from_slice(bytes);
        let mut keys = Vec::new();
        let mut at = 0;
        while at < self.pending.len() {
            match step(&self.pending[at..]) {
                Step::Done(key, used) => {
                    keys.extend(key);
                    at += used.max(1);
                }
                Step::NeedMore if self.pending.len() - at > MAX_PENDING => at += 1,
                Step::NeedMore => break,
            }
        }
        self.pending.drain(..at);
        // An escape sequence is sent in one write; a lone escape left over is the Esc key.
        if self.pending == [0x1b] {
            self.pending.clear();
            keys.push(key(KeyCode::Esc, KeyModifiers::NONE));
        }
        keys
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent {
        code,
        modifiers,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

fn step(b: &[u8]) -> Step {
    let none = KeyModifiers::NONE;
    match b[0] {
        0x1b => escape(b),
        b'\r' | b'\n' => Step::Done(Some(key(KeyCode::Enter, none)), 1),
        b'\t' => Step::Done(Some(key(KeyCode::Tab, none)), 1),
        0x7f | 0x08 => Step::Done(Some(key(KeyCode::Backspace, none)), 1),
        0x00 => Step::Done(Some(key(KeyCode::Char(' '), KeyModifiers::CONTROL)), 1),
        c @ 0x01..=0x1a => Step::Done(
            Some(key(
                KeyCode::Char((c - 1 + b'a') as char),
                KeyModifiers::CONTROL,
            )),
            1,
        ),
        c @ 0x1c..=0x1f => Step::Done(
            Some(key(
                KeyCode::Char((c - 0x1c + b'4') as char),
                KeyModifiers::CONTROL,
            )),
            1,
        ),
        _ => utf8(b, none),
    }
}

/// One UTF-8 character; a byte that starts none is skipped.
fn utf8(b: &[u8], modifiers: KeyModifiers) -> Step {
    let len = match b[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Step::Done(None, 1),
    };
    if b.len() < len {
        // Only continuation bytes may follow; anything else means this is no character.
        return if b[1..].iter().all(|c| c & 0xc0 == 0x80) {
            Step::NeedMore
        } else {
            Step::Done(None, 1)
        };
    }
    match std::str::from_utf8(&b[..len])
        .ok()
        .and_then(|s| s.chars().next())
    {
        Some(c) => Step::Done(Some(key(KeyCode::Char(c), modifiers)), len),
        None => Step::Done(None, 1),
    }
}

fn escape(b: &[u8]) -> Step {
    let Some(&next) = b.get(1) else {
        return Step::NeedMore;
    };
    match next {
        b'[' => csi(b),
        b'O' => match b.get(2) {
            None => Step::NeedMore,
            Some(&f) => Step::Done(final_key(f, KeyModifiers::NONE).map(|c| key(c.0, c.1)), 3),
        },
        // Esc pressed twice: the first is a key of its own.
        0x1b => Step::Done(Some(key(KeyCode::Esc, KeyModifiers::NONE)), 1),
        // Alt+key arrives as escape then the key.
        _ => match step(&b[1..]) {
            Step::Done(Some(mut k), used) => {
                k.modifiers |= KeyModifiers::ALT;
                Step::Done(Some(k), used + 1)
            }
            Step::Done(None, used) => Step::Done(None, used + 1),
            Step::NeedMore => Step::NeedMore,
        },
    }
}

/// `ESC [ params final`: cursor keys, Home/End, PageUp/Down, Insert/Delete, F1–F12, BackTab,
/// with xterm's modifier parameter (`ESC [1;5A` is Ctrl+Up).
fn csi(b: &[u8]) -> Step {
    let Some(end) = b[2..].iter().position(|c| (0x40..=0x7e).contains(c)) else {
        return if b[2..].iter().all(|c| (0x20..=0x3f).contains(c)) {
            Step::NeedMore
        } else {
            // Not a sequence after all: drop the introducer, read the rest as keys.
            Step::Done(None, 2)
        };
    };
    let used = 2 + end + 1;
    let final_byte = b[2 + end];
    let params: Vec<u16> = std::str::from_utf8(&b[2..2 + end])
        .unwrap_or("")
        .split(';')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let mods = modifiers(params.get(1).copied().unwrap_or(1));
    let code = match final_byte {
        b'~' => match params.first().copied().unwrap_or(0) {
            1 | 7 => Some(KeyCode::Home),
            2 => Some(KeyCode::Insert),
            3 => Some(KeyCode::Delete),
            4 | 8 => Some(KeyCode::End),
            5 => Some(KeyCode::PageUp),
            6 => Some(KeyCode::PageDown),
            n @ 11..=15 => Some(KeyCode::F((n - 10) as u8)),
            n @ 17..=21 => Some(KeyCode::F((n - 11) as u8)),
            n @ 23..=24 => Some(KeyCode::F((n - 12) as u8)),
            _ => None,
        },
        f => final_key(f, mods).map(|(c, _)| c),
    };
    let mods = if final_byte == b'Z' {
        mods | KeyModifiers::SHIFT
    } else {
        mods
    };
    Step::Done(code.map(|c| key(c, mods)), used)
}

fn final_key(f: u8, mods: KeyModifiers) -> Option<(KeyCode, KeyModifiers)> {
    let code = match f {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'Z' => KeyCode::BackTab,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        _ => return None,
    };
    Some((code, mods))
}

/// xterm's modifier parameter: 1 + (shift 1 | alt 2 | ctrl 4).
fn modifiers(param: u16) -> KeyModifiers {
    let bits = param.saturating_sub(1);
    let mut m = KeyModifiers::NONE;
    if bits & 1 != 0 {
        m |= KeyModifiers::SHIFT;
    }
    if bits & 2 != 0 {
        m |= KeyModifiers::ALT;
    }
    if bits & 4 != 0 {
        m |= KeyModifiers::CONTROL;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codes(d: &mut KeyDecoder, bytes: &[u8]) -> Vec<(KeyCode, KeyModifiers)> {
        d.feed(bytes)
            .into_iter()
            .map(|k| (k.code, k.modifiers))
            .collect()
    }

    #[test]
    fn what_terminals_send_decodes_to_the_keys_pressed() {
        let n = KeyModifiers::NONE;
        let mut d = KeyDecoder::default();
        assert_eq!(
            codes(&mut d, b"sX\r\x7f\t"),
            [
                (KeyCode::Char('s'), n),
                (KeyCode::Char('X'), n),
                (KeyCode::Enter, n),
                (KeyCode::Backspace, n),
                (KeyCode::Tab, n)
            ]
        );
        assert_eq!(
            codes(&mut d, b"\x1b[A\x1bOB\x1b[5~\x1b[1;5C\x1b[Z"),
            [
                (KeyCode::Up, n),
                (KeyCode::Down, n),
                (KeyCode::PageUp, n),
                (KeyCode::Right, KeyModifiers::CONTROL),
                (KeyCode::BackTab, KeyModifiers::SHIFT)
            ]
        );
        assert_eq!(
            codes(&mut d, b"\x03\x1bx\x1b"),
            [
                (KeyCode::Char('c'), KeyModifiers::CONTROL),
                (KeyCode::Char('x'), KeyModifiers::ALT),
                (KeyCode::Esc, n)
            ]
        );
        assert_eq!(codes(&mut d, "é".as_bytes()), [(KeyCode::Char('é'), n)]);
    }

    #[test]
    fn a_sequence_cut_between_packets_waits_for_its_end() {
        let mut d = KeyDecoder::default();
        assert!(codes(&mut d, b"\x1b[1;").is_empty());
        assert_eq!(codes(&mut d, b"2A"), [(KeyCode::Up, KeyModifiers::SHIFT)]);
        let e = "é".as_bytes();
        assert!(codes(&mut d, &e[..1]).is_empty());
        assert_eq!(
            codes(&mut d, &e[1..]),
            [(KeyCode::Char('é'), KeyModifiers::NONE)]
        );
    }

    proptest! {
        /// Whatever a client sends: no panic, and what waits for more stays small.
        #[test]
        fn any_bytes_decode_without_panic_and_bounded(
            packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)
        ) {
            let mut d = KeyDecoder::default();
            for p in packets {
                let _ = d.feed(&p);
                prop_assert!(d.pending.len() <= MAX_PENDING + 1);
            }
        }

        /// Printable text comes through as exactly its characters.
        #[test]
        fn text_decodes_to_its_characters(text in "[a-zA-Z0-9 /:._-]{0,40}") {
            let mut d = KeyDecoder::default();
            let got: String = d.feed(text.as_bytes()).into_iter().filter_map(|k| match k.code {
                KeyCode::Char(c) => Some(c),
                _ => None,
            }).collect();
            prop_assert_eq!(got, text);
        }
    }
}
