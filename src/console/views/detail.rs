//! The instance detail popup: the store's record, what inspecting the container says, the
//! hardening it really runs with, and the flag — masked until an admin reveals it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::keys::Action;
use crate::console::state::App;
use crate::console::state::format;
use crate::console::state::popup::DetailView;
use crate::console::theme::Theme;
use crate::domain::view::{remaining, rfc3339};
use crate::engine::ContainerDetail;
use crate::store::InstanceStatus;

pub fn lines(app: &App, d: &DetailView, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("  {k:<16}"), theme.dim),
            Span::styled(v, theme.popup),
        ])
    };
    let heading = |t: &str| Line::styled(t.to_string(), theme.popup_title);
    let Some(row) = app.instances.by_id(&d.instance) else {
        out.push(Line::styled(
            format!("instance {} is gone", d.instance),
            theme.danger,
        ));
        return out;
    };
    let r = &row.rec;
    out.push(heading("Instance"));
    out.push(kv("id", r.id.clone()));
    out.push(kv("challenge", r.challenge.clone()));
    out.push(kv("owner", r.owner.clone()));
    out.push(kv("status", r.status.to_string()));
    if r.status == InstanceStatus::Exited {
        // Why players' service is down: the first thing staff need from this popup.
        out.push(Line::from(vec![
            Span::styled(format!("  {:<16}", "exit"), theme.dim),
            Span::styled(
                format!(
                    "{} (since {})",
                    r.stop_reason.as_deref().unwrap_or("the container stopped"),
                    rfc3339(r.stopped_at.unwrap_or(r.updated_at))
                ),
                theme.bad,
            ),
        ]));
    }
    out.push(kv("address", row.address.clone()));
    out.push(kv("created", rfc3339(r.created_at)));
    out.push(kv(
        "expires",
        format!(
            "{} (in {})",
            rfc3339(r.expires_at),
            remaining(r.expires_at, app.now)
        ),
    ));
    out.push(kv("max lifetime", rfc3339(r.max_total_at)));
    out.push(kv("renewals", format!("{}/{}", r.renewals, r.max_renewals)));
    let flag = match (&r.flag, d.revealed) {
        (None, _) => "(none)".to_string(),
        (Some(f), true) => f.clone(),
        (Some(f), false) => format!(
            "{}  ({} reveals{})",
            "•".repeat(f.chars().count().min(24)),
            app.keymap.keys_text(Action::Reveal),
            if app.read_only { ": admins only" } else { "" }
        ),
    };
    out.push(kv("flag", flag));
    out.push(heading("Container"));
    match &d.inspect {
        None => out.push(kv("", "asking the engine…".into())),
        Some(Err(e)) => out.push(Line::styled(format!("  {e}"), theme.danger)),
        Some(Ok(c)) => container_lines(c, &kv, &heading, &mut out),
    }
    out
}

fn container_lines(
    c: &ContainerDetail,
    kv: &dyn Fn(&str, String) -> Line<'static>,
    heading: &dyn Fn(&str) -> Line<'static>,
    out: &mut Vec<Line<'static>>,
) {
    out.push(kv("name", c.name.clone()));
    out.push(kv("id", c.id.chars().take(12).collect()));
    out.push(kv("image", c.image.clone()));
    let mut state = c.state.clone();
    if let Some(h) = &c.health {
        state.push_str(&format!(" ({h})"));
    }
    if let Some(code) = c.exit_code.filter(|_| c.state != "running") {
        state.push_str(&format!(", exit {code}"));
    }
    if c.oom_killed {
        state.push_str(", OOM-killed");
    }
    out.push(kv("state", state));
    out.push(kv("started", c.started_at.clone()));
    out.push(kv("restarts", c.restart_count.to_string()));
    out.push(kv("command", c.command.join(" ")));
    out.push(kv("env", c.env_names.join(" ")));
    out.push(kv("networks", c.networks.join(" ")));
    let h = &c.hardening;
    out.push(heading("Hardening applied"));
    out.push(kv("user", h.user.clone()));
    out.push(kv("cap_drop", h.cap_drop.join(",")));
    out.push(kv(
        "cap_add",
        if h.cap_add.is_empty() {
            "-".into()
        } else {
            h.cap_add.join(",")
        },
    ));
    // A seccomp profile is a whole JSON document: name it, do not print it.
    let security_opt: Vec<&str> = h
        .security_opt
        .iter()
        .map(|o| {
            if o.starts_with("seccomp={") {
                "seccomp=(profile JSON)"
            } else {
                o.as_str()
            }
        })
        .collect();
    out.push(kv("security_opt", security_opt.join(",")));
    out.push(kv("read-only root", yes(h.read_only)));
    out.push(kv("privileged", yes(h.privileged)));
    out.push(kv("init", yes(h.init)));
    out.push(kv(
        "memory",
        format!(
            "{} (swap {})",
            format::bytes(h.memory.max(0) as u64),
            format::bytes(h.memory_swap.max(0) as u64)
        ),
    ));
    out.push(kv("cpus", format!("{:.2}", h.nano_cpus as f64 / 1e9)));
    out.push(kv("pids", h.pids_limit.to_string()));
    for (mount, opts) in &h.tmpfs {
        out.push(kv("tmpfs", format!("{mount} {opts}")));
    }
    out.push(kv("network mode", h.network_mode.clone()));
    for (k, v) in &c.labels {
        out.push(kv("label", format!("{k}={v}")));
    }
}

