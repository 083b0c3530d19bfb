//! "Whose flag is this?": staff paste a submitted flag and learn which instance, owner and
//! challenge it belongs to — also for stopped instances — to spot flag sharing.

use serde::Serialize;

use crate::store::InstanceRecord;

use super::{DomainError, InstanceView, Lifecycle};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FlagOwner {
    /// A per-instance flag: exactly one instance holds it.
    Instance(Box<InstanceView>),
    /// A static flag from the catalog, shared by every instance of the challenge.
    Static { challenge: String },
}

impl Lifecycle {
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
