//! `why409 diff BEFORE.json AFTER.json`: what changed between two reports (yesterday's and
//! today's scheduled run; the hour before a release and the hour after): the findings that
//! are new, gone or still there, the totals, and the resources and clients whose conflicts
//! moved most.
//!
//! It reads the reports' JSON (`why409.report/v1`), only the fields it compares, so reports
//! with fields added later still read. A report's ranked lists hold its top rows only: a
//! resource missing from one side is "not listed" there (`null`), never taken for zero;
//! findings are listed whole, so a finding missing from one side is new or gone. Findings
//! are the same when their cause, template and instance are (two episodes with one key pair
//! up in the reports' order).

use super::{percent, visible};
use crate::input::Spools;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

mod markdown;
mod table;

pub use markdown::render as render_markdown;
pub use table::render as render_table;

pub const SCHEMA: &str = "why409.diff/v1";

/// The fields of a `why409.report/v1` report that are compared.
#[derive(Debug, Deserialize)]
pub struct Side {
    inputs: Vec<SideInput>,
    conflict_statuses: Vec<u16>,
    period: SidePeriod,
    totals: SideTotals,
    /// The report's `--top` (absent in reports made before it was written down).
    #[serde(default)]
    top: Option<usize>,
    resources: Vec<SideRow>,
    clients: Vec<SideRow>,
    findings: Vec<SideFinding>,
}

#[derive(Debug, Deserialize)]
struct SideInput {
    path: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SidePeriod {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SideTotals {
    requests: u64,
    writes: u64,
    conflicts: u64,
    conflict_rate: f64,
}

/// A resource (by `template`) or a client (by `client`).
#[derive(Debug, Deserialize)]
struct SideRow {
    #[serde(alias = "template", alias = "client")]
    name: String,
    requests: u64,
    conflicts: u64,
    conflict_rate: f64,
}

#[derive(Debug, Deserialize)]
struct SideFinding {
    cause: String,
    severity: String,
    template: String,
    instance: Option<String>,
    conflicts: u64,
    summary: String,
}

impl Side {
    /// Reads the report at `path` (`-` for stdin), compressed as logs can be (a scheduled
    /// run's `report.json.gz`); the error names the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Side> {
        let name = path.display();
        let input = crate::input::open(path, true, None, &Spools::default(), false)?;
        if let Some(d) = &input.damage {
            // A report cut short is no report: its counts would compare as changes.
            bail!("{name}: {}", d.error);
        }
        let bytes = input.bytes();
        #[derive(Deserialize)]
        struct Head {
            schema: Option<String>,
        }
        let not_a_report =
            || format!("{name}: not a why409 JSON report (make one with --output json)");
        let head: Head = serde_json::from_slice(bytes).with_context(not_a_report)?;
        match head.schema.as_deref() {
            Some(super::SCHEMA) => {}
            Some(other) => bail!(
                "{name}: a report of schema '{other}'; this why409 reads '{}'",
                super::SCHEMA
            ),
            None => bail!(not_a_report()),
        }
        let side: Side = serde_json::from_slice(bytes).with_context(not_a_report)?;
        Ok(side)
    }

    /// Whether `list` holds every row there is (fewer than the report's top).
    fn complete(&self, list: &[SideRow]) -> bool {
        self.top.is_some_and(|n| list.len() < n)
    }
}

/// A value on each side; `None` where that side does not list it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change<T> {
    pub before: Option<T>,
    pub after: Option<T>,
}

