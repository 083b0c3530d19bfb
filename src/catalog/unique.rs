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
