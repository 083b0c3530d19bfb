//! The flag lookup popup: which instance (live or stopped), owner and challenge a submitted flag
//! belongs to. Two teams submitting one instance's flag is flag sharing, and this is where staff
//! see it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::keys::Action;
use crate::console::state::App;
use crate::console::state::popup::WhoseView;
use crate::console::theme::Theme;
use crate::domain::FlagOwner;

pub fn lines(app: &App, w: &WhoseView, theme: &Theme) -> Vec<Line<'static>> {
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("  {k:<10}"), theme.dim),
            Span::styled(v, theme.popup),
        ])
    };
    let mut out = vec![kv("flag", w.flag.clone()), Line::raw("")];
    for owner in &w.owners {
        match owner {
            FlagOwner::Instance(i) => {
                out.push(Line::styled(
                    format!("Instance {} ({})", i.id, i.status),
                    theme.popup_title,
                ));
                out.push(kv("owner", i.owner.clone()));
                out.push(kv("challenge", i.challenge.clone()));
                out.push(kv("spawned", i.created_at.clone()));
                let ended = match (&i.stopped_at, &i.stop_reason) {
                    (Some(at), Some(why)) => format!("{at} ({why})"),
                    (Some(at), None) => at.clone(),
                    (None, _) => format!("still live, expires {}", i.expires_at),
                };
                out.push(kv("ended", ended));
            }
            FlagOwner::Static { challenge } => {
                out.push(Line::styled(
                    format!("Static flag of {challenge}"),
                    theme.popup_title,
                ));
                out.push(kv(
                    "owner",
                    "every instance of the challenge: says nothing about who".into(),
                ));
            }
        }
        out.push(Line::raw(""));
    }
    out.push(Line::from(vec![
        Span::styled(app.keymap.keys_text(Action::Cancel), theme.key),
        Span::styled(" close", theme.popup),
    ]));
    out
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, w: &WhoseView, theme: &Theme) {
    let all = lines(app, w, theme);
    let rect = super::centered(area, 80, (all.len() as u16 + 2).min(area.height));
    let block = super::popup_frame(frame, rect, "Whose flag", theme.popup, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let max = all.len().saturating_sub(inner.height as usize);
    let visible: Vec<Line> = all
        .into_iter()
        .skip(w.scroll.min(max))
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(visible).style(theme.popup), inner);
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{records, sample_app, snapshot_screen};
    use crate::console::state::popup::{Popup, WhoseView};
    use crate::domain::{FlagOwner, InstanceView};
    use crate::store::InstanceStatus;

    #[test]
    fn whose_flag_snapshots() {
        let mut app = sample_app();
        let live = records()[0].clone();
        let mut stopped = records()[2].clone();
        stopped.status = InstanceStatus::Stopped;
        stopped.stopped_at = Some(stopped.expires_at);
        stopped.stop_reason = Some("expired".into());
        app.popup = Some(Popup::Whose(WhoseView {
            flag: "flag{8c1f0e2d9b7a6453}".into(),
            owners: vec![
                FlagOwner::Instance(Box::new(InstanceView::from(&live))),
                FlagOwner::Instance(Box::new(InstanceView::from(&stopped))),
            ],
            scroll: 0,
        }));
        snapshot_screen!("whose_flag", &app);
    }
}
