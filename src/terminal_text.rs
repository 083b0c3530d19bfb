//! Making text that others control safe to print on a staff member's terminal. Container
//! output, challenge names and descriptions, audit details: any of them could carry escape
//! sequences that set the window title, write to the clipboard (OSC 52), move the cursor over
//! earlier output or hide text. Everything such text goes through here before a terminal
//! sees it; `ctfdeck logs --raw` is the one deliberate exception.
//!
//! Escape sequences (CSI, OSC, DCS, SOS, PM, APC and the short ESC forms) are removed whole,
//! with their parameters; every other C0 and C1 control character and DEL is dropped; newline
//! and tab are kept (or, for one-line fields, turned into spaces). Text arriving in pieces
//! (a log stream) goes through one [`Sanitizer`], so a sequence split between two pieces is
//! still recognised.

use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';

/// Where the sanitizer is within an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Text,
    /// Just after ESC.
    Escape,
    /// ESC followed by intermediate bytes (0x20–0x2F), waiting for the final byte.
    EscapeIntermediate,
    /// Inside `ESC [`: parameters and intermediates until a final byte (0x40–0x7E).
    Csi,
    /// Inside a string sequence (OSC, DCS, SOS, PM, APC) until ST (`ESC \`) or BEL.
    String,
    /// ESC seen inside a string sequence: `\` ends it.
    StringEscape,
}

/// Removes terminal control sequences from text that may arrive in pieces.
#[derive(Debug, Clone, Default)]
pub struct Sanitizer {
    state: State,
    /// Turn newline and tab into spaces (for one-line fields and table cells).
    one_line: bool,
}

impl Sanitizer {
    /// Keeps newlines and tabs.
    pub fn new() -> Sanitizer {
        Sanitizer::default()
    }

    /// Turns newlines and tabs into spaces.
    pub fn one_line() -> Sanitizer {
        Sanitizer {
            state: State::Text,
            one_line: true,
        }
    }

    /// The printable part of `piece`; an unfinished sequence at its end is remembered and
    /// its rest dropped from the next piece.
    pub fn push(&mut self, piece: &str) -> String {
        let mut out = String::with_capacity(piece.len());
        for c in piece.chars() {
            self.state = match self.state {
                State::Text => self.text(c, &mut out),
                State::Escape => match c {
                    '[' => State::Csi,
                    ']' | 'P' | 'X' | '^' | '_' => State::String,
                    '\u{20}'..='\u{2f}' => State::EscapeIntermediate,
                    // A second ESC starts a new sequence; anything else ends this one.
                    ESC => State::Escape,
                    _ => State::Text,
                },
                State::EscapeIntermediate => match c {
                    '\u{20}'..='\u{2f}' => State::EscapeIntermediate,
                    ESC => State::Escape,
                    _ => State::Text,
                },
                State::Csi => match c {
                    '\u{20}'..='\u{3f}' => State::Csi,
                    ESC => State::Escape,
                    // The final byte, or anything that cannot be part of a CSI: either way
                    // the sequence is over and the character goes with it.
                    _ => State::Text,
                },
                State::String => match c {
                    BEL => State::Text,
                    ESC => State::StringEscape,
                    // 8-bit ST.
                    '\u{9c}' => State::Text,
                    _ => State::String,
                },
                State::StringEscape => match c {
                    '\\' => State::Text,
                    ESC => State::StringEscape,
                    _ => State::String,
                },
            };
        }
        out
    }

    fn text(&self, c: char, out: &mut String) -> State {
        match c {
            ESC => return State::Escape,
            // C1 string introducers (8-bit OSC, DCS, SOS, PM, APC) and CSI.
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => return State::String,
            '\u{9b}' => return State::Csi,
            '\n' | '\t' if self.one_line => out.push(' '),
            '\n' | '\t' => out.push(c),
            c if is_control(c) => {}
            c => out.push(c),
        }
        State::Text
    }
}