impl Change<u64> {
    /// After minus before, a side not listing it counted as 0.
    pub fn delta(&self) -> i64 {
        self.after.unwrap_or(0) as i64 - self.before.unwrap_or(0) as i64
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub paths: Vec<String>,
    pub period: SidePeriod,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalsDiff {
    pub requests: Change<u64>,
    pub writes: Change<u64>,
    pub conflicts: Change<u64>,
    pub conflict_rate: Change<f64>,
}

/// Whether a finding is in the after report only, the before report only, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Still,
    Gone,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Still => "still",
            Status::Gone => "gone",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingDiff {
    pub change: Status,
    pub cause: String,
    pub severity: String,
    pub template: String,
    pub instance: Option<String>,
    pub conflicts: Change<u64>,
    /// The after report's summary, or the before report's for a finding that is gone.
    pub summary: String,
}

/// A resource or client on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct RowDiff {
    pub name: String,
    pub requests: Change<u64>,
    pub conflicts: Change<u64>,
    pub conflict_rate: Change<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub schema: &'static str,
    pub before: Compared,
    pub after: Compared,
    pub totals: TotalsDiff,
    /// New findings first, then those still there, then those gone; each group by
    /// conflicts (descending), then cause, template and instance.
    pub findings: Vec<FindingDiff>,
    /// The resources either report lists, by how much their conflicts changed (most first,
    /// either way), then template; the first `top`.
    pub resources: Vec<RowDiff>,
    /// Likewise for clients.
    pub clients: Vec<RowDiff>,
    /// Why the two reports may not compare like for like.
    pub warnings: Vec<String>,
}

fn compared(s: &Side) -> Compared {
    Compared {
        paths: s.inputs.iter().map(|i| i.path.clone()).collect(),
        period: s.period.clone(),
    }
}

fn both<T>(before: T, after: T) -> Change<T> {
    Change {
        before: Some(before),
        after: Some(after),
    }
}

/// The rows of both lists by name, by how much their conflicts moved; the first `top`. A
/// side whose list is `complete` (shorter than its report's top) had no conflicts on a row
/// it does not list; its requests there are not known.
fn rows(
    (before, before_complete): (&[SideRow], bool),
    (after, after_complete): (&[SideRow], bool),
    top: usize,
) -> Vec<RowDiff> {
    let zero = |complete: bool| if complete { Some(0) } else { None };
    let mut by: BTreeMap<&str, (Option<&SideRow>, Option<&SideRow>)> = BTreeMap::new();
    for r in before {
        by.entry(&r.name).or_default().0 = Some(r);
    }
    for r in after {
        by.entry(&r.name).or_default().1 = Some(r);
    }
    let mut v: Vec<RowDiff> = by
        .into_iter()
        .map(|(name, (b, a))| RowDiff {
            name: name.to_string(),
            requests: Change {
                before: b.map(|x| x.requests),
                after: a.map(|x| x.requests),
            },
            conflicts: Change {
                before: b.map(|x| x.conflicts).or(zero(before_complete)),
                after: a.map(|x| x.conflicts).or(zero(after_complete)),
            },
            conflict_rate: Change {
                before: b.map(|x| x.conflict_rate),
                after: a.map(|x| x.conflict_rate),
            },
        })
        .collect();
    // Stable: the map gave names in order.
    v.sort_by_key(|r| Reverse(r.conflicts.delta().unsigned_abs()));
    v.truncate(top);
    v
}

/// The findings of both reports paired by cause, template and instance: still there, new or
/// gone, in that order, most conflicts first.
fn paired_findings(before: &Side, after: &Side) -> Vec<FindingDiff> {
    fn key(f: &SideFinding) -> (&str, &str, Option<&str>) {
        (&f.cause, &f.template, f.instance.as_deref())
    }
    // A report can hold two findings with one key (two episodes on one instance): the
    // first of each side pair up, then the second, in the reports' order.
    type Sides<'a> = (Vec<&'a SideFinding>, Vec<&'a SideFinding>);
    let mut by: BTreeMap<(&str, &str, Option<&str>), Sides<'_>> = BTreeMap::new();
    for f in &before.findings {
        by.entry(key(f)).or_default().0.push(f);
    }
    for f in &after.findings {
        by.entry(key(f)).or_default().1.push(f);
    }
    let mut findings: Vec<FindingDiff> = Vec::new();
    for (bs, as_) in by.into_values() {
        for k in 0..bs.len().max(as_.len()) {
            let (b, a) = (bs.get(k).copied(), as_.get(k).copied());
            let (change, f) = match (b, a) {
                (Some(_), Some(a)) => (Status::Still, a),
                (None, Some(a)) => (Status::New, a),
                (Some(b), None) => (Status::Gone, b),
                (None, None) => unreachable!("k is below one side's length"),
            };
            findings.push(FindingDiff {
                change,
                cause: f.cause.clone(),
                severity: f.severity.clone(),
                template: f.template.clone(),
                instance: f.instance.clone(),
                conflicts: Change {
                    before: b.map(|x| x.conflicts),
                    after: a.map(|x| x.conflicts),
                },
                summary: f.summary.clone(),
            });
        }
    }
    // Stable over the map's order (cause, template, instance).
    findings.sort_by_key(|f| {
        let n = f.conflicts.after.or(f.conflicts.before).unwrap_or(0);
        (f.change, Reverse(n))
    });
    findings
}

/// A warning when the reports count different statuses as conflicts.
fn statuses_warning(before: &Side, after: &Side) -> Option<String> {
    if before.conflict_statuses == after.conflict_statuses {
        return None;
    }
    let list = |s: &Side| {
        let v: Vec<String> = s.conflict_statuses.iter().map(u16::to_string).collect();
        v.join(",")
    };
    Some(format!(
        "the reports count different statuses as conflicts (before: {}; after: {}): their conflicts do not compare like for like",
        list(before),
        list(after)
    ))
}

impl Diff {
    pub fn build(before: &Side, after: &Side, top: usize) -> Diff {
        let (b, a) = (&before.totals, &after.totals);
        Diff {
            schema: SCHEMA,
            before: compared(before),
            after: compared(after),
            totals: TotalsDiff {
                requests: both(b.requests, a.requests),
                writes: both(b.writes, a.writes),
                conflicts: both(b.conflicts, a.conflicts),
                conflict_rate: both(b.conflict_rate, a.conflict_rate),
            },
            findings: paired_findings(before, after),
            resources: rows(
                (&before.resources, before.complete(&before.resources)),
                (&after.resources, after.complete(&after.resources)),
                top,
            ),
            clients: rows(
                (&before.clients, before.complete(&before.clients)),
                (&after.clients, after.complete(&after.clients)),
                top,
            ),
            warnings: statuses_warning(before, after).into_iter().collect(),
        }
    }

