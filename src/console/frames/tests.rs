//! Drawing only the clock cells must leave the screen exactly as a whole draw would: checked
//! cell by cell (text and styles).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::Frames;
use crate::console::event::Event;
use crate::console::state::{App, Redraw};
use crate::console::theme::{BUILT_IN, Theme};
use crate::console::views::testkit::{NOW, record, render_screen, sample_app};
use crate::domain::nodes::NodeView;
use crate::engine::SwarmNode;
use crate::store::{InstanceRecord, InstanceStatus};

/// What the terminal shows, whatever was sent to it to get there.
fn shown(terminal: &Terminal<TestBackend>) -> Buffer {
    terminal.backend().buffer().clone()
}

fn assert_same_screen(got: &Buffer, want: &Buffer, context: &str) {
    if let Some(diff) = differs(got, want) {
        panic!("{context}: {diff}");
    }
}

/// Where `got` differs from `want`, if anywhere.
fn differs(got: &Buffer, want: &Buffer) -> Option<String> {
    if got.area != want.area {
        return Some(format!("size {:?}, not {:?}", got.area, want.area));
    }
    for y in 0..want.area.height {
        for x in 0..want.area.width {
            let (g, w) = (&got[(x, y)], &want[(x, y)]);
            if g != w {
                return Some(format!(
                    "cell ({x}, {y}) is {g:?}, a whole draw gives {w:?}"
                ));
            }
        }
    }
    None
}

/// The frame a whole draw of `app` makes (not what a test backend holds after it: the column
/// a wide character covers keeps there whatever was in it before).
fn whole_frame(app: &App, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let done = terminal
        .draw(|f| crate::console::views::draw(f, app, theme))
        .unwrap();
    done.buffer.clone()
}

fn tick(app: &mut App, at: i64) {
    let _ = app.on_event(Event::Tick(at));
}

/// A console of the sample state on a 160x48 screen, its first frame drawn.
struct Watched {
    theme: Theme,
    app: App,
    terminal: Terminal<TestBackend>,
    frames: Frames,
}

impl Watched {
    fn new() -> Watched {
        let mut watched = Watched {
            theme: Theme::built_in("dark").unwrap(),
            app: sample_app(),
            terminal: Terminal::new(TestBackend::new(160, 48)).unwrap(),
            frames: Frames::default(),
        };
        assert!(watched.draw(), "the first frame is whole");
        watched
    }

    /// Draw what changed; true when the whole screen was drawn.
    fn draw(&mut self) -> bool {
        let whole = self
            .frames
            .draw(&mut self.terminal, &mut self.app, &self.theme)
            .unwrap();
        assert_eq!(self.app.redraw(), Redraw::Nothing);
        whole
    }

    fn key(&mut self, c: char) {
        let _ = self.app.on_event(Event::Key(key(c)));
    }

    fn assert_shows_a_whole_draw(&self, context: &str) {
        let area = self.terminal.backend().buffer().area;
        let want = render_screen(&self.app, &self.theme, area.width, area.height);
        assert_same_screen(&shown(&self.terminal), &want, context);
    }
}

#[test]
fn a_countdown_that_moves_is_drawn_over_the_last_frame_as_a_whole_draw_would_draw_it() {
    let mut w = Watched::new();
    for second in 1..=90 {
        tick(&mut w.app, NOW + second * 1000);
        // The sample's countdowns read in seconds: each tick moves one.
        assert_eq!(w.app.redraw(), Redraw::Clocks, "second {second}");
        assert!(!w.draw(), "second {second}: only the clocks moved");
        w.assert_shows_a_whole_draw(&format!("second {second}"));
    }
}

#[test]
fn after_clock_cells_the_next_whole_frame_leaves_none_of_them_stale() {
    let mut w = Watched::new();
    for second in 1..=5 {
        tick(&mut w.app, NOW + second * 1000);
        assert!(!w.draw());
    }
    // Back to the first second's clocks, with the selection moved: a whole frame whose clock
    // cells read as in the last whole frame, which ratatui's diff alone would leave out.
    tick(&mut w.app, NOW);
    w.key('j');
    assert!(w.draw());
    w.assert_shows_a_whole_draw("back at the first second");
}

#[test]
fn with_a_popup_or_an_input_line_the_clocks_bring_a_whole_frame() {
    let mut w = Watched::new();
    // `?` opens the help over the instances pane.
    w.key('?');
    assert!(w.app.popup.is_some());
    w.draw();
    tick(&mut w.app, NOW + 1000);
    assert_eq!(w.app.redraw(), Redraw::Clocks);
    assert!(
        w.draw(),
        "the popup covers clock cells: the whole screen is drawn"
    );
    w.assert_shows_a_whole_draw("under the help");
    // `/` opens the filter's input line, with its cursor.
    w.key('q');
    w.key('/');
    assert!(w.app.filter_input.is_some());
    w.draw();
    tick(&mut w.app, NOW + 2000);
    assert!(w.draw(), "a cursor is shown: the whole screen is drawn");
    w.assert_shows_a_whole_draw("while filtering");
}

