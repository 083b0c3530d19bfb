//! The ctfcli fixture set (`tests/fixtures/ctfcli`): each folder's exact diagnostics are in its
//! `expected.txt`; the ones that load are checked field by field here.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::check_file;
use crate::catalog::model::{Hint, Protocol};
use crate::catalog::{Catalog, Ceilings, Challenge};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ctfcli");

/// The cases the set must cover (more may exist).
const REQUIRED_CASES: &[&str] = &[
    "bad-x-ctfdeck",
    "both-formats",
    "clean",
    "invalid-yaml",
    "messy",
    "no-image",
    "not-ctfcli",
    "regex-only",
    "registry-image",
];

fn case(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

fn load(name: &str) -> (Option<Challenge>, Vec<String>) {
    let dir = case(name);
    let report = Catalog::load(&dir, &Ceilings::default()).unwrap();
    let prefix = format!("{}/", dir.display());
    let lines = report
        .diagnostics
        .iter()
        .map(|d| d.to_string().replace(&prefix, ""))
        .collect();
    (report.catalog.challenges.first().cloned(), lines)
}

#[test]
fn every_fixture_reports_exactly_its_expected_diagnostics() {
    let mut names: Vec<String> = fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for required in REQUIRED_CASES {
        assert!(
            names.iter().any(|n| n == required),
            "fixture {required} is missing"
        );
    }
    for name in &names {
        let expected = fs::read_to_string(case(name).join("expected.txt"))
            .unwrap_or_else(|e| panic!("{name}/expected.txt: {e}"));
        let (_, got) = load(name);
        let want: Vec<&str> = expected.lines().collect();
        assert_eq!(got, want, "fixture {name}");
    }
}

#[test]
fn a_clean_ctfcli_file_becomes_a_full_challenge() {
    let (challenge, _) = load("clean");
    let c = challenge.unwrap();
    assert_eq!(c.id, "clean");
    assert_eq!(c.name, "View Source");
    assert_eq!(c.category, "web");
    assert_eq!(c.points, 100);
    assert_eq!(c.author.as_deref(), Some("ctfdeck"));
    assert!(c.description.starts_with("The developers left a note"));
    assert_eq!(c.tags, ["web", "beginner"]);
    assert_eq!(
        c.hints,
        [
            Hint {
                text: "What does your browser not render?".into(),
                cost: 0
            },
            Hint {
                text: "Try view-source.".into(),
                cost: 0
            },
        ]
    );
    assert_eq!(c.container.image, "ctfdeck/clean:latest");
    assert_eq!(c.container.build.as_deref(), Some("."));
    assert_eq!(c.container.ports.len(), 1);
    assert_eq!(c.container.ports[0].container, 8080);
    assert_eq!(c.container.ports[0].protocol, Protocol::Http);
    assert_eq!(c.container.user.as_deref(), Some("1000:1000"));
    assert_eq!(
        c.flag.static_value.as_deref(),
        Some("flag{view_source_is_not_a_secret}")
    );
    assert_eq!(c.flag.template, None);
    assert_eq!(c.flag.inject, "env:FLAG");
    assert_eq!(c.smoke.as_ref().unwrap().check, "writeup/exploit.sh");
    assert_eq!(c.build_context(), Some(case("clean").join(".")));
    assert_eq!(c.source, case("clean").join("challenge.yml"));
    // Everything ctfcli says is kept, including what ctfdeck does not use.
    for key in [
        "files",
        "requirements",
        "state",
        "version",
        "topics",
        "attribution",
        "flags",
        "type",
        "host",
    ] {
        assert!(c.imported_fields.contains_key(key), "{key} not kept");
    }
    assert_eq!(c.imported_fields["version"], json!("0.1"));
    assert_eq!(
        c.imported_fields["flags"][1]["data"],
        json!("case_insensitive")
    );
    assert!(!c.imported_fields.contains_key("x-ctfdeck"));
}

#[test]
fn a_messy_file_loads_with_its_quirks_read_sensibly() {
    let (challenge, diagnostics) = load("messy");
    let c = challenge.unwrap_or_else(|| panic!("messy did not load: {diagnostics:#?}"));
    assert_eq!(c.id, "messy");
    assert_eq!(c.name, "1337 Calculator");
    assert_eq!(c.points, 250, "value given as a string");
    assert_eq!(c.author.as_deref(), Some("Zoë Ærøskøbing, 山田"));
    assert_eq!(
        c.description,
        "Réponds vite ⏱️ — answer ten sums, quickly. 答えて!"
    );
    assert_eq!(c.tags, ["misc"], "a lone tag string");
    assert_eq!(
        c.hints[1],
        Hint {
            text: "Use a socket".into(),
            cost: 10
        }
    );
    // The regex flag comes first; the instance gets the first static one.
    assert_eq!(c.flag.static_value.as_deref(), Some("flag{calc_quick}"));
    assert_eq!(c.container.build.as_deref(), Some("./src"));
    assert_eq!(c.container.image, "ctfdeck/messy:latest");
    assert_eq!(c.container.ports[0].container, 1337);
    assert_eq!(c.container.ports[0].protocol, Protocol::Tcp);
    assert_eq!(c.container.user, None, "the admin default applies");
    // An unquoted version is kept as written, not as the float 1.1.
    assert_eq!(c.imported_fields["version"], json!("1.10"));
    assert_eq!(
        c.imported_fields["maintainer_notes"],
        json!({"reviewed": true, "by": ["zoë"]})
    );
    assert_eq!(c.imported_fields["x-unknown-tool"], json!({"setting": 3}));
    assert_eq!(c.imported_fields["extra"]["decay"], json!(25));
}

#[test]
fn a_registry_image_is_used_as_is() {
    let (challenge, _) = load("registry-image");
    let c = challenge.unwrap();
    assert_eq!(
        c.container.image,
        "localhost:9/ctfdeck-fixtures/remote-pwn:1.0"
    );
    assert_eq!(c.container.build, None);
    assert_eq!(c.build_context(), None);
}

#[test]
fn files_that_cannot_be_challenges_load_nothing() {
    for name in ["not-ctfcli", "invalid-yaml", "regex-only", "bad-x-ctfdeck"] {
        let (challenge, lines) = load(name);
        assert!(challenge.is_none(), "{name} loaded");
        assert_eq!(lines.len(), 1, "{name}: {lines:#?}");
    }
    let (challenge, lines) = load("no-image");
    assert!(challenge.is_none());
    assert!(lines[0].contains("warning: no `image`"), "{lines:?}");
}

#[test]
fn challenge_json_wins_over_a_ctfcli_file_beside_it() {
    let (challenge, lines) = load("both-formats");
    let c = challenge.unwrap();
    assert_eq!(lines, Vec::<String>::new());
    assert_eq!(c.name, "Native Wins");
    assert!(c.imported_fields.is_empty());
}

#[test]
fn a_catalog_mixes_both_formats() {
    let report = Catalog::load(Path::new(FIXTURES), &Ceilings::default()).unwrap();
    let ids: Vec<&str> = report
        .catalog
        .challenges
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["both-formats", "clean", "messy", "registry-image"]);
}

