//! `doctor`: is everything ctfdeck needs there? Each check prints ok/FAIL with what it found
//! (`warn` for a choice of the host that is no error, such as live-restore off).

use std::sync::Arc;

use color_eyre::eyre::Result;

use crate::catalog::Catalog;
use crate::cli::context::Context;
use crate::cli::exit::Reported;
use crate::domain::flags::{self, SecretState};
use crate::domain::plan::instance_user;
use crate::domain::{DEFAULT_USER, Lifecycle, group_name, host_account_clashes};
use crate::engine::{DockerEngine, Engine, EngineKind};
use crate::store::{FileAccess, now_millis};

/// How long past its expiry an instance may still run before doctor blames the reaper. A
/// working reaper stops it within about a second.
const REAPER_GRACE_MS: i64 = 10_000;

pub async fn run(ctx: &Context) -> Result<()> {
    let mut failures = 0;
    let mut report = |ok: bool, what: &str, detail: String| {
        if !ok {
            failures += 1;
        }
        println!("{:<5} {what:<10} {detail}", if ok { "ok" } else { "FAIL" });
    };

    let engine = ctx.engine().await;
    match &engine {
        Ok(e) => {
            let i = e.info();
            report(
                true,
                "engine",
                format!(
                    "{} ({} {}, API {}, {})",
                    i.target,
                    i.kind.name(),
                    i.version,
                    i.api_version,
                    i.os
                ),
            );
        }
        Err(e) => report(false, "engine", format!("{e:#}")),
    }
    if let Some(reason) = engine
        .as_ref()
        .ok()
        .and_then(|e| e.info().limits_unenforceable())
    {
        report(false, "limits", reason);
    }
    let podman = engine
        .as_ref()
        .is_ok_and(|e| e.info().kind == EngineKind::Podman);
    if podman {
        // Podman has no live-restore: it needs none.
        report(
            true,
            "restore",
            "Podman runs each container under its own monitor: instances outlive its API service"
                .to_string(),
        );
    } else if let Ok(e) = &engine {
        // Not a failure: a choice of the host. But off, an engine restart takes every
        // instance down, and players notice before staff do.
        match e.live_restore().await {
            Ok(true) => report(
                true,
                "restore",
                "live-restore is on: instances survive an engine restart".to_string(),
            ),
            Ok(false) => println!(
                "{:<5} {:<10} live-restore is off: an engine restart stops every instance (set \"live-restore\": true in /etc/docker/daemon.json)",
                "warn", "restore"
            ),
            Err(e) => report(false, "restore", format!("{e:#}")),
        }
    }

    let store_path = ctx.store_path();
    match ctx.open_store() {
        Ok(s) => {
            report(
                true,
                "store",
                format!(
                    "{} (schema {}, writable)",
                    store_path.display(),
                    s.schema_version()?
                ),
            );
            let access = s.file_access()?;
            report(
                !access.others_can_read(),
                "access",
                describe_access(&access),
            );
            match flags::stored_secret_state(&s)? {
                SecretState::Absent => report(
                    true,
                    "secret",
                    "no flag secret yet; the first instance command creates one".to_string(),
                ),
                SecretState::Sound => {
                    report(true, "secret", "the flag secret is sound".to_string())
                }
                SecretState::Weak(why) => report(
                    false,
                    "secret",
                    format!(
                        "the flag secret is {why}: anyone can forge the flags made from it; once no instance is live, delete the store's flag_secret setting and the next command makes a new one"
                    ),
                ),
            }
            // Nothing else notices a missing reaper: expired instances just keep running.
            let overdue = s.expired(now_millis() - REAPER_GRACE_MS)?.len();
            report(
                overdue == 0,
                "reaper",
                if overdue == 0 {
                    "no instance is running past its expiry".to_string()
                } else {
                    format!(
                        "{overdue} instance(s) expired over {} s ago and still run: is `ctfdeck reap --watch` running? (contrib/systemd/ctfdeck-reaper.service)",
                        REAPER_GRACE_MS / 1000
                    )
                },
            );
        }
        Err(e) => report(false, "store", format!("{e:#}")),
    }

    if ctx.config.ssh.listen.is_some() {
        let path = crate::ssh::host_key_path(&ctx.config.ssh, &store_path);
        if path.exists() {
            match crate::ssh::host_key::load_or_create(&path) {
                Ok(key) => report(
                    true,
                    "ssh",
                    format!(
                        "host key {} ({}): staff check this fingerprint on first connection",
                        path.display(),
                        crate::ssh::host_key::fingerprint(&key)
                    ),
                ),
                Err(e) => report(false, "ssh", e.to_string()),
            }
        } else {
            report(
                true,
                "ssh",
                format!(
                    "no host key yet at {}; `ctfdeck serve` creates it and prints its fingerprint",
                    path.display()
                ),
            );
        }
    }

    let catalog_dir = ctx.catalog_dir();
    let catalog = match ctx.load_catalog() {
        Ok(r) => {
            let errors = r.errors();
            report(
                errors == 0,
                "catalog",
                format!(
                    "{} ({} challenge(s), {errors} error(s){})",
                    catalog_dir.display(),
                    r.catalog.challenges.len(),
                    if errors > 0 {
                        "; run `ctfdeck catalog check`"
                    } else {
                        ""
                    }
                ),
            );
            Some(r.catalog)
        }
        Err(e) => {
            report(false, "catalog", format!("{e:#}"));
            None
        }
    };

    let remapped = match &engine {
        Ok(e) => e
            .security_options()
            .await
            .is_ok_and(|o| o.iter().any(|opt| opt.contains("name=userns"))),
        Err(_) => false,
    };
    for (what, user) in instance_users(ctx, catalog.as_ref()) {
        let clashes = host_account_clashes(&user);
        if remapped {
            report(
                true,
                "users",
                format!(
                    "{what} runs as {user}; the engine remaps users (userns-remap), so that is no host account"
                ),
            );
        } else if clashes.is_empty() {
            report(
                true,
                "users",
                format!("{what} runs as {user}, no host account"),
            );
        } else {
            // A warning, not a failure: the instances work, but their flags are not private.
            println!(
                "{:<5} {:<10} {what} runs as {user}, and {}: any process of that account can read the instance's flag (/proc/<pid>/environ) and signal it; use ids no host account has ([container] user, default {DEFAULT_USER}) or run the engine with userns-remap",
                "warn",
                "users",
                clashes.join(", ")
            );
        }
    }

    if let (Ok(engine), Some(catalog)) = (&engine, &catalog) {
        for c in &catalog.challenges {
            match engine.image_present(&c.container.image).await {
                Ok(true) => report(true, "image", c.container.image.clone()),
                Ok(false) => report(
                    false,
                    "image",
                    format!(
                        "{} missing; run `ctfdeck build {}`",
                        c.container.image, c.id
                    ),
                ),
                Err(e) => report(false, "image", format!("{}: {e}", c.container.image)),
            }
        }
    }

    if let Ok(engine) = &engine {
        // An invalid catalog (said above) must not hide instances that are down.
        exited(ctx, engine, catalog.unwrap_or_default(), &mut report).await;
    }

    if failures > 0 {
        return Err(Reported(format!("{failures} check(s) failed")).into());
    }
    Ok(())
}

