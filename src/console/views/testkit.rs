//! Fixed sample state and snapshot helpers for the view tests: every widget at 80x24 and
//! 160x48, in the dark and light themes. Snapshots record text and styles, so a theme change
//! shows up as a diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::catalog::Catalog;
use crate::console::keys::Keymap;
use crate::console::state::catalog::{CatalogRow, ImageState};
use crate::console::state::{App, Setup};
use crate::console::theme::Theme;
use crate::engine::ContainerStats;
use crate::store::{AuditEntry, InstanceRecord, InstanceStatus, Millis, PublishedPort};

pub const NOW: Millis = 1_700_000_000_000;
pub const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
pub const THEMES: [&str; 2] = ["dark", "light"];

/// A fixed catalog, independent of what `challenges/` holds.
pub fn catalog_rows() -> Vec<CatalogRow> {
    let row = |id: &str, category: &str, difficulty, points| CatalogRow {
        id: id.to_string(),
        name: id.to_string(),
        category: category.to_string(),
        difficulty,
        points,
        image: ImageState::Unknown,
        buildable: true,
    };
    vec![
        row("nc-calc", "misc", "easy", 100),
        row("web-cmdinject", "web", "medium", 200),
        row("web-robots", "web", "easy", 100),
    ]
}

pub fn record(id: &str, challenge: &str, owner: &str, left_s: i64, age_s: i64) -> InstanceRecord {
    InstanceRecord {
        id: id.to_string(),
        challenge: challenge.to_string(),
        owner: owner.to_string(),
        status: InstanceStatus::Running,
        container_id: Some(format!("c0ffee{id}")),
        network_id: Some(format!("net{id}")),
        ports: vec![PublishedPort {
            container: 8080,
            host_ip: "0.0.0.0".into(),
            host_port: 32_700 + (id.as_bytes()[0] as u16 % 90),
            protocol: "http".into(),
        }],
        flag: Some(format!("flag{{{id}0123456789}}")),
        created_at: NOW - age_s * 1000,
        expires_at: NOW + left_s * 1000,
        stopped_at: None,
        renewals: (age_s / 1800) as u32 % 4,
        max_renewals: 3,
        max_total_at: NOW + 3 * 3_600_000,
        stop_reason: None,
        updated_at: NOW,
    }
}

pub fn records() -> Vec<InstanceRecord> {
    let mut starting = record("f6g7h8", "web-cmdinject", "team:blue", 2700, 2);
    starting.status = InstanceStatus::Starting;
    starting.ports.clear();
    starting.container_id = None;
    vec![
        record("a1b2c3", "web-robots", "team:red", 2400, 300),
        record("b2c3d4", "web-robots", "team:green", 170, 2500),
        record("c3d4e5", "nc-calc", "user:alice", 40, 4000),
        record("d4e5f6", "nc-calc", "team:red", 7300, 60),
        record("e5f6g7", "web-cmdinject", "team:yellow", 1500, 1200),
        starting,
    ]
}

pub fn sample_app() -> App {
    let setup = Setup {
        keymap: Keymap::defaults(),
        read_only: false,
        store_path: "/var/lib/ctfdeck/ctfdeck.db".into(),
        engine_target: "unix:///var/run/docker.sock".into(),
        engine_version: "20.10.24".into(),
        public_host: "ctf.example.org".into(),
        now: NOW,
    };
    let mut app = App::new(setup, &Catalog::default());
    app.catalog.rows = catalog_rows();
    app.instances.set_records(records());
    app.catalog.live = app.instances.live_by_challenge();
    app.instances
        .engine
        .insert("e5f6g7".into(), "unhealthy".into());
    for (i, id) in ["a1b2c3", "b2c3d4", "c3d4e5", "d4e5f6"].iter().enumerate() {
        app.instances.stats.insert(
            id.to_string(),
            ContainerStats {
                cpu_percent: 0.5 + i as f64 * 3.25,
                memory_bytes: (1 + i as u64) * 1_700_000,
                memory_limit: 64 << 20,
                ..Default::default()
            },
        );
    }
    app.catalog.set_image("web-robots", ImageState::Built);
    app.catalog.set_image("nc-calc", ImageState::Built);
    app.catalog.set_image("web-cmdinject", ImageState::Missing);
    app.logs
        .switch(crate::console::state::logs::LogSource::Instance {
            id: "a1b2c3".into(),
        });
    app.logs.push_chunks(vec![
        "2023-11-14T22:08:01.000000001Z httpd: listening on :8080\n".into(),
        "2023-11-14T22:09:13.5Z 10.0.0.7 GET / 200\n".into(),
        "2023-11-14T22:09:14.5Z 10.0.0.7 GET /robots.txt 200\n".into(),
        "2023-11-14T22:10:02.5Z 10.0.0.7 GET /s3cr3t-admin/ 403\n".into(),
    ]);
    app.logs.audit = vec![AuditEntry {
        seq: 1,
        at: NOW - 300_000,
        actor: "alice".into(),
        origin: "ssh:10.0.0.2".into(),
        action: "spawn".into(),
        instance: Some("a1b2c3".into()),
        detail: "web-robots for team:red".into(),
        outcome: "ok".into(),
    }];
    app
}