#[test]
fn an_explicit_x_ctfdeck_block_replaces_every_default() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("web-login");
    fs::create_dir_all(&folder).unwrap();
    fs::write(
        folder.join("Dockerfile"),
        "FROM busybox:1.36\nEXPOSE 9999\n",
    )
    .unwrap();
    fs::write(folder.join("check.sh"), "#!/bin/sh\n").unwrap();
    let text = "name: Login\ncategory: web\nimage: .\nflags:\n  - flag{static}\nx-ctfdeck:\n  id: web-login\n  image: acme/web-login:2\n  ports: [{container: 80, protocol: http}]\n  user: \"2000:2000\"\n  flag: {template: \"flag{<hex:8>}\", inject: \"env:SECRET\"}\n  lifetime: {default: 20m, max_renewals: 1}\n  smoke: {check: check.sh, timeout: 15s}\n  resources: {memory: 32m}\n";
    fs::write(folder.join("challenge.yml"), text).unwrap();
    let report = Catalog::load(&folder, &Ceilings::default()).unwrap();
    assert_eq!(report.diagnostics, Vec::new(), "no default was taken");
    let c = &report.catalog.challenges[0];
    assert_eq!(c.container.image, "acme/web-login:2");
    assert_eq!(c.container.ports[0].container, 80);
    assert_eq!(c.container.user.as_deref(), Some("2000:2000"));
    assert_eq!(c.flag.template.as_deref(), Some("flag{<hex:8>}"));
    assert_eq!(c.flag.inject, "env:SECRET");
    assert_eq!(c.lifetime.max_renewals, Some(1));
    let smoke = c.smoke.as_ref().unwrap();
    assert_eq!(
        (smoke.check.as_str(), smoke.timeout),
        ("check.sh", Some(std::time::Duration::from_secs(15)))
    );
    assert_eq!(c.container.resources.memory.as_deref(), Some("32m"));
}

