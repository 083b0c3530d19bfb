//! The catalog pane as data: every challenge with its image state and live instance count.

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::store::Millis;
use crate::terminal_text::clean_line;

use super::smoke::LastSmoke;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageState {
    Unknown,
    Built,
    Missing,
    Building,
    Failed,
}

impl ImageState {
    pub fn text(self) -> &'static str {
        match self {
            ImageState::Unknown => "?",
            ImageState::Built => "built",
            ImageState::Missing => "missing",
            ImageState::Building => "building",
            ImageState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CatalogRow {
    pub id: String,
    pub name: String,
    pub category: String,
    pub difficulty: &'static str,
    pub points: u32,
    pub image: ImageState,
    pub buildable: bool,
}

#[derive(Debug, Default)]
pub struct CatalogState {
    pub rows: Vec<CatalogRow>,
    pub live: HashMap<String, usize>,
    /// Each challenge's last smoke test run from this console.
    pub last_smoke: HashMap<String, LastSmoke>,
    /// The catalog's errors as last read (`path:line:col: message`), shown under the rows.
    pub problems: Vec<String>,
    pub selected: usize,
}

impl CatalogState {
    pub fn from_catalog(catalog: &Catalog) -> CatalogState {
        CatalogState {
            rows: rows(catalog),
            ..Default::default()
        }
    }

    /// The catalog read again after an edit: new rows, image states and smoke results kept
    /// for challenges still there, the selection on the same challenge when it still is.
    pub fn reload(&mut self, catalog: Option<&Catalog>, problems: Vec<String>) {
        self.problems = problems
            .iter()
            .map(|p| clean_line(p).into_owned())
            .collect();
        let Some(catalog) = catalog else {
            return;
        };
        let selected = self.selected_row().map(|r| r.id.clone());
        let mut fresh = rows(catalog);
        for row in &mut fresh {
            if let Some(old) = self.rows.iter().find(|o| o.id == row.id) {
                row.image = old.image;
            }
        }
        self.rows = fresh;
        self.selected = selected
            .and_then(|id| self.rows.iter().position(|r| r.id == id))
            .unwrap_or(self.selected)
            .min(self.rows.len().saturating_sub(1));
    }

    pub fn selected_row(&self) -> Option<&CatalogRow> {
        self.rows.get(self.selected)
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }

    pub fn set_image(&mut self, challenge: &str, state: ImageState) {
        if let Some(row) = self.rows.iter_mut().find(|r| r.id == challenge) {
            // A presence check racing a build must not hide that the build is running.
            if !(row.image == ImageState::Building
                && state != ImageState::Failed
                && state != ImageState::Built)
            {
                row.image = state;
            }
        }
    }

    /// The smoke column: `✓ 12s ago`, `✗ at ready`, `-` when never run here.
    pub fn smoke_text(&self, challenge: &str, now: Millis) -> String {
        self.last_smoke
            .get(challenge)
            .map_or_else(|| "-".to_string(), |l| l.text(now))
    }

    /// What the "last smoke" column reads at `now` (its ages move with time).
    pub fn clock_text(&self, now: Millis) -> String {
        self.rows
            .iter()
            .map(|r| self.smoke_text(&r.id, now))
            .collect::<Vec<_>>()
            .join("|")
    }

    pub fn live_total(&self) -> usize {
        self.live.values().sum()
    }
}

fn rows(catalog: &Catalog) -> Vec<CatalogRow> {
    catalog
        .challenges
        .iter()
        .map(|c| CatalogRow {
            id: c.id.clone(),
            // Authors choose these: no escape sequence reaches the screen.
            name: clean_line(&c.name).into_owned(),
            category: clean_line(&c.category).into_owned(),
            difficulty: c.difficulty.as_str(),
            points: c.points,
            image: ImageState::Unknown,
            buildable: c.container.build.is_some(),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::catalog::Challenge;
    use crate::console::event::{CatalogReload, Event};
    use crate::console::views::testkit::sample_app;

    fn challenge(id: &str) -> Challenge {
        serde_json::from_value(serde_json::json!({
            "schema_version": 1, "id": id, "name": id,
            "container": {"image": format!("ctfdeck/{id}:latest"), "build": "."},
            "flag": {"template": "flag{<hex:16>}", "inject": "env:FLAG"}
        }))
        .unwrap()
    }

    #[test]
    fn a_reload_brings_new_challenges_and_problems_and_keeps_the_selection() {
        let mut app = sample_app();
        app.catalog.selected = 1;
        let selected = app.catalog.rows[1].id.clone();
        let image = app.catalog.rows[1].image;
        let mut catalog = crate::catalog::Catalog::default();
        let mut first = challenge("aaa-new");
        first.name = "New \u{1b}[31mone".into();
        catalog.challenges.push(first);
        catalog.challenges.push(challenge(&selected));
        app.on_event(Event::Catalog(CatalogReload {
            catalog: Some(std::sync::Arc::new(catalog)),
            problems: vec!["broken/challenge.json:3:5: unknown field `memroy`".into()],
        }));
        let ids: Vec<&str> = app.catalog.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["aaa-new", selected.as_str()]);
        assert_eq!(app.catalog.selected_row().unwrap().id, selected);
        assert_eq!(app.catalog.rows[1].image, image, "image state kept");
        assert_eq!(app.catalog.rows[0].name, "New one");
        assert_eq!(app.catalog.problems.len(), 1);
        assert!(app.flash.as_ref().unwrap().text.contains("1 problem(s)"));

        // Fixed: the problem goes; a folder that cannot be read keeps the rows.
        app.on_event(Event::Catalog(CatalogReload {
            catalog: None,
            problems: Vec::new(),
        }));
        assert!(app.catalog.problems.is_empty());
        assert_eq!(app.catalog.rows.len(), 2);
    }
}
