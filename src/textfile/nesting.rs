//! A cheap scan for JSON nested too deep, run before any parser sees the text.
//!
//! The parser that gives `challenge.json` its positions recurses once per `[` or `{` with no
//! limit of its own, so 100,000 of them overflow the stack and abort the process. Counting the
//! brackets outside strings first bounds every recursion that follows.

/// The deepest nesting of arrays and objects a file may have. The native format needs 4 levels;
/// YAML files get the same bound from their parser.
pub const MAX_NESTING: usize = 64;

/// `Err(offset)` of the first `[` or `{` that opens level [`MAX_NESTING`] + 1.
///
/// Strings are skipped (with their escapes), so brackets inside them do not count; unbalanced or
/// otherwise broken text is left for the parser to report.
pub fn check_json_nesting(text: &str) -> Result<(), usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, byte) in text.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(offset);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_up_to_the_limit_passes() {
        let ok = format!("{}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert_eq!(check_json_nesting(&ok), Ok(()));
        // Siblings do not add up.
        let wide = "[[]]".repeat(10_000);
        assert_eq!(check_json_nesting(&wide), Ok(()));
    }

    #[test]
    fn the_first_bracket_past_the_limit_is_named() {
        let deep = format!("  {}", "[{".repeat(100_000));
        assert_eq!(check_json_nesting(&deep), Err(2 + MAX_NESTING));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!("{{\"a\": \"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert_eq!(check_json_nesting(&text), Ok(()));
    }
}
