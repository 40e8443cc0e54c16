//! Markdown renderer: the same sections as the terminal tables, for postmortems and
//! scheduled reports pasted into tickets or wikis.

use super::{Evidence, Report, ShownWindow, UNEXPLAINED_HINT, percent};
use crate::timestamp::human_span;
use std::io::{self, Write};

pub(super) fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The longest run of backticks in `s`.
fn backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` as inline code: delimited by more backticks than it holds in a row (a path with a
/// backtick closed a one-backtick span early), padded when it starts or ends with one.
pub(super) fn code(s: &str) -> String {
    let s = s.replace('\n', " ");
    let fence = "`".repeat(backtick_run(&s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Inline code in a table cell: pipes escaped as GitHub's tables want, inside code too.
pub(super) fn cell(s: &str) -> String {
    code(&esc(s))
}

/// Log lines in a fenced block, each after its `path:line:`.
fn quoted(r: &Report, lines: &[Evidence], out: &mut dyn Write) -> io::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    // A fence longer than any run of backticks in the lines it holds.
    let longest = lines.iter().map(|e| backtick_run(&e.text)).max();
    let fence = "`".repeat(longest.unwrap_or(0).max(2) + 1);
    writeln!(out, "{fence}text")?;
    for e in lines {
        writeln!(out, "{}: {}", r.place(e), e.text)?;
    }
    writeln!(out, "{fence}\n")
}

/// Writes the report as Markdown, a section each: the summary, the root causes with their
/// evidence, the top tables, the unexplained conflicts and the timeline.
pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    summary(r, out)?;
    root_causes(r, out)?;
    top_resources(r, out)?;
    top_instances(r, out)?;
    top_clients(r, out)?;
    unexplained(r, out)?;
    timeline(r, out)
}

/// The title, the period, the inputs, the totals and the warnings.
fn summary(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# why409 report\n")?;
    let period = match (&r.period.start, &r.period.end) {
        (Some(s), Some(e)) => format!("{s} → {e}"),
        _ => "no requests".into(),
    };
    writeln!(out, "- **Period:** {period}")?;
    for i in r.listed_inputs() {
        writeln!(
            out,
            "- **Input:** {} ({}): {}",
            code(&i.path),
            i.format,
            i.line_counts()
        )?;
    }
    if let Some(rest) = r.unlisted_inputs() {
        writeln!(out, "- **Inputs:** {rest}")?;
    }
    if let Some(line) = r.not_read_inputs(code) {
        writeln!(out, "- **Not read:** {line}")?;
    }
    if !r.name_positions.is_empty() {
        let shown: Vec<String> = r.name_positions.iter().map(|n| code(n)).collect();
        writeln!(
            out,
            "- **Names:** {} (more than {} distinct words there)",
            shown.join(", "),
            crate::names::MAX_LITERAL_CHILDREN
        )?;
    }
    let by_status: Vec<String> = r
        .totals
        .by_status
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    writeln!(
        out,
        "- **Requests:** {}, **conflicts:** {} ({}; {})",
        r.request_counts(),
        r.totals.conflicts,
        percent(r.totals.conflict_rate),
        by_status.join(", ")
    )?;
    if let Some(note) = r.context_note() {
        writeln!(out, "- **Context:** {note}")?;
    }
    writeln!(out)?;
    // A report read later (a wiki page, a ticket) keeps what stderr said when it was made.
    if !r.warnings.is_empty() {
        writeln!(out, "> **Warnings**")?;
        for w in &r.warnings {
            writeln!(out, "> - {w}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The findings' table, then each listed finding with its advice and evidence.
fn root_causes(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Root causes\n")?;
    if r.findings.is_empty() {
        return writeln!(out, "{}\n", r.explained());
    }
    writeln!(
        out,
        "| cause | resource | scope | conflicts | clients | when | confidence | advice |"
    )?;
    writeln!(out, "|---|---|---|---:|---:|---|---:|---|")?;
    let rows = r.finding_rows(super::LISTED_FINDINGS);
    for f in rows.listed {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} → {} | {:.2} | {} |",
            f.cause,
            cell(f.instance.as_deref().unwrap_or(&f.template)),
            f.scope.name(),
            f.conflicts,
            f.client_count,
            f.start,
            f.end,
            f.confidence,
            esc(&f.advice)
        )?;
    }
    for g in &rows.groups {
        writeln!(
            out,
            "| {} | {} {} | grouped | {} |  | {} → {} |  | {} |",
            g.cause,
            cell(g.template),
            g.count(),
            g.conflicts,
            g.start,
            g.end,
            esc(g.advice)
        )?;
    }
    if let Some(note) = rows.note() {
        writeln!(out, "\n{note}")?;
    }
    writeln!(out, "\n{}\n", r.explained())?;
    for f in rows.listed {
        writeln!(
            out,
            "### {} on {}\n",
            f.cause,
            code(f.instance.as_deref().unwrap_or(&f.template))
        )?;
        writeln!(out, "{}\n", f.summary)?;
        writeln!(out, "**What to change:** {}\n", f.advice)?;
        quoted(r, &f.evidence, out)?;
    }
    Ok(())
}

/// The templates with the most conflicts.
fn top_resources(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Top resources\n")?;
    writeln!(
        out,
        "| template | requests | writes | conflicts | rate | clients | instances | top instance |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---|")?;
    for x in &r.resources {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&x.template),
            x.requests,
            x.writes,
            x.conflicts,
            percent(x.conflict_rate),
            x.clients,
            x.instances,
            cell(&x.top_instance)
        )?;
    }
    Ok(())
}

