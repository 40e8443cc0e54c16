//! The diff as terminal tables: the two reports compared (inputs, period, totals), the
//! findings that are new, still there or gone (new ones' summaries in full), and the
//! resources and clients whose conflicts moved most.

use super::{
    Diff, NOT_LISTED, Status, count_change, named, period, ranked, rate_change, subject, totals,
};
use crate::report::table::{Fit, Style, fit, heading, para, right, table, write_fitted};
use crate::report::visible;
use comfy_table::{Cell, Color};
use std::io::{self, Write};

pub fn render(d: &Diff, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    compared(d, style, out)?;
    findings(d, style, out)?;
    for (title, list) in ranked(d) {
        if list.is_empty() {
            continue;
        }
        heading(out, style, title)?;
        let mut t = table(style, &["name", "conflicts", "requests", "rate"]);
        for x in list {
            t.add_row(vec![
                Cell::new(visible(&x.name)),
                Cell::new(count_change(&x.conflicts)),
                Cell::new(count_change(&x.requests)),
                Cell::new(rate_change(&x.conflict_rate)),
            ]);
        }
        let shape = fit(
            &mut t,
            style,
            &[Fit::Name, Fit::Fixed, Fit::Fixed, Fit::Fixed],
            &[&[], &[2], &[2, 3]],
        );
        right(&mut t, &[1, 2, 3]);
        write_fitted(out, &t, shape, style)?;
    }
    if !d.resources.is_empty() || !d.clients.is_empty() {
        writeln!(out)?;
        para(out, style, "", NOT_LISTED)?;
    }
    Ok(())
}

/// The two reports side by side: their inputs, periods and totals; then the warnings.
fn compared(d: &Diff, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    heading(out, style, "Compared")?;
    let mut t = table(style, &["", "before", "after"]);
    t.add_row(vec![
        Cell::new("inputs"),
        Cell::new(visible(&named(&d.before.paths))),
        Cell::new(visible(&named(&d.after.paths))),
    ]);
    // Each period's start above its end: a date is not parted from its time.
    let period = |p| period(p).replacen(" → ", " →\n", 1);
    t.add_row(vec![
        Cell::new("period"),
        Cell::new(period(&d.before.period)),
        Cell::new(period(&d.after.period)),
    ]);
    for (name, before, after) in totals(d) {
        t.add_row(vec![Cell::new(name), Cell::new(before), Cell::new(after)]);
    }
    let shape = fit(&mut t, style, &[Fit::Fixed, Fit::Name, Fit::Name], &[&[]]);
    write_fitted(out, &t, shape, style)?;
    for w in &d.warnings {
        para(out, style, "", &format!("Warning: {w}"))?;
    }
    Ok(())
}

/// The findings with their change, coloured on a terminal (new red, gone green).
fn findings(d: &Diff, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    heading(out, style, "Findings")?;
    if d.findings.is_empty() {
        return para(out, style, "", "Neither report has a finding.");
    }
    let mut t = table(style, &["change", "cause", "resource", "conflicts"]);
    for f in &d.findings {
        let mut change = Cell::new(f.change.name());
        if style.color {
            change = change.fg(match f.change {
                Status::New => Color::Red,
                Status::Gone => Color::Green,
                Status::Still => Color::Yellow,
            });
        }
        t.add_row(vec![
            change,
            Cell::new(&f.cause),
            Cell::new(subject(f)),
            Cell::new(count_change(&f.conflicts)),
        ]);
    }
    let shape = fit(
        &mut t,
        style,
        &[Fit::Fixed, Fit::Fixed, Fit::Name, Fit::Fixed],
        &[&[]],
    );
    write_fitted(out, &t, shape, style)?;
    // What is new is what the reader has not seen: its summary in full.
    for f in d.findings.iter().filter(|f| f.change == Status::New) {
        writeln!(out)?;
        let head = format!("new: {} on {}", f.cause, subject(f));
        para(out, style, "", &head)?;
        para(out, style, "  ", &visible(&f.summary))?;
    }
    Ok(())
}
