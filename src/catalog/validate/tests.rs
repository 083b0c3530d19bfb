use super::super::testutil::{Case, base};
use super::*;
use serde_json::json;

#[test]
fn ids_follow_the_pattern() {
    assert!(is_valid_id("web-robots"));
    assert!(is_valid_id("0day"));
    assert!(!is_valid_id("a"));
    assert!(!is_valid_id("-web"));
    assert!(!is_valid_id("Web"));
    assert!(!is_valid_id("web_robots"));
    assert!(is_valid_id(&"a".repeat(63)));
    assert!(!is_valid_id(&"a".repeat(64)));
}

#[test]
fn a_valid_challenge_has_no_diagnostics() {
    let case = Case::new(base());
    assert_eq!(case.lines(), Vec::<String>::new());
    assert!(case.challenge.is_some());
}

#[test]
fn schema_version_must_be_supported() {
    let case = Case::with(|v| v["schema_version"] = json!(2));
    case.expect_error("/schema_version", "schema_version 2 is not supported");
}

#[test]
fn invalid_ids_are_errors() {
    let case = Case::in_folder("Bad_Id", |v| v["id"] = json!("Bad_Id"));
    case.expect_error("/id", "id \"Bad_Id\" is not valid");
}

#[test]
fn id_differing_from_folder_is_a_warning_only() {
    let case = Case::in_folder("other", |_| {});
    case.expect_warning("/id", "differs from its folder name \"other\"");
    assert!(case.challenge.is_some());
}

#[test]
fn empty_name_and_image_are_errors() {
    let case = Case::with(|v| {
        v["name"] = json!(" ");
        v["container"]["image"] = json!("");
    });
    case.expect_error("/name", "name must not be empty");
    case.expect_error("/container/image", "container.image must not be empty");
}

#[test]
fn ports_out_of_range_and_duplicates_are_errors() {
    let case = Case::with(|v| {
        v["container"]["ports"] =
            json!([{"container": 80}, {"container": 0}, {"container": 80}, {"container": 70000}]);
    });
    case.expect_error(
        "/container/ports/1/container",
        "container port 0 is out of range",
    );
    case.expect_error(
        "/container/ports/2/container",
        "container port 80 is listed twice (first as ports[0])",
    );
    case.expect_error(
        "/container/ports/3/container",
        "70000 is out of range (1-65535)",
    );
}

#[test]
fn no_ports_is_a_warning() {
    let case = Case::with(|v| v["container"]["ports"] = json!([]));
    case.expect_warning("/container/ports", "no ports are exposed");
    assert!(case.challenge.is_some());
}

#[test]
fn build_context_must_exist_and_hold_a_dockerfile() {
    let missing = Case::with(|v| v["container"]["build"] = json!("app"));
    missing.expect_error("/container/build", "build context \"app\" does not exist");

    let no_dockerfile = Case::with(|v| v["container"]["build"] = json!("."));
    no_dockerfile.expect_error("/container/build", "build context \".\" has no Dockerfile");

    let escapes = Case::with(|v| v["container"]["build"] = json!("../elsewhere"));
    escapes.expect_error(
        "/container/build",
        "must be a folder inside the challenge folder",
    );

    let good = Case::with_files(
        |v| v["container"]["build"] = json!("."),
        &[("Dockerfile", "FROM scratch\n")],
    );
    assert_eq!(good.lines(), Vec::<String>::new());
}

#[test]
fn env_names_must_be_valid() {
    let case = Case::with(|v| v["container"]["env"] = json!({"OK_1": "x", "1BAD": "y"}));
    case.expect_error_at_key("/container/env/1BAD", "\"1BAD\" is not valid");
    assert_eq!(case.errors(), 1);
}

#[test]
fn empty_command_and_healthcheck_are_errors() {
    let case = Case::with(|v| {
        v["container"]["command"] = json!([]);
        v["container"]["healthcheck"] = json!({"test": []});
    });
    case.expect_error("/container/command", "container.command must not be empty");
    case.expect_error("/container/healthcheck/test", "must name a command");
}

