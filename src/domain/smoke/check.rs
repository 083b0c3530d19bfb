//! Stage 5: the author's check script, run on this host the way ctfcli runs a healthcheck
//! (`SCRIPT --connection-info "http://HOST:PORT"` or `"nc HOST PORT"`), with `CTFDECK_HOST`
//! and `CTFDECK_PORT` set and no flag anywhere in its environment. It passes when it exits 0
//! and the last line it prints is this instance's flag.
//!
//! The script runs in its own process group, so that a timeout or Ctrl-C kills everything it
//! started (a `curl`, a `sleep`), not just the script.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::catalog::{Challenge, Protocol, resolve_inside};
use crate::store::InstanceRecord;

use super::options::Cancel;
use super::outcome::{Failed, Passed, StageOutcome, last_lines};
use super::ready::{host_for, seconds};

/// Lines of the script's stderr shown when it fails.
const STDERR_TAIL: usize = 10;
/// Output kept per stream; a script that prints more is cut (the flag is its last line).
const MAX_OUTPUT: usize = 1 << 20;
/// Longest line handed on while the script runs; the rest of a longer one is dropped.
const MAX_LINE: usize = 4096;
/// After killing the process group, how long to wait for its pipes to close.
const AFTER_KILL: Duration = Duration::from_secs(2);

/// Variables that could hand the script the flag instead of making it find it.
const FLAG_VARIABLES: &[&str] = &["CTFDECK_FLAG", "FLAG"];

/// How the script is told where the instance is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    /// ctfcli's `connection_info`: `http://HOST:PORT` or `nc HOST PORT`.
    pub info: String,
}

/// The challenge's first declared port, as published for this instance.
pub fn connection(challenge: &Challenge, instance: &InstanceRecord) -> Option<Connection> {
    let first = challenge.container.ports.first()?;
    let published = instance
        .ports
        .iter()
        .find(|p| u32::from(p.container) == first.container)?;
    let host = host_for(published);
    let port = published.host_port;
    let shown = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let info = match first.protocol {
        Protocol::Http => format!("http://{shown}:{port}"),
        Protocol::Tcp => format!("nc {host} {port}"),
    };
    Some(Connection { host, port, info })
}

/// `on_line` gets each line the script prints (stdout and stderr) as it prints it.
pub async fn run(
    challenge: &Challenge,
    instance: &InstanceRecord,
    timeout: Duration,
    cancel: &Cancel,
    on_line: &(dyn Fn(&str) + Send + Sync),
) -> StageOutcome<()> {
    let Some(smoke) = &challenge.smoke else {
        return Err(Failed::new(
            "no check script: set smoke.check (challenge.json) or healthcheck (challenge.yml), or pass --no-check",
        ));
    };
    let Some(expected) = instance.flag.as_deref() else {
        return Err(Failed::new("the instance has no flag to check against"));
    };
    let Some(conn) = connection(challenge, instance) else {
        return Err(Failed::new(
            "the instance publishes no port to give the check script",
        ));
    };
    let script = script_path(challenge, &smoke.check)?;
    let started = Instant::now();
    let run = match execute(&script, &challenge.dir, &conn, timeout, cancel, on_line).await {
        Ok(run) => run,
        Err(e) => {
            return Err(Failed::new(format!(
                "cannot run {}: {e}{}",
                smoke.check,
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    " (is it executable? chmod +x)"
                } else {
                    ""
                }
            )));
        }
    };
    let took = seconds(started.elapsed());
    let stderr = last_lines(&run.stderr, STDERR_TAIL);
    let details = |mut lines: Vec<String>| {
        if !stderr.is_empty() {
            lines.push(format!("last {} line(s) of its stderr:", stderr.len()));
            lines.extend(stderr.iter().map(|l| format!("| {l}")));
        }
        lines
    };
    let invocation = format!("{} --connection-info {:?}", smoke.check, conn.info);
    match run.end {
        End::Cancelled => {
            return Err(Failed::new(format!(
                "interrupted after {took}; {} and what it started were killed",
                smoke.check
            ))
            .with_details(details(vec![invocation])));
        }
        End::TimedOut => {
            return Err(Failed::new(format!(
                "{} did not finish within {} and was killed with what it started",
                smoke.check,
                seconds(timeout)
            ))
            .with_details(details(vec![invocation])));
        }
        End::Exited(status) if !status.success() => {
            return Err(Failed::new(format!(
                "{} {} after {took}",
                smoke.check,
                describe_status(status)
            ))
            .with_details(details(vec![invocation])));
        }
        End::Exited(_) => {}
    }
    let Some(printed) = last_lines(&run.stdout, 1)
        .pop()
        .map(|l| l.trim().to_string())
    else {
        return Err(Failed::new(format!(
            "{} exited 0 but printed nothing; it must print the flag as its last line",
            smoke.check
        ))
        .with_details(details(vec![invocation])));
    };
    if printed != expected {
        return Err(Failed::new(format!(
            "{} printed {printed:?}, which is not this instance's flag",
            smoke.check
        ))
        .with_details(details(vec![
            invocation,
            format!("expected {}", masked(expected)),
        ])));
    }
    Ok(Passed::new(
        (),
        format!(
            "{} printed this instance's flag (exit 0, {took})",
            smoke.check
        ),
    )
    .with_details(vec![invocation]))
}

