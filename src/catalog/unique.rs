//! What must be unique across a catalog: challenge ids, and the image tags challenges build. A
//! build tagged like another challenge's image silently replaces that image on the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::findings::Findings;
use super::image_ref::normalize_image;
use super::model::Challenge;

/// The ids and images of the files checked so far.
#[derive(Debug, Default)]
pub(super) struct Seen {
    ids: BTreeMap<String, PathBuf>,
    /// Normalized image → the first file using it, and whether that file builds it.
    images: BTreeMap<String, (PathBuf, bool)>,
}

impl Seen {
    /// Report what an earlier file already took; remember what this one takes otherwise.
    pub fn check(&mut self, challenge: &Challenge, out: &mut Findings<'_>) {
        match self.ids.get(&challenge.id) {
            Some(first) => out.error(
                "/id",
                format!(
                    "duplicate id {:?}: already defined in {}",
                    challenge.id,
                    first.display()
                ),
            ),
            None => {
                self.ids
                    .insert(challenge.id.clone(), challenge.source.clone());
            }
        }
        self.check_image(challenge, out);
    }

    /// Two challenges may run the same registry image; neither may build a tag another uses.
    fn check_image(&mut self, challenge: &Challenge, out: &mut Findings<'_>) {
        let image = &challenge.container.image;
        if image.trim().is_empty() {
            return;
        }
        let builds = challenge.container.build.is_some();
        let key = normalize_image(image);
        match self.images.get(&key) {
            Some((first, first_builds)) if builds || *first_builds => {
                let what = if *first_builds {
                    "is built by"
                } else {
                    "is used by"
                };
                out.error(
                    "/container/image",
                    format!(
                        "image {image:?} {what} {}: one build would replace the other's image; give each built image its own tag",
                        first.display()
                    ),
                );
            }
            Some(_) => {}
            None => {
                self.images.insert(key, (challenge.source.clone(), builds));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testutil::{base, write_challenge};
    use crate::catalog::{Catalog, Ceilings};

    fn challenge(root: &std::path::Path, id: &str, image: &str, build: bool) {
        let mut v: Value = base();
        v["id"] = json!(id);
        v["container"]["image"] = json!(image);
        if build {
            v["container"]["build"] = json!(".");
        }
        let dir = root.join(id);
        write_challenge(&dir, &v);
        std::fs::write(dir.join("Dockerfile"), "FROM busybox:1.36\n").unwrap();
    }

    fn errors(root: &std::path::Path) -> Vec<String> {
        let report = Catalog::load(root, &Ceilings::default()).unwrap();
        let prefix = format!("{}/", root.display());
        report
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string().replace(&prefix, ""))
            .collect()
    }

    #[test]
    fn two_builds_of_one_tag_are_refused_on_the_second() {
        let tmp = tempfile::tempdir().unwrap();
        challenge(tmp.path(), "aa-web", "ctfdeck/web:1", true);
        challenge(tmp.path(), "bb-copy", "docker.io/ctfdeck/web:1", true);
        let errors = errors(tmp.path());
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("bb-copy/challenge.json:5:14: image \"docker.io/ctfdeck/web:1\" is built by aa-web/challenge.json"),
            "{errors:#?}"
        );
    }

    #[test]
    fn building_the_image_another_challenge_runs_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        challenge(tmp.path(), "aa-runs", "nginx:1.27", false);
        challenge(tmp.path(), "bb-builds", "nginx:1.27", true);
        let errors = errors(tmp.path());
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains("image \"nginx:1.27\" is used by aa-runs/challenge.json"),
            "{errors:#?}"
        );
    }

    #[test]
    fn challenges_may_share_an_image_they_do_not_build() {
        let tmp = tempfile::tempdir().unwrap();
        challenge(tmp.path(), "aa-one", "nginx:1.27", false);
        challenge(tmp.path(), "bb-two", "nginx:1.27", false);
        challenge(tmp.path(), "cc-own", "ctfdeck/cc-own:latest", true);
        assert_eq!(errors(tmp.path()), Vec::<String>::new());
    }
}
