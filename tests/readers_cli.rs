//! The real binary on hostile files: 100,000 nested brackets (which used to overflow the stack
//! and abort with 134), files over the size cap, invalid UTF-8 — each reader answers with exit 1
//! and a `path:line:column: message` line.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ctfdeck"))
}

/// `ctfdeck ARGS` with no user config and no terminal.
fn run(home: &Path, args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out: Output = Command::new(bin())
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env_remove("CTFDECK_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A catalog holding one challenge folder `a` with `file` = `content`.
fn catalog(root: &Path, file: &str, content: &[u8]) -> PathBuf {
    let dir = root.join("catalog");
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("a").join(file), content).unwrap();
    dir
}

fn catalog_check(file: &str, content: &[u8]) -> (Option<i32>, String, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = catalog(tmp.path(), file, content);
    let (code, text) = run(
        tmp.path(),
        &["catalog".as_ref(), "check".as_ref(), dir.as_os_str()],
    );
    (code, text, dir.join("a").join(file))
}

fn deep(open: &str) -> Vec<u8> {
    open.repeat(100_000).into_bytes()
}

#[test]
fn a_challenge_json_of_100000_brackets_is_a_located_error_not_an_abort() {
    let (code, text, path) = catalog_check("challenge.json", &deep("["));
    assert_eq!(code, Some(1), "{text}");
    let expected = format!(
        "{}:1:65: invalid JSON: nested deeper than 64 levels",
        path.display()
    );
    assert!(text.lines().any(|l| l == expected), "{text}");

    let (code, text, path) = catalog_check("challenge.json", &deep("{\"a\":"));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}:1:321: invalid JSON: nested deeper",
            path.display()
        )),
        "{text}"
    );
}

#[test]
fn a_challenge_yml_of_100000_brackets_is_a_located_error_not_an_abort() {
    for (open, at) in [("[", "1:65"), ("{a: ", "1:257"), ("- ", "1:129")] {
        let (code, text, path) = catalog_check("challenge.yml", &deep(open));
        assert_eq!(code, Some(1), "{open}: {text}");
        let expected = format!(
            "{}:{at}: invalid YAML: nested deeper than 64 levels",
            path.display()
        );
        assert!(text.lines().any(|l| l == expected), "{open}: {text}");
    }
}

#[test]
fn a_config_toml_of_100000_brackets_is_a_located_error_not_an_abort() {
    for (content, at) in [
        (format!("store = {}", "[".repeat(100_000)), "1:89"),
        (format!("catalog = {}", "{a = ".repeat(100_000)), "1:"),
        (
            format!("[profiles.web]\ncapabilities = {}", "[".repeat(100_000)),
            "2:",
        ),
        (format!("{} = 1", "a.".repeat(100_000) + "a"), "1:1:"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("config.toml");
        std::fs::write(&config, &content).unwrap();
        let dir = catalog(tmp.path(), "challenge.json", b"{}");
        let (code, text) = run(
            tmp.path(),
            &[
                "--config".as_ref(),
                config.as_os_str(),
                "catalog".as_ref(),
                "check".as_ref(),
                dir.as_os_str(),
            ],
        );
        assert_eq!(code, Some(1), "{text}");
        let prefix = format!("error: {}:{at}", config.display());
        assert!(text.starts_with(&prefix), "{prefix}: {text}");
        assert!(text.contains(": nested deeper than 80 levels"), "{text}");
        assert!(text.len() < 300, "the message quotes the file: {text}");
    }
}

#[test]
fn a_theme_of_100000_brackets_is_a_located_error_not_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let theme = tmp.path().join("deep.toml");
    let content = format!(
        "name = \"deep\"\n[styles]\nbase = {{ mods = {} }}\n",
        "[".repeat(100_000)
    );
    std::fs::write(&theme, content).unwrap();
    let store = tmp.path().join("store.db");
    let (code, text) = run(
        tmp.path(),
        &[
            "--theme".as_ref(),
            theme.as_os_str(),
            "--store".as_ref(),
            store.as_os_str(),
        ],
    );
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        text.trim_end(),
        format!(
            "error: {}:3:96: nested deeper than 80 levels",
            theme.display()
        )
    );
}

#[test]
fn files_over_the_size_cap_are_refused_before_parsing() {
    let mut big = b"{\"name\": \"".to_vec();
    big.extend(std::iter::repeat_n(b'A', 2 << 20));
    big.extend(b"\"}");
    for file in ["challenge.json", "challenge.yml"] {
        let (code, text, path) = catalog_check(file, &big);
        assert_eq!(code, Some(1), "{text}");
        let expected = format!(
            "{}:1:1: the file is larger than 1024 KiB, the most ctfdeck reads; is this the right file?",
            path.display()
        );
        assert!(text.lines().any(|l| l == expected), "{text}");
    }
}

#[test]
fn invalid_utf8_is_located_at_the_first_bad_byte() {
    let (code, text, path) = catalog_check("challenge.yml", b"name: ok\ncategory: w\xffeb\n");
    assert_eq!(code, Some(1), "{text}");
    let expected = format!(
        "{}:2:12: invalid UTF-8 (byte 0xFF); save the file as UTF-8",
        path.display()
    );
    assert!(text.lines().any(|l| l == expected), "{text}");

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, b"[lifetime]\ndefault = \"4\xc35m\"\n").unwrap();
    let (code, text) = run(
        tmp.path(),
        &[
            "--config".as_ref(),
            config.as_os_str(),
            "catalog".as_ref(),
            "check".as_ref(),
        ],
    );
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        text.trim_end(),
        format!(
            "error: {}:2:13: invalid UTF-8 (byte 0xC3); save the file as UTF-8",
            config.display()
        )
    );
}
