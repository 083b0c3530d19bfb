//! "Whose flag is this?": staff paste a submitted flag and learn which instance, owner and
//! challenge it belongs to — also for stopped instances — to spot flag sharing.

use serde::Serialize;

use crate::store::InstanceRecord;

use super::{DomainError, InstanceView, Lifecycle, Owner};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FlagOwner {
    /// A per-instance flag: exactly one instance holds it.
    Instance(Box<InstanceView>),
    /// A static flag from the catalog, shared by every instance of the challenge.
    Static { challenge: String },
}

/// The audit action recorded when an owner hands in another owner's flag.
pub const FLAG_SHARED: &str = "flag-shared";

/// What a flag one owner submitted turns out to be: the scoreboard's (or staff's) question
/// "did this team solve it, or was it handed the flag?".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Submission {
    /// The flag of one of the submitter's own instances.
    Own { instance: Box<InstanceView> },
    /// The flag of another owner's instance: shared, or stolen.
    Shared {
        instance: Box<InstanceView>,
        submitted_by: String,
    },
    /// A static flag: the same for every owner, so sharing cannot be told from it.
    Static { challenge: String },
    /// Nothing holds this flag.
    Unknown,
}

impl Lifecycle {
    /// Judge a flag `submitter` handed in. A shared flag is recorded in the audit (which
    /// instance, held by whom, submitted by whom; never the flag), so staff see it in the
    /// activity view as it happens.
    pub fn check_submission(
        &self,
        flag: &str,
        submitter: &Owner,
    ) -> Result<Submission, DomainError> {
        let found = self.whose_flag(flag)?;
        let submitted_by = submitter.to_string();
        let mut static_of = None;
        let mut other = None;
        for owner in found {
            match owner {
                FlagOwner::Instance(i) if i.owner == submitted_by => {
                    return Ok(Submission::Own { instance: i });
                }
                FlagOwner::Instance(i) => other = other.or(Some(i)),
                FlagOwner::Static { challenge } => static_of = static_of.or(Some(challenge)),
            }
        }
        if let Some(instance) = other {
            self.audit(
                FLAG_SHARED,
                Some(&instance.id),
                &format!(
                    "{} flag of {} submitted by {submitted_by}",
                    instance.challenge, instance.owner
                ),
                "detected",
            );
            return Ok(Submission::Shared {
                instance,
                submitted_by,
            });
        }
        Ok(match static_of {
            Some(challenge) => Submission::Static { challenge },
            None => Submission::Unknown,
        })
    }

    pub fn whose_flag(&self, flag: &str) -> Result<Vec<FlagOwner>, DomainError> {
        let flag = flag.trim();
        let mut found: Vec<FlagOwner> = self
            .store
            .instances_with_flag(flag)?
            .iter()
            .filter(|r| !self.is_static_flag(r))
            .map(|r| FlagOwner::Instance(Box::new(InstanceView::from(r))))
            .collect();
        for c in &self.catalog.challenges {
            if c.flag.static_value.as_deref() == Some(flag) {
                found.push(FlagOwner::Static {
                    challenge: c.id.clone(),
                });
            }
        }
        Ok(found)
    }

    fn is_static_flag(&self, r: &InstanceRecord) -> bool {
        self.catalog
            .get(&r.challenge)
            .is_some_and(|c| c.flag.static_value.is_some() && c.flag.static_value == r.flag)
    }
}
