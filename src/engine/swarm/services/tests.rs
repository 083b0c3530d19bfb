use super::*;
use bollard::models::{EndpointPortConfig, PortStatus, TaskStatus};

fn node(id: &str, state: &str) -> SwarmNode {
    SwarmNode {
        id: id.into(),
        hostname: format!("host-{id}"),
        address: format!("10.0.0.{}", id.len()),
        state: state.into(),
        availability: "active".into(),
        manager: false,
        engine_version: "20.10".into(),
        ..Default::default()
    }
}

fn task(node: &str, state: TaskState, index: u64) -> Task {
    let port = EndpointPortConfig {
        target_port: Some(8080),
        published_port: Some(32768),
        ..Default::default()
    };
    Task {
        node_id: Some(node.into()),
        version: Some(bollard::models::ObjectVersion { index: Some(index) }),
        status: Some(TaskStatus {
            state: Some(state),
            // Once per address family, as a node reports it.
            port_status: Some(PortStatus {
                ports: Some(vec![port.clone(), port]),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn the_newest_task_is_the_last_created_not_the_last_changed() {
    // A forced update: the old task, shut down after the new one was created, has the
    // higher version.
    let first = Task {
        id: Some("first".into()),
        created_at: Some("2026-12-03T11:55:49.1Z".parse().unwrap()),
        ..task("a", TaskState::SHUTDOWN, 40)
    };
    // Later by a fraction that, compared as text, would look earlier.
    let second = Task {
        id: Some("second".into()),
        created_at: Some("2026-12-03T11:55:49.12Z".parse().unwrap()),
        ..task("a", TaskState::PENDING, 35)
    };
    let third = Task {
        id: Some("third".into()),
        created_at: Some("2026-12-03T11:56:00Z".parse().unwrap()),
        ..task("a", TaskState::PENDING, 36)
    };
    let mut tasks = vec![second, first, third];
    sort_newest_first(&mut tasks);
    let order: Vec<_> = tasks.iter().filter_map(|t| t.id.as_deref()).collect();
    assert_eq!(order, ["third", "second", "first"]);
}

proptest::proptest! {
    /// As the engine writes them: RFC 3339, the fraction's trailing zeros dropped (Go's
    /// `RFC3339Nano`), or no fraction at all.
    #[test]
    fn a_timestamp_as_the_engine_writes_it_reads_back(
        secs in 0u64..253_402_300_800,
        nanos in 0u32..1_000_000_000,
    ) {
        let at = std::time::UNIX_EPOCH + Duration::new(secs, nanos);
        let full = humantime::format_rfc3339_nanos(at).to_string();
        let (whole, fraction) = full.trim_end_matches('Z').split_once('.').unwrap();
        let fraction = fraction.trim_end_matches('0');
        let text = if fraction.is_empty() {
            format!("{whole}Z")
        } else {
            format!("{whole}.{fraction}Z")
        };
        proptest::prop_assert_eq!(
            unix_nanos(&text),
            Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos)),
            "{}", text
        );
    }

    /// Anything else: a value within the years RFC 3339 can write, or none; never a panic.
    #[test]
    fn any_text_is_a_time_or_none(text in "\\PC{0,48}") {
        if let Some(n) = unix_nanos(&text) {
            proptest::prop_assert!((0..253_402_300_800_000_000_000).contains(&n), "{}", n);
        }
    }
}

#[test]
fn engine_timestamps_keep_their_nanoseconds() {
    assert_eq!(unix_nanos("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
    assert_eq!(
        unix_nanos("1970-01-01T00:00:01.000000042Z"),
        Some(1_000_000_042)
    );
    assert_eq!(unix_nanos("1970-01-01T00:00:02Z"), Some(2_000_000_000));
    assert_eq!(unix_nanos("yesterday"), None);
}

#[test]
fn a_port_is_listed_once_at_its_nodes_address() {
    let nodes = [node("a", "ready")];
    let protocols = BTreeMap::from([(8080, "http".to_string())]);
    let got = ports(&task("a", TaskState::RUNNING, 1), &nodes, &protocols);
    assert_eq!(
        got,
        vec![PublishedPort {
            container: 8080,
            host_ip: "10.0.0.1".into(),
            host_port: 32768,
            protocol: "http".into(),
        }]
    );
}

#[test]
fn a_port_the_families_got_apart_is_its_ipv4_one() {
    let nodes = [node("a", "ready")];
    let mut t = task("a", TaskState::RUNNING, 1);
    let ports_of = |t: &mut Task| {
        t.status
            .as_mut()
            .and_then(|s| s.port_status.as_mut())
            .and_then(|p| p.ports.as_mut())
            .expect("ports")
            .clone()
    };
    let mut listed = ports_of(&mut t);
    listed[0].published_port = Some(32769);
    listed[1].published_port = Some(32768);
    t.status.as_mut().unwrap().port_status = Some(PortStatus {
        ports: Some(listed),
    });
    let got = ports(&t, &nodes, &BTreeMap::new());
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].host_port, 32769);
}

#[test]
fn a_task_stranded_on_a_down_node_makes_its_service_lost() {
    let nodes = [node("a", "ready"), node("bb", "down")];
    // Swarm already made a replacement that waits for a node.
    let mut tasks = vec![
        task("bb", TaskState::RUNNING, 1),
        Task {
            node_id: None,
            ..task("", TaskState::PENDING, 2)
        },
    ];
    sort_newest_first(&mut tasks);
    assert_eq!(service_state(&tasks, &nodes).0, "lost");
    // The replacement runs elsewhere: running again.
    tasks.insert(0, task("a", TaskState::RUNNING, 3));
    let (state, running) = service_state(&tasks, &nodes);
    assert_eq!(state, "running");
    assert_eq!(running.and_then(|t| t.node_id.as_deref()), Some("a"));
    // Only finished tasks: exited.
    let done = [task("a", TaskState::FAILED, 1)];
    assert_eq!(service_state(&done, &nodes).0, "exited");
    assert_eq!(service_state(&[], &nodes).0, "created");
}
