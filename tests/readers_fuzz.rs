//! Property test of the readers: whatever the bytes — random, or a shipped file mutated (bytes
//! flipped, tokens inserted, chunks repeated into deep nesting, truncated, BOM, invalid UTF-8) —
//! each reader returns a value or errors located as `path:line:column: message`. A panic fails
//! the test with the smallest input proptest can shrink it to; a stack overflow aborts the run.
//!
//! The suite runs a modest number of cases per reader (`PROPTEST_CASES`, default 64).
//! `READERS_FUZZ_SECONDS=N` turns it into a long run that keeps generating for N seconds and
//! prints the executions per reader (`scripts/fuzz-readers` does that); `READERS_FUZZ_LAST=FILE`
//! keeps the input being read in FILE, so that an abort leaves the input that caused it.

#![allow(clippy::unwrap_used)]

mod readers_support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use readers_support::{READERS, Reader, unlocated};

/// Tokens that matter to at least one of the three syntaxes.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b"'",
    b":",
    b",",
    b"=",
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b"#",
    b"\\",
    b"\\u",
    b"\\uD800",
    b"-",
    b"- ",
    b"? ",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"|",
    b">",
    b"---\n",
    b"...\n",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"99999999999999999999999",
    b"0x",
    b"nan",
    b"inf",
    b"\"\"\"",
    b"'''",
    b"[[",
    b"]]",
    b"a.b.c",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\x00",
    b"\xe2\x80\xa8",
];

