#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Renewal rules: count, window, total cap — and atomic under concurrent extenders.

mod common;

use std::time::Duration;

use common::Fixture;
use ctfdeck::domain::DomainError;
use ctfdeck::store::{ExtendOutcome, Store, now_millis};

#[tokio::test(flavor = "multi_thread")]
async fn the_renewal_window_refuses_early_extends_and_says_from_when() {
    let f =
        Fixture::with_policy(|p| p.lifetime.renew_window = Some(Duration::from_secs(600))).await;
    let rec = f.spawn("web-robots", "team:w").await;
    let e = f.lifecycle.extend(&rec.id, None).await.unwrap_err();
    match &e {
        DomainError::Refused { rule, message, .. } => {
            assert_eq!(*rule, "the renewal window");
            assert!(
                message.contains("from ") && message.contains("(in 34m"),
                "{message}"
            );
        }
        other => panic!("{other}"),
    }
    // Five minutes left: inside the window.
    let now = now_millis();
    f.lifecycle
        .store()
        .set_times(&rec.id, rec.created_at, now + 5 * 60_000)
        .unwrap();
    let r = f.lifecycle.extend(&rec.id, None).await.unwrap();
    assert_eq!(r.renewals, 1);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_extenders_never_exceed_any_limit() {
    // Store level, two connections (as two processes would have), 200 attempts each.
    let f = Fixture::new().await;
    let rec = f.spawn("web-robots", "team:race").await;
    let path = f.store_path();
    let mut handles = Vec::new();
    for _ in 0..2 {
        let path = path.clone();
        let id = rec.id.clone();
        handles.push(std::thread::spawn(move || {
            let store = Store::open(&path).unwrap();
            let mut granted = 0;
            for _ in 0..200 {
                match store.extend(&id, 20 * 60_000, None).unwrap() {
                    ExtendOutcome::Extended(_) => granted += 1,
                    ExtendOutcome::RenewalsExhausted { .. } | ExtendOutcome::AtMaxTotal { .. } => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
            granted
        }));
    }
    let granted: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(granted, row.renewals, "every grant counted once");
    assert_eq!(
        row.renewals, row.max_renewals,
        "all renewals used, none more"
    );
    assert!(
        row.expires_at <= row.max_total_at,
        "never past the total cap"
    );
    assert_eq!(row.expires_at, rec.expires_at + 3 * 20 * 60_000);
    f.cleanup().await;
}
