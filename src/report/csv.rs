//! CSV renderer: every row of the report's tables in one file, for spreadsheets and
//! scripts (`duckdb -c "SELECT * FROM 'r.csv' WHERE section = 'client'"`).
//!
//! One header for all rows; the first column names the table a row is from, and each row
//! fills the columns that table has (the rest are empty):
//!
//! | section | one row per | columns filled |
//! |---|---|---|
//! | `input` | input | name (path), lines, parsed, skipped, unread (outside `--since`/`--until` in a log in time order, not read) |
//! | `total` | report | start, end (the period), requests, writes, conflicts, conflict_rate, explained, handled (of the unexplained) |
//! | `finding` | finding, ranked | name (instance, or template), template, start, end, conflicts, clients, instances, cause, severity, confidence, summary, advice |
//! | `resource` | top template | name, template, requests, writes, conflicts, conflict_rate, clients, instances |
//! | `instance` | top instance | name, template, start, end (first and last conflict), requests, conflicts, clients |
//! | `client` | top client | name, requests, conflicts, conflict_rate, templates |
//! | `unexplained` | top instance with conflicts no finding explains | name, template, start, end (first and last), conflicts, clients, statuses (`409: 2, 412: 1`), handled (followed by the same client's successful write) |
//! | `window` | timeline window, every one | start, requests, conflicts |
//!
//! Texts from the logs are kept as they are (quoted where CSV needs it), except that a text
//! a spreadsheet would run as a formula (`=`, `+`, `@`, or `-` and more) gets a leading `'`:
//! names, and summaries, which can start with a client's name.

use super::{
    ClientRow, FindingReport, InputReport, InstanceRow, Report, ResourceRow, TimelineRow,
    UnexplainedRow,
};
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};

/// One row; `None` is an empty cell.
#[derive(Debug, Default, Serialize)]
struct Row<'a> {
    section: &'static str,
    rank: Option<usize>,
    name: Cow<'a, str>,
    template: Option<Cow<'a, str>>,
    start: Option<&'a str>,
    end: Option<&'a str>,
    lines: Option<u64>,
    parsed: Option<u64>,
    skipped: Option<u64>,
    requests: Option<u64>,
    writes: Option<u64>,
    conflicts: Option<u64>,
    conflict_rate: Option<f64>,
    explained: Option<u64>,
    clients: Option<u64>,
    instances: Option<u64>,
    templates: Option<u64>,
    cause: Option<&'static str>,
    severity: Option<&'static str>,
    confidence: Option<f64>,
    summary: Option<Cow<'a, str>>,
    advice: Option<Cow<'a, str>>,
    statuses: Option<String>,
    /// Unexplained conflicts the same client followed with its own successful write.
    handled: Option<u64>,
    /// A client's first conflict's user agent.
    user_agent: Option<Cow<'a, str>>,
    /// Distinct user agents on a client's conflicts.
    user_agents: Option<u64>,
    /// An input's lines outside `--since`/`--until` that a seek did not read.
    unread: Option<u64>,
}

/// `s` safe to open in a spreadsheet: a leading `=`, `+`, `@`, tab or carriage return (or a
/// `-` with more after it; a lone `-` is a log's "none") would start a formula.
pub(super) fn cell(s: &str) -> Cow<'_, str> {
    let risky = matches!(
        s.as_bytes(),
        [b'=' | b'+' | b'@' | b'\t' | b'\r', ..] | [b'-', _, ..]
    );
    if risky {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    for row in rows(r) {
        w.serialize(row).map_err(io::Error::other)?;
    }
    w.flush()
}

/// Every row, section after section in the order of the table above; the ranked sections'
/// rows numbered from 1.
fn rows(r: &Report) -> impl Iterator<Item = Row<'_>> {
    fn ranked<'a>(rows: impl Iterator<Item = Row<'a>>) -> impl Iterator<Item = Row<'a>> {
        (rows.enumerate()).map(|(k, row)| Row {
            rank: Some(k + 1),
            ..row
        })
    }
    (r.inputs.iter().map(Row::input))
        .chain(std::iter::once(Row::total(r)))
        .chain(ranked(r.findings.iter().map(Row::finding)))
        .chain(ranked(r.resources.iter().map(Row::resource)))
        .chain(ranked(r.instances.iter().map(Row::instance)))
        .chain(ranked(r.clients.iter().map(Row::client)))
        .chain(ranked(r.unexplained.iter().map(Row::unexplained)))
        .chain(ranked(r.timeline.iter().map(Row::window)))
}

