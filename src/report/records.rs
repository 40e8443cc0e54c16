//! Tables too wide for the terminal written as records: each row a block of `header  value`
//! lines under a rule that numbers it, as psql's expanded display does. A table whose
//! numbers, headers and names cannot all have their width (a terminal of 40-60 columns)
//! would otherwise cut them mid-word (`deploy_re` / `gression`, `cli` / `ent`); a record
//! gives each value the width of the line.

use super::table::{Style, wrapped_cell};
use comfy_table::{Attribute, Cell, ColumnConstraint, ContentArrangement, Table, Width, presets};
use std::io::{self, Write};

/// Labels take at most this share of the width (a longer header wraps between its words).
const LABEL_SHARE: usize = 3;

/// Writes the rows of `t` as records at the style's width: its shown columns (a hidden one
/// stays hidden; `fit` shows those it hid only for a table's width), a row's empty cells
/// left out, each cell with its colour.
pub(super) fn write_records(out: &mut dyn Write, t: &Table, style: &Style) -> io::Result<()> {
    let columns = style.width.unwrap_or(80);
    let width = usize::from(columns);
    let shown: Vec<usize> = (t.column_iter().enumerate())
        .filter(|(_, c)| !c.is_hidden())
        .map(|(c, _)| c)
        .collect();
    let header: Vec<String> = match t.header() {
        Some(h) => h.cell_iter().map(Cell::content).collect(),
        None => vec![],
    };
    let label = |c: usize| header.get(c).map_or("", String::as_str);
    let widest = (shown.iter()).map(|&c| label(c).chars().count()).max();
    // Two columns of indent and two between a label and its value.
    let label_width = widest.unwrap_or(0).min(width / LABEL_SHARE).max(1) + 4;
    let values_width = width.saturating_sub(label_width);
    let rows = t.row_count();
    for (n, row) in t.row_iter().enumerate() {
        writeln!(out, "{}", rule(n + 1, rows, width))?;
        let mut record = Table::new();
        record.load_style(presets::NOTHING);
        record.force_no_tty();
        if style.color {
            record.enforce_styling();
        }
        record.set_content_arrangement(ContentArrangement::Dynamic);
        record.set_width(columns);
        for &c in &shown {
            let Some(value) = row.cell_iter().nth(c) else {
                continue;
            };
            if value.content().trim().is_empty() {
                continue;
            }
            let name = Cell::new(label(c)).add_attribute(Attribute::Bold);
            record.add_row(vec![name, wrapped_cell(value, values_width)]);
        }
        if let Some(labels) = record.column_mut(0) {
            labels.set_padding((2, 2));
            // At most a third of a u16 width, and four.
            let w = Width::Fixed(label_width as u16);
            labels.set_constraint(ColumnConstraint::Absolute(w));
        }
        if let Some(values) = record.column_mut(1) {
            values.set_padding((0, 0));
        }
        for line in record.lines() {
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    // The last record closed as a table is, before the text that follows.
    writeln!(out, "{}", "─".repeat(width))
}

/// The rule above record `n` of `count`: `── 2 of 8 ───…` across the width.
fn rule(n: usize, count: usize, width: usize) -> String {
    let title = format!("── {n} of {count} ");
    let fill = width.saturating_sub(title.chars().count());
    format!("{title}{}", "─".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(t: &Table, width: u16) -> String {
        let style = Style {
            width: Some(width),
            ..Style::default()
        };
        let mut out = Vec::new();
        write_records(&mut out, t, &style).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn causes() -> Table {
        let mut t = Table::new();
        t.set_header(vec!["cause", "resource", "conflicts", "finding"]);
        t.add_row(vec!["deploy_regression", "/api/v1/carts/{id}", "47", ""]);
        t.add_row(vec![
            "lock_contention",
            "/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b",
            "11",
            "retry_storm",
        ]);
        t
    }

    /// Each row a block under its rule, an empty cell left out, a long path broken where
    /// it takes fewest lines (after a UUID's `-` rather than its `/`), the last block closed
    /// by a rule.
    #[test]
    fn each_row_is_a_numbered_block_of_labelled_values() {
        let s = records(&causes(), 40);
        assert_eq!(
            s,
            "── 1 of 2 ──────────────────────────────\n\
             \x20 cause      deploy_regression\n\
             \x20 resource   /api/v1/carts/{id}\n\
             \x20 conflicts  47\n\
             ── 2 of 2 ──────────────────────────────\n\
             \x20 cause      lock_contention\n\
             \x20 resource   /api/v1/docs/b7e2d9c4-1f3a-\n\
             \x20            4e6b-8c5d-9a0f1e2d3c4b\n\
             \x20 conflicts  11\n\
             \x20 finding    retry_storm\n\
             ────────────────────────────────────────\n"
        );
        assert!(s.lines().all(|l| l.chars().count() <= 40), "{s}");
    }

    /// A span wider than the value's room parts after its arrow, never between a date and
    /// its time.
    #[test]
    fn spans_part_after_the_arrow() {
        let mut t = Table::new();
        t.set_header(vec!["when (UTC)"]);
        t.add_row(vec!["2026-03-02 09:24:11 → 2026-03-03 09:24:18"]);
        let s = records(&t, 50);
        assert!(
            s.contains(
                "\n  when (UTC)  2026-03-02 09:24:11 →\n              2026-03-03 09:24:18\n"
            ),
            "{s}"
        );
    }

    /// A column the table hid is not in the records; a header wider than a third of the
    /// width wraps between its words.
    #[test]
    fn hidden_columns_stay_hidden_and_long_labels_wrap() {
        let mut t = causes();
        t.column_mut(1)
            .unwrap()
            .set_constraint(ColumnConstraint::Hidden);
        t.set_header(vec![
            "cause",
            "resource",
            "first → last conflict (UTC)",
            "x",
        ]);
        let s = records(&t, 30);
        assert!(!s.contains("/api/v1"), "{s}");
        assert!(
            s.contains("\n  first →     47\n  last\n  conflict\n  (UTC)\n"),
            "{s}"
        );
        assert!(s.lines().all(|l| l.chars().count() <= 30), "{s}");
    }
}
