//! `doctor --security`: is every instance as isolated as its profile says? The engine's own
//! confinement, the host firewall, the profiles and exceptions in force, and each running
//! instance's real settings against its profile (drift). Exit 1 on any failure.

use color_eyre::eyre::Result;

use crate::catalog::{Profile, Seccomp};
use crate::cli::context::Context;
use crate::cli::exit::Reported;
use crate::config::EngineChoice;
use crate::domain::instance_drift;
use crate::engine::{Engine, firewall};
use crate::store::{InstanceFilter, InstanceStatus};

struct Report {
    failures: usize,
}

impl Report {
    fn line(&mut self, ok: bool, what: &str, detail: impl AsRef<str>) {
        if !ok {
            self.failures += 1;
        }
        println!(
            "{:<5} {what:<10} {}",
            if ok { "ok" } else { "FAIL" },
            detail.as_ref()
        );
    }

    /// Something staff should know that is not a failure.
    fn note(&self, what: &str, detail: impl AsRef<str>) {
        println!("{:<5} {what:<10} {}", "note", detail.as_ref());
    }
}

pub async fn run(ctx: &Context) -> Result<()> {
    let mut r = Report { failures: 0 };
    let security = &ctx.config.ceilings.security;
    for p in security.iter() {
        r.line(true, "profile", describe(p));
    }
    for (key, challenge) in security.allow.granted() {
        r.note(
            "exception",
            format!("[profiles.allow] {key} is granted to {challenge}"),
        );
    }

    if ctx.config.engine_choice() == EngineChoice::Swarm {
        swarm_nodes(ctx, &mut r).await;
    }
    let engine = match ctx.engine().await {
        Ok(engine) => engine,
        Err(e) => {
            r.line(false, "engine", format!("{e:#}"));
            return finish(r);
        }
    };
    match engine.security_options().await {
        Ok(options) => {
            let seccomp = options.iter().find(|o| o.contains("name=seccomp"));
            r.line(
                seccomp.is_some(),
                "seccomp",
                match seccomp {
                    Some(o) => format!("the engine filters syscalls ({o})"),
                    None => {
                        "the engine applies no seccomp filter: instances can call every syscall"
                            .to_string()
                    }
                },
            );
            for o in options.iter().filter(|o| !o.contains("name=seccomp")) {
                r.note("engine", o);
            }
        }
        Err(e) => r.line(false, "seccomp", format!("{e:#}")),
    }
    let target = engine.info().target.clone();
    if target.starts_with("unix://") || target.starts_with('/') {
        match firewall::status() {
            Ok(s) if s.complete() => r.line(
                true,
                "firewall",
                "instances cannot reach the host, other instances' published ports or metadata addresses",
            ),
            Ok(s) => r.line(
                false,
                "firewall",
                format!(
                    "not blocked: {}; run `sudo ctfdeck firewall apply`",
                    s.missing().join("; ")
                ),
            ),
            Err(e) => r.line(false, "firewall", format!("cannot be checked: {e}")),
        }
    } else {
        r.note(
            "firewall",
            format!("the engine at {target} is remote: run `ctfdeck firewall status` on its host"),
        );
    }
    if security.iter().any(|p| !p.egress) {
        let image = &security.proxy_image;
        match engine.image_present(image).await {
            Ok(true) => r.line(true, "proxy", format!("egress proxy image {image} present")),
            Ok(false) => r.line(
                false,
                "proxy",
                format!("egress proxy image {image} missing: instances without egress cannot start (run scripts/busybox-base)"),
            ),
            Err(e) => r.line(false, "proxy", format!("{image}: {e}")),
        }
    }

    let lifecycle = ctx.lifecycle().await?;
    let live = lifecycle
        .store()
        .list_instances(&InstanceFilter::default())?;
    let running: Vec<_> = live
        .into_iter()
        .filter(|i| i.status == InstanceStatus::Running)
        .collect();
    if running.is_empty() {
        r.note("instances", "none running");
    }
    for instance in &running {
        let profile = lifecycle
            .catalog()
            .get(&instance.challenge)
            .map(|c| c.container.security.profile.clone())
            .unwrap_or_else(|| "?".to_string());
        let who = format!(
            "{} ({} for {}, profile {profile})",
            instance.id, instance.challenge, instance.owner
        );
        match instance_drift(&lifecycle, instance).await {
            Ok(drift) if drift.is_empty() => {
                r.line(true, "instance", format!("{who}: as its profile says"))
            }
            Ok(drift) => {
                r.line(
                    false,
                    "instance",
                    format!("{who}: {} drift(s)", drift.len()),
                );
                for d in drift {
                    println!("{:<5} {:<10}   {d}", "", "");
                }
            }
            Err(e) => r.line(false, "instance", format!("{who}: {e}")),
        }
    }
    finish(r)
}

/// On a Swarm: each node, and per node what its services cannot be told on this API version
/// with what the node's operator does instead. A missing guarantee is a failure; one the
/// nodes' engines give anyway, or that ctfdeck refuses to need, is a note.
async fn swarm_nodes(ctx: &Context, r: &mut Report) {
    let swarm = match ctx.swarm_engine().await {
        Ok(swarm) => swarm,
        Err(e) => {
            r.line(false, "swarm", format!("{e:#}"));
            return;
        }
    };
    let nodes = match swarm.nodes().await {
        Ok(nodes) => nodes,
        Err(e) => {
            r.line(false, "swarm", format!("{e:#}"));
            return;
        }
    };
    let api = swarm.info().api_version.clone();
    for node in &nodes {
        let who = format!(
            "{} ({}, {}/{}, Docker {})",
            node.hostname, node.address, node.state, node.availability, node.engine_version
        );
        r.line(
            node.state == "ready",
            "node",
            if node.takes_instances() {
                format!("{who}: takes instances")
            } else {
                format!("{who}: takes no new instances")
            },
        );
        for gap in swarm.gaps() {
            let text = format!(
                "{}: services on API {api} cannot set {}; remedy: {}",
                node.hostname, gap.what, gap.remedy
            );
            if gap.what.starts_with("no-new-privileges") {
                r.line(false, "swarm", text);
            } else {
                r.note("swarm", text);
            }
        }
    }
}

fn finish(r: Report) -> Result<()> {
    if r.failures > 0 {
        return Err(Reported(format!("{} security check(s) failed", r.failures)).into());
    }
    Ok(())
}

/// `default: caps CHOWN, …; read-only; tmpfs …; /dev/shm 16m; egress allowed; 512m, 1 cpus, 256 pids; seccomp …`.
fn describe(p: &Profile) -> String {
    let tmpfs: Vec<String> = p
        .tmpfs
        .iter()
        .map(|(m, r)| format!("{m} ≤{}", r.max_size))
        .collect();
    let seccomp = match &p.seccomp {
        Seccomp::EngineDefault => "engine default".to_string(),
        other => other.describe(),
    };
    format!(
        "{}: caps {}; {}; tmpfs {}; /dev/shm {}; egress {}; ≤{} memory, ≤{} cpus, ≤{} pids; seccomp {}{}",
        p.name,
        p.capabilities_display(),
        if p.read_only {
            "read-only root"
        } else {
            "WRITABLE root"
        },
        tmpfs.join(" "),
        p.shm,
        if p.egress { "allowed" } else { "denied" },
        p.memory,
        p.cpus,
        p.pids,
        seccomp,
        if p.description.is_empty() {
            String::new()
        } else {
            format!(" — {}", p.description)
        }
    )
}