#[test]
fn user_must_be_numeric_and_not_root() {
    for root in ["0", "0:0", "root", ":1000", "00"] {
        assert!(
            user_problem(root, false).is_some_and(|m| m.contains("as root")),
            "{root}"
        );
    }
    assert_eq!(user_problem("1000", false), None);
    assert_eq!(user_problem("1000:1000", false), None);
    assert_eq!(user_problem("0:0", true), None);
    assert!(user_problem("ctf", false).is_some_and(|m| m.contains("numeric")));
    assert!(user_problem("1000:ctf", false).is_some_and(|m| m.contains("numeric")));
    assert!(user_problem("99999999999", false).is_some_and(|m| m.contains("out of range")));

    for root_group in ["1000:0", "1000:000"] {
        assert!(
            user_problem(root_group, false).is_some_and(|m| m.contains("group 0")),
            "{root_group}"
        );
    }
    assert_eq!(user_problem("1000:0", true), None);
    let group = Case::with(|v| v["container"]["user"] = json!("1000:0"));
    group.expect_error(
        "/container/user",
        "container.user \"1000:0\" runs the challenge in group 0",
    );

    let case = Case::with(|v| v["container"]["user"] = json!("0:0"));
    case.expect_error(
        "/container/user",
        "container.user \"0:0\" runs the challenge as root",
    );
}

#[test]
fn resources_are_checked_against_ceilings() {
    let case = Case::with(|v| {
        v["container"]["resources"] = json!({"memory": "4g", "cpus": 8.0, "pids": 5000});
    });
    case.expect_error(
        "/container/resources/memory",
        "memory \"4g\" is above the admin ceiling of \"2g\"",
    );
    case.expect_error(
        "/container/resources/cpus",
        "cpus 8 is above the admin ceiling of 2",
    );
    case.expect_error(
        "/container/resources/pids",
        "pids 5000 is above the admin ceiling of 1024",
    );

    let bad = Case::with(|v| {
        v["container"]["resources"] = json!({"memory": "lots", "cpus": 0.0, "pids": -1});
    });
    bad.expect_error("/container/resources/memory", "\"lots\" is not a size");
    bad.expect_error("/container/resources/cpus", "must be greater than 0");
    bad.expect_error("/container/resources/pids", "unlimited pids is refused");

    let fine = Case::with(|v| {
        v["container"]["resources"] = json!({"memory": "256m", "cpus": 0.5, "pids": 128});
    });
    assert_eq!(fine.lines(), Vec::<String>::new());
}

#[test]
fn lifetime_values_must_be_consistent() {
    let zero = Case::with(|v| v["lifetime"] = json!({"default": "0s", "extend_by": "0s"}));
    zero.expect_error(
        "/lifetime/default",
        "lifetime.default must be greater than zero",
    );
    zero.expect_error(
        "/lifetime/extend_by",
        "lifetime.extend_by must be greater than zero",
    );

    let short = Case::with(|v| v["lifetime"] = json!({"default": "1h", "max_total": "30m"}));
    short.expect_error(
        "/lifetime/max_total",
        "lifetime.max_total (30m) is shorter than lifetime.default (1h)",
    );

    let fine = Case::with(|v| {
        v["lifetime"] =
            json!({"default": "45m", "extend_by": "15m", "max_renewals": 2, "max_total": "2h"});
    });
    assert_eq!(fine.lines(), Vec::<String>::new());
}

#[test]
fn smoke_check_must_exist_in_the_folder() {
    let missing = Case::with(|v| v["smoke"] = json!({"check": "check.sh"}));
    missing.expect_error("/smoke/check", "smoke.check \"check.sh\" does not exist");

    let escapes = Case::with(|v| v["smoke"] = json!({"check": "/bin/true"}));
    escapes.expect_error("/smoke/check", "must be a path inside the challenge folder");

    let good = Case::with_files(
        |v| v["smoke"] = json!({"check": "check.sh", "timeout": "30s"}),
        &[("check.sh", "#!/bin/sh\n")],
    );
    assert_eq!(good.lines(), Vec::<String>::new());
}

#[test]
fn all_problems_of_a_file_are_reported() {
    let case = Case::with(|v| {
        v["schema_version"] = json!(3);
        v["container"]["ports"] = json!([{"container": 70000}]);
        v["container"]["security"] = json!({"privileged": true});
        v["flag"] = json!({});
    });
    assert_eq!(case.errors(), 4, "{:#?}", case.lines());
}