#[test]
fn a_resized_screen_gets_a_whole_frame_at_its_new_size() {
    let mut w = Watched::new();
    w.terminal.backend_mut().resize(100, 30);
    tick(&mut w.app, NOW + 1000);
    assert!(w.draw());
    w.assert_shows_a_whole_draw("after the resize");
}

/// Owners as scoreboards name them: wide characters and emoji included, and long.
const OWNERS: &[&str] = &[
    "team:red",
    "user:alice",
    "team:チーム赤",
    "team:🚩flags",
    "team:a-very-long-team-name-that-will-not-fit-the-column",
    "user:Ωmega",
];

fn arb_record() -> impl Strategy<Value = InstanceRecord> {
    (
        0usize..OWNERS.len(),
        0usize..3,
        -120i64..10_000,
        0i64..200_000,
        0usize..4,
        any::<u16>(),
    )
        .prop_map(|(owner, challenge, left_s, age_s, status, id)| {
            let challenge = ["web-robots", "nc-calc", "web-cmdinject"][challenge];
            let mut r = record(
                &format!("{id:06x}"),
                challenge,
                OWNERS[owner],
                left_s,
                age_s,
            );
            r.status = [
                InstanceStatus::Running,
                InstanceStatus::Starting,
                InstanceStatus::Running,
                InstanceStatus::Exited,
            ][status];
            if r.status == InstanceStatus::Exited {
                r.stop_reason = Some("exited with code 1".into());
            }
            r
        })
}

/// Something that happens between ticks on a watched console.
#[derive(Debug, Clone)]
enum Step {
    /// The clock moves on by this many milliseconds.
    Tick(i64),
    Key(char),
    Resize(u16, u16),
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (1i64..130_000).prop_map(Step::Tick),
        // Down, up, next pane, mark, help and its closing, sort, filter and its end.
        2 => prop::sample::select(vec!['j', 'k', '\t', ' ', '?', 's', '/', 'q']).prop_map(Step::Key),
        1 => (40u16..200, 8u16..60).prop_map(|(w, h)| Step::Resize(w, h)),
    ]
}

fn key(c: char) -> crossterm::event::KeyEvent {
    use crossterm::event::{KeyCode, KeyEvent};
    match c {
        '\t' => KeyEvent::from(KeyCode::Tab),
        'q' => KeyEvent::from(KeyCode::Esc),
        c => KeyEvent::from(KeyCode::Char(c)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the rows, the size, the theme, a Swarm's NODE column or what staff press between
    /// ticks, the screen after each draw is the screen a whole draw gives.
    #[test]
    fn drawing_the_clocks_alone_always_shows_what_a_whole_draw_shows(
        rows in prop::collection::vec(arb_record(), 0..70),
        size in (40u16..200, 8u16..60),
        theme in 0usize..BUILT_IN.len(),
        swarm in any::<bool>(),
        selected in 0usize..70,
        steps in prop::collection::vec(arb_step(), 1..25),
        narrow_only in any::<bool>(),
    ) {
        let theme = Theme::built_in(BUILT_IN[theme].0).unwrap();
        let mut app = sample_app();
        let mut rows = rows;
        if narrow_only {
            for r in &mut rows {
                r.owner.retain(|c| c.is_ascii());
            }
        }
        app.instances.set_records(rows);
        app.instances.move_by(selected as isize);
        if swarm {
            let _ = app.on_event(Event::Nodes(vec![NodeView {
                node: SwarmNode::ready_for_tests("node-1", "10.99.0.2"),
                instances: 1,
            }]));
        }
        let (mut w, mut h) = size;
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut frames = Frames::default();
        let mut now = NOW;
        frames.draw(&mut terminal, &mut app, &theme).unwrap();
        for step in steps {
            match step {
                Step::Tick(ms) => {
                    now += ms;
                    tick(&mut app, now);
                }
                Step::Key(c) => {
                    let _ = app.on_event(Event::Key(key(c)));
                }
                Step::Resize(nw, nh) => {
                    (w, h) = (nw, nh);
                    terminal.backend_mut().resize(w, h);
                    let _ = app.on_event(Event::Redraw);
                }
            }
            frames.draw(&mut terminal, &mut app, &theme).unwrap();
            prop_assert_eq!(app.redraw(), Redraw::Nothing);
            // The frame the screen was last brought to, against a whole draw's frame. With wide
            // characters, not the test backend's cells: there the column a wide character
            // covers keeps whatever an older frame left in it.
            let want = whole_frame(&app, &theme, w, h);
            let diff = differs(frames.last.as_ref().unwrap(), &want);
            prop_assert!(diff.is_none(), "{}x{} after {:?}: {}", w, h, step, diff.unwrap_or_default());
            // What the terminal shows, once every cell is as wide as a column.
            if narrow_only {
                let diff = differs(&shown(&terminal), &want);
                prop_assert!(diff.is_none(), "screen, {}x{} after {:?}: {}", w, h, step, diff.unwrap_or_default());
            }
        }
    }
}