/// The default user, then each challenge that runs as another one.
fn instance_users(ctx: &Context, catalog: Option<&Catalog>) -> Vec<(String, String)> {
    let policy = ctx.config.policy();
    let default = policy.container.user.clone();
    let mut users = vec![("[container] user: an instance".to_string(), default.clone())];
    for c in catalog.map(|c| c.challenges.as_slice()).unwrap_or_default() {
        if let Some(user) = instance_user(c, &policy).filter(|u| *u != default) {
            users.push((format!("challenge {}", c.id), user));
        }
    }
    users
}

/// Instances that should run and do not: players' services are down.
async fn exited(
    ctx: &Context,
    engine: &DockerEngine,
    catalog: Catalog,
    report: &mut impl FnMut(bool, &str, String),
) {
    let lifecycle = match ctx.open_store().and_then(|store| {
        Ok(Lifecycle::new(
            Arc::new(engine.clone()),
            store,
            Arc::new(catalog),
            ctx.config.policy(),
            ctx.actor(),
        )?)
    }) {
        Ok(l) => l,
        // The store check above already said why.
        Err(_) => return,
    };
    match lifecycle.exited_instances().await {
        Ok(down) if down.is_empty() => report(
            true,
            "exited",
            "no instance has stopped by itself".to_string(),
        ),
        Ok(down) => {
            for (r, reason) in down {
                report(
                    false,
                    "exited",
                    format!(
                        "{} ({} of {}) is down: {reason}; `ctfdeck reset {}` replaces it ([lifetime] on_exit = \"{}\")",
                        r.id,
                        r.challenge,
                        r.owner,
                        r.id,
                        lifecycle.policy().lifetime.on_exit.as_str()
                    ),
                );
            }
        }
        Err(e) => report(false, "exited", format!("{e:#}")),
    }
}

/// Who can open the store: it holds the flag secret, so "everyone" is a failure.
fn describe_access(access: &FileAccess) -> String {
    let group = group_name(access.gid).unwrap_or_else(|| format!("gid {}", access.gid));
    if access.others_can_read() {
        format!(
            "the store is readable by every user on this host (mode {:04o}), flag secret included: chmod o-rwx it",
            access.mode
        )
    } else if access.group_shares() {
        format!(
            "the store is shared with group {group} (mode {:04o})",
            access.mode
        )
    } else if access.group_can_read() {
        format!(
            "group {group} can read the store but not write it (mode {:04o}): nobody in it can act through it",
            access.mode
        )
    } else {
        format!(
            "the store is private to its owner (mode {:04o}); to share it among staff, see the README's \"One store for the whole host\"",
            access.mode
        )
    }
}
