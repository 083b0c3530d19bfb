//! The checks of a challenge built here: links and paths that leave the challenge folder,
//! URLs the engine would fetch, reserved tags, the request for a build network.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::super::testutil::Case;
use crate::catalog::Ceilings;
use serde_json::json;

/// A file outside every challenge folder, holding a secret.
fn secret() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    fs::write(&path, "TOPSECRET").unwrap();
    (dir, path)
}

fn built(v: &mut serde_json::Value) {
    v["container"]["build"] = json!(".");
}

fn dockerfile(dir: &Path, text: &str) {
    fs::write(dir.join("Dockerfile"), text).unwrap();
}

#[test]
fn a_link_in_the_build_context_leading_outside_is_refused() {
    let (_keep, secret) = secret();
    let case = Case::prepared(built, |dir| {
        dockerfile(dir, "FROM busybox:1.36\nCOPY shadow /srv/\n");
        symlink(&secret, dir.join("shadow")).unwrap();
    });
    case.expect_error(
        "/container/build",
        &format!(
            "build context holds a link that leads outside the challenge folder: shadow -> {}",
            secret.display()
        ),
    );
    assert!(case.challenge.is_none());
}

#[test]
fn a_link_to_a_folder_outside_is_refused_wherever_it_sits() {
    let (keep, _) = secret();
    let case = Case::prepared(built, |dir| {
        dockerfile(dir, "FROM busybox:1.36\nCOPY . /srv/\n");
        fs::create_dir_all(dir.join("static/css")).unwrap();
        symlink(keep.path(), dir.join("static/css/private")).unwrap();
        symlink("../../Dockerfile", dir.join("static/css/inside")).unwrap();
    });
    case.expect_error(
        "/container/build",
        "link that leads outside the challenge folder: static/css/private ->",
    );
    assert_eq!(case.errors(), 1, "{:#?}", case.lines());
}

#[test]
fn a_build_context_or_dockerfile_linked_outside_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    dockerfile(outside.path(), "FROM busybox:1.36\n");
    let linked_context = Case::prepared(
        |v| v["container"]["build"] = json!("app"),
        |dir| symlink(outside.path(), dir.join("app")).unwrap(),
    );
    linked_context.expect_error("/container/build", "build context app leads to");
    linked_context.expect_error("/container/build", "outside the challenge folder");

    let linked_dockerfile = Case::prepared(built, |dir| {
        symlink(outside.path().join("Dockerfile"), dir.join("Dockerfile")).unwrap();
    });
    linked_dockerfile.expect_error(
        "/container/build",
        "link that leads outside the challenge folder: Dockerfile ->",
    );
}

#[test]
fn links_that_stay_inside_are_fine() {
    let case = Case::prepared(built, |dir| {
        dockerfile(dir, "FROM busybox:1.36\nCOPY . /srv/\n");
        fs::create_dir_all(dir.join("www")).unwrap();
        fs::write(dir.join("www/index.html"), "hi").unwrap();
        symlink("www/index.html", dir.join("index.html")).unwrap();
        symlink("www", dir.join("public")).unwrap();
    });
    assert_eq!(case.lines(), Vec::<String>::new());
}

#[test]
fn a_smoke_check_linked_outside_is_refused() {
    let (_keep, secret) = secret();
    let case = Case::prepared(
        |v| v["smoke"] = json!({"check": "solve.sh"}),
        |dir| symlink(&secret, dir.join("solve.sh")).unwrap(),
    );
    case.expect_error("/smoke/check", "smoke.check solve.sh leads to");
    case.expect_error("/smoke/check", "outside the challenge folder");

    let through_folder = Case::prepared(
        |v| v["smoke"] = json!({"check": "tools/solve.sh"}),
        |dir| {
            fs::write(
                secret.with_file_name("solve.sh"),
                "#!/bin/sh
",
            )
            .unwrap();
            symlink(secret.parent().unwrap(), dir.join("tools")).unwrap();
        },
    );
    through_folder.expect_error("/smoke/check", "outside the challenge folder");
}

#[test]
fn add_from_a_url_or_a_variable_is_refused() {
    let case = Case::prepared(built, |dir| {
        dockerfile(
            dir,
            "FROM busybox:1.36\nADD http://127.0.0.1:8000/key /key\nARG U\nADD ${U} /x\nADD app.tar /srv/\n",
        );
        fs::write(dir.join("app.tar"), "").unwrap();
    });
    case.expect_error(
        "/container/build",
        "Dockerfile line 2: ADD source \"http://127.0.0.1:8000/key\" is a URL the engine would fetch from the host itself",
    );
    case.expect_error(
        "/container/build",
        "Dockerfile line 4: ADD source \"${U}\" uses a variable",
    );
    assert_eq!(case.errors(), 2, "{:#?}", case.lines());
}

#[test]
fn building_a_reserved_tag_is_refused() {
    for tag in ["busybox:1.36", "docker.io/library/busybox:1.36"] {
        let case = Case::prepared(
            |v| {
                built(v);
                v["container"]["image"] = json!(tag);
            },
            |dir| dockerfile(dir, "FROM busybox:1.36\n"),
        );
        case.expect_error(
            "/container/image",
            "is reserved: busybox:1.36 is the egress proxy image",
        );
    }
    // Running the base image as is replaces nothing.
    let runs = Case::with(|v| v["container"]["image"] = json!("busybox:1.36"));
    assert_eq!(runs.errors(), 0, "{:#?}", runs.lines());

    // The proxy image the admin configured is reserved too.
    let mut ceilings = Ceilings::default();
    ceilings.security.proxy_image = "registry.local/proxy:2".into();
    let configured = Case::with_ceilings(
        |v| {
            v["container"]["build"] = json!("app");
            v["container"]["image"] = json!("registry.local/proxy:2");
        },
        &ceilings,
    );
    configured.expect_error(
        "/container/image",
        "is reserved: registry.local/proxy:2 is the egress proxy image",
    );
}

#[test]
fn a_build_network_needs_a_reason_and_is_reported() {
    let silent = Case::prepared(
        |v| {
            built(v);
            v["container"]["build_network"] = json!({"mode": "default", "reason": " "});
        },
        |dir| dockerfile(dir, "FROM busybox:1.36\n"),
    );
    silent.expect_error(
        "/container/build_network/reason",
        "container.build_network.reason must say why",
    );
    let asked = Case::prepared(
        |v| {
            built(v);
            v["container"]["build_network"] =
                json!({"mode": "default", "reason": "installs packages with apk"});
        },
        |dir| dockerfile(dir, "FROM busybox:1.36\n"),
    );
    asked.expect_warning(
        "/container/build_network/mode",
        "reaches the host's own services: installs packages with apk",
    );
    assert_eq!(asked.errors(), 0);
    let host = Case::with(|v| {
        v["container"]["build_network"] = json!({"mode": "host", "reason": "x"});
    });
    assert!(host.challenge.is_none());
    assert!(
        host.lines()[0].contains("unknown variant `host`"),
        "{:#?}",
        host.lines()
    );
}
