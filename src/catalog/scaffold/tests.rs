#![allow(clippy::unwrap_used)]

use super::*;
use crate::catalog::{Catalog, Ceilings};

#[test]
fn every_template_loads_with_no_diagnostics_at_all() {
    for template in Template::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let id = format!("new-{}", template.as_str());
        let created = create(tmp.path(), &id, template).unwrap();
        assert_eq!(created.dir, tmp.path().join(&id));
        assert_eq!(created.schema, Some(tmp.path().join("schema.json")));
        let report = Catalog::load(tmp.path(), &Ceilings::default()).unwrap();
        let problems: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(problems, Vec::<String>::new(), "{}", template.as_str());
        let c = &report.catalog.challenges[0];
        assert_eq!(c.id, id);
        assert_eq!(c.container.image, format!("ctfdeck/{id}:latest"));
        assert_eq!(c.json_schema.as_deref(), Some("../schema.json"));
        let leftover: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftover.is_empty(), "{leftover:?}");
    }
}

#[test]
fn scripts_are_executable_and_carry_the_id() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let created = create(tmp.path(), "door", Template::Web).unwrap();
    let solve = created.dir.join("solve.sh");
    assert_eq!(
        std::fs::metadata(&solve).unwrap().permissions().mode() & 0o111,
        0o111
    );
    let text = std::fs::read_to_string(&solve).unwrap();
    assert!(text.contains("Reference solve for door"), "{text}");
    assert!(!text.contains("__ID__"));
}

#[test]
fn an_existing_folder_or_a_bad_id_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    let err = create(tmp.path(), "taken", Template::Tcp).unwrap_err();
    assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
    let err = create(tmp.path(), "Bad_Id", Template::Tcp).unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"Bad_Id\" is not a valid challenge id: use 2-63 lowercase letters, digits and dashes, starting with a letter or digit"
    );
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["taken"]);
}

#[test]
fn an_existing_schema_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("schema.json"), "{}").unwrap();
    let created = create(tmp.path(), "kept-schema", Template::StaticFiles).unwrap();
    assert_eq!(created.schema, None);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("schema.json")).unwrap(),
        "{}"
    );
}
