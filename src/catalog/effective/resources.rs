//! Resource requests against the admin ceilings, the profile's limits and the `unlimited`
//! exception.

use super::{Amount, Eval, Exception};
use crate::catalog::model::parse_memory;

const RES: &str = "/container/resources";

/// The smallest CPU limit: the engine counts in billionths of a core, and a value that rounds
/// to 0 there means no limit at all. Below a hundredth of a core a service cannot even answer.
pub const MIN_CPUS: f64 = 0.01;

impl Eval<'_> {
    pub(super) fn resources(&mut self) -> (Amount<i64>, Amount<f64>, Amount<i64>) {
        let r = self.ch.container.resources.clone();
        let ceil_mem = self.ceilings.max_memory_bytes().unwrap_or(i64::MAX);
        let memory = match r.memory.as_deref().map(str::trim) {
            Some(text) if is_unlimited(text) => {
                if self.allowed(Exception::Unlimited) {
                    Amount::Unlimited
                } else {
                    let m = self.refused(
                        Exception::Unlimited,
                        &format!("container.resources.memory {text:?}: unlimited memory is refused, one instance could push the host into swap and the OOM killer"),
                    );
                    self.problem(&format!("{RES}/memory"), m);
                    Amount::UpTo(0)
                }
            }
            Some(text) => match parse_memory(text) {
                // Not a size: reported by the general checks.
                None => Amount::UpTo(0),
                Some(bytes) => {
                    if bytes > ceil_mem {
                        let m = format!(
                            "container.resources.memory {text:?} is above the admin ceiling of {:?}",
                            self.ceilings.max_memory
                        );
                        self.problem(&format!("{RES}/memory"), m);
                    } else if let Some(p) = self.profile
                        && bytes > p.memory_bytes
                    {
                        let m = format!(
                            "container.resources.memory {text:?} is above the {} allowed by security profile {:?}",
                            p.memory, p.name
                        );
                        self.problem(&format!("{RES}/memory"), m);
                    }
                    Amount::Requested(bytes)
                }
            },
            None => Amount::UpTo(
                self.profile
                    .map_or(ceil_mem, |p| p.memory_bytes.min(ceil_mem)),
            ),
        };

        let ceil_cpus = self.ceilings.max_cpus;
        let cpus = match r.cpus {
            Some(cpus) => {
                // At or below 0 and not a number: reported by the general checks.
                if cpus > 0.0 && cpus < MIN_CPUS {
                    let m = format!(
                        "container.resources.cpus {cpus} is below the smallest limit of {MIN_CPUS} (the engine would round it to no limit at all)"
                    );
                    self.problem(&format!("{RES}/cpus"), m);
                } else if cpus > ceil_cpus {
                    let m = format!(
                        "container.resources.cpus {cpus} is above the admin ceiling of {ceil_cpus}"
                    );
                    self.problem(&format!("{RES}/cpus"), m);
                } else if let Some(p) = self.profile
                    && cpus > p.cpus
                {
                    let m = format!(
                        "container.resources.cpus {cpus} is above the {} allowed by security profile {:?}",
                        p.cpus, p.name
                    );
                    self.problem(&format!("{RES}/cpus"), m);
                }
                Amount::Requested(cpus)
            }
            None => Amount::UpTo(self.profile.map_or(ceil_cpus, |p| p.cpus.min(ceil_cpus))),
        };

        let ceil_pids = self.ceilings.max_pids;
        let pids = match r.pids {
            Some(pids) if pids <= 0 => {
                if self.allowed(Exception::Unlimited) {
                    Amount::Unlimited
                } else {
                    let m = self.refused(
                        Exception::Unlimited,
                        &format!("container.resources.pids must be greater than 0 (got {pids}); unlimited pids is refused, a fork bomb could exhaust the host's process table"),
                    );
                    self.problem(&format!("{RES}/pids"), m);
                    Amount::UpTo(0)
                }
            }
            Some(pids) => {
                if pids > ceil_pids {
                    let m = format!(
                        "container.resources.pids {pids} is above the admin ceiling of {ceil_pids}"
                    );
                    self.problem(&format!("{RES}/pids"), m);
                } else if let Some(p) = self.profile
                    && pids > p.pids
                {
                    let m = format!(
                        "container.resources.pids {pids} is above the {} allowed by security profile {:?}",
                        p.pids, p.name
                    );
                    self.problem(&format!("{RES}/pids"), m);
                }
                Amount::Requested(pids)
            }
            None => Amount::UpTo(self.profile.map_or(ceil_pids, |p| p.pids.min(ceil_pids))),
        };
        (memory, cpus, pids)
    }
}

/// `"unlimited"`, `"0"` or `"-1"`: no memory limit.
pub fn is_unlimited(memory: &str) -> bool {
    let m = memory.trim();
    m.eq_ignore_ascii_case("unlimited") || m == "0" || m == "-1"
}