fn yes(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, d: &DetailView, theme: &Theme) {
    let rect = super::tall(area, 100);
    let title = format!("Instance {}", d.instance);
    let block = super::popup_frame(frame, rect, &title, theme.popup, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let all = lines(app, d, theme);
    let max = all.len().saturating_sub(inner.height as usize);
    let visible: Vec<Line> = all
        .into_iter()
        .skip(d.scroll.min(max))
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(visible).style(theme.popup), inner);
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};
    use crate::console::state::popup::{DetailView, Popup};
    use crate::engine::{AppliedHardening, ContainerDetail};

    pub fn detail() -> ContainerDetail {
        ContainerDetail {
            id: "c0ffeea1b2c3d4e5f6".into(),
            name: "ctfdeck-web-robots-a1b2c3".into(),
            image: "ctfdeck/web-robots:latest".into(),
            state: "running".into(),
            health: None,
            started_at: "2023-11-14T22:08:00Z".into(),
            exit_code: Some(0),
            oom_killed: false,
            restart_count: 0,
            command: vec!["httpd".into(), "-f".into(), "-p".into(), "8080".into()],
            env_names: vec!["FLAG".into(), "PATH".into()],
            networks: vec!["ctfdeck-a1b2c3".into()],
            labels: [("org.ctfdeck.instance".to_string(), "a1b2c3".to_string())].into(),
            hardening: AppliedHardening {
                user: "1000:1000".into(),
                cap_drop: vec!["ALL".into()],
                cap_add: vec![],
                security_opt: vec!["no-new-privileges:true".into()],
                read_only: true,
                privileged: false,
                init: true,
                memory: 64 << 20,
                memory_swap: 64 << 20,
                nano_cpus: 500_000_000,
                pids_limit: 64,
                tmpfs: [(
                    "/tmp".to_string(),
                    "rw,noexec,nosuid,nodev,size=16m".to_string(),
                )]
                .into(),
                network_mode: "ctfdeck-a1b2c3".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn detail_popup_snapshots_with_the_flag_masked() {
        let mut app = sample_app();
        app.popup = Some(Popup::Detail(DetailView {
            instance: "a1b2c3".into(),
            inspect: Some(Ok(Box::new(detail()))),
            revealed: false,
            scroll: 0,
        }));
        snapshot_screen!("detail", &app);
        let text = super::super::testkit::screen_text(&app, 160, 48);
        assert!(!text.contains("flag{a1b2c3"), "flag shown before reveal");
    }

    #[test]
    fn an_exited_instance_says_why_in_the_detail() {
        let mut app = sample_app();
        let mut rows = super::super::testkit::records();
        rows[0].status = crate::store::InstanceStatus::Exited;
        rows[0].stop_reason =
            Some("was killed for exceeding its memory limit (OOM-killed, code 137)".into());
        app.instances.set_records(rows);
        app.popup = Some(Popup::Detail(DetailView {
            instance: "a1b2c3".into(),
            inspect: None,
            revealed: false,
            scroll: 0,
        }));
        let text = super::super::testkit::screen_text(&app, 160, 48);
        assert!(text.contains("OOM-killed, code 137"), "{text}");
    }

    #[test]
    fn a_revealed_flag_is_shown() {
        let mut app = sample_app();
        app.popup = Some(Popup::Detail(DetailView {
            instance: "a1b2c3".into(),
            inspect: None,
            revealed: true,
            scroll: 0,
        }));
        let text = super::super::testkit::screen_text(&app, 160, 48);
        assert!(text.contains("flag{a1b2c30123456789}"), "{text}");
    }
}
