//! The instances table as data: rows from the store, engine state and stats beside them, marks,
//! and the sorted, filtered order. The order is computed when something it depends on changes,
//! never per frame, so drawing 10,000 rows costs only the visible ones.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};

use crate::domain::view::addresses;
use crate::engine::ContainerStats;
use crate::store::{InstanceRecord, Millis};

use super::format::Shown;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Expires,
    Owner,
    Challenge,
    Status,
    Address,
    Age,
    Renewals,
    Cpu,
    Mem,
    Id,
    /// The Swarm node running it (shown on a Swarm only, so not in the sort cycle).
    Node,
}

impl Column {
    /// Order of `o` (sort by next column).
    pub const CYCLE: [Column; 10] = [
        Column::Expires,
        Column::Owner,
        Column::Challenge,
        Column::Status,
        Column::Address,
        Column::Age,
        Column::Renewals,
        Column::Cpu,
        Column::Mem,
        Column::Id,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Expires => "EXPIRES",
            Column::Owner => "OWNER",
            Column::Challenge => "CHALLENGE",
            Column::Status => "STATUS",
            Column::Address => "ADDRESS",
            Column::Age => "AGE",
            Column::Renewals => "RENEW",
            Column::Cpu => "CPU",
            Column::Mem => "MEM",
            Column::Id => "ID",
            Column::Node => "NODE",
        }
    }
}

#[derive(Debug, Clone)]
pub struct InstanceRow {
    pub rec: InstanceRecord,
    pub address: String,
    /// Lower-case text the filter matches against.
    haystack: String,
}

#[derive(Debug, Default)]
pub struct InstancesState {
    rows: Vec<InstanceRow>,
    /// Engine state by instance id (`running`, `exited`, `unhealthy`, …).
    pub engine: HashMap<String, String>,
    pub stats: HashMap<String, ContainerStats>,
    pub marks: BTreeSet<String>,
    pub sort: Option<Column>,
    pub descending: bool,
    pub filter: String,
    /// Row indices in display order (filtered and sorted).
    view: Vec<usize>,
    /// Position of the selection within `view`.
    selected: usize,
    /// First visible position and visible height, as last drawn.
    offset: Cell<usize>,
    height: Cell<usize>,
    pub public_host: String,
    /// On a Swarm: each node's address → its hostname (an instance's address is its node's).
    pub nodes: HashMap<String, String>,
}

impl InstancesState {
    pub fn new(public_host: &str) -> InstancesState {
        InstancesState {
            public_host: public_host.to_string(),
            ..Default::default()
        }
    }

    /// Replace the rows with a fresh store snapshot, keeping the selection on the same instance.
    pub fn set_records(&mut self, records: Vec<InstanceRecord>) {
        let keep = self.selected_row().map(|r| r.rec.id.clone());
        self.rows = records
            .into_iter()
            .map(|rec| {
                let address = addresses(&rec.ports, &self.public_host);
                let haystack = format!(
                    "{} {} {} {} {}",
                    rec.id, rec.challenge, rec.owner, rec.status, address
                )
                .to_lowercase();
                InstanceRow {
                    rec,
                    address,
                    haystack,
                }
            })
            .collect();
        let ids: BTreeSet<&str> = self.rows.iter().map(|r| r.rec.id.as_str()).collect();
        self.marks.retain(|m| ids.contains(m.as_str()));
        self.stats.retain(|k, _| ids.contains(k.as_str()));
        self.rebuild(keep.as_deref());
    }

    /// Recompute the display order. Called on data, filter, sort or stats changes only.
    pub fn rebuild(&mut self, keep: Option<&str>) {
        let words: Vec<String> = self
            .filter
            .to_lowercase()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let engine = &self.engine;
        self.view = (0..self.rows.len())
            .filter(|&i| {
                let row = &self.rows[i];
                words.iter().all(|w| {
                    row.haystack.contains(w.as_str())
                        || engine
                            .get(&row.rec.id)
                            .is_some_and(|s| s.contains(w.as_str()))
                })
            })
            .collect();
        if let Some(col) = self.sort {
            let rows = &self.rows;
            let stats = &self.stats;
            let cpu = |i: usize| stats.get(&rows[i].rec.id).map_or(-1.0, |s| s.cpu_percent);
            let mem = |i: usize| stats.get(&rows[i].rec.id).map_or(0, |s| s.memory_bytes);
            let nodes = &self.nodes;
            let node = |i: usize| {
                rows[i]
                    .rec
                    .ports
                    .first()
                    .and_then(|p| nodes.get(&p.host_ip))
            };
            self.view.sort_by(|&a, &b| {
                let (ra, rb) = (&rows[a].rec, &rows[b].rec);
                let ord = match col {
                    Column::Expires => ra.expires_at.cmp(&rb.expires_at),
                    Column::Owner => ra.owner.cmp(&rb.owner),
                    Column::Challenge => ra.challenge.cmp(&rb.challenge),
                    Column::Status => ra.status.as_str().cmp(rb.status.as_str()),
                    Column::Address => rows[a].address.cmp(&rows[b].address),
                    Column::Age => rb.created_at.cmp(&ra.created_at),
                    Column::Renewals => ra.renewals.cmp(&rb.renewals),
                    Column::Cpu => cpu(a).total_cmp(&cpu(b)),
                    Column::Mem => mem(a).cmp(&mem(b)),
                    Column::Id => ra.id.cmp(&rb.id),
                    Column::Node => node(a).cmp(&node(b)),
                };
                let ord = ord.then_with(|| ra.id.cmp(&rb.id));
                if self.descending { ord.reverse() } else { ord }
            });
        }
        self.selected = keep
            .and_then(|id| self.view.iter().position(|&i| self.rows[i].rec.id == id))
            .unwrap_or(self.selected)
            .min(self.view.len().saturating_sub(1));
    }

