#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Profiles from the admin's config, through the real binary: a changed field narrows what
//! `catalog check` accepts, an exception lets exactly one refused request through, and a
//! profile that would weaken isolation is a config error naming the profile and the field.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{bin, repo};

fn check(config: &str, catalog: &Path) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    Command::new(bin())
        .arg("--config")
        .arg(&path)
        .args(["catalog", "check"])
        .arg(catalog)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_config_change_to_a_profile_narrows_what_the_catalog_accepts() {
    let challenges = repo().join("challenges");
    assert!(check("", &challenges).status.success());
    // The examples ask for 64m; the admin now allows 32m in the default profile.
    let out = check("[profiles.default]\nmemory = \"32m\"\n", &challenges);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains(
            "container.resources.memory \"64m\" is above the 32m allowed by security profile \"default\""
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn an_exception_lets_exactly_the_named_challenge_through() {
    let fixture = repo().join("tests/fixtures/catalog/privileged");
    assert_eq!(check("", &fixture).status.code(), Some(1));
    let granted = check(
        "[profiles.allow]\nprivileged = [\"privileged\"]\n",
        &fixture,
    );
    assert!(granted.status.success(), "{}", text(&granted));
    let other = check(
        "[profiles.allow]\nprivileged = [\"someone-else\"]\n",
        &fixture,
    );
    assert_eq!(other.status.code(), Some(1));
}

#[test]
fn a_profile_that_weakens_isolation_is_a_config_error() {
    let challenges = repo().join("challenges");
    for (config, expected) in [
        (
            "[profiles.debug]\ncapabilities = [\"SYS_PTRACE\"]\n",
            "profile \"debug\": capabilities lists SYS_PTRACE",
        ),
        (
            "[profiles.default]\nseccomp = \"unconfined\"\n",
            "profile \"default\": seccomp \"unconfined\" is refused",
        ),
        (
            "[profiles.default]\ntmpfs = { \"/tmp\" = \"size=16m,exec\" }\n",
            "profile \"default\": tmpfs \"/tmp\": option \"exec\" is refused",
        ),
        (
            "[profiles.default]\nmemroy = \"1g\"\n",
            "unknown field `memroy`",
        ),
    ] {
        let out = check(config, &challenges);
        assert_eq!(out.status.code(), Some(1), "{config}");
        assert!(text(&out).contains(expected), "{config}: {}", text(&out));
    }
}
