//! Plain tables for people, JSON for scripts. Errors never go to stdout.

use serde::Serialize;

use crate::domain::InstanceView;
use crate::domain::view::{addresses, remaining};
use crate::store::{InstanceRecord, InstanceStatus, now_millis};

/// Print rows as left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    // Cells hold what others typed (challenge names, owners, audit details): no control
    // sequence reaches the terminal, and no line break breaks the table.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| crate::terminal_text::clean_line(c).into_owned())
                .collect()
        })
        .collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> color_eyre::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn instances_json(records: &[InstanceRecord]) -> Vec<InstanceView> {
    records.iter().map(InstanceView::from).collect()
}

/// True when stdout is a terminal that wants colour (`NO_COLOR` unset).
pub fn colour_on_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The instances table. Exited instances (players' service down) get a WHY column with the
/// reason and, with `colour`, their whole line in red.
pub fn instances_table(records: &[InstanceRecord], colour: bool) -> String {
    let now = now_millis();
    let exited = |r: &InstanceRecord| r.status == InstanceStatus::Exited;
    let any_exited = records.iter().any(exited);
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let mut row = vec![
                r.id.clone(),
                r.challenge.clone(),
                r.owner.clone(),
                r.status.to_string(),
                addresses(&r.ports, "0.0.0.0"),
                if r.status.is_live() {
                    remaining(r.expires_at, now)
                } else {
                    "-".to_string()
                },
                format!("{}/{}", r.renewals, r.max_renewals),
            ];
            if any_exited {
                row.push(if exited(r) {
                    r.stop_reason.clone().unwrap_or_default()
                } else {
                    String::new()
                });
            }
            row
        })
        .collect();
    let mut header = vec![
        "ID",
        "CHALLENGE",
        "OWNER",
        "STATUS",
        "ADDRESS",
        "EXPIRES IN",
        "RENEWALS",
    ];
    if any_exited {
        header.push("WHY");
    }
    let text = table(&header, &rows);
    if !colour || !any_exited {
        return text;
    }
    use crossterm::style::Stylize;
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        // Line 0 is the header; line i is record i - 1.
        match i.checked_sub(1).and_then(|i| records.get(i)) {
            Some(r) if exited(r) => out.push_str(&line.red().to_string()),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// One instance, as `spawn`/`extend`/`reset` report it to people.
pub fn instance_line(r: &InstanceRecord) -> String {
    format!(
        "{} {} for {} at {} (expires in {}, renewals {}/{})",
        r.id,
        r.challenge,
        r.owner,
        addresses(&r.ports, "0.0.0.0"),
        remaining(r.expires_at, now_millis()),
        r.renewals,
        r.max_renewals
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, status: InstanceStatus, reason: Option<&str>) -> InstanceRecord {
        InstanceRecord {
            id: id.into(),
            challenge: "web-robots".into(),
            owner: "team:red".into(),
            status,
            container_id: None,
            network_id: None,
            ports: Vec::new(),
            flag: None,
            created_at: 0,
            expires_at: now_millis() + 3_600_000,
            stopped_at: None,
            renewals: 0,
            max_renewals: 3,
            max_total_at: 0,
            stop_reason: reason.map(str::to_string),
            updated_at: 0,
        }
    }

    #[test]
    fn exited_instances_say_why_and_are_red_only_when_asked() {
        let rows = [
            record("run234", InstanceStatus::Running, None),
            record("ext234", InstanceStatus::Exited, Some("exited with code 3")),
        ];
        let plain = instances_table(&rows, false);
        let lines: Vec<&str> = plain.lines().collect();
        assert!(lines[0].ends_with("WHY"), "{plain}");
        assert!(lines[2].contains("exited") && lines[2].ends_with("exited with code 3"));
        assert!(!plain.contains('\u{1b}'), "no colour asked: {plain:?}");
        let coloured = instances_table(&rows, true);
        let lines: Vec<&str> = coloured.lines().collect();
        assert!(!lines[1].contains('\u{1b}'), "a running row stays plain");
        assert!(lines[2].starts_with("\u{1b}[38;5;9m"), "{:?}", lines[2]);
        // Nothing exited: no WHY column.
        assert!(!instances_table(&rows[..1], true).contains("WHY"));
    }

    #[test]
    fn tables_align_columns() {
        let t = table(&["A", "BB"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(t, "A     BB\nlong  x\n");
    }

    #[test]
    fn cells_lose_escape_sequences_and_line_breaks_before_alignment() {
        let name = "Evil\u{1b}]0;owned\u{7}\u{1b}[2J\nName".to_string();
        let t = table(&["ID", "NAME"], &[vec!["x\u{1b}[31m".into(), name]]);
        assert_eq!(t, "ID  NAME\nx   Evil Name\n");
        assert!(!t.contains('\u{1b}'));
    }
}