    /// The hostname of the Swarm node an instance runs on, by its address; empty when unknown
    /// (not started, or not on a Swarm).
    pub fn node_of(&self, rec: &InstanceRecord) -> &str {
        rec.ports
            .first()
            .and_then(|p| self.nodes.get(&p.host_ip))
            .map_or("", String::as_str)
    }

    pub fn set_filter(&mut self, filter: &str) {
        if self.filter != filter {
            let keep = self.selected_row().map(|r| r.rec.id.clone());
            self.filter = filter.to_string();
            self.rebuild(keep.as_deref());
        }
    }

    pub fn cycle_sort(&mut self) {
        let next = match self.sort {
            None => Column::CYCLE[0],
            Some(c) => {
                let i = Column::CYCLE.iter().position(|x| *x == c).unwrap_or(0);
                Column::CYCLE[(i + 1) % Column::CYCLE.len()]
            }
        };
        self.sort = Some(next);
        let keep = self.selected_row().map(|r| r.rec.id.clone());
        self.rebuild(keep.as_deref());
    }

    pub fn reverse_sort(&mut self) {
        self.descending = !self.descending;
        if self.sort.is_none() {
            self.sort = Some(Column::Expires);
        }
        let keep = self.selected_row().map(|r| r.rec.id.clone());
        self.rebuild(keep.as_deref());
    }

    /// Stats changed: only the CPU/MEM sorts depend on them.
    /// Take new samples; true when any of them reads differently on screen (an idle
    /// container's samples every few seconds need no redraw).
    pub fn set_stats(&mut self, samples: Vec<(String, ContainerStats)>) -> bool {
        let shown = |s: Option<&ContainerStats>| (super::format::cpu(s), super::format::mem(s));
        let mut changed = false;
        for (id, sample) in samples {
            changed |= shown(self.stats.get(&id)) != shown(Some(&sample));
            self.stats.insert(id, sample);
        }
        if changed && matches!(self.sort, Some(Column::Cpu | Column::Mem)) {
            let keep = self.selected_row().map(|r| r.rec.id.clone());
            self.rebuild(keep.as_deref());
        }
        changed
    }

    pub fn total(&self) -> usize {
        self.rows.len()
    }

    pub fn shown(&self) -> usize {
        self.view.len()
    }

    pub fn records(&self) -> impl Iterator<Item = &InstanceRecord> {
        self.rows.iter().map(|r| &r.rec)
    }

    pub fn row_at(&self, pos: usize) -> Option<&InstanceRow> {
        self.view.get(pos).map(|&i| &self.rows[i])
    }

    pub fn selected_pos(&self) -> usize {
        self.selected
    }

    pub fn selected_row(&self) -> Option<&InstanceRow> {
        self.row_at(self.selected)
    }

    pub fn by_id(&self, id: &str) -> Option<&InstanceRow> {
        self.rows.iter().find(|r| r.rec.id == id)
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.view.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }

    pub fn page(&self) -> usize {
        self.height.get().max(1)
    }

    pub fn toggle_mark(&mut self) {
        if let Some(id) = self.selected_row().map(|r| r.rec.id.clone())
            && !self.marks.remove(&id)
        {
            self.marks.insert(id);
        }
    }

    pub fn marked_records(&self) -> Vec<InstanceRecord> {
        self.rows
            .iter()
            .filter(|r| self.marks.contains(&r.rec.id))
            .map(|r| r.rec.clone())
            .collect()
    }

    /// The window of positions to draw for a body `height` rows tall, scrolled so the
    /// selection is inside it. Remembered for the tick and for stats sampling.
    pub fn window(&self, height: usize) -> std::ops::Range<usize> {
        let mut offset = self.offset.get();
        if self.selected < offset {
            offset = self.selected;
        } else if height > 0 && self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        offset = offset.min(self.view.len().saturating_sub(height));
        self.offset.set(offset);
        self.height.set(height);
        offset..(offset + height).min(self.view.len())
    }

    /// The rows last drawn.
    pub fn visible(&self) -> impl Iterator<Item = &InstanceRow> {
        let start = self.offset.get();
        let end = (start + self.height.get()).min(self.view.len());
        (start..end).filter_map(|p| self.row_at(p))
    }

    /// What the visible clock columns read at `now`: when it differs from the last drawn
    /// text, the tick redraws; otherwise it costs nothing.
    pub fn clock_text(&self, now: Millis) -> String {
        let mut out = String::new();
        for row in self.visible() {
            let r = &row.rec;
            out.push_str(&crate::domain::view::remaining(r.expires_at, now));
            out.push_str(&super::format::age(r.created_at, now));
            out.push_str(Shown::of(r, self.engine.get(&r.id).map(String::as_str), now).text(r));
            out.push('|');
        }
        out
    }

    /// Distinct owners, for completion in the spawn popup.
    pub fn owners(&self) -> BTreeSet<String> {
        self.rows.iter().map(|r| r.rec.owner.clone()).collect()
    }

    pub fn live_by_challenge(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in &self.rows {
            *counts.entry(r.rec.challenge.clone()).or_insert(0) += 1;
        }
        counts
    }
}
