//! Stage 2: the image exists — built from the challenge's context (the engine reuses cached
//! layers), or pulled when the challenge names a registry image that is not there yet.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::catalog::Challenge;
use crate::domain::Lifecycle;
use crate::engine::Engine;

use super::outcome::{Failed, Passed, StageOutcome};

/// Build output lines kept to explain a failed build.
const BUILD_TAIL: usize = 15;

pub async fn run(
    lifecycle: &Lifecycle,
    challenge: &Challenge,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> StageOutcome<()> {
    let image = &challenge.container.image;
    if challenge.container.build.is_none() {
        return pull_if_missing(lifecycle.engine().as_ref(), image, progress).await;
    }
    let steps = AtomicUsize::new(0);
    let cached = AtomicUsize::new(0);
    let tail = std::sync::Mutex::new(VecDeque::with_capacity(BUILD_TAIL));
    let observe = |line: &str| {
        // `FROM` is never "cached"; counting it would make a fully cached build look partial.
        if line.starts_with("Step ") && !line.to_ascii_uppercase().contains(" : FROM ") {
            steps.fetch_add(1, Ordering::Relaxed);
        }
        if line.contains("Using cache") {
            cached.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == BUILD_TAIL {
                tail.pop_front();
            }
            tail.push_back(line.to_string());
        }
        progress(line);
    };
    match lifecycle.build_image(challenge, &observe).await {
        Ok(()) => {
            let (steps, cached) = (steps.into_inner(), cached.into_inner());
            Ok(Passed::new(
                (),
                format!("built {image} ({cached} of {steps} steps cached)"),
            ))
        }
        Err(e) => {
            let output: Vec<String> = tail.into_inner().unwrap_or_default().into();
            Err(Failed::new(e.to_string()).with_details(output))
        }
    }
}

async fn pull_if_missing(
    engine: &dyn Engine,
    image: &str,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> StageOutcome<()> {
    match engine.image_present(image).await {
        Ok(true) => return Ok(Passed::new((), format!("image {image} is present"))),
        Ok(false) => {}
        Err(e) => return Err(Failed::new(e.to_string())),
    }
    engine
        .pull_image(image, progress)
        .await
        .map(|()| Passed::new((), format!("pulled {image}")))
        .map_err(|e| Failed::new(e.to_string()))
}