fn render(w: u16, h: u16, draw: impl FnOnce(&mut Frame)) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(draw).unwrap();
    terminal.backend().buffer().clone()
}

/// One widget filling the whole screen, in the named theme.
pub fn render_widget(
    w: u16,
    h: u16,
    theme_name: &str,
    app: &App,
    draw: fn(&mut Frame, Rect, &App, &Theme),
) -> Buffer {
    let theme = Theme::built_in(theme_name).unwrap();
    render(w, h, |f| draw(f, f.area(), app, &theme))
}

/// The whole screen (popups included), in the named theme.
pub fn render_screen_in(w: u16, h: u16, theme_name: &str, app: &App) -> Buffer {
    let theme = Theme::built_in(theme_name).unwrap();
    render(w, h, |f| super::draw(f, app, &theme))
}

/// Snapshot one widget filling the whole screen, at each size and theme:
/// `snapshot_widget!("instances", &app, super::draw)`. A macro, not a function: insta names a
/// snapshot after the module it is asserted in, so each file says which widget it shows
/// (`…__views__instances__tests__instances_dark_80x24.snap`).
macro_rules! snapshot_widget {
    ($name:expr, $app:expr, $draw:expr) => {
        for (w, h) in $crate::console::views::testkit::SIZES {
            for theme_name in $crate::console::views::testkit::THEMES {
                let buffer =
                    $crate::console::views::testkit::render_widget(w, h, theme_name, $app, $draw);
                insta::assert_debug_snapshot!(format!("{}_{theme_name}_{w}x{h}", $name), buffer);
            }
        }
    };
}
pub(crate) use snapshot_widget;

/// Snapshot the whole screen (popups included), at each size and theme, named after the
/// calling widget's module as [`snapshot_widget!`] is.
macro_rules! snapshot_screen {
    ($name:expr, $app:expr) => {
        for (w, h) in $crate::console::views::testkit::SIZES {
            for theme_name in $crate::console::views::testkit::THEMES {
                let buffer =
                    $crate::console::views::testkit::render_screen_in(w, h, theme_name, $app);
                insta::assert_debug_snapshot!(format!("{}_{theme_name}_{w}x{h}", $name), buffer);
            }
        }
    };
}
pub(crate) use snapshot_screen;

/// The whole screen in one theme.
pub fn render_screen(app: &App, theme: &Theme, w: u16, h: u16) -> Buffer {
    render(w, h, |f| super::draw(f, app, theme))
}

/// The screen's text only, for assertions.
pub fn screen_text(app: &App, w: u16, h: u16) -> String {
    let theme = Theme::built_in("dark").unwrap();
    let buffer = render(w, h, |f| super::draw(f, app, &theme));
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Every snapshot file says which widget it shows: it is named after the module of a widget
/// file beside this one (or the views' own tests), never after this helper.
#[test]
fn snapshots_are_named_after_their_widget() {
    let views = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console/views");
    let mut checked = 0;
    for entry in std::fs::read_dir(views.join("snapshots")).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let rest = file
            .strip_prefix("ctfdeck__console__views__")
            .unwrap_or_else(|| panic!("{file}: not a views snapshot"));
        let module = rest.split("__").next().unwrap();
        let widget_file = if module == "tests" {
            views.join("mod.rs")
        } else {
            assert!(
                rest.starts_with(&format!("{module}__tests__")),
                "{file}: not from a widget's tests"
            );
            views.join(format!("{module}.rs"))
        };
        assert_ne!(module, "testkit", "{file}: named after the helper");
        assert!(widget_file.is_file(), "{file}: no widget {module}");
        checked += 1;
    }
    assert!(checked > 0, "no snapshots found");
}
