//! The diff as Markdown (for a ticket or a chat): the same sections as the tables, cells
//! on one line with their pipes escaped.

use super::{
    Diff, NOT_LISTED, Status, count_change, named, period, ranked, rate_change, subject, totals,
};
use crate::report::visible;
use std::io::{self, Write};

/// A Markdown table cell: pipes escaped, on one line.
fn md(s: &str) -> String {
    visible(s).replace('|', "\\|")
}

pub fn render(d: &Diff, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# why409 diff\n")?;
    writeln!(out, "| | before | after |\n|---|---|---|")?;
    let (before, after) = (md(&named(&d.before.paths)), md(&named(&d.after.paths)));
    writeln!(out, "| inputs | {before} | {after} |")?;
    let (before, after) = (period(&d.before.period), period(&d.after.period));
    writeln!(out, "| period | {before} | {after} |")?;
    for (name, before, after) in totals(d) {
        writeln!(out, "| {name} | {before} | {after} |")?;
    }
    writeln!(out)?;
    for w in &d.warnings {
        writeln!(out, "> **Warning:** {w}\n")?;
    }
    findings(d, out)?;
    for (title, list) in ranked(d) {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "## {title}\n")?;
        writeln!(
            out,
            "| name | conflicts | requests | rate |\n|---|---:|---:|---:|"
        )?;
        for x in list {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                md(&x.name),
                count_change(&x.conflicts),
                count_change(&x.requests),
                rate_change(&x.conflict_rate)
            )?;
        }
        writeln!(out)?;
    }
    if !d.resources.is_empty() || !d.clients.is_empty() {
        writeln!(out, "{NOT_LISTED}")?;
    }
    Ok(())
}

/// The findings with their change, then the new ones' summaries.
fn findings(d: &Diff, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Findings\n")?;
    if d.findings.is_empty() {
        return writeln!(out, "Neither report has a finding.\n");
    }
    writeln!(
        out,
        "| change | cause | resource | conflicts |\n|---|---|---|---:|"
    )?;
    for f in &d.findings {
        writeln!(
            out,
            "| **{}** | {} | {} | {} |",
            f.change.name(),
            f.cause,
            md(&subject(f)),
            count_change(&f.conflicts),
        )?;
    }
    writeln!(out)?;
    for f in d.findings.iter().filter(|f| f.change == Status::New) {
        writeln!(
            out,
            "- **new: {} on {}**: {}",
            f.cause,
            md(&subject(f)),
            md(&f.summary)
        )?;
    }
    writeln!(out)
}
