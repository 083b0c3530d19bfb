//! Drawing the console with many instances: the instances pane alone and the whole screen, at
//! 1,000 and 10,000 live instances, each frame with the clock moved on so the countdowns
//! really change. Also what a filter keystroke and a store reload cost (they rebuild the
//! sorted, filtered order, which frames never do), and an idle console's second: its tick and the
//! clock cells it draws, against drawing the whole screen.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use ctfdeck::catalog::Catalog;
use ctfdeck::console::event::Event;
use ctfdeck::console::frames::Frames;
use ctfdeck::console::keys::Keymap;
use ctfdeck::console::state::{App, Setup};
use ctfdeck::console::theme::Theme;
use ctfdeck::console::views;
use ctfdeck::store::{InstanceRecord, InstanceStatus, PublishedPort};

const NOW: i64 = 1_700_000_000_000;

fn records(n: usize) -> Vec<InstanceRecord> {
    let challenges = [
        "web-robots",
        "nc-calc",
        "web-cmdinject",
        "pwn-heap",
        "crypto-rsa",
    ];
    (0..n)
        .map(|i| InstanceRecord {
            id: format!("{i:06x}"),
            challenge: challenges[i % challenges.len()].to_string(),
            owner: format!("team:team-{:04}", i / 3),
            status: InstanceStatus::Running,
            container_id: Some(format!("{i:064x}")),
            network_id: Some(format!("net{i}")),
            ports: vec![PublishedPort {
                container: 8080,
                host_ip: "0.0.0.0".into(),
                host_port: 30_000 + (i % 30_000) as u16,
                protocol: "http".into(),
            }],
            flag: Some(format!("flag{{{i:016x}}}")),
            created_at: NOW - (i as i64 % 3600) * 1000,
            expires_at: NOW + 60_000 + (i as i64 * 7_919) % 10_800_000,
            stopped_at: None,
            renewals: (i % 4) as u32,
            max_renewals: 3,
            max_total_at: NOW + 3 * 3_600_000,
            stop_reason: None,
            updated_at: NOW,
        })
        .collect()
}

fn app(n: usize) -> App {
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
    app.instances.set_records(records(n));
    // Sorted by expiry, as staff watch it.
    app.instances.cycle_sort();
    app
}

fn render(c: &mut Criterion) {
    let theme = Theme::built_in("dark").expect("built-in theme");
    let mut group = c.benchmark_group("render");
    for n in [1_000, 10_000] {
        for (w, h) in [(160u16, 48u16), (80, 24)] {
            let mut app = app(n);
            let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            let mut tick = 0;
            group.bench_function(BenchmarkId::new(format!("screen_{w}x{h}"), n), |b| {
                b.iter(|| {
                    tick += 1;
                    app.now = NOW + tick * 1000;
                    terminal
                        .draw(|f| views::draw(f, black_box(&app), &theme))
                        .expect("draw");
                })
            });
        }
    }
    group.finish();

    // One second of an idle console watching 1,000 instances: the tick, then what it draws —
    // the clock cells alone (what the console does), against the whole screen.
    let mut group = c.benchmark_group("idle_second");
    for whole in [false, true] {
        let mut app = app(1_000);
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
        let mut frames = Frames::default();
        let mut second = 0;
        let name = if whole { "whole_screen" } else { "clock_cells" };
        group.bench_function(BenchmarkId::new(name, "160x48"), |b| {
            b.iter(|| {
                // Within ten minutes, so that the countdowns keep moving (none runs out).
                second = (second + 1) % 600;
                let _ = app.on_event(Event::Tick(NOW + second * 1000));
                app.dirty |= whole;
                frames.draw(&mut terminal, &mut app, &theme).expect("draw")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("rebuild");
    for n in [1_000, 10_000] {
        let mut app = app(n);
        let mut flip = false;
        group.bench_function(BenchmarkId::new("filter_keystroke", n), |b| {
            b.iter(|| {
                flip = !flip;
                app.instances
                    .set_filter(if flip { "team-01" } else { "team-0" });
            })
        });
        let rows = records(n);
        group.bench_function(BenchmarkId::new("store_reload", n), |b| {
            b.iter(|| app.instances.set_records(black_box(rows.clone())))
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
