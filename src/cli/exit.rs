//! Exit codes: 0 ok, 1 failed or invalid input, 2 usage (clap), 3 engine unreachable.

use crate::domain::DomainError;
use crate::engine::EngineError;

pub const FAILED: i32 = 1;
pub const UNREACHABLE: i32 = 3;

/// The exit code for an error, found by walking its cause chain.
pub fn code_for(report: &color_eyre::eyre::Report) -> i32 {
    for cause in report.chain() {
        if let Some(EngineError::Unreachable { .. }) = cause.downcast_ref::<EngineError>() {
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

/// An error already reported to the user (e.g. catalog diagnostics): exit 1 without more output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);
