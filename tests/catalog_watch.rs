#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `catalog check --watch` re-checks on every file change: an edit that breaks a challenge is
//! reported with its position, and the edit that fixes it is reported clean again.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{bin, repo};

const WAIT: Duration = Duration::from_secs(60);

/// The child, killed on drop whatever happened.
struct Watching(Child);

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Both output streams, line by line, into one channel.
fn lines(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send(line);
        }
    });
    rx
}

/// Read lines until one satisfies `ok`; every line read is returned.
fn until(rx: &Receiver<String>, what: &str, ok: impl Fn(&str) -> bool) -> Vec<String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let left = WAIT.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = ok(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!(
                "no {what} within {WAIT:?}; output so far:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[test]
fn watch_reports_an_edit_that_breaks_a_file_and_the_one_that_fixes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = tmp.path().join("catalog");
    common::copy_dir(&repo().join("challenges/nc-calc"), &catalog.join("nc-calc"));
    let file = catalog.join("nc-calc/challenge.json");
    let good = std::fs::read_to_string(&file).unwrap();

    let child = Command::new(bin())
        .args(["catalog", "check", "--watch"])
        .arg(&catalog)
        .env_remove("CTFDECK_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watching = Watching(child);
    let rx = lines(&mut watching.0);
    until(&rx, "the first clean check", |l| {
        l.ends_with("1 challenge(s), no errors")
    });
    until(&rx, "the watch starting", |l| l.starts_with("watching "));

    // Break it: a typo in a field name. The report comes on two pipes (diagnostics and the
    // summary), read by two threads: wait until all of it has arrived, in whatever order.
    std::fs::write(&file, good.replace("\"memory\"", "\"memroy\"")).unwrap();
    let is_diagnostic = |l: &str| l.contains("challenge.json:") && l.contains("memroy");
    let mut seen: Vec<String> = Vec::new();
    while !(seen.iter().any(|l| l.starts_with("-- changed: "))
        && seen.iter().any(|l| is_diagnostic(l))
        && seen.iter().any(|l| l.contains("1 error(s) in")))
    {
        seen.extend(until(
            &rx,
            "the change, its diagnostic and the error summary",
            |_| true,
        ));
    }
    let diagnostic = seen
        .iter()
        .find(|l| is_diagnostic(l))
        .unwrap_or_else(|| panic!("no positioned diagnostic: {seen:#?}"));
    assert!(
        diagnostic.contains("nc-calc/challenge.json:"),
        "{diagnostic}"
    );

    // Fix it.
    std::fs::write(&file, &good).unwrap();
    until(&rx, "the clean check again", |l| {
        l.ends_with("1 challenge(s), no errors")
    });
    assert!(
        watching.0.try_wait().unwrap().is_none(),
        "still watching after both edits"
    );
}
