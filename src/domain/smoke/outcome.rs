//! What one stage hands back: a value and a one-line message, or a failure that says why.

/// A stage that passed.
#[derive(Debug)]
pub struct Passed<T> {
    pub value: T,
    pub message: String,
    pub details: Vec<String>,
}

impl<T> Passed<T> {
    pub fn new(value: T, message: impl Into<String>) -> Self {
        Passed {
            value,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

/// A stage that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub message: String,
    pub details: Vec<String>,
}

impl Failed {
    pub fn new(message: impl Into<String>) -> Self {
        Failed {
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

pub type StageOutcome<T> = Result<Passed<T>, Failed>;

/// The last `n` non-empty lines of `text`.
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_skip_blank_ones() {
        assert_eq!(last_lines("a\n\nb\nc\n\n", 2), ["b", "c"]);
        assert_eq!(last_lines("only\n", 5), ["only"]);
        assert!(last_lines("", 3).is_empty());
    }
}
