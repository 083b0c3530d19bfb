#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Writable places an instance gets without asking for them, and code written at runtime:
//! an image's `VOLUME` (which the engine would make an unbounded, executable directory on the
//! host's disk) and a program run from an anonymous memory file or through io_uring (past
//! every noexec mount and, for io_uring, past the syscall filter). Each attack runs next to a
//! control that shows the probe itself works.

mod attack_support;
mod common;

use attack_support::{Lab, TestImage, memfd_probe};
use ctfdeck::domain::{DomainError, instance_drift};
use ctfdeck::engine::Engine;
use ctfdeck::store::InstanceFilter;

const VOLUME_IMAGE: &str = "ctfdeck/attack-volume:test";
const MEMFD_IMAGE: &str = "ctfdeck/attack-memfd:test";

/// Built before the lab, so that it is removed after the lab's instances (drop order), even
/// when an assertion fails.
async fn volume_image() -> TestImage {
    common::ensure_images();
    TestImage::build(
        &common::engine().await,
        VOLUME_IMAGE,
        "FROM ctfdeck/web-robots:latest\nVOLUME /data\n",
        &[],
    )
    .await
}

/// One test, one image: the three steps share the fixture's image tag.
#[tokio::test(flavor = "multi_thread")]
async fn an_image_volume_is_refused_or_bounded_and_seen_when_the_engine_makes_one() {
    let image = volume_image().await;
    let lab = Lab::new("127.0.0.1").await;
    refused_where_the_profile_allows_no_tmpfs_in_its_place(&lab).await;
    allowed_as_a_bounded_noexec_tmpfs(&lab).await;
    seen_by_the_security_inspection_when_the_engine_makes_it(&lab, &image).await;
    lab.finish().await;
}

async fn refused_where_the_profile_allows_no_tmpfs_in_its_place(lab: &Lab) {
    let err = lab
        .lifecycle
        .spawn("target-volume-strict", &"team:vol1".parse().unwrap())
        .await
        .expect_err("strict allows no tmpfs at /data");
    assert!(matches!(err, DomainError::Unspawnable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(
            "image ctfdeck/attack-volume:test declares VOLUME /data, which the engine would make a writable, executable directory on the host's disk with no size limit"
        ),
        "{message}"
    );
    assert!(
        message.contains("security profile \"strict\" allows no tmpfs there"),
        "{message}"
    );
    // Nothing left: no container, no network, no live instance.
    let store = lab.lifecycle.store_id();
    assert!(
        lab.engine
            .managed_containers(store)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(lab.engine.managed_networks(store).await.unwrap().is_empty());
    let live = lab
        .lifecycle
        .store()
        .list_instances(&InstanceFilter::default())
        .unwrap();
    assert!(live.iter().all(|r| !r.status.is_live()), "{live:?}");
}

async fn allowed_as_a_bounded_noexec_tmpfs(lab: &Lab) {
    // The default profile's `*` tmpfs rule: at most 16m.
    let rec = lab.spawn("target-volume", "team:vol2").await;

    let mount = lab.sh(&rec, "grep ' /data ' /proc/mounts").await.output;
    assert!(mount.starts_with("tmpfs /data tmpfs "), "{mount}");
    for flag in ["noexec", "nosuid", "nodev", "size=16384k"] {
        assert!(mount.contains(flag), "{flag} missing: {mount}");
    }
    // Writable, up to its size and no further (the engine's volume took 200 MB).
    let fill = lab
        .sh(
            &rec,
            "dd if=/dev/zero of=/data/fill bs=1M count=32 2>&1; echo size=$(wc -c < /data/fill)",
        )
        .await
        .output;
    assert!(fill.contains("No space left on device"), "{fill}");
    let size: u64 = fill
        .rsplit("size=")
        .next()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no size in {fill}"));
    assert!(size > 0 && size <= 16 << 20, "{size} bytes written: {fill}");
    // Nothing written there can run.
    let run = lab
        .sh(
            &rec,
            "rm -f /data/fill; cp /bin/busybox /data/bb && /data/bb echo ran",
        )
        .await;
    assert_ne!(run.exit_code, 0, "{}", run.output);
    assert!(run.output.contains("Permission denied"), "{}", run.output);
    assert!(!run.output.contains("ran"), "{}", run.output);
    // No engine volume, and the tmpfs in the volume's place is what the plan says: no drift.
    let inspect = lab.inspect(&rec).await;
    assert!(
        inspect.mounts.unwrap_or_default().is_empty(),
        "the engine made a volume anyway"
    );
    let drift = instance_drift(&lab.lifecycle, &rec).await.unwrap();
    assert!(drift.is_empty(), "{drift:?}");
}

async fn seen_by_the_security_inspection_when_the_engine_makes_it(lab: &Lab, image: &TestImage) {
    // A container the engine set up from the image alone, as before the fix: an engine volume.
    let client = lab.engine.client();
    let created = client
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            bollard::models::ContainerCreateBody {
                image: Some(image.tag.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let state = lab.engine.inspect_security(&created.id).await;
    let removed = client
        .remove_container(
            &created.id,
            Some(
                bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await;
    let state = state.unwrap();
    removed.unwrap();
    assert_eq!(state.applied.other_mounts, ["volume /data"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn code_written_at_runtime_cannot_run_from_memory_under_the_hardened_filter() {
    common::ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let probe = memfd_probe(dir.path());
    let _image = TestImage::build(
        &common::engine().await,
        MEMFD_IMAGE,
        "FROM ctfdeck/web-robots:latest\nCOPY memfd-exec /memfd-exec\n",
        &[("memfd-exec", &probe)],
    )
    .await;
    let lab = Lab::new("127.0.0.1").await;

    // Control: under the engine's default filter both attacks work (the probe is sound).
    let open = lab.spawn("target-memfd-default", "team:mem1").await;
    let ran = lab.sh(&open, "/memfd-exec").await;
    assert_eq!(ran.exit_code, 0, "{}", ran.output);
    assert_eq!(ran.output.trim(), "ran from memory");
    let uring = lab.sh(&open, "/memfd-exec uring").await;
    assert_eq!(uring.output.trim(), "io_uring ready");

    // The strict profile runs under ctfdeck's hardened filter: both are refused.
    let strict = lab.spawn("target-memfd", "team:mem1").await;
    let ran = lab.sh(&strict, "/memfd-exec").await;
    assert_eq!(ran.exit_code, 2, "{}", ran.output);
    assert_eq!(ran.output.trim(), "memfd_create: Operation not permitted");
    let uring = lab.sh(&strict, "/memfd-exec uring").await;
    assert_eq!(uring.exit_code, 2, "{}", uring.output);
    assert_eq!(
        uring.output.trim(),
        "io_uring_setup: Operation not permitted"
    );
    // The service itself still runs and answers under it.
    let status = lab.sh(&strict, "grep Seccomp: /proc/self/status").await;
    assert!(status.output.contains('2'), "{}", status.output);
    lab.finish().await;
}