    /// Findings that are new, of any severity or of incident severity only.
    pub fn new_findings(&self, incidents_only: bool) -> usize {
        (self.findings.iter())
            .filter(|f| f.change == Status::New && (!incidents_only || f.severity == "incident"))
            .count()
    }
}

/// `12 → 40 (+28)`; a side that does not list it is `–` (`– → 40`).
pub fn count_change(c: &Change<u64>) -> String {
    let side = |v: Option<u64>| v.map_or("–".to_string(), |n| n.to_string());
    let (b, a) = (side(c.before), side(c.after));
    match (c.before, c.after) {
        (Some(x), Some(y)) if x == y => format!("{b} → {a}"),
        (Some(_), Some(_)) => format!("{b} → {a} ({:+})", c.delta()),
        _ => format!("{b} → {a}"),
    }
}

/// `1.20% → 4.31%`, `–` for a side that does not list it.
pub fn rate_change(c: &Change<f64>) -> String {
    let side = |v: Option<f64>| v.map_or("–".to_string(), percent);
    format!("{} → {}", side(c.before), side(c.after))
}

fn period(p: &SidePeriod) -> String {
    match (&p.start, &p.end) {
        (Some(s), Some(e)) => format!("{} UTC", super::period(s, e)),
        _ => "no requests".into(),
    }
}

fn subject(f: &FindingDiff) -> String {
    visible(f.instance.as_deref().unwrap_or(&f.template))
}

pub fn render_json(d: &Diff, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, d)?;
    writeln!(out)
}

/// A side's input paths for a table cell: all of them when there are three at most, else the
/// first two and how many more (a report of a month of S3 logs has thousands; the JSON diff
/// keeps them all).
fn named(paths: &[String]) -> String {
    match paths {
        [] | [_] | [_, _] | [_, _, _] => paths.join(", "),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
    }
}

