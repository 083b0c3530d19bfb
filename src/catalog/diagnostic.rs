//! A problem found in a challenge definition, with the file position authors need to fix it.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem in one file. `line` and `column` are 1-based; columns count characters.
///
/// Displays as `path:line:column: message`, with `warning: ` in front of the message for
/// warnings — the format editors and terminals turn into clickable locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        // A message quoting a key with a line break must still be one line of output.
        f.write_str(&crate::textfile::one_line(&self.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(severity: Severity) -> Diagnostic {
        Diagnostic {
            path: PathBuf::from("web/challenge.json"),
            line: 7,
            column: 19,
            severity,
            message: "something is off".to_string(),
        }
    }

    #[test]
    fn errors_display_as_path_line_column_message() {
        assert_eq!(
            diag(Severity::Error).to_string(),
            "web/challenge.json:7:19: something is off"
        );
    }

    #[test]
    fn warnings_are_prefixed_in_the_message_part() {
        assert_eq!(
            diag(Severity::Warning).to_string(),
            "web/challenge.json:7:19: warning: something is off"
        );
    }
}
