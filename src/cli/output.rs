//! Plain tables for people, JSON for scripts. Errors never go to stdout.

use serde::Serialize;

use crate::domain::InstanceView;
use crate::domain::view::{addresses, remaining};
use crate::store::{InstanceRecord, now_millis};

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

pub fn instances_table(records: &[InstanceRecord]) -> String {
    let now = now_millis();
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
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
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "CHALLENGE",
            "OWNER",
            "STATUS",
            "ADDRESS",
            "EXPIRES IN",
            "RENEWALS",
        ],
        &rows,
    )
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
