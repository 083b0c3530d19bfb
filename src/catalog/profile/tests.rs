use super::values::TmpfsOptions;
use super::*;

fn config(text: &str) -> ProfilesConfig {
    toml::from_str(text).unwrap()
}

#[test]
fn the_shipped_profiles_resolve() {
    let p = ProfilesConfig::default().resolve().unwrap();
    assert_eq!(p.names(), "challenge, default, strict");
    let d = p.get("default").unwrap();
    assert!(d.egress && d.read_only);
    assert_eq!(d.memory_bytes, 512 << 20);
    assert_eq!(d.capabilities.len(), 7);
    let s = p.get("strict").unwrap();
    assert!(!s.egress);
    assert!(s.capabilities.is_empty());
    assert_eq!(s.tmpfs_rule("/tmp").unwrap().max_bytes, 16 << 20);
    assert!(s.tmpfs_rule("/run").is_none(), "strict has no `*` rule");
    assert_eq!(
        p.get("challenge")
            .unwrap()
            .tmpfs_rule("/run")
            .unwrap()
            .max_size,
        "8m"
    );
    assert_eq!(p.proxy_image, DEFAULT_PROXY_IMAGE);
    assert_eq!(SecurityProfiles::default(), p);
}

#[test]
fn config_changes_one_field_and_adds_profiles_that_extend() {
    let p = config(
        r#"
        proxy_image = "local/proxy:1"
        [default]
        memory = "256m"
        [pwn]
        extends = "strict"
        pids = 32
        [allow]
        privileged = ["kernel"]
        "#,
    )
    .resolve()
    .unwrap();
    let d = p.get("default").unwrap();
    assert_eq!(d.memory, "256m");
    assert_eq!(d.pids, 256, "untouched fields stay");
    let pwn = p.get("pwn").unwrap();
    assert_eq!(pwn.pids, 32);
    assert!(!pwn.egress, "inherited from strict");
    assert_eq!(pwn.memory, "128m");
    assert_eq!(p.allow.privileged, ["kernel"]);
    assert_eq!(p.proxy_image, "local/proxy:1");
}

#[test]
fn a_new_profile_extends_default_unless_told() {
    let p = config("[web]\ncpus = 0.25\n").resolve().unwrap();
    let web = p.get("web").unwrap();
    assert_eq!(web.cpus, 0.25);
    assert!(web.egress);
}

#[test]
fn dangerous_profiles_are_refused_naming_profile_and_field() {
    let cases = [
        (
            "[web]\ncapabilities = [\"SYS_ADMIN\"]\n",
            "profile \"web\": capabilities lists SYS_ADMIN",
        ),
        (
            "[web]\nuser = \"0:0\"\n",
            "profile \"web\": user \"0:0\" is root",
        ),
        (
            "[web]\nuser = \"1000:0\"\n",
            "profile \"web\": user \"1000:0\" is in group 0",
        ),
        (
            "[web]\npids = 0\n",
            "profile \"web\": pids must be greater than 0",
        ),
        (
            "[web]\nmemory = \"unlimited\"\n",
            "profile \"web\": memory \"unlimited\" is not a size",
        ),
        (
            "[web]\ntmpfs = { \"/tmp\" = \"size=1m,exec\" }\n",
            "option \"exec\" is refused",
        ),
        (
            "[web]\ntmpfs = { \"/\" = \"size=1m\" }\n",
            "would hide the whole root filesystem",
        ),
        (
            "[web]\ntmpfs = { \"/proc/x\" = \"size=1m\" }\n",
            "kernel or device filesystem",
        ),
        (
            "[web]\ntmpfs = { \"/tmp\" = \"mode=1777\" }\n",
            "needs a size",
        ),
        (
            "[web]\nseccomp = \"unconfined\"\n",
            "\"unconfined\" is refused",
        ),
        ("[web]\nseccomp = \"rel/path.json\"\n", "absolute path"),
        (
            "[web]\nseccomp = \"/nonexistent/x.json\"\n",
            "/nonexistent/x.json:1:1: cannot read x.json: ",
        ),
        (
            "[a]\nextends = \"b\"\n[b]\nextends = \"a\"\n",
            "`extends` loops",
        ),
        (
            "[a]\nextends = \"nope\"\n",
            "extends \"nope\", which is not defined",
        ),
        ("[unconfined]\n", "cannot be called \"unconfined\""),
        (
            "[web]\ncpus = 1e-10\n",
            "profile \"web\": cpus must be at least 0.01",
        ),
        (
            "[web]\nshm = \"0\"\n",
            "profile \"web\": shm \"0\" is not a size above 0",
        ),
        ("[Web]\n", "is not valid"),
    ];
    for (text, expected) in cases {
        let err = config(text).resolve().unwrap_err();
        assert!(err.message.contains(expected), "{text}: {err}");
    }
}