/// C0 controls, DEL and C1 controls.
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `text` without control sequences; newlines and tabs kept. Borrows when nothing was removed.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text
        .chars()
        .all(|c| c == '\n' || c == '\t' || !is_control(c))
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(Sanitizer::new().push(text))
}

/// `text` as one line without control sequences: newlines and tabs become spaces.
pub fn clean_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(Sanitizer::one_line().push(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc_title_and_clipboard_writes_are_removed_whole() {
        let title = "before\u{1b}]0;pwned\u{07}after";
        assert_eq!(clean(title), "beforeafter");
        let clipboard = "x\u{1b}]52;c;Y3VybCBldmlsIHwgc2g=\u{1b}\\y";
        assert_eq!(clean(clipboard), "xy");
    }

    #[test]
    fn colours_cursor_moves_and_lone_controls_go_newlines_and_tabs_stay() {
        assert_eq!(
            clean("\u{1b}[1;31mred\u{1b}[0m\tok\r\n\u{1b}[2J\u{1b}[Hnext\u{8}\u{7f}"),
            "red\tok\nnext"
        );
        assert_eq!(clean("\u{1b}(Bcharset \u{1b}=keypad"), "charset keypad");
        assert_eq!(
            clean("8-bit \u{9b}31mcsi \u{9d}0;t\u{9c}done"),
            "8-bit csi done"
        );
        assert_eq!(clean_line("name\nwith\tbreaks\u{1b}[K"), "name with breaks");
    }

    #[test]
    fn a_sequence_split_between_pieces_is_still_removed() {
        let mut s = Sanitizer::new();
        let mut out = s.push("log \u{1b}]52;c;");
        out += &s.push("aGVsbG8=");
        out += &s.push("\u{1b}");
        out += &s.push("\\ end\n");
        assert_eq!(out, "log  end\n");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(clean("plain ünïcode\n"), Cow::Borrowed(_)));
        assert!(matches!(clean_line("one line"), Cow::Borrowed(_)));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// Text heavy in the characters that matter: escapes, controls, sequence bytes.
        fn hostile() -> impl Strategy<Value = String> {
            let interesting = prop_oneof![
                Just('\u{1b}'),
                Just('\u{07}'),
                Just('\u{9b}'),
                Just('\u{9c}'),
                Just('\u{9d}'),
                Just('['),
                Just(']'),
                Just('\\'),
                Just('\n'),
                Just('\t'),
                Just('\r'),
                proptest::char::range('\u{0}', '\u{a0}'),
                any::<char>(),
            ];
            proptest::collection::vec(interesting, 0..200)
                .prop_map(|chars| chars.into_iter().collect())
        }

        fn no_controls(out: &str, keep: &[char]) -> bool {
            out.chars().all(|c| keep.contains(&c) || !is_control(c))
        }

        proptest! {
            #[test]
            fn output_never_holds_a_control_but_newline_and_tab(text in hostile()) {
                let out = clean(&text);
                prop_assert!(no_controls(&out, &['\n', '\t']), "{out:?}");
                let line = clean_line(&text);
                prop_assert!(no_controls(&line, &[]), "{line:?}");
            }

            #[test]
            fn pieces_never_let_a_control_through(text in hostile(), cut in 0usize..200) {
                let chars: Vec<char> = text.chars().collect();
                let cut = cut.min(chars.len());
                let (a, b): (String, String) =
                    (chars[..cut].iter().collect(), chars[cut..].iter().collect());
                let mut s = Sanitizer::new();
                let out = s.push(&a) + &s.push(&b);
                prop_assert!(no_controls(&out, &['\n', '\t']), "{out:?}");
            }

            #[test]
            fn printable_text_passes_unchanged(text in "[ -~\\n\\tа-я€]{0,100}") {
                prop_assert_eq!(clean(&text), text.as_str());
            }
        }
    }
}
