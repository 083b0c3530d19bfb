//! Builds go through the lifecycle: the challenges a build takes, the audit of each build.

use std::sync::Mutex;

use super::Deck;
use crate::domain::{BuildOutcome, DomainError};

#[tokio::test]
async fn a_build_streams_its_output_and_is_audited() {
    let d = Deck::new();
    let lines = Mutex::new(Vec::new());
    let progress = |line: &str| lines.lock().unwrap().push(line.to_string());
    let outcome = d.lifecycle.build("web", &progress).await.unwrap();
    assert_eq!(
        outcome,
        BuildOutcome::Built {
            image: "ctfdeck-test/web:1".into()
        }
    );
    assert!(!lines.into_inner().unwrap().is_empty(), "output forwarded");
    let built = d.engine.builds();
    assert_eq!(built.len(), 1);
    assert_eq!(built[0].0, "ctfdeck-test/web:1");
    // The context as checked: the challenge's folder, links resolved.
    let context = std::fs::canonicalize(d.dir.path().join("web")).unwrap();
    assert_eq!(built[0].1, context.display().to_string());
    let audited = d.audit("build");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].detail, "web as ctfdeck-test/web:1");
    assert_eq!(audited[0].outcome, "ok");
    assert_eq!(audited[0].actor, "tester");
}

#[tokio::test]
async fn a_failed_build_is_audited_with_the_engine_s_reason() {
    let d = Deck::new();
    d.engine.fail_builds(Some("step 2: no such file"));
    let e = d.lifecycle.build("web", &|_| {}).await.unwrap_err();
    assert!(e.to_string().contains("no such file"), "{e}");
    let audited = d.audit("build");
    assert_eq!(audited.len(), 1);
    assert!(audited[0].outcome.starts_with("failed: "), "{audited:?}");
    assert!(audited[0].outcome.contains("no such file"));
}

#[tokio::test]
async fn a_challenge_without_a_build_context_is_used_as_it_is() {
    let d = Deck::new();
    let outcome = d.lifecycle.build("pwn", &|_| {}).await.unwrap();
    assert_eq!(
        outcome,
        BuildOutcome::NoContext {
            image: "registry.example/pwn:1".into()
        }
    );
    assert!(d.engine.builds().is_empty());
    assert!(d.audit("build").is_empty(), "nothing was built");
}

#[tokio::test]
async fn the_targets_are_the_named_challenges_or_every_one_with_a_context() {
    let d = Deck::new();
    let names = |ids: &[&str]| -> Vec<(String, bool)> {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        d.lifecycle
            .build_targets(&ids)
            .unwrap()
            .into_iter()
            .map(|t| (t.challenge, t.context.is_some()))
            .collect()
    };
    assert_eq!(names(&[]), [("web".to_string(), true)]);
    assert_eq!(
        names(&["pwn", "web"]),
        [("pwn".to_string(), false), ("web".to_string(), true)]
    );
    let e = d
        .lifecycle
        .build_targets(&["web".into(), "nope".into()])
        .unwrap_err();
    assert!(matches!(e, DomainError::UnknownChallenge { .. }), "{e}");
    assert!(e.to_string().contains("known: pwn, web"), "{e}");
}