/// The totals' rows, as both renderers show them: each total's name, its value before and
/// after (with the change for counts).
fn totals(d: &Diff) -> [(&'static str, String, String); 4] {
    let count = |c: &Change<u64>| {
        let after = format!("{} ({:+})", c.after.unwrap_or(0), c.delta());
        (c.before.unwrap_or(0).to_string(), after)
    };
    let [requests, writes, conflicts] =
        [&d.totals.requests, &d.totals.writes, &d.totals.conflicts].map(count);
    let r = &d.totals.conflict_rate;
    [
        ("requests", requests.0, requests.1),
        ("writes", writes.0, writes.1),
        ("conflicts", conflicts.0, conflicts.1),
        (
            "conflict rate",
            percent(r.before.unwrap_or(0.0)),
            percent(r.after.unwrap_or(0.0)),
        ),
    ]
}

/// The ranked lists, each with its title (resources, then clients).
fn ranked(d: &Diff) -> [(&'static str, &[RowDiff]); 2] {
    [
        ("Resources by change in conflicts", &d.resources),
        ("Clients by change in conflicts", &d.clients),
    ]
}

/// Said under the ranked lists, for their `–` cells.
const NOT_LISTED: &str = "– : not in that report's ranked list (it lists its top rows only).";

#[cfg(test)]
mod tests {
    use super::*;

    fn side(findings: &[(&str, &str, Option<&str>, u64)], resources: &[(&str, u64)]) -> Side {
        Side {
            inputs: vec![SideInput {
                path: "a.log".into(),
            }],
            conflict_statuses: vec![409, 412, 423, 428],
            period: SidePeriod {
                start: None,
                end: None,
            },
            top: Some(3),
            totals: SideTotals {
                requests: 100,
                writes: 50,
                conflicts: resources.iter().map(|r| r.1).sum(),
                conflict_rate: 0.1,
            },
            resources: (resources.iter())
                .map(|&(name, conflicts)| SideRow {
                    name: name.into(),
                    requests: 10,
                    conflicts,
                    conflict_rate: conflicts as f64 / 10.0,
                })
                .collect(),
            clients: Vec::new(),
            findings: (findings.iter())
                .map(|&(cause, template, instance, conflicts)| SideFinding {
                    cause: cause.into(),
                    severity: "incident".into(),
                    template: template.into(),
                    instance: instance.map(Into::into),
                    conflicts,
                    summary: format!("{cause} {conflicts}"),
                })
                .collect(),
        }
    }

    /// Past three inputs, a side names the first two and how many more.
    #[test]
    fn many_inputs_are_named_by_the_first_two() {
        let paths = |n: usize| -> Vec<String> { (0..n).map(|k| format!("p{k}.log")).collect() };
        assert_eq!(named(&paths(0)), "");
        assert_eq!(named(&paths(3)), "p0.log, p1.log, p2.log");
        assert_eq!(named(&paths(4)), "p0.log, p1.log and 2 more");
        assert_eq!(named(&paths(10_000)), "p0.log, p1.log and 9998 more");
    }

    /// Findings match by cause, template and instance; new ones come first, then those
    /// still there, then those gone, each by conflicts.
    #[test]
    fn findings_are_new_still_or_gone() {
        let before = side(
            &[
                ("retry_storm", "/o/{id}", Some("/o/1"), 40),
                ("hot_spot_edit", "/o/{id}", Some("/o/2"), 9),
                ("deploy_regression", "/c/{id}", None, 30),
            ],
            &[],
        );
        let after = side(
            &[
                ("retry_storm", "/o/{id}", Some("/o/7"), 12),
                ("hot_spot_edit", "/o/{id}", Some("/o/2"), 20),
                ("deploy_regression", "/c/{id}", None, 50),
                ("stale_version", "/d/{id}", Some("/d/1"), 3),
                // A second episode on the same instance.
                ("hot_spot_edit", "/o/{id}", Some("/o/2"), 4),
            ],
            &[],
        );
        let d = Diff::build(&before, &after, 10);
        let got: Vec<(Status, &str, Option<u64>, Option<u64>)> = (d.findings.iter())
            .map(|f| {
                let c = f.conflicts;
                (f.change, f.cause.as_str(), c.before, c.after)
            })
            .collect();
        assert_eq!(
            got,
            [
                (Status::New, "retry_storm", None, Some(12)),
                (Status::New, "hot_spot_edit", None, Some(4)),
                (Status::New, "stale_version", None, Some(3)),
                (Status::Still, "deploy_regression", Some(30), Some(50)),
                (Status::Still, "hot_spot_edit", Some(9), Some(20)),
                (Status::Gone, "retry_storm", Some(40), None),
            ]
        );
        assert_eq!(d.findings[0].summary, "retry_storm 12");
        assert_eq!(d.findings[5].summary, "retry_storm 40");
        assert_eq!(d.new_findings(false), 3);
    }

    /// A list shorter than its report's top is complete: what it does not list had no
    /// conflicts there.
    #[test]
    fn a_complete_list_counts_what_it_lacks_as_no_conflicts() {
        let before = side(&[], &[("/a", 10), ("/b", 5)]);
        let after = side(&[], &[("/a", 11), ("/c", 30), ("/d", 4)]);
        let d = Diff::build(&before, &after, 10);
        let got: Vec<(&str, String, String)> = (d.resources.iter())
            .map(|r| {
                let n = r.name.as_str();
                (n, count_change(&r.conflicts), count_change(&r.requests))
            })
            .collect();
        assert_eq!(
            got,
            [
                ("/c", "0 → 30 (+30)".into(), "– → 10".into()),
                ("/b", "5 → –".into(), "10 → –".into()),
                ("/d", "0 → 4 (+4)".into(), "– → 10".into()),
                ("/a", "10 → 11 (+1)".into(), "10 → 10".into()),
            ]
        );
    }

    /// Rows of either list, by how much their conflicts moved either way; a side that does
    /// not list one says so instead of zero.
    #[test]
    fn rows_rank_by_the_change_in_conflicts() {
        let before = side(&[], &[("/a", 10), ("/b", 5), ("/c", 7)]);
        let after = side(&[], &[("/a", 11), ("/c", 30), ("/d", 4)]);
        let d = Diff::build(&before, &after, 3);
        let got: Vec<(&str, String)> = (d.resources.iter())
            .map(|r| (r.name.as_str(), count_change(&r.conflicts)))
            .collect();
        assert_eq!(
            got,
            [
                ("/c", "7 → 30 (+23)".to_string()),
                ("/b", "5 → –".to_string()),
                ("/d", "– → 4".to_string()),
            ]
        );
        assert_eq!(d.totals.conflicts.delta(), 23);
        assert_eq!(
            rate_change(&d.resources[1].conflict_rate),
            "50.00% → –".to_string()
        );
    }
}
