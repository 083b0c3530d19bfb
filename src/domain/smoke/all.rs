//! What `smoke --all` runs: every challenge of the catalog, including the folders whose
//! definition is too broken to be in it — so that CI fails on them at `validate` with their
//! diagnostics instead of passing without them.

use std::collections::BTreeSet;
use std::path::Component;

use crate::catalog::Catalog;
use crate::domain::Lifecycle;

pub fn every_challenge(lifecycle: &Lifecycle) -> Vec<String> {
    let catalog = lifecycle.catalog();
    let mut ids: Vec<String> = catalog.challenges.iter().map(|c| c.id.clone()).collect();
    // Unreadable now means validate fails for everyone anyway; the valid ones still run.
    let Ok(report) = Catalog::load(&catalog.root, &lifecycle.policy().ceilings) else {
        return ids;
    };
    let folders: BTreeSet<String> = catalog
        .challenges
        .iter()
        .filter_map(|c| c.dir.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let mut broken = BTreeSet::new();
    for d in report.diagnostics.iter().filter(|d| d.is_error()) {
        let Ok(inside) = d.path.strip_prefix(&catalog.root) else {
            continue;
        };
        let mut parts = inside.components();
        if let (Some(Component::Normal(folder)), Some(_)) = (parts.next(), parts.next()) {
            let folder = folder.to_string_lossy().into_owned();
            if !folders.contains(&folder) && !ids.contains(&folder) {
                broken.insert(folder);
            }
        }
    }
    ids.extend(broken);
    ids
}
