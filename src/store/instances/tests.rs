use super::*;

fn sample(id: &str, now: Millis) -> InstanceRecord {
    InstanceRecord {
        id: id.to_string(),
        challenge: "web-robots".into(),
        owner: "team:red".into(),
        status: InstanceStatus::Running,
        container_id: Some("c".into()),
        network_id: Some("n".into()),
        ports: vec![PublishedPort {
            container: 8080,
            host_ip: "0.0.0.0".into(),
            host_port: 32768,
            protocol: "http".into(),
        }],
        flag: Some("flag{x}".into()),
        created_at: now,
        expires_at: now + 60_000,
        stopped_at: None,
        renewals: 0,
        max_renewals: 2,
        max_total_at: now + 150_000,
        stop_reason: None,
        updated_at: now,
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    (dir, store)
}

#[test]
fn round_trips_a_row_and_resolves_prefixes() {
    let (_d, s) = store();
    let now = now_millis();
    s.insert_instance(&sample("abc234", now)).unwrap();
    s.insert_instance(&sample("abd567", now)).unwrap();
    assert_eq!(s.resolve("abc").unwrap(), sample("abc234", now));
    assert!(matches!(s.resolve("ab"), Err(StoreError::Ambiguous { .. })));
    assert!(matches!(s.resolve("zz"), Err(StoreError::NotFound(_))));
    assert!(matches!(s.resolve("a%"), Err(StoreError::NotFound(_))));
}

#[test]
fn an_empty_prefix_matches_nothing_even_with_one_instance() {
    let (_d, s) = store();
    s.insert_instance(&sample("only23", now_millis())).unwrap();
    for empty in ["", "  "] {
        assert!(
            matches!(s.resolve(empty), Err(StoreError::EmptyPrefix)),
            "{empty:?}"
        );
    }
}

#[test]
fn ambiguity_is_decided_on_every_match_not_on_the_first_page() {
    let (_d, s) = store();
    let now = now_millis();
    // Two live matches, twenty finished ones sorting between them.
    s.insert_instance(&sample("ab0000", now)).unwrap();
    for i in 0..20 {
        let id = format!("ab1{i:03}");
        s.insert_instance(&sample(&id, now)).unwrap();
        s.finish(&id, InstanceStatus::Stopped, "test").unwrap();
    }
    s.insert_instance(&sample("ab9999", now)).unwrap();
    let Err(StoreError::Ambiguous { candidates, .. }) = s.resolve("ab") else {
        panic!("two live matches must be ambiguous")
    };
    assert!(
        candidates.starts_with("ab0000 (web-robots, running), ab9999 (web-robots, running)"),
        "{candidates}"
    );
    assert!(candidates.ends_with(" and 2 more"), "{candidates}");
    // One live match among finished ones is what the operator means.
    s.finish("ab9999", InstanceStatus::Stopped, "test").unwrap();
    assert_eq!(s.resolve("ab").unwrap().id, "ab0000");
    assert!(matches!(
        s.resolve("ab10"),
        Err(StoreError::Ambiguous { .. })
    ));
}

#[test]
fn inserting_a_taken_id_says_so() {
    let (_d, s) = store();
    let now = now_millis();
    s.insert_instance(&sample("dup234", now)).unwrap();
    match s.insert_instance(&sample("dup234", now)) {
        Err(StoreError::IdTaken(id)) => assert_eq!(id, "dup234"),
        other => panic!("expected IdTaken, got {other:?}"),
    }
    let limits = crate::store::AdmissionLimits::default();
    match s.admit(&sample("dup234", now), &limits, None) {
        Err(StoreError::IdTaken(id)) => assert_eq!(id, "dup234"),
        other => panic!("expected IdTaken, got {other:?}"),
    }
}

#[test]
fn a_claim_records_its_lease() {
    let (_d, s) = store();
    let now = now_millis();
    let spawner = Lease {
        pid: 4242,
        started: "boot:123".into(),
        host: "deck1".into(),
    };
    let mut rec = sample("lse234", now);
    rec.status = InstanceStatus::Starting;
    let limits = crate::store::AdmissionLimits::default();
    s.admit(&rec, &limits, Some(&spawner)).unwrap();
    assert_eq!(s.lease("lse234").unwrap(), Some(spawner));
    let stopper = Lease {
        pid: 77,
        started: "boot:456".into(),
        host: "deck2".into(),
    };
    assert!(s.claim_stop("lse234", "test", Some(&stopper)).unwrap());
    assert_eq!(s.lease("lse234").unwrap(), Some(stopper));
    // A row written without one (as before leases existed) has none.
    s.insert_instance(&sample("old234", now)).unwrap();
    assert_eq!(s.lease("old234").unwrap(), None);
    assert_eq!(s.lease("nosuch").unwrap(), None);
}

#[test]
fn extend_stops_at_renewals_and_total_cap() {
    let (_d, s) = store();
    let now = now_millis();
    s.insert_instance(&sample("ext234", now)).unwrap();
    let ExtendOutcome::Extended(r) = s.extend("ext234", 60_000, None).unwrap() else {
        panic!("first extend refused")
    };
    assert_eq!(r.renewals, 1);
    assert_eq!(r.expires_at, now + 120_000);
    let ExtendOutcome::Extended(r) = s.extend("ext234", 60_000, None).unwrap() else {
        panic!("second extend refused")
    };
    assert_eq!(r.expires_at, now + 150_000, "capped at max_total_at");
    assert_eq!(
        s.extend("ext234", 60_000, None).unwrap(),
        ExtendOutcome::RenewalsExhausted {
            renewals: 2,
            max: 2
        }
    );
}

#[test]
fn claim_stop_is_won_once() {
    let (_d, s) = store();
    s.insert_instance(&sample("stp234", now_millis())).unwrap();
    assert!(s.claim_stop("stp234", "test", None).unwrap());
    assert!(!s.claim_stop("stp234", "test", None).unwrap());
    s.finish("stp234", InstanceStatus::Stopped, "test").unwrap();
    let r = s.instance("stp234").unwrap().unwrap();
    assert_eq!(r.status, InstanceStatus::Stopped);
    assert!(r.stopped_at.is_some());
}

#[test]
fn an_exit_is_recorded_once_and_the_instance_stays_its_owners_until_stopped() {
    let (_d, s) = store();
    let now = now_millis();
    s.insert_instance(&sample("ext567", now)).unwrap();
    assert!(s.mark_exited("ext567", "exited with code 3").unwrap());
    // A second observer of the same exit changes nothing.
    assert!(!s.mark_exited("ext567", "exited with code 3").unwrap());
    let row = s.instance("ext567").unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Exited);
    assert_eq!(row.stop_reason.as_deref(), Some("exited with code 3"));
    assert!(row.stopped_at.is_some());
    // Listed as live, and the reaper takes it when it expires.
    let live = s.list_instances(&InstanceFilter::default()).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(s.exited().unwrap().len(), 1);
    assert!(s.expired(now).unwrap().is_empty());
    assert_eq!(s.expired(now + 60_000).unwrap().len(), 1);
    assert_eq!(s.next_expiry().unwrap(), Some(now + 60_000));
    // One restart attempt per reading of the row, whoever asks.
    let seen = s.instance("ext567").unwrap().unwrap().updated_at;
    assert!(s.claim_restart("ext567", seen).unwrap());
    assert!(!s.claim_restart("ext567", seen).unwrap());
    // Restarted: running again, the reason gone.
    assert!(s.mark_restarted("ext567", &[]).unwrap());
    let row = s.instance("ext567").unwrap().unwrap();
    assert_eq!(
        (row.status, row.stop_reason, row.stopped_at),
        (InstanceStatus::Running, None, None)
    );
    // An exited instance can be stopped; a stopped one is never restarted.
    assert!(s.mark_exited("ext567", "exited with code 3").unwrap());
    assert!(s.claim_stop("ext567", "stopped by operator", None).unwrap());
    s.finish("ext567", InstanceStatus::Stopped, "stopped by operator")
        .unwrap();
    assert!(!s.mark_restarted("ext567", &[]).unwrap());
    assert!(!s.mark_exited("ext567", "late event").unwrap());
    assert_eq!(
        s.instance("ext567").unwrap().unwrap().status,
        InstanceStatus::Stopped
    );
}