#[test]
fn shared_checks_report_at_the_yaml_position() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("risky");
    fs::create_dir_all(&folder).unwrap();
    let text = "name: Risky\ncategory: pwn\nimage: acme/risky:1\nhealthcheck: missing.sh\nflags:\n  - flag{x}\nx-ctfdeck:\n  ports:\n    - {container: 70000}\n  user: \"0\"\n  security:\n    privileged: true\n  lifetime: {default: 1h}\n";
    let source = folder.join("challenge.yml");
    let mut seen = crate::catalog::unique::Seen::default();
    let (challenge, diagnostics) =
        check_file(&folder, &source, text, &Ceilings::default(), &mut seen);
    assert!(challenge.is_none());
    let at: Vec<(usize, usize)> = diagnostics.iter().map(|d| (d.line, d.column)).collect();
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(
        at.contains(&(4, 14)),
        "healthcheck: {messages:#?} at {at:?}"
    );
    assert!(at.contains(&(9, 19)), "port: {messages:#?} at {at:?}");
    assert!(at.contains(&(10, 9)), "user: {messages:#?} at {at:?}");
    assert!(
        at.contains(&(12, 17)),
        "privileged: {messages:#?} at {at:?}"
    );
}

#[test]
fn no_truncation_of_a_messy_file_makes_the_reader_panic() {
    let text = fs::read_to_string(case("messy").join("challenge.yml")).unwrap();
    let folder = case("messy");
    let source = folder.join("challenge.yml");
    let mut loaded = 0;
    for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        let mut seen = crate::catalog::unique::Seen::default();
        let (challenge, diagnostics) = check_file(
            &folder,
            &source,
            &text[..end],
            &Ceilings::default(),
            &mut seen,
        );
        assert!(
            challenge.is_some() || diagnostics.iter().any(|d| !d.message.is_empty()),
            "a prefix of {end} bytes neither loaded nor said why"
        );
        loaded += usize::from(challenge.is_some());
    }
    assert!(loaded > 0, "the whole file must load");
}

#[test]
fn the_block_asks_for_a_build_network_and_tags_are_checked_where_written() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("fetcher");
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("Dockerfile"), "FROM busybox:1.36\n").unwrap();
    let text = "name: Fetcher\ncategory: web\nimage: .\nflags:\n  - flag{x}\nx-ctfdeck:\n  image: busybox:1.36\n  build_network: {mode: default, reason: installs packages}\n";
    let source = folder.join("challenge.yml");
    let mut seen = crate::catalog::unique::Seen::default();
    let (challenge, diagnostics) =
        check_file(&folder, &source, text, &Ceilings::default(), &mut seen);
    assert!(challenge.is_none());
    let shown: Vec<String> = diagnostics
        .iter()
        .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
        .collect();
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("7:10: image \"busybox:1.36\" is reserved")),
        "{shown:#?}"
    );
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("8:25: ") && l.contains("installs packages")),
        "{shown:#?}"
    );
}

#[test]
fn the_port_named_by_connection_info_is_the_container_port() {
    let (challenge, diagnostics) = load("registry-image");
    let c = challenge.unwrap();
    assert_eq!(c.container.ports[0].container, 31337, "{diagnostics:#?}");
    assert_eq!(c.container.ports[0].protocol, Protocol::Tcp);
}

#[test]
fn connection_info_names_a_port_in_its_usual_shapes() {
    use super::convert::port_in_connection_info as port;
    assert_eq!(port("nc host 9322"), Some(9322));
    assert_eq!(port("nc {host} 9322"), Some(9322));
    assert_eq!(port("ncat --ssl chal.example.org 443"), Some(443));
    assert_eq!(port("host.example.org:4000"), Some(4000));
    assert_eq!(port("http://challenge.example.org:8080/login"), Some(8080));
    assert_eq!(port("https://user@challenge.example.org:8443"), Some(8443));
    assert_eq!(port("http://challenge.example.org/"), None);
    assert_eq!(port("nc {host} {port}"), None);
    assert_eq!(port("nc host 99999"), None);
    assert_eq!(port("1337"), None, "a lone number is not a connection line");
    assert_eq!(port(""), None);
}