/// The script to run: `check` in the challenge folder with every link resolved, refused when
/// that leads outside the folder (a `solve.sh` linked to a script elsewhere would run that
/// script on this host). Absolute, since the script runs in the challenge folder, where a
/// relative path would not lead back to it.
fn script_path(challenge: &Challenge, check: &str) -> Result<std::path::PathBuf, Failed> {
    resolve_inside(&challenge.dir, check)
        .map_err(|e| Failed::new(format!("smoke.check {e}; not run")))
}

/// Enough of the expected flag to recognise a near miss, not enough to leak a static flag
/// into CI logs.
fn masked(flag: &str) -> String {
    let shown: String = flag.chars().take(5).collect();
    format!(
        "a flag of {} characters starting with {shown:?}",
        flag.chars().count()
    )
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended abnormally".to_string(),
    }
}

enum End {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

struct Run {
    end: End,
    stdout: String,
    stderr: String,
}

async fn execute(
    script: &Path,
    dir: &Path,
    conn: &Connection,
    timeout: Duration,
    cancel: &Cancel,
    on_line: &(dyn Fn(&str) + Send + Sync),
) -> std::io::Result<Run> {
    let mut child = command(script, dir, conn).spawn()?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    let stdout = tokio::spawn(read_all(child.stdout.take(), lines_tx.clone()));
    let stderr = tokio::spawn(read_all(child.stderr.take(), lines_tx));

    let end = {
        let ended = async {
            tokio::select! {
                status = child.wait() => status.map(End::Exited),
                () = tokio::time::sleep(timeout) => Ok(End::TimedOut),
                () = cancel.cancelled() => Ok(End::Cancelled),
            }
        };
        tokio::pin!(ended);
        // Lines are handed on while the script runs, not when it is over.
        loop {
            tokio::select! {
                end = &mut ended => break end?,
                Some(line) = lines.recv() => on_line(&line),
            }
        }
    };
    // Whatever the script left running in its group goes too, so its pipes close.
    if let Some(group) = group {
        let _ = killpg(group, Signal::SIGKILL);
    }
    if !matches!(end, End::Exited(_)) {
        let _ = child.wait().await;
    }
    let collect = |handle: tokio::task::JoinHandle<String>| async move {
        tokio::time::timeout(AFTER_KILL, handle)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout).await, collect(stderr).await);
    while let Ok(line) = lines.try_recv() {
        on_line(&line);
    }
    Ok(Run {
        end,
        stdout,
        stderr,
    })
}