#[test]
fn a_released_claim_can_be_claimed_again() {
    let (_d, s) = store();
    s.insert_instance(&sample("rel234", now_millis())).unwrap();
    let before = s.instance("rel234").unwrap().unwrap().status;
    assert!(s.claim_stop("rel234", "expired", None).unwrap());
    s.release_stop("rel234", before).unwrap();
    let row = s.instance("rel234").unwrap().unwrap();
    assert_eq!(row.status, before);
    assert_eq!(row.stop_reason, None);
    assert!(s.claim_stop("rel234", "expired", None).unwrap());
    // A final row is never brought back.
    s.finish("rel234", InstanceStatus::Stopped, "expired")
        .unwrap();
    s.release_stop("rel234", before).unwrap();
    let row = s.instance("rel234").unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Stopped);
}

#[cfg(unix)]
#[test]
fn a_store_in_a_set_group_id_folder_is_shared_with_the_group_never_others() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let shared = d.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let path = shared.join("ctfdeck.db");
    let s = Store::open(&path).unwrap();
    s.insert_instance(&sample("grp234", now_millis())).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o660);
    // SQLite's side files follow the store's mode, so the group can write through WAL too.
    assert_eq!(mode(&shared.join("ctfdeck.db-wal")), 0o660);
    assert_eq!(mode(&shared.join("ctfdeck.db-shm")), 0o660);
}

#[cfg(unix)]
#[test]
fn new_parent_folders_of_a_store_are_private_and_existing_ones_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let outer = d.path().join("data");
    let inner = outer.join("ctfdeck");
    Store::open(&inner.join("ctfdeck.db")).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&outer), 0o700);
    assert_eq!(mode(&inner), 0o700);
    assert_eq!(mode(d.path()), 0o755, "an existing folder keeps its mode");
}

#[cfg(unix)]
#[test]
fn store_file_is_private_and_in_wal_mode() {
    use std::os::unix::fs::PermissionsExt;
    let (d, s) = store();
    let mode = std::fs::metadata(d.path().join("s.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let journal: String = s
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(
        s.schema_version().unwrap(),
        super::super::migrations::LATEST
    );
}
