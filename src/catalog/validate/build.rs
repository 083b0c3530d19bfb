//! Checks of a challenge that is built here: its context stays inside the challenge folder
//! (links included), its Dockerfile fetches nothing through the engine, its tag does not
//! replace an image ctfdeck itself runs, and a request for network access says why.

use std::path::{Path, PathBuf};

use crate::catalog::ceilings::Ceilings;
use crate::catalog::containment::{links_leaving, resolve_inside};
use crate::catalog::fetches::remote_adds;
use crate::catalog::findings::Findings;
use crate::catalog::image_ref::normalize_image;
use crate::catalog::model::{BuildNetworkMode, Challenge};
use crate::catalog::profile::DEFAULT_PROXY_IMAGE;

use super::is_inside_relative;

const AT: &str = "/container/build";

pub(super) fn check(ch: &Challenge, build: &str, ceilings: &Ceilings, out: &mut Findings<'_>) {
    context(ch, build, out);
    reserved_tag(ch, ceilings, out);
    network(ch, out);
}

fn context(ch: &Challenge, build: &str, out: &mut Findings<'_>) {
    if let Err(problems) = checked_context(&ch.dir, build) {
        for problem in problems {
            out.error(AT, problem);
        }
    }
}

/// The build context `build` of the challenge folder `dir`, resolved, when it is safe to hand
/// to the engine: a folder inside `dir` (links resolved) with a Dockerfile, holding no link
/// that leads outside `dir`, and whose Dockerfile makes the engine fetch nothing. Otherwise
/// every reason it is not. Checked again right before each build, as files change.
pub fn checked_context(dir: &Path, build: &str) -> Result<PathBuf, Vec<String>> {
    if !is_inside_relative(build) {
        return Err(vec![format!(
            "build context {build:?} must be a folder inside the challenge folder (e.g. \".\")"
        )]);
    }
    if !dir.join(build).is_dir() {
        return Err(vec![format!(
            "build context {build:?} does not exist in the challenge folder"
        )]);
    }
    // Lexically inside is not enough: the folder itself may be a link to elsewhere.
    let context = resolve_inside(dir, build).map_err(|e| vec![format!("build context {e}")])?;
    let mut problems = Vec::new();
    match links_leaving(dir, &context) {
        Ok(links) => problems.extend(links.into_iter().map(|link| {
            format!(
                "build context holds a link that leads outside the challenge folder: {link}; copy the file into the folder instead"
            )
        })),
        Err(e) => problems.push(format!("build context cannot be read: {e}")),
    }
    let dockerfile = context.join("Dockerfile");
    if !dockerfile.is_file() {
        problems.push(format!("build context {build:?} has no Dockerfile"));
    } else {
        match std::fs::read_to_string(&dockerfile) {
            Ok(text) => problems.extend(
                remote_adds(&text)
                    .into_iter()
                    .map(|add| format!("build context {build:?}: {add}")),
            ),
            Err(e) => problems.push(format!(
                "build context {build:?}: cannot read its Dockerfile: {e}"
            )),
        }
    }
    if problems.is_empty() {
        Ok(context)
    } else {
        Err(problems)
    }
}

/// The images ctfdeck starts itself (the egress proxy) and the base the examples build on.
fn reserved_tag(ch: &Challenge, ceilings: &Ceilings, out: &mut Findings<'_>) {
    let image = &ch.container.image;
    if image.trim().is_empty() {
        return;
    }
    let tag = normalize_image(image);
    let reserved = [DEFAULT_PROXY_IMAGE, ceilings.security.proxy_image.as_str()];
    if let Some(hit) = reserved
        .iter()
        .find(|r| !r.trim().is_empty() && normalize_image(r) == tag)
    {
        out.error(
            "/container/image",
            format!(
                "image {image:?} is reserved: {hit} is the egress proxy image ctfdeck runs and the base the example challenges build on, and this build would replace it; tag the build as your own (e.g. \"ctfdeck/{}:latest\")",
                ch.id
            ),
        );
    }
}

fn network(ch: &Challenge, out: &mut Findings<'_>) {
    let Some(request) = &ch.container.build_network else {
        return;
    };
    if request.reason.trim().is_empty() {
        out.error(
            "/container/build_network/reason",
            "container.build_network.reason must say why the build needs the network (e.g. \"installs packages with apk\")",
        );
    } else if request.mode == BuildNetworkMode::Default {
        out.warning(
            "/container/build_network/mode",
            format!(
                "the build's RUN steps get the engine's default network, which reaches the host's own services: {}",
                request.reason.trim()
            ),
        );
    }
}
