//! Exit codes: 0 ok, 1 failed or invalid input, 2 usage (clap), 3 engine unreachable.

use crate::domain::DomainError;
use crate::engine::EngineError;

pub const FAILED: i32 = 1;
pub const UNREACHABLE: i32 = 3;

/// The exit code for an error, found by walking its cause chain.
pub fn code_for(report: &color_eyre::eyre::Report) -> i32 {
    for cause in report.chain() {
        if let Some(e) = cause.downcast_ref::<EngineError>()
            && e.is_unreachable()
        {
            return UNREACHABLE;
        }
        if let Some(d) = cause.downcast_ref::<DomainError>()
            && d.is_unreachable()
        {
            return UNREACHABLE;
        }
    }
    FAILED
}

/// The error and its causes on one line, `outer: inner: …`. Many of our errors already say
/// their cause in their own message; a cause the text so far already contains is not repeated.
pub fn describe(report: &color_eyre::eyre::Report) -> String {
    let mut out = String::new();
    for cause in report.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// An error already reported to the user (e.g. catalog diagnostics): exit 1 without more output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let inner = EngineError::ImageMissing {
            image: "ctfdeck/x:latest".into(),
        };
        let said = inner.to_string();
        let outer = DomainError::SpawnFailed {
            challenge: "x".into(),
            owner: "team:a".into(),
            source: inner,
        };
        let report = color_eyre::eyre::Report::new(outer).wrap_err("spawning");
        let text = describe(&report);
        assert_eq!(text.matches(&said).count(), 1, "{text}");
        assert!(
            text.starts_with("spawning: spawn of x for team:a failed: "),
            "{text}"
        );
    }
}
