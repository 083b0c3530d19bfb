#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Attacks from inside a real instance on its own process and filesystem: who it runs as, what
//! it may write, what it may run, which privileges it holds. Every check runs inside the
//! container through exec, next to a control that shows the probe itself works.

mod attack_support;
mod common;

use attack_support::Lab;
use ctfdeck::domain::DEFAULT_USER;

/// The value of `field` in a `/proc/<pid>/status` dump.
fn status_field<'a>(status: &'a str, field: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .trim()
}

/// The uid and gid of the default user (`2000000000:2000000000`).
fn default_ids() -> (String, String) {
    let (uid, gid) = DEFAULT_USER.split_once(':').expect("uid:gid");
    (uid.to_string(), gid.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_instance_runs_as_a_non_root_user() {
    let lab = Lab::new("127.0.0.1").await;
    let rec = lab.spawn("target-default", "team:fs1").await;
    let (uid, gid) = default_ids();

    let id = lab.sh(&rec, "id").await;
    assert_eq!(id.exit_code, 0, "{}", id.output);
    assert!(
        id.output.starts_with(&format!("uid={uid} gid={gid}")),
        "{}",
        id.output
    );
    assert!(!id.output.contains("uid=0"), "{}", id.output);
    // The service itself (PID 1's child, the challenge's command) too, not just the exec.
    let service = lab
        .sh(
            &rec,
            "for p in /proc/[0-9]*; do grep -h '^Uid:' $p/status; done | sort -u",
        )
        .await;
    assert!(!service.output.is_empty());
    for line in service.output.lines() {
        assert!(
            line.split_whitespace().skip(1).all(|u| u == uid),
            "every process runs as {uid}: {}",
            service.output
        );
    }
    lab.finish().await;
}

/// The ids of a `/proc/<pid>/status` line (`Uid:` or `Gid:`): real, effective, saved, fs.
fn ids_of(status: &str, field: &str) -> Vec<u32> {
    status_field(status, field)
        .split_whitespace()
        .map(|id| id.parse().expect("numeric id"))
        .collect()
}

/// The third field of every line of an account file: the ids it hands out.
fn ids_in(file: &str) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(':').nth(2)?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_instance_runs_as_no_account_of_the_host() {
    // Seen from the host, not from inside: the service's process in the host's /proc (through
    // the engine's pid for it), which is what another host account would meet.
    let lab = Lab::new("127.0.0.1").await;
    let rec = lab.spawn("target-default", "team:fs9").await;
    let pids = lab
        .engine
        .client()
        .top_processes(
            attack_support::container(&rec),
            None::<bollard::query_parameters::TopOptions>,
        )
        .await
        .expect("docker top");
    let titles = pids.titles.unwrap_or_default();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .expect("a PID column");
    let processes = pids.processes.unwrap_or_default();
    assert!(!processes.is_empty());
    let (passwd, group) = (ids_in("/etc/passwd"), ids_in("/etc/group"));
    for p in &processes {
        let status = std::fs::read_to_string(format!("/proc/{}/status", p[pid_col]))
            .expect("the host sees the instance's process");
        let (uids, gids) = (ids_of(&status, "Uid"), ids_of(&status, "Gid"));
        assert_eq!(uids.len(), 4, "{status}");
        for uid in &uids {
            assert_ne!(*uid, 0, "{status}");
            assert!(
                !passwd.contains(uid),
                "process {p:?} runs as uid {uid}, an account of this host"
            );
        }
        for gid in &gids {
            assert!(
                !group.contains(gid),
                "process {p:?} runs as gid {gid}, a group of this host"
            );
        }
    }
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_root_filesystem_is_read_only_even_for_root() {
    let lab = Lab::new("127.0.0.1").await;
    let rec = lab.spawn("target-default", "team:fs2").await;

    for target in ["/owned", "/etc/owned", "/usr/owned", "/bin/sh"] {
        let out = lab.sh(&rec, &format!("echo x > {target}")).await;
        assert_ne!(out.exit_code, 0, "write to {target}: {}", out.output);
        // Even uid 0 inside the container cannot: the filesystem itself is read-only.
        let root = lab.sh_as_root(&rec, &format!("echo x > {target}")).await;
        assert_ne!(root.exit_code, 0, "root write to {target}: {}", root.output);
        assert!(
            root.output.contains("Read-only file system"),
            "root write to {target}: {}",
            root.output
        );
    }
    let mkdir = lab.sh_as_root(&rec, "mkdir /usr/owned").await;
    assert!(
        mkdir.output.contains("Read-only file system"),
        "{}",
        mkdir.output
    );
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tmp_is_writable_but_nothing_written_there_can_run() {
    let lab = Lab::new("127.0.0.1").await;
    let rec = lab.spawn("target-default", "team:fs3").await;

    let write = lab
        .sh(
            &rec,
            "printf '#!/bin/sh\\necho ran\\n' > /tmp/s.sh && chmod 755 /tmp/s.sh && ls -l /tmp/s.sh",
        )
        .await;
    assert_eq!(write.exit_code, 0, "/tmp is writable: {}", write.output);
    assert!(write.output.starts_with("-rwxr-xr-x"), "{}", write.output);

    let script = lab.sh(&rec, "/tmp/s.sh").await;
    assert_ne!(script.exit_code, 0, "{}", script.output);
    assert!(
        script.output.contains("Permission denied"),
        "{}",
        script.output
    );
    assert!(!script.output.contains("ran"), "{}", script.output);

    // A binary copied there cannot run either, while the same binary runs from the image.
    let control = lab.sh(&rec, "/bin/busybox echo from-image").await;
    assert_eq!(control.output.trim(), "from-image");
    let copied = lab
        .sh(&rec, "cp /bin/busybox /tmp/bb && /tmp/bb echo from-tmp")
        .await;
    assert_ne!(copied.exit_code, 0, "{}", copied.output);
    assert!(
        copied.output.contains("Permission denied"),
        "{}",
        copied.output
    );

    // The mount says so, and root cannot remount it.
    let mounts = lab.sh(&rec, "grep ' /tmp ' /proc/mounts").await;
    for flag in ["noexec", "nosuid", "nodev"] {
        assert!(mounts.output.contains(flag), "{flag}: {}", mounts.output);
    }
    let remount = lab.sh_as_root(&rec, "mount -o remount,exec /tmp").await;
    assert_ne!(remount.exit_code, 0, "{}", remount.output);
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_capabilities_no_new_privileges_and_a_syscall_filter() {
    let lab = Lab::new("127.0.0.1").await;
    let rec = lab.spawn("target-default", "team:fs4").await;

    for pid in ["self", "1"] {
        let status = lab
            .sh(&rec, &format!("cat /proc/{pid}/status"))
            .await
            .output;
        for field in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert_eq!(
                status_field(&status, field),
                "0000000000000000",
                "{field} of {pid}"
            );
        }
        assert_eq!(
            status_field(&status, "NoNewPrivs"),
            "1",
            "NoNewPrivs of {pid}"
        );
        assert_eq!(
            status_field(&status, "Seccomp"),
            "2",
            "seccomp filter on {pid}"
        );
    }
    // Root inside gets nothing either.
    let root = lab.sh_as_root(&rec, "cat /proc/self/status").await.output;
    assert_eq!(status_field(&root, "CapEff"), "0000000000000000");
    assert_eq!(status_field(&root, "CapBnd"), "0000000000000000");
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn added_capabilities_are_exactly_the_allowed_set() {
    let lab = Lab::new("127.0.0.1").await;
    let rec = lab.spawn("target-caps", "team:fs5").await;
    let status = lab.sh(&rec, "cat /proc/self/status").await.output;
    // NET_BIND_SERVICE is capability 10: the bounding set holds it and nothing else; the
    // non-root process holds none of it in effect.
    assert_eq!(status_field(&status, "CapBnd"), "0000000000000400");
    assert_eq!(status_field(&status, "CapEff"), "0000000000000000");
    assert_eq!(status_field(&status, "NoNewPrivs"), "1");
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_exception_grants_exactly_its_capability() {
    let lab = Lab::new("127.0.0.1").await;
    // The lab's config says `[profiles.allow] capabilities = ["target-ptrace"]`.
    let rec = lab.spawn("target-ptrace", "team:fs6").await;
    let status = lab.sh(&rec, "cat /proc/self/status").await.output;
    // SYS_PTRACE is capability 19.
    assert_eq!(status_field(&status, "CapBnd"), "0000000000080000");
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profiles_seccomp_file_is_enforced() {
    let lab = Lab::new("127.0.0.1").await;
    // Same image and user; only the profile's seccomp file differs.
    let control = lab.spawn("target-default", "team:fs7").await;
    let ok = lab.sh(&control, "mkdir /tmp/d && echo made").await;
    assert_eq!(ok.output.trim(), "made");

    let filtered = lab.spawn("target-seccomp", "team:fs7").await;
    let denied = lab.sh(&filtered, "mkdir /tmp/d && echo made").await;
    assert_ne!(denied.exit_code, 0, "{}", denied.output);
    assert!(
        denied.output.contains("Operation not permitted"),
        "{}",
        denied.output
    );
    let status = lab.sh(&filtered, "cat /proc/self/status").await.output;
    assert_eq!(status_field(&status, "Seccomp"), "2");
    lab.finish().await;
}