/// The instances with the most conflicts.
fn top_instances(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\n## Top instances\n")?;
    writeln!(
        out,
        "| instance | requests | conflicts | clients | first conflict | last conflict |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---|---|")?;
    for x in &r.instances {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&x.instance),
            x.requests,
            x.conflicts,
            x.clients,
            x.first_conflict,
            x.last_conflict
        )?;
    }
    Ok(())
}

/// The clients with the most conflicts.
fn top_clients(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\n## Top clients\n")?;
    writeln!(out, "| {} |", super::CLIENT_COLUMNS.join(" | "))?;
    writeln!(out, "|---|---:|---:|---:|---:|---|")?;
    for x in &r.clients {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&x.client),
            x.requests,
            x.conflicts,
            percent(x.conflict_rate),
            x.templates,
            cell(&x.user_agents_text())
        )?;
    }
    Ok(())
}

/// The conflicts no cause explains, the command that lists them, and their lines.
fn unexplained(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.unexplained.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## {}\n", r.unexplained_heading())?;
    writeln!(
        out,
        "| instance | conflicts | handled | statuses | clients | first conflict | last conflict |"
    )?;
    writeln!(out, "|---|---:|---:|---|---:|---|---|")?;
    for u in &r.unexplained {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&u.instance),
            u.conflicts,
            u.handled,
            super::statuses(&u.by_status),
            u.client_count,
            u.first_conflict,
            u.last_conflict
        )?;
    }
    // The section ends with a blank line, whatever follows the table.
    writeln!(out)?;
    if let Some(cmd) = r.unexplained_command(false) {
        writeln!(out, "{UNEXPLAINED_HINT} {}\n", code(&cmd))?;
    }
    let lines: Vec<Evidence> = (r.unexplained.iter())
        .flat_map(|u| u.lines.iter().cloned())
        .collect();
    quoted(r, &lines, out)?;
    Ok(())
}

/// Requests and conflicts per window, runs of empty windows as one row.
fn timeline(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    // After the unexplained conflicts' section, which ends with a blank line, or a table.
    let lead = if r.unexplained.is_empty() { "\n" } else { "" };
    writeln!(
        out,
        "{lead}## Timeline ({} windows)\n",
        human_span(r.window_seconds * 1_000_000)
    )?;
    writeln!(out, "| window start | requests | conflicts |")?;
    writeln!(out, "|---|---:|---:|")?;
    for shown in super::shown_timeline(&r.timeline) {
        match shown {
            ShownWindow::Window(x) => {
                writeln!(out, "| {} | {} | {} |", x.start, x.requests, x.conflicts)?
            }
            ShownWindow::Empty {
                first,
                last,
                windows,
            } => writeln!(
                out,
                "| {first} … {last} ({windows} empty windows) | 0 | 0 |"
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inline code holds any text: more backticks than it has in a row, padding when it
    /// starts or ends with one, pipes escaped in table cells.
    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("/orders/{id}"), "`/orders/{id}`");
        assert_eq!(code("/a/`x`/7"), "``/a/`x`/7``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(cell("/a|b"), "`/a\\|b`");
        assert_eq!(backtick_run("a```b`"), 3);
        assert_eq!(backtick_run(""), 0);
    }
}
