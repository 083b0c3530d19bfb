//! `challenges/schema.json` (the editor-facing JSON Schema of `challenge.json`) accepts every
//! shipped challenge and a sample using every field, and rejects broken fixtures.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::Validator;
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema() -> Value {
    read_json(&Path::new(ROOT).join("challenges/schema.json"))
}

fn validator() -> Validator {
    jsonschema::draft202012::new(&schema()).unwrap()
}

fn problems(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn fixture(case: &str) -> Value {
    read_json(&Path::new(ROOT).join(format!("tests/fixtures/catalog/{case}/challenge.json")))
}

fn sample() -> Value {
    read_json(&Path::new(ROOT).join("tests/fixtures/catalog/valid.challenge.json"))
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("schema.json is not a valid JSON Schema: {e}");
    }
}

#[test]
fn every_shipped_challenge_validates() {
    let validator = validator();
    let mut files: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("challenges"))
        .unwrap()
        .map(|e| e.unwrap().path().join("challenge.json"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "expected at least 3 challenges/*/challenge.json, found {files:?}"
    );
    for file in &files {
        let found = problems(&validator, &read_json(file));
        assert!(found.is_empty(), "{}: {found:#?}", file.display());
    }
}

#[test]
fn a_sample_using_every_field_validates() {
    let found = problems(&validator(), &sample());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn broken_fixtures_are_rejected() {
    let validator = validator();
    for case in [
        "unknown-field",
        "wrong-type",
        "missing-id",
        "bad-duration",
        "port-out-of-range",
        "privileged",
        "host-network",
        "bind-mount",
        "bad-flag-template",
    ] {
        assert!(
            !validator.is_valid(&fixture(case)),
            "the schema accepts fixture {case}"
        );
    }
}

#[test]
fn flag_needs_exactly_one_of_template_and_static() {
    let validator = validator();
    let with_flag = |flag: Value| {
        let mut doc = sample();
        doc["flag"] = flag;
        validator.is_valid(&doc)
    };
    assert!(with_flag(json!({ "static": "flag{same}" })));
    assert!(with_flag(
        json!({ "template": "flag{<hex:64>}", "static": null })
    ));
    assert!(!with_flag(
        json!({ "template": "flag{<hex:8>}", "static": "flag{x}" })
    ));
    assert!(!with_flag(json!({ "inject": "env:FLAG" })));
    assert!(!with_flag(json!({ "template": "flag{static}" })));
    assert!(!with_flag(json!({ "template": "flag{<hex:65>}" })));
    assert!(!with_flag(json!({ "template": "flag{<hex:8><uuid>}" })));
    assert!(!with_flag(
        json!({ "template": "flag{<hex:8>}", "inject": "stdin" })
    ));
}

#[test]
fn hardening_fields_only_accept_their_safe_values() {
    let validator = validator();
    let with_security = |security: Value| {
        let mut doc = sample();
        doc["container"]["security"] = security;
        validator.is_valid(&doc)
    };
    assert!(with_security(json!({})));
    assert!(!with_security(json!({ "read_only": false })));
    assert!(!with_security(json!({ "pid_mode": "host" })));
    assert!(!with_security(json!({ "ipc_mode": "host" })));
    assert!(!with_security(json!({ "devices": ["/dev/kmsg"] })));
    assert!(!with_security(json!({ "tmpfs": { "tmp": "" } })));
    assert!(!with_security(json!({ "profile": "unconfined" })));
}

#[test]
fn build_network_and_flag_files_take_only_safe_values() {
    let validator = validator();
    let bad = [
        (
            "/container/build_network",
            json!({"mode": "host", "reason": "x"}),
        ),
        ("/container/build_network", json!({"mode": "default"})),
        (
            "/container/build_network",
            json!({"mode": "default", "reason": " "}),
        ),
        ("/flag/inject", json!("file:/tmp/f';id;'")),
        ("/flag/inject", json!("file:/tmp/a b")),
    ];
    for (pointer, value) in bad {
        let mut doc = sample();
        *doc.pointer_mut(pointer).unwrap() = value.clone();
        assert!(
            !problems(&validator, &doc).is_empty(),
            "{pointer} = {value} should be rejected"
        );
    }
    let mut doc = sample();
    *doc.pointer_mut("/container/build_network").unwrap() =
        json!({"mode": "default", "reason": "installs packages with apk"});
    assert_eq!(problems(&validator, &doc), Vec::<String>::new());
}
