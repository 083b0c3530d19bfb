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
    pub selected: usize,
}

impl CatalogState {
    pub fn from_catalog(catalog: &Catalog) -> CatalogState {
        CatalogState {
            rows: catalog
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
                .collect(),
            ..Default::default()
        }
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

    pub fn live_total(&self) -> usize {
        self.live.values().sum()
    }
}
