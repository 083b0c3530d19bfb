#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reconcile at the start of a command, through the real binary against the real engine: who
//! may change what it finds (an admin, never a monitor), and how soon what a killed process
//! left behind is repaired.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Fixture, bin, repo};
use ctfdeck::domain::lease;
use ctfdeck::domain::plan::{PlanInput, plan_for};
use ctfdeck::store::{AdmissionLimits, InstanceRecord, InstanceStatus, Lease, now_millis};

fn ctfdeck(f: &Fixture, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--store")
        .arg(f.store_path())
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(args)
        .env_remove("CTFDECK_CONFIG")
        // No user config of whoever runs the tests: roles come from the test alone.
        .env("XDG_CONFIG_HOME", f.dir.path())
        .output()
        .expect("run ctfdeck")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Everything the store holds, as text: rows, audit, settings.
fn store_dump(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut out = Vec::new();
    for table in ["instances", "audit", "settings"] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let cells: Vec<String> = (0..n)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            out.push(format!("{table}: {}", cells.join(" | ")));
        }
    }
    out
}

fn statuses(o: &Output) -> Vec<(String, String)> {
    assert!(o.status.success(), "{}", stderr(o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_monitor_sees_drift_and_changes_nothing_then_an_admin_reconciles() {
    let f = Fixture::new().await;
    let a = f.spawn("web-robots", "team:a").await;
    let b = f.spawn("nc-calc", "team:b").await;
    // A's row vanishes from the store; B's container is removed by hand.
    let conn = rusqlite::Connection::open(f.store_path()).unwrap();
    conn.execute("DELETE FROM instances WHERE id = ?1", [&a.id])
        .unwrap();
    f.engine
        .remove_container(b.container_id.as_deref().unwrap())
        .await
        .unwrap();
    let before = store_dump(&f.store_path());
    assert_eq!(f.leftovers().await, (1, 2));

    let monitor_cfg = f.dir.path().join("monitor.toml");
    std::fs::write(&monitor_cfg, "[roles]\ndefault = \"monitor\"\n").unwrap();
    let monitor_cfg = monitor_cfg.to_str().unwrap();
    let drift = format!(
        "note: 1 row whose container is gone ({}); 1 container without a row ({}) \
         — an admin's next command or the reaper will reconcile",
        b.id, a.id
    );
    for args in [
        &["--read-only", "list", "--json"][..],
        &["--config", monitor_cfg, "list", "--json"],
    ] {
        let o = ctfdeck(&f, args);
        assert_eq!(
            statuses(&o),
            [(b.id.clone(), "running".to_string())],
            "{args:?}: the store as it is"
        );
        assert!(stderr(&o).contains(&drift), "{args:?}: {}", stderr(&o));
        assert_eq!(
            store_dump(&f.store_path()),
            before,
            "{args:?} wrote the store"
        );
        assert_eq!(f.leftovers().await, (1, 2), "{args:?} changed the engine");
    }

    // The next admin command reconciles: A adopted, B lost (and its network gone).
    let o = ctfdeck(&f, &["list", "--json"]);
    assert!(!stderr(&o).contains("note:"), "{}", stderr(&o));
    assert_eq!(statuses(&o), [(a.id.clone(), "running".to_string())]);
    let lost = f.lifecycle.store().instance(&b.id).unwrap().unwrap();
    assert_eq!(lost.status, InstanceStatus::Lost);
    assert_eq!(f.leftovers().await, (1, 1));

    let o = ctfdeck(&f, &["stop", &a.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(f.leftovers().await, (0, 0));
}

/// The lease of a process of this host that has exited: what a `kill -9`ed spawner leaves.
fn dead_lease() -> Lease {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    Lease {
        pid,
        started: "a start time no live process has".into(),
        ..lease::this_process().expect("a lease on this host")
    }
}

/// The `starting` row a spawner admitted, with its lease.
fn admitted(f: &Fixture, id: &str, lease: &Lease) {
    let challenge = f.lifecycle.catalog().get("web-robots").unwrap().clone();
    let now = now_millis();
    let rec = InstanceRecord {
        id: id.to_string(),
        challenge: challenge.id.clone(),
        owner: format!("team:{id}"),
        status: InstanceStatus::Starting,
        container_id: None,
        network_id: None,
        ports: vec![],
        flag: f.lifecycle.flag_for(&challenge, id),
        created_at: now,
        expires_at: now + 600_000,
        stopped_at: None,
        renewals: 0,
        max_renewals: 3,
        max_total_at: now + 3_600_000,
        stop_reason: None,
        updated_at: now,
    };
    f.lifecycle
        .store()
        .admit(&rec, &AdmissionLimits::default(), Some(lease))
        .unwrap();
}

/// The engine objects of instance `id` as far as its spawn got: its network and, maybe, its
/// container (created, or also started).
async fn engine_objects(f: &Fixture, id: &str, container: Option<bool>) {
    let challenge = f.lifecycle.catalog().get("web-robots").unwrap().clone();
    let owner = format!("team:{id}");
    let plan = plan_for(
        &challenge,
        f.lifecycle.policy(),
        PlanInput {
            instance_id: id,
            owner: &owner,
            store_id: f.lifecycle.store_id(),
            expires_at: now_millis() + 600_000,
            env: vec![("FLAG".into(), "flag{x}".into())],
        },
    )
    .unwrap();
    f.engine
        .create_network(&plan.network, &plan.labels)
        .await
        .unwrap();
    if let Some(start) = container {
        let cid = f.engine.create_container(&plan).await.unwrap();
        if start {
            f.engine.start_container(&cid).await.unwrap();
        }
    }
}

/// A spawn killed part way: its admitted row and what it created on the engine.
async fn killed_spawn(f: &Fixture, id: &str, lease: &Lease, container: Option<bool>) {
    admitted(f, id, lease);
    engine_objects(f, id, container).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_dead_spawner_left_is_repaired_by_the_very_next_command() {
    let f = Fixture::new().await;
    let dead = dead_lease();
    killed_spawn(&f, "kil234", &dead, None).await;
    killed_spawn(&f, "kil567", &dead, Some(false)).await;
    killed_spawn(&f, "kil89a", &dead, Some(true)).await;
    // And a stop killed right after its claim.
    let stopped = f.spawn("web-robots", "team:stop").await;
    assert!(
        f.lifecycle
            .store()
            .claim_stop(&stopped.id, "purged", Some(&dead))
            .unwrap()
    );
    assert_eq!(f.leftovers().await, (3, 4));

    // Well within the grace period: the lease alone says the spawner is gone.
    let o = ctfdeck(&f, &["list", "--all", "--json"]);
    let mut found = statuses(&o);
    found.retain(|(id, _)| id != &stopped.id);
    found.sort();
    assert_eq!(
        found,
        [
            ("kil234".to_string(), "failed".to_string()),
            ("kil567".to_string(), "failed".to_string()),
            ("kil89a".to_string(), "running".to_string()),
        ],
        "no row left starting: the started container adopted, the rest cleaned up"
    );
    let stop = f.lifecycle.store().instance(&stopped.id).unwrap().unwrap();
    assert_eq!(stop.status, InstanceStatus::Stopped, "the stop finished");
    assert_eq!(f.leftovers().await, (1, 1));

    // The engine may finish a create the killed spawner asked for after that row was cleaned
    // up: a container and network whose row is final. Purge takes them, network included.
    engine_objects(&f, "kil234", Some(false)).await;
    assert_eq!(f.leftovers().await, (2, 2));

    let o = ctfdeck(&f, &["purge", "--all", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(f.leftovers().await, (0, 0), "purge --all leaves nothing");
}

/// Rows of the store in status `status` (with their network already recorded, if `with_network`).
fn count_rows(f: &Fixture, status: &str, with_network: bool) -> u32 {
    let conn = rusqlite::Connection::open(f.store_path()).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM instances WHERE status = ?1 AND (NOT ?2 OR network_id IS NOT NULL)",
        rusqlite::params![status, with_network],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn spawners_killed_half_way_leave_no_starting_row_to_the_next_command() {
    let f = Fixture::new().await;
    let mut spawners: Vec<std::process::Child> = (0..20)
        .map(|i| {
            Command::new(bin())
                .arg("--store")
                .arg(f.store_path())
                .arg("--catalog")
                .arg(repo().join("challenges"))
                .args(["spawn", "web-robots", "--owner", &format!("team:k{i}")])
                .env_remove("CTFDECK_CONFIG")
                .env("XDG_CONFIG_HOME", f.dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start a spawner")
        })
        .collect();
    // Kill them all (SIGKILL) once one is half way: its row admitted, its network created.
    while count_rows(&f, "starting", true) == 0 {
        assert!(
            spawners.iter_mut().any(|c| c.try_wait().unwrap().is_none()),
            "every spawn finished before one was caught half way"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for c in &mut spawners {
        let _ = c.kill();
        c.wait().unwrap();
    }
    assert!(count_rows(&f, "starting", false) > 0);

    // The very next command repairs every row they left.
    let o = ctfdeck(&f, &["list", "--all", "--json"]);
    let left: Vec<(String, String)> = statuses(&o)
        .into_iter()
        .filter(|(_, status)| status == "starting")
        .collect();
    assert!(left.is_empty(), "{left:?}");

    let o = ctfdeck(&f, &["purge", "--all", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count_rows(&f, "running", false), 0);
    assert_eq!(f.leftovers().await, (0, 0), "purge --all leaves nothing");
}