/// Each section's row: the columns its table has.
impl<'a> Row<'a> {
    fn input(i: &'a InputReport) -> Row<'a> {
        Row {
            section: "input",
            name: cell(&i.path),
            lines: Some(i.lines),
            parsed: Some(i.parsed),
            skipped: Some(i.skipped),
            unread: Some(i.unread),
            ..Row::default()
        }
    }

    fn total(r: &'a Report) -> Row<'a> {
        Row {
            section: "total",
            start: r.period.start.as_deref(),
            end: r.period.end.as_deref(),
            requests: Some(r.totals.requests),
            writes: Some(r.totals.writes),
            conflicts: Some(r.totals.conflicts),
            conflict_rate: Some(r.totals.conflict_rate),
            explained: Some(r.totals.explained),
            handled: Some(r.totals.unexplained_handled),
            ..Row::default()
        }
    }

    fn finding(f: &'a FindingReport) -> Row<'a> {
        Row {
            section: "finding",
            name: cell(f.instance.as_deref().unwrap_or(&f.template)),
            template: Some(cell(&f.template)),
            start: Some(&f.start),
            end: Some(&f.end),
            conflicts: Some(f.conflicts),
            clients: Some(f.client_count),
            instances: Some(f.instance_count),
            cause: Some(f.cause),
            severity: Some(f.severity.name()),
            confidence: Some(f.confidence),
            // A summary can start with a client's name.
            summary: Some(cell(&f.summary)),
            advice: Some(cell(&f.advice)),
            ..Row::default()
        }
    }

    fn resource(x: &'a ResourceRow) -> Row<'a> {
        Row {
            section: "resource",
            name: cell(&x.template),
            template: Some(cell(&x.template)),
            requests: Some(x.requests),
            writes: Some(x.writes),
            conflicts: Some(x.conflicts),
            conflict_rate: Some(x.conflict_rate),
            clients: Some(x.clients),
            instances: Some(x.instances),
            ..Row::default()
        }
    }

    fn instance(x: &'a InstanceRow) -> Row<'a> {
        Row {
            section: "instance",
            name: cell(&x.instance),
            template: Some(cell(&x.template)),
            start: Some(&x.first_conflict),
            end: Some(&x.last_conflict),
            requests: Some(x.requests),
            conflicts: Some(x.conflicts),
            clients: Some(x.clients),
            ..Row::default()
        }
    }

    fn client(x: &'a ClientRow) -> Row<'a> {
        Row {
            section: "client",
            name: cell(&x.client),
            requests: Some(x.requests),
            conflicts: Some(x.conflicts),
            conflict_rate: Some(x.conflict_rate),
            templates: Some(x.templates),
            user_agent: x.user_agent.as_deref().map(cell),
            user_agents: Some(x.user_agents),
            ..Row::default()
        }
    }

    fn unexplained(x: &'a UnexplainedRow) -> Row<'a> {
        Row {
            section: "unexplained",
            name: cell(&x.instance),
            template: Some(cell(&x.template)),
            start: Some(&x.first_conflict),
            end: Some(&x.last_conflict),
            conflicts: Some(x.conflicts),
            clients: Some(x.client_count),
            statuses: Some(super::statuses(&x.by_status)),
            handled: Some(x.handled),
            ..Row::default()
        }
    }

    fn window(x: &'a TimelineRow) -> Row<'a> {
        Row {
            section: "window",
            start: Some(&x.start),
            requests: Some(x.requests),
            conflicts: Some(x.conflicts),
            ..Row::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_be_formulas_are_quoted() {
        assert_eq!(cell("/orders/7"), "/orders/7");
        assert_eq!(cell("-"), "-");
        assert_eq!(cell("2001:db8::1"), "2001:db8::1");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell(""), "");
    }
}
