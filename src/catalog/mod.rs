//! The challenge catalog: reading `challenge.json` files (and ctfcli `challenge.yml` files),
//! checking them against the format and the admin's ceilings, and reporting every problem as
//! `path:line:column: message`.

mod ceilings;
mod containment;
pub mod ctfcli;
mod diagnostic;
mod effective;
mod exceptions;
mod fetches;
mod findings;
mod flag;
mod image_ref;
mod load;
mod locate;
pub mod model;
mod profile;
pub mod scaffold;
mod security;
mod unique;
mod validate;
pub mod watch;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod testutil;

use std::path::{Path, PathBuf};

pub use ceilings::{Ceilings, normalize_cap};
pub use containment::{ContainmentError, EscapingLink, links_leaving, resolve_inside};
pub use diagnostic::{Diagnostic, Severity};
pub use effective::{
    Amount, EffectiveSecurity, Evaluation, Grants, MIN_CPUS, Problem, evaluate, is_unlimited,
};
pub use exceptions::{DANGEROUS_CAPS, Exception, Exceptions, dangerous_cap};
pub use fetches::{RemoteAdd, remote_adds};
pub use flag::{
    FlagInjection, MAX_HEX_DIGITS, TemplatePart, parse_flag_inject, parse_flag_template,
};
pub use image_ref::normalize_image;
pub use load::{CHALLENGE_FILE, check_bytes};
pub use model::*;
pub use profile::{
    DEFAULT_PROFILE, DEFAULT_PROXY_IMAGE, Profile, ProfileError, ProfileFields, ProfilesConfig,
    SHIPPED_PROFILES, Seccomp, SecurityProfiles, TmpfsRule, mount_problem, read_profiles,
};
pub use validate::checked_context;

/// The valid challenges of a catalog folder.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The folder the catalog was loaded from.
    pub root: PathBuf,
    /// Sorted by id.
    pub challenges: Vec<Challenge>,
}

/// The outcome of loading a catalog: the valid challenges and every problem found.
#[derive(Debug, Clone)]
pub struct CatalogReport {
    /// Only the challenges without errors (warnings are fine).
    pub catalog: Catalog,
    /// Per file in folder order, by position within a file.
    pub diagnostics: Vec<Diagnostic>,
}

impl CatalogReport {
    /// Number of error diagnostics.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warning diagnostics.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Why a catalog could not be loaded at all. Problems inside challenge files are
/// [`Diagnostic`]s, never this.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog folder {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("catalog path {} is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("invalid admin ceilings: {0}")]
    Ceilings(String),
}

impl Catalog {
    /// Load `dir`: either a catalog folder (every immediate, non-hidden subfolder holding a
    /// `challenge.json` or a ctfcli `challenge.yml` is a challenge) or a single challenge folder
    /// (holding one itself).
    ///
    /// Fails only when `dir` itself cannot be read (missing, not a folder) or the ceilings are
    /// invalid; problems in challenge files are reported as diagnostics.
    pub fn load(dir: &Path, ceilings: &Ceilings) -> Result<CatalogReport, CatalogError> {
        load::load(dir, ceilings)
    }

    /// The challenge with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Challenge> {
        self.challenges.iter().find(|c| c.id == id)
    }
}