#[test]
fn unknown_profile_fields_are_config_errors() {
    assert!(toml::from_str::<ProfilesConfig>("[web]\nmemroy = \"1g\"\n").is_err());
    assert!(toml::from_str::<ProfilesConfig>("[allow]\nprivilege = []\n").is_err());
}

#[test]
fn seccomp_files_are_read_and_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(&path, "{ \"defaultAction\": \"SCMP_ACT_ALLOW\" }").unwrap();
    let text = format!("[web]\nseccomp = {:?}\n", path.display().to_string());
    let p = config(&text).resolve().unwrap();
    assert_eq!(
        p.get("web").unwrap().seccomp,
        Seccomp::File {
            path: path.clone(),
            json: "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}".to_string()
        }
    );
    std::fs::write(&path, "{}").unwrap();
    assert!(
        config(&text)
            .resolve()
            .unwrap_err()
            .message
            .contains("no \"defaultAction\"")
    );
}

#[test]
fn tmpfs_options_split_size_from_the_rest() {
    let o = parse_tmpfs_options("size=16m, mode=1777").unwrap();
    assert_eq!(o.size, Some(("16m".to_string(), 16 << 20)));
    assert_eq!(o.others, ["mode=1777"]);
    assert!(parse_tmpfs_options("suid").is_err());
    assert!(parse_tmpfs_options("size=lots").is_err());
    assert!(parse_tmpfs_options("huge=always").is_err());
    assert_eq!(parse_tmpfs_options("").unwrap(), TmpfsOptions::default());
}

#[test]
fn default_tmpfs_skips_the_wildcard() {
    let p = SecurityProfiles::default();
    assert_eq!(
        p.get("default").unwrap().default_tmpfs(),
        BTreeMap::from([("/tmp".to_string(), "size=16m".to_string())])
    );
}

#[test]
fn each_shipped_profile_bounds_dev_shm_and_the_closed_ones_use_the_hardened_filter() {
    let p = ProfilesConfig::default().resolve().unwrap();
    let shm = |name: &str| p.get(name).unwrap().shm_bytes;
    assert_eq!(
        (shm("default"), shm("challenge"), shm("strict")),
        (16 << 20, 8 << 20, 1 << 20)
    );
    for name in ["challenge", "strict"] {
        let Seccomp::Builtin { name: filter, json } = &p.get(name).unwrap().seccomp else {
            panic!("{name} runs under the engine's default seccomp profile");
        };
        assert_eq!(filter, "hardened");
        assert!(json.contains("SCMP_ACT_ERRNO"));
    }
    assert_eq!(p.get("default").unwrap().seccomp, Seccomp::EngineDefault);
}

/// The shipped filter refuses whatever it does not list (like the engine's default) and lists
/// neither memfd nor io_uring among what it allows.
#[test]
fn the_hardened_seccomp_profile_refuses_running_code_from_memory() {
    let profile: serde_json::Value = serde_json::from_str(values::HARDENED_SECCOMP).unwrap();
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    let allowed: Vec<&str> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| rule["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|rule| rule["names"].as_array().unwrap())
        .map(|n| n.as_str().unwrap())
        .collect();
    for needed in [
        "execve",
        "read",
        "write",
        "mmap",
        "clone",
        "socket",
        "exit_group",
    ] {
        assert!(allowed.contains(&needed), "{needed} is refused");
    }
    for refused in [
        "memfd_create",
        "memfd_secret",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "mount",
        "unshare",
        "setns",
        "keyctl",
        "bpf",
        "userfaultfd",
    ] {
        assert!(!allowed.contains(&refused), "{refused} is allowed");
    }
}