/// The script's command line and environment.
fn command(script: &Path, dir: &Path, conn: &Connection) -> Command {
    let mut command = Command::new(script);
    command
        .arg("--connection-info")
        .arg(&conn.info)
        .current_dir(dir)
        .env("CTFDECK_HOST", &conn.host)
        .env("CTFDECK_PORT", conn.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: killed as a whole on timeout or Ctrl-C.
        .process_group(0)
        .kill_on_drop(true);
    for name in FLAG_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// All of a stream (its end, past [`MAX_OUTPUT`]), each complete line also sent to `lines`.
async fn read_all<R: AsyncRead + Unpin>(
    stream: Option<R>,
    lines: mpsc::UnboundedSender<String>,
) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut out = Vec::new();
    let mut partial = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for &b in &buf[..n] {
                    if b == b'\n' {
                        let _ = lines.send(line_text(&partial));
                        partial.clear();
                    } else if partial.len() < MAX_LINE {
                        partial.push(b);
                    }
                }
                out.extend_from_slice(&buf[..n]);
                if out.len() > MAX_OUTPUT {
                    // Keep the end: the flag is the last line.
                    out.drain(..out.len() - MAX_OUTPUT);
                }
            }
        }
    }
    if !partial.is_empty() {
        let _ = lines.send(line_text(&partial));
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn line_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches('\r')
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("check.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn conn() -> Connection {
        Connection {
            host: "127.0.0.1".into(),
            port: 4242,
            info: "nc 127.0.0.1 4242".into(),
        }
    }

    #[tokio::test]
    async fn the_script_gets_the_connection_ctfcli_style_and_no_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = script(
            dir.path(),
            "echo \"args=$*\"; echo \"host=$CTFDECK_HOST port=$CTFDECK_PORT\"; echo \"flag=${FLAG:-none} ${CTFDECK_FLAG:-none}\"; pwd",
        );
        let run = execute(
            &path,
            dir.path(),
            &conn(),
            Duration::from_secs(10),
            &Cancel::never(),
            &|_| {},
        )
        .await
        .unwrap();
        assert!(matches!(run.end, End::Exited(s) if s.success()));
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines[0], "args=--connection-info nc 127.0.0.1 4242");
        assert_eq!(lines[1], "host=127.0.0.1 port=4242");
        assert_eq!(lines[2], "flag=none none");
        // Removed explicitly, so a FLAG in ctfdeck's own environment never reaches it.
        let cmd = command(&path, dir.path(), &conn());
        let envs: Vec<_> = cmd.as_std().get_envs().collect();
        for name in FLAG_VARIABLES {
            assert!(
                envs.contains(&(std::ffi::OsStr::new(name), None)),
                "{name}: {envs:?}"
            );
        }
        assert_eq!(
            std::path::Path::new(lines[3]).canonicalize().unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_script_and_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let path = script(
            dir.path(),
            &format!(
                "sleep 300 & echo $! > {}; echo started >&2; wait",
                pidfile.display()
            ),
        );
        let started = Instant::now();
        let run = execute(
            &path,
            dir.path(),
            &conn(),
            Duration::from_millis(500),
            &Cancel::never(),
            &|_| {},
        )
        .await
        .unwrap();
        assert!(matches!(run.end, End::TimedOut));
        assert!(
            // Not a timing figure: the script sleeps 300 s, so anything well short of that
            // means the timeout, not the script, ended the run.
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(run.stderr.trim(), "started");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The child is gone (or a zombie awaiting its reaper): no /proc entry, or state Z/X.
        // The kill is sent; on a loaded machine the child may take a moment to be scheduled
        // and die, so look a few times before concluding it survived.
        let dead = |stat: &str| {
            let state = stat
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next());
            matches!(state, None | Some(Some('Z' | 'X')))
        };
        let mut stat = String::new();
        for _ in 0..50 {
            stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if dead(&stat) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            dead(&stat),
            "the script's child survived the timeout: {stat}"
        );
    }

    #[tokio::test]
    async fn cancelling_kills_the_script_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let path = script(
            dir.path(),
            &format!("touch {}; sleep 300", started.display()),
        );
        let (handle, cancel) = Cancel::new();
        let task = tokio::spawn(async move {
            let conn = conn();
            execute(
                &path,
                &std::env::temp_dir(),
                &conn,
                Duration::from_secs(300),
                &cancel,
                &|_| {},
            )
            .await
        });
        // Cancel once the script really runs, however loaded the machine is.
        while !started.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        handle.cancel();
        // A guard against a hang, not a timing claim: uncancelled, the script runs 300 s.
        let run = tokio::time::timeout(Duration::from_secs(120), task)
            .await
            .expect("the cancelled script was killed, not waited for")
            .unwrap()
            .unwrap();
        assert!(matches!(run.end, End::Cancelled));
    }

    #[tokio::test]
    async fn every_line_is_handed_on_as_it_is_printed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("go");
        // The second line only comes once the first one was seen: streamed, not collected.
        let path = script(
            dir.path(),
            &format!(
                "echo first; echo oops >&2; while [ ! -e {} ]; do sleep 0.05; done; printf last",
                marker.display()
            ),
        );
        let seen = std::sync::Mutex::new(Vec::<String>::new());
        let on_line = |line: &str| {
            let mut seen = seen.lock().unwrap();
            seen.push(line.to_string());
            if line == "first" {
                std::fs::write(&marker, "").unwrap();
            }
        };
        let run = execute(
            &path,
            dir.path(),
            &conn(),
            Duration::from_secs(30),
            &Cancel::never(),
            &on_line,
        )
        .await
        .unwrap();
        assert!(matches!(run.end, End::Exited(s) if s.success()));
        let mut seen = seen.into_inner().unwrap();
        assert_eq!(seen[0], "first");
        seen.sort();
        assert_eq!(seen, ["first", "last", "oops"]);
        assert_eq!(run.stdout, "first\nlast");
    }

    #[test]
    fn a_script_linked_to_one_outside_the_folder_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        script(outside.path(), "echo elsewhere");
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "echo here");
        std::os::unix::fs::symlink(outside.path().join("check.sh"), dir.path().join("solve.sh"))
            .unwrap();
        std::os::unix::fs::symlink("check.sh", dir.path().join("inner.sh")).unwrap();
        let challenge = Challenge {
            dir: dir.path().to_path_buf(),
            ..serde_json::from_value(serde_json::json!({
                "schema_version": 1, "id": "demo", "name": "Demo",
                "container": {"image": "img"}, "flag": {"static": "flag{x}"}
            }))
            .unwrap()
        };
        let refused = script_path(&challenge, "solve.sh").unwrap_err();
        assert!(
            refused.message.contains("outside the challenge folder"),
            "{}",
            refused.message
        );
        assert_eq!(
            script_path(&challenge, "inner.sh").unwrap(),
            dir.path().join("check.sh").canonicalize().unwrap()
        );
    }

    #[test]
    fn the_expected_flag_is_never_shown_whole() {
        assert_eq!(
            masked("flag{0123456789abcdef}"),
            "a flag of 22 characters starting with \"flag{\""
        );
    }
}
