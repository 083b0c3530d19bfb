//! Whose flag is this: per-instance flags name their instance (stopped ones too), static flags
//! their challenge; a flag handed in by another owner is audited as shared.

use super::{Deck, owner};
use crate::domain::{FLAG_SHARED, FlagOwner, Submission};
use crate::store::InstanceStatus;

#[tokio::test]
async fn a_per_instance_flag_names_its_instance_even_once_stopped() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    let other = d.spawn("web", "team:b").await;
    let flag = rec.flag.clone().unwrap();
    assert_ne!(
        Some(&flag),
        other.flag.as_ref(),
        "each instance its own flag"
    );
    d.lifecycle.stop(&rec.id, "test").await.unwrap();
    // Pasted with the whitespace a copy brings along.
    let found = d.lifecycle.whose_flag(&format!("  {flag}\n")).unwrap();
    match found.as_slice() {
        [FlagOwner::Instance(i)] => {
            assert_eq!(
                (i.id.as_str(), i.owner.as_str()),
                (rec.id.as_str(), "team:a")
            );
            assert_eq!(i.status, InstanceStatus::Stopped.as_str());
        }
        other => panic!("expected one instance, got {other:?}"),
    }
    assert!(d.lifecycle.whose_flag("flag{nobody}").unwrap().is_empty());
}

#[tokio::test]
async fn a_static_flag_names_its_challenge_not_an_instance() {
    let d = Deck::new();
    let rec = d.spawn("pwn", "team:a").await;
    let found = d
        .lifecycle
        .whose_flag(rec.flag.as_deref().unwrap())
        .unwrap();
    assert_eq!(
        found,
        [FlagOwner::Static {
            challenge: "pwn".into()
        }]
    );
}

#[tokio::test]
async fn a_flag_handed_in_by_another_owner_is_shared_and_audited() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    let flag = rec.flag.clone().unwrap();
    assert!(matches!(
        d.lifecycle
            .check_submission(&flag, &owner("team:a"))
            .unwrap(),
        Submission::Own { .. }
    ));
    assert!(d.audit(FLAG_SHARED).is_empty());
    match d
        .lifecycle
        .check_submission(&flag, &owner("team:b"))
        .unwrap()
    {
        Submission::Shared {
            instance,
            submitted_by,
        } => {
            assert_eq!(instance.id, rec.id);
            assert_eq!(submitted_by, "team:b");
        }
        other => panic!("expected shared, got {other:?}"),
    }
    let audited = d.audit(FLAG_SHARED);
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].instance.as_deref(), Some(rec.id.as_str()));
    assert!(
        !audited[0].detail.contains(&flag),
        "the audit never holds a flag"
    );

    let pwn = d.spawn("pwn", "team:a").await;
    assert_eq!(
        d.lifecycle
            .check_submission(pwn.flag.as_deref().unwrap(), &owner("team:b"))
            .unwrap(),
        Submission::Static {
            challenge: "pwn".into()
        }
    );
    assert_eq!(
        d.lifecycle
            .check_submission("flag{made_up}", &owner("team:b"))
            .unwrap(),
        Submission::Unknown
    );
}