/// Time spent inside the readers (the rest is generating and shrinking inputs).
static READING_MICROS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone)]
enum Mutation {
    /// Flip the bits of `mask` in the byte at `at`.
    Flip {
        at: usize,
        mask: u8,
    },
    Insert {
        at: usize,
        token: usize,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// Repeat the chunk at `at` of `len` bytes `times` times in place (deep nesting, long lines).
    Repeat {
        at: usize,
        len: usize,
        times: usize,
    },
    Truncate {
        at: usize,
    },
    /// A run of one token, e.g. 5,000 `[`.
    Run {
        at: usize,
        token: usize,
        times: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        4 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        2 => (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (any::<usize>(), 1..32usize, 2..200usize)
            .prop_map(|(at, len, times)| Mutation::Repeat { at, len, times }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), 0..TOKENS.len(), prop_oneof![2..100usize, 60..70usize, 1000..20_000usize])
            .prop_map(|(at, token, times)| Mutation::Run { at, token, times }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        let pos = |at: usize| if len == 0 { 0 } else { at % (len + 1) };
        match *m {
            Mutation::Flip { at, mask } => {
                if len > 0 {
                    bytes[at % len] ^= mask;
                }
            }
            Mutation::Insert { at, token } => {
                let at = pos(at);
                bytes.splice(at..at, TOKENS[token].iter().copied());
            }
            Mutation::Delete { at, len: n } => {
                let at = pos(at);
                let end = (at + n).min(len);
                bytes.drain(at..end);
            }
            Mutation::Repeat { at, len: n, times } => {
                let at = pos(at);
                let end = (at + n).min(len);
                let chunk = bytes[at..end].to_vec();
                let repeated: Vec<u8> = chunk.repeat(times);
                bytes.splice(at..end, repeated);
            }
            Mutation::Truncate { at } => bytes.truncate(pos(at)),
            Mutation::Run { at, token, times } => {
                let at = pos(at);
                bytes.splice(at..at, TOKENS[token].repeat(times));
            }
        }
    }
    bytes
}

/// Inputs for `reader`: a seed file mutated, or plain random bytes, or random tokens.
fn input(reader: Reader) -> impl Strategy<Value = Vec<u8>> {
    let seeds = reader.seeds();
    let mutated = (0..seeds.len(), proptest::collection::vec(mutation(), 1..8))
        .prop_map(move |(seed, ms)| apply(seeds[seed].clone(), &ms));
    let random = proptest::collection::vec(any::<u8>(), 0..512);
    let tokens = proptest::collection::vec(0..TOKENS.len(), 0..256).prop_map(|ts| {
        ts.into_iter()
            .flat_map(|t| TOKENS[t].iter().copied())
            .collect()
    });
    prop_oneof![6 => mutated, 1 => random, 1 => tokens]
}

/// The file name every input is read under: the name its reader looks for.
fn path_for(reader: Reader) -> PathBuf {
    match reader {
        Reader::Json => PathBuf::from("fuzz/challenge.json"),
        Reader::Yaml => PathBuf::from("fuzz/challenge.yml"),
        Reader::Config => PathBuf::from("fuzz/config.toml"),
        Reader::Profiles => PathBuf::from("fuzz/security.toml"),
        Reader::Theme => PathBuf::from("fuzz/theme.toml"),
    }
}

/// One execution: read, and insist on a located answer.
fn check(
    reader: Reader,
    path: &Path,
    bytes: &[u8],
    last: Option<&Path>,
) -> Result<(), TestCaseError> {
    if let Some(last) = last {
        // Written before reading: if the read aborts the process, this is the input. A full
        // disk loses only that clue, not the run.
        let _ = std::fs::write(last, bytes);
    }
    let started = Instant::now();
    let answer = reader.read(path, bytes.to_vec());
    let spent = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    READING_MICROS.fetch_add(spent, Ordering::Relaxed);
    match answer {
        Ok(()) => Ok(()),
        Err(lines) => match unlocated(path, bytes, &lines) {
            None => Ok(()),
            Some(why) => Err(TestCaseError::fail(why)),
        },
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // A seed file grown by repeats can be large; shrinking a failure matters more than speed.
        max_shrink_iters: 2048,
        ..Config::default()
    })
}

/// Run `cases` inputs through `reader`; the failure (shrunk) if there is one.
fn run_batch(reader: Reader, cases: u32, last: Option<&Path>) -> Result<(), String> {
    let path = path_for(reader);
    let result = runner(cases).run(&input(reader), |bytes| check(reader, &path, &bytes, last));
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(why, bytes)) => Err(format!(
            "{}: {why}\nminimal input ({} bytes): {:?}",
            reader.name(),
            bytes.len(),
            String::from_utf8_lossy(&bytes)
        )),
        Err(TestError::Abort(why)) => Err(format!("{}: aborted: {why}", reader.name())),
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn every_reader_answers_any_bytes_with_a_value_or_a_located_error() {
    let last = std::env::var_os("READERS_FUZZ_LAST").map(PathBuf::from);
    let Some(seconds) = env_number("READERS_FUZZ_SECONDS") else {
        let cases = env_number("PROPTEST_CASES").map_or(64, |n| n as u32);
        let failures: Vec<String> = READERS
            .iter()
            .filter_map(|r| run_batch(*r, cases, last.as_deref()).err())
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
        return;
    };

    // The long run: batches in turn until the time is up, counting executions.
    const BATCH: u32 = 256;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut executions = [0u64; READERS.len()];
    let mut failures = Vec::new();
    while Instant::now() < deadline {
        for (i, reader) in READERS.iter().enumerate() {
            if let Err(failure) = run_batch(*reader, BATCH, last.as_deref()) {
                eprintln!("CRASH {failure}");
                failures.push(failure);
            }
            executions[i] += u64::from(BATCH);
        }
    }
    let total: u64 = executions.iter().sum();
    for (reader, n) in READERS.iter().zip(executions) {
        println!("fuzz {:<9} {n} executions", reader.name());
    }
    println!(
        "fuzz total     {total} executions in {:.0} s ({:.0} s inside the readers), {} failure(s)",
        started.elapsed().as_secs_f64(),
        READING_MICROS.load(Ordering::Relaxed) as f64 / 1e6,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn mutations_reach_past_the_nesting_limit() {
    // The generator must be able to produce what crashed the process: a deep run of brackets.
    let deep = apply(
        b"{}".to_vec(),
        &[Mutation::Run {
            at: 1,
            token: 0,
            times: 20_000,
        }],
    );
    assert_eq!(deep.iter().filter(|b| **b == b'[').count(), 20_000);
    let path = path_for(Reader::Json);
    let lines = Reader::Json.read(&path, deep.clone()).unwrap_err();
    assert_eq!(unlocated(&path, &deep, &lines), None, "{lines:?}");
    assert_eq!(
        lines,
        ["fuzz/challenge.json:1:65: invalid JSON: nested deeper than 64 levels"]
    );
}

#[test]
fn nesting_just_under_the_limit_is_read_from_a_small_stack() {
    // 60 nested flow mappings overflowed a 2 MiB stack before readers got their own; callers
    // (tokio workers, test threads) may have less.
    let yml = format!(
        "name: Deep\ncategory: web\nvalue: 1\nflags:\n  - flag{{x}}\nimage: registry.example.org/x:1\nextra: {}1{}\n",
        "{a: ".repeat(60),
        "}".repeat(60)
    );
    let json = format!("{{\"x\": {}1{}}}", "[".repeat(60), "]".repeat(60));
    let small = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let yml_answer = Reader::Yaml.read(Path::new("deep/challenge.yml"), yml.into_bytes());
            let json_answer =
                Reader::Json.read(Path::new("deep/challenge.json"), json.into_bytes());
            (yml_answer, json_answer)
        })
        .unwrap();
    let (yml_answer, json_answer) = small.join().unwrap();
    // Both are read to the end: the YAML is a challenge, the JSON has an unknown field.
    assert_eq!(yml_answer, Ok(()));
    let lines = json_answer.unwrap_err();
    assert!(
        lines[0].starts_with("deep/challenge.json:1:2: unknown field `x`"),
        "{lines:?}"
    );
}
