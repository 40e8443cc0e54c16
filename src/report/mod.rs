//! The report model (`why409.report/v1`, a contract) and one renderer per output format.
//!
//! `Report::build` turns an `Analysis` into plain data: sorted, truncated to `--top`, times in
//! RFC 3339 UTC. Renderers only lay that data out; none of them computes anything new.

pub mod csv;
pub mod diff;
pub mod explain;
pub mod fail_on;
pub mod html;
pub mod json;
pub mod markdown;
mod records;
pub mod table;

use crate::aggregate::ClientAgents;
use crate::analyze::{Analysis, InstanceName, first_and_more};
use crate::detect::schedule::Alignment;
use crate::detect::{EventRef, Finding, Scope, Severity};
use crate::timestamp::{MICROS_PER_SEC, parse_iso8601, rfc3339};
use crate::unexplained::{self, Unexplained};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub const SCHEMA: &str = "why409.report/v1";

/// How many affected instances and clients a finding lists (each with its full count
/// beside: a regression on a public API can span 200,000 clients), and how many evidence
/// lines it quotes.
pub const FINDING_INSTANCES: usize = 20;
pub const FINDING_CLIENTS: usize = 20;
pub const FINDING_EVIDENCE: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub inputs: Vec<InputReport>,
    /// Inputs not opened: dated outside `--since`/`--until` (or `--last`) by their names or
    /// last modification.
    pub inputs_not_read: Vec<String>,
    pub period: Period,
    pub window_seconds: i64,
    pub conflict_statuses: Vec<u16>,
    /// Path positions read as names (`/blog/{name}`): more than
    /// `names::MAX_LITERAL_CHILDREN` distinct words seen there (see `crate::names`).
    pub name_positions: Vec<String>,
    pub totals: Totals,
    /// The most rows `resources`, `instances` and `clients` hold (`--top`): a shorter list
    /// is complete.
    pub top: usize,
    pub resources: Vec<ResourceRow>,
    pub instances: Vec<InstanceRow>,
    pub clients: Vec<ClientRow>,
    pub timeline: Vec<TimelineRow>,
    pub findings: Vec<FindingReport>,
    /// The instances whose conflicts no finding explains, most first (the first `top`).
    pub unexplained: Vec<UnexplainedRow>,
    /// Notes for the reader: skipped files, empty inputs.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InputReport {
    pub path: String,
    /// What to give why409 to read this input again: its path, or the archive holding it
    /// (not in the JSON, whose `path` says where the lines are).
    #[serde(skip)]
    pub read_as: String,
    pub format: String,
    pub bytes: u64,
    pub lines: u64,
    pub parsed: u64,
    pub skipped: u64,
    pub skip_reasons: BTreeMap<String, u64>,
    /// Parsed lines left out by `--since`/`--until`.
    pub filtered: u64,
    /// Lines not read: outside `--since`/`--until` by their place in a log in time order
    /// (`lines` = `parsed` + `skipped` + `unread`).
    pub unread: u64,
    /// The first and last line read, when a seek left lines unread (`[1, 0]`-like, the last
    /// before the first, when none was).
    pub read_lines: Option<[u64; 2]>,
    pub skip_examples: Vec<SkipExampleReport>,
    /// Of the lines kept as context for conflicting instances, how many logged each field
    /// some causes need.
    pub context: crate::aggregate::ContextFields,
}

impl InputReport {
    /// How its lines were read: `3806 lines, 3806 parsed, 0 skipped` (`1 line, ...`), then
    /// the lines the filters left out and those a seek did not read, when there are any.
    pub fn line_counts(&self) -> String {
        let mut s = format!(
            "{}, {} parsed, {} skipped",
            counted(self.lines, "line", "lines"),
            self.parsed,
            self.skipped
        );
        if self.filtered > 0 {
            s += &format!(", {} left out by the filters", self.filtered);
        }
        if self.unread > 0 {
            s += &format!(
                ", {} not read (outside the time range in a log in time order",
                self.unread
            );
            s += &match self.read_lines {
                Some([a, b]) if a <= b => format!("; lines {a}–{b} read)"),
                _ => ")".to_string(),
            };
        }
        s
    }
}

/// Inputs a report for people lists one by one; past this many, it lists one less and sums
/// up the rest in a line (`Report::listed_inputs`).
pub const LISTED_INPUTS: usize = 10;

/// The skipped lines of one reason in the inputs not listed (`Report::unlisted_skips`).
pub struct UnlistedSkips<'a> {
    pub reason: &'a str,
    /// Inputs with lines skipped for it, and those lines.
    pub inputs: usize,
    pub lines: u64,
    /// The first example, with its input's path.
    pub example: Option<(&'a str, &'a SkipExampleReport)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkipExampleReport {
    pub reason: String,
    pub line: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub writes: u64,
    pub conflicts: u64,
    pub by_status: BTreeMap<String, u64>,
    pub conflict_rate: f64,
    /// Conflicts attributed to a finding (each to one at most); the others are listed by
    /// instance in `unexplained`.
    pub explained: u64,
    /// Instances with conflicts that no finding explains (`unexplained` lists the first).
    pub unexplained_instances: u64,
    /// Of the conflicts no finding explains, those the same client followed with its own
    /// successful write on the instance (handled).
    pub unexplained_handled: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceRow {
    pub template: String,
    pub requests: u64,
    pub writes: u64,
    pub conflicts: u64,
    /// conflicts / requests
    pub conflict_rate: f64,
    /// conflicts / writes
    pub write_conflict_rate: f64,
    /// Distinct clients that got conflicts on this template.
    pub clients: u64,
    /// Distinct instances that had conflicts.
    pub instances: u64,
    pub top_instance: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    pub instance: String,
    pub template: String,
    pub requests: u64,
    pub conflicts: u64,
    /// Distinct clients that got conflicts on this instance.
    pub clients: u64,
    pub first_conflict: String,
    pub last_conflict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientRow {
    pub client: String,
    pub requests: u64,
    pub conflicts: u64,
    pub conflict_rate: f64,
    /// Distinct templates on which this client got conflicts.
    pub templates: u64,
    /// The user agent of its first conflict (`None`: the log has none).
    pub user_agent: Option<String>,
    /// Distinct user agents on its conflicts, counted up to `ClientAgents::COUNTED` (then
    /// `user_agents_more`, which the JSON report leaves out: its count is "at least").
    pub user_agents: u64,
    #[serde(skip)]
    pub user_agents_more: bool,
}

/// The clients table's columns, in the order every renderer shows them.
pub const CLIENT_COLUMNS: [&str; 6] = [
    "client",
    "requests",
    "conflicts",
    "rate",
    "templates",
    "user agent",
];

impl ClientRow {
    /// Its user agents in a cell: the first conflict's, and how many others
    /// (`okhttp/4.12.0 (+2 others)`); `-` when the log has none.
    pub fn user_agents_text(&self) -> String {
        let Some(first) = &self.user_agent else {
            return "-".to_string();
        };
        let others = self.user_agents.saturating_sub(1);
        match (others, self.user_agents_more) {
            (0, _) => first.clone(),
            (n, false) => format!("{first} (+{n} other{})", if n == 1 { "" } else { "s" }),
            (n, true) => format!("{first} (+{n} others or more)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    pub start: String,
    pub requests: u64,
    pub conflicts: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingReport {
    pub cause: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    pub template: String,
    pub instance: Option<String>,
    /// The first `FINDING_INSTANCES`, most conflicts first.
    pub instances: Vec<String>,
    /// How many instances the finding spans.
    pub instance_count: u64,
    pub start: String,
    pub end: String,
    pub conflicts: u64,
    /// The first `FINDING_CLIENTS`: those with conflicts, most first, then the others.
    pub clients: Vec<String>,
    /// How many clients the finding involves.
    pub client_count: u64,
    pub confidence: f64,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// The finding's (borrowed when it is its cause's text as it stands).
    pub advice: Cow<'static, str>,
    /// Set when the conflicts bunch at the top of the minute or hour (scheduled jobs).
    pub schedule: Option<Alignment>,
}

/// The conflicts on one instance that no finding explains.
#[derive(Debug, Clone, Serialize)]
pub struct UnexplainedRow {
    pub instance: String,
    pub template: String,
    pub conflicts: u64,
    /// How many of them the same client followed with its own successful write there.
    pub handled: u64,
    pub by_status: BTreeMap<String, u64>,
    /// The first `FINDING_CLIENTS` clients that got them, most first.
    pub clients: Vec<String>,
    pub client_count: u64,
    pub first_conflict: String,
    pub last_conflict: String,
    /// The first few of them, in time order.
    pub lines: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// Index into `inputs`.
    pub input: u32,
    /// 1-based line number.
    pub line: u64,
    pub text: String,
}

/// `s` as a terminal or a rendered page can show it: each control character as an escape
/// (`\x1b`; an ESC in a logged path or user agent could clear the screen, retitle the
/// window or forge colours), tabs as spaces. JSON escapes them itself and keeps the text.
pub fn visible(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            // Control characters are C0, DEL and C1: all under 0x100.
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

impl Report {
    /// The report with every text from the logs made `visible`, for the table, Markdown and
    /// HTML renderers: changed in place, where a text has a control character (a copy of a
    /// report of 50,000 findings was 85 MB more at the end of the run).
    pub fn into_visible(mut self) -> Report {
        let r = &mut self;
        let each = |v: &mut Vec<String>| v.iter_mut().for_each(make_visible);
        for i in &mut r.inputs {
            make_visible(&mut i.path);
            for e in &mut i.skip_examples {
                make_visible(&mut e.text);
            }
        }
        each(&mut r.name_positions);
        each(&mut r.inputs_not_read);
        each(&mut r.warnings);
        for x in &mut r.resources {
            make_visible(&mut x.template);
            make_visible(&mut x.top_instance);
        }
        for x in &mut r.instances {
            make_visible(&mut x.instance);
            make_visible(&mut x.template);
        }
        for x in &mut r.clients {
            make_visible(&mut x.client);
            x.user_agent.iter_mut().for_each(make_visible);
        }
        for f in &mut r.findings {
            make_visible(&mut f.template);
            f.instance.iter_mut().for_each(make_visible);
            each(&mut f.instances);
            each(&mut f.clients);
            make_visible(&mut f.summary);
            if f.advice.chars().any(char::is_control) {
                f.advice = visible(&f.advice).into();
            }
            for e in &mut f.evidence {
                make_visible(&mut e.text);
            }
        }
        for u in &mut r.unexplained {
            make_visible(&mut u.instance);
            make_visible(&mut u.template);
            each(&mut u.clients);
            for e in &mut u.lines {
                make_visible(&mut e.text);
            }
        }
        self
    }
}

/// `s` made `visible` where it has to be.
fn make_visible(s: &mut String) {
    if s.chars().any(char::is_control) {
        *s = visible(s);
    }
}

/// Keeps the first `top` of `v` by `cmp` (a total order), sorted: the rest are cut off
/// before the sort, so only the rows shown are ordered.
fn keep_top_by<T>(v: &mut Vec<T>, top: usize, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    cut_to_top(v, top, &mut cmp);
    v.sort_unstable_by(cmp);
}

/// Leaves the first `top` of `v` by `cmp`, in no order.
fn cut_to_top<T>(v: &mut Vec<T>, top: usize, cmp: impl FnMut(&T, &T) -> Ordering) {
    if v.len() > top {
        v.select_nth_unstable_by(top, cmp);
        v.truncate(top);
    }
}

/// The first `top` of `items` by `cmp` (a total order), sorted, gathered without holding them
/// all: the list is cut back to `top` whenever it reaches twice that (at least 4,096), which
/// keeps what a cut of the whole list would (a log can have a million conflicting
/// instances, 32 MB as a list). After a cut, an item after the last one kept (`top` items
/// come before it) is passed over with that one comparison: on a million instances of one
/// conflict each, ranked by name, selecting among them took ~500 instructions an item.
fn top_of<T>(
    items: impl IntoIterator<Item = T>,
    top: usize,
    mut cmp: impl FnMut(&T, &T) -> Ordering,
) -> Vec<T> {
    let bound = top.saturating_mul(2).max(4096);
    let mut v = Vec::new();
    // Whether `v[top - 1]` is the last kept by a cut (the items after it come after the cut).
    let mut cut = false;
    for x in items {
        if cut && cmp(&x, &v[top - 1]) == Ordering::Greater {
            continue;
        }
        if v.len() >= bound {
            // The `top`-th (0-based `top - 1`) put in its place, the better ones before it.
            if let Some(last) = top.checked_sub(1) {
                v.select_nth_unstable_by(last, &mut cmp);
                cut = true;
            }
            v.truncate(top);
        }
        v.push(x);
    }
    keep_top_by(&mut v, top, cmp);
    v
}

/// How many findings the human-facing reports (table, Markdown, HTML) list one per row; the
/// rest are shown in groups of one cause on one route (`Report::finding_rows`). The JSON and
/// CSV reports list every finding.
pub const LISTED_FINDINGS: usize = 25;
/// How many of those groups are shown; the findings of the others are counted in one line.
pub const FINDING_GROUPS: usize = 10;

/// The findings of one cause on one route past the listed ones.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingGroup<'a> {
    pub cause: &'static str,
    pub template: &'a str,
    /// The most serious of its findings' severities.
    pub severity: Severity,
    pub findings: usize,
    pub conflicts: u64,
    /// The earliest start and the latest end of its findings (RFC 3339).
    pub start: &'a str,
    pub end: &'a str,
    /// Its first (largest) finding's advice.
    pub advice: &'a str,
}

impl FindingGroup<'_> {
    /// How many findings it groups, as its row says it: `(1 finding)`, `(15 findings)`.
    pub fn count(&self) -> String {
        match self.findings {
            1 => "(1 finding)".to_string(),
            n => format!("({n} findings)"),
        }
    }
}

/// The findings as a table shows them: the first ones listed, the rest grouped.
#[derive(Debug, Clone)]
pub struct FindingRows<'a> {
    pub listed: &'a [FindingReport],
    /// Largest first (conflicts, then findings, cause and route).
    pub groups: Vec<FindingGroup<'a>>,
    /// The groups past `FINDING_GROUPS`: how many, their findings and their conflicts.
    pub more: (usize, usize, u64),
}

impl FindingRows<'_> {
    /// A sentence on the grouped rows for below the table, when there are any.
    pub fn note(&self) -> Option<String> {
        if self.groups.is_empty() {
            return None;
        }
        let (groups, findings, conflicts) = self.more;
        let grouped = self.groups.iter().map(|g| g.findings).sum::<usize>() + findings;
        let mut s = format!(
            "The first {} findings are listed; the other {grouped} are grouped by cause and route",
            self.listed.len()
        );
        if groups > 0 {
            let _ = write!(
                s,
                " ({findings} of them, in {groups} more {} with {conflicts} conflicts, are not shown)",
                if groups == 1 { "group" } else { "groups" }
            );
        }
        s.push_str("; --output json lists every finding.");
        Some(s)
    }
}

impl Report {
    /// The findings to show in rows: the first `listed` one per row, the rest grouped by
    /// cause and route (a client library that retries blindly makes one finding on every
    /// instance it touches: tens of thousands of rows nobody reads).
    pub fn finding_rows(&self, listed: usize) -> FindingRows<'_> {
        finding_rows(&self.findings, listed)
    }
}

/// `findings` (in the report's order) as `Report::finding_rows` shows them.
fn finding_rows(findings: &[FindingReport], listed: usize) -> FindingRows<'_> {
    let (shown, rest) = findings.split_at(listed.min(findings.len()));
    let mut by: BTreeMap<(&'static str, &str), FindingGroup<'_>> = BTreeMap::new();
    for f in rest {
        let g = by.entry((f.cause, &f.template)).or_insert(FindingGroup {
            cause: f.cause,
            template: &f.template,
            severity: f.severity,
            findings: 0,
            conflicts: 0,
            start: &f.start,
            end: &f.end,
            advice: &f.advice,
        });
        g.severity = g.severity.min(f.severity);
        g.findings += 1;
        g.conflicts += f.conflicts;
        g.start = g.start.min(&f.start);
        g.end = g.end.max(&f.end);
    }
    let mut groups: Vec<FindingGroup<'_>> = by.into_values().collect();
    groups.sort_by(|a, b| {
        (b.conflicts, b.findings)
            .cmp(&(a.conflicts, a.findings))
            .then_with(|| (a.cause, a.template).cmp(&(b.cause, b.template)))
    });
    let more = groups.split_off(groups.len().min(FINDING_GROUPS));
    FindingRows {
        listed: shown,
        groups,
        more: (
            more.len(),
            more.iter().map(|g| g.findings).sum(),
            more.iter().map(|g| g.conflicts).sum(),
        ),
    }
}

impl Report {
    /// The requests and how many were writes: `3806 (1340 writes)`, `1 (1 write)`.
    pub fn request_counts(&self) -> String {
        let t = &self.totals;
        format!("{} ({})", t.requests, counted(t.writes, "write", "writes"))
    }

    /// What the root causes explain, in a sentence: how many of the conflicts they account
    /// for, or why there is none.
    pub fn explained(&self) -> String {
        let (n, x) = (self.totals.conflicts, self.totals.explained);
        let on = counted(self.totals.unexplained_instances, "instance", "instances");
        let h = self.totals.unexplained_handled;
        let listed = format!("(\"{UNEXPLAINED}\" lists them)");
        let causes = match self.findings.len() {
            1 => "The cause above explains",
            _ => "The causes above explain",
        };
        if n == 0 {
            self.no_conflicts()
        } else if self.findings.is_empty() && n == 1 && h == 1 {
            format!(
                "No root cause found: the 1 conflict, on 1 instance, looks like normal, handled behaviour: the same client's successful write there followed it (\"{UNEXPLAINED}\" lists it)."
            )
        } else if self.findings.is_empty() && n == 1 {
            format!(
                "No root cause found for the 1 conflict, on 1 instance: it was not followed by the same client's successful write there, and it matches no cause's signature (\"{UNEXPLAINED}\" lists it)."
            )
        } else if self.findings.is_empty() && h == n {
            format!(
                "No root cause found: the {n} conflicts, on {on}, look like normal, handled behaviour: each was followed by the same client's successful write there {listed}."
            )
        } else if self.findings.is_empty() && h == 0 {
            format!(
                "No root cause found for the {n} conflicts, on {on}: none was followed by the same client's successful write there, and they match no cause's signature {listed}."
            )
        } else if self.findings.is_empty() {
            let (were, matches) = match (h, n - h) {
                (1, _) => ("was", "match"),
                (_, 1) => ("were", "matches"),
                _ => ("were", "match"),
            };
            format!(
                "No root cause found for the {n} conflicts, on {on}: {h} {were} followed by the same client's successful write there (handled), the other {} {matches} no cause's signature {listed}.",
                n - h
            )
        } else if x == n && n == 1 {
            format!("{causes} the 1 conflict.")
        } else if x == n {
            format!("{causes} all {n} conflicts.")
        } else {
            let (are, each) = match n - x {
                1 => ("is", ""),
                _ => ("are", "each "),
            };
            format!(
                "{causes} {x} of the {n} conflicts ({}); the other {}, on {on}, {are} under \"{UNEXPLAINED}\" ({}).",
                percent(rate(x, n)),
                n - x,
                match h {
                    0 if n - x == 1 =>
                        "not followed by the same client's successful write".to_string(),
                    0 => "none followed by the same client's successful write".to_string(),
                    h if h == n - x =>
                        format!("{each}followed by the same client's successful write: handled"),
                    h =>
                        format!("{h} of them handled: the same client's successful write followed"),
                }
            )
        }
    }

    /// Why there is no conflict to explain: none among the requests, or no request to look
    /// at (all left out by the filters, every input dated outside the time range, or none
    /// in the logs).
    fn no_conflicts(&self) -> String {
        let statuses: Vec<String> = self.conflict_statuses.iter().map(u16::to_string).collect();
        let statuses = statuses.join(", ");
        let filtered: u64 = self.inputs.iter().map(|i| i.filtered).sum();
        let parsed: u64 = self.inputs.iter().map(|i| i.parsed).sum();
        match self.totals.requests {
            1 => format!("No conflict responses ({statuses}) in the 1 request."),
            n if n > 0 => format!("No conflict responses ({statuses}) among the {n} requests."),
            _ if filtered > 0 => format!(
                "No requests to look at: the filters left out all {filtered} parsed."
            ),
            _ if parsed == 0 && !self.inputs_not_read.is_empty() => {
                "No requests read: every input is dated outside the time range (the Overview lists them).".to_string()
            }
            _ => "No requests in these logs.".to_string(),
        }
    }

    /// The inputs a report for people (table, Markdown, HTML) lists one by one: all of them
    /// when there are at most `LISTED_INPUTS`, else the first ones (`unlisted_inputs` sums up
    /// the rest). A month of S3-delivered logs is thousands of inputs; JSON and CSV list
    /// every one.
    pub fn listed_inputs(&self) -> &[InputReport] {
        let n = if self.inputs.len() > LISTED_INPUTS {
            LISTED_INPUTS - 1
        } else {
            self.inputs.len()
        };
        &self.inputs[..n]
    }

    /// The inputs `listed_inputs` leaves out.
    fn unlisted(&self) -> &[InputReport] {
        &self.inputs[self.listed_inputs().len()..]
    }

    /// The Overview's line for the inputs not opened (`inputs_not_read`): how many, and the
    /// first two, each as `path` shows it.
    pub fn not_read_inputs(&self, path: impl Fn(&str) -> String) -> Option<String> {
        let n = self.inputs_not_read.len();
        let shown: Vec<String> = self.inputs_not_read.iter().map(|p| path(p)).collect();
        (n > 0).then(|| {
            format!(
                "{n} {} dated outside the time range by name or last modification, not opened: {} (--no-seek reads them)",
                if n == 1 { "input" } else { "inputs" },
                first_and_more(&shown, 2)
            )
        })
    }

    /// The inputs `listed_inputs` leaves out, summed up as one: their number, formats,
    /// bytes and line counts (`29 more inputs (cloudfront, 162023 bytes): 406 lines, 348
    /// parsed, 58 skipped`); `None` when every input is listed.
    pub fn unlisted_inputs(&self) -> Option<String> {
        let rest = self.unlisted();
        if rest.is_empty() {
            return None;
        }
        let mut formats: BTreeMap<&str, usize> = BTreeMap::new();
        let mut sum = InputReport::default();
        for i in rest {
            *formats.entry(&i.format).or_default() += 1;
            sum.bytes += i.bytes;
            sum.lines += i.lines;
            sum.parsed += i.parsed;
            sum.skipped += i.skipped;
            sum.filtered += i.filtered;
            sum.unread += i.unread;
        }
        let mut formats: Vec<(&str, usize)> = formats.into_iter().collect();
        formats.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let formats: Vec<String> = match &formats[..] {
            [(only, _)] => vec![only.to_string()],
            many => many.iter().map(|(f, n)| format!("{f} {n}")).collect(),
        };
        Some(format!(
            "{} more inputs ({}, {} bytes): {}; --output json lists each",
            rest.len(),
            formats.join(", "),
            sum.bytes,
            sum.line_counts()
        ))
    }

    /// The skipped lines of the inputs `listed_inputs` leaves out, by reason: how many
    /// inputs had some, how many lines, and the first example (`path:line: text`).
    pub fn unlisted_skips(&self) -> Vec<UnlistedSkips<'_>> {
        let rest = self.unlisted();
        let mut by_reason: BTreeMap<&str, UnlistedSkips<'_>> = BTreeMap::new();
        for i in rest {
            for (reason, &n) in &i.skip_reasons {
                let row = by_reason.entry(reason).or_insert(UnlistedSkips {
                    reason,
                    inputs: 0,
                    lines: 0,
                    example: None,
                });
                row.inputs += 1;
                row.lines += n;
                if row.example.is_none() {
                    let e = i.skip_examples.iter().find(|e| &e.reason == reason);
                    row.example = e.map(|e| (i.path.as_str(), e));
                }
            }
        }
        by_reason.into_values().collect()
    }

    /// What the lines kept around the conflicts log of the fields some causes need, and what
    /// a missing one rules out; `None` without conflicts.
    pub fn context_note(&self) -> Option<String> {
        let mut c = crate::aggregate::ContextFields::default();
        for i in &self.inputs {
            c.add(&i.context);
        }
        if c.lines == 0 {
            return None;
        }
        let fields = [
            (
                "durations",
                c.durations,
                "overlaps are possible, not certain",
            ),
            (
                "upstream status",
                c.upstream_status,
                "gateway_generated cannot be told",
            ),
            (
                "idempotency key",
                c.idempotency_key,
                "idempotency_conflict cannot be found",
            ),
            (
                "user agent",
                c.user_agent,
                "control_plane_conflict sees only APISIX admin paths",
            ),
        ];
        let parts: Vec<String> = (fields.iter())
            .map(|(name, n, why)| match *n {
                0 => format!("no {name} ({why})"),
                n if n == c.lines => format!("{name} on all"),
                n => format!("{name} on {:.1}%", 100.0 * rate(n, c.lines)),
            })
            .collect();
        let kept = match c.lines {
            1 => "the one line kept around the conflicts logs".to_string(),
            n => format!("the {n} lines kept around the conflicts log"),
        };
        Some(format!("{kept} {}", parts.join(", ")))
    }

    /// The heading of the unexplained conflicts' table: how many, and how many are shown.
    pub fn unexplained_heading(&self) -> String {
        let n = self.totals.conflicts - self.totals.explained;
        let k = self.totals.unexplained_instances;
        let shown = self.unexplained.len() as u64;
        let of = if k == 1 { "instance" } else { "instances" };
        if shown < k {
            format!("{UNEXPLAINED}: {n} on {k} {of} (the first {shown})")
        } else {
            format!("{UNEXPLAINED}: {n} on {k} {of}")
        }
    }

    /// The command that shows the first unexplained instance's requests in order (see
    /// `UNEXPLAINED_HINT`).
    /// With `short`, the inputs are `LOG` (a narrow terminal and long paths).
    pub fn unexplained_command(&self, short: bool) -> Option<String> {
        let u = self.unexplained.first()?;
        // The files inside an archive are read again by naming it, once.
        let mut given: Vec<&str> = self.inputs.iter().map(|i| i.read_as.as_str()).collect();
        given.dedup();
        let logs: Vec<String> = match given.len() {
            _ if short => vec!["LOG".to_string()],
            1..=3 => given.iter().map(|path| shell_word(path)).collect(),
            _ => vec!["LOGS".to_string()],
        };
        Some(format!(
            "why409 explain {} --instance {}",
            logs.join(" "),
            shell_word(&u.instance)
        ))
    }

    /// Where a quoted line is: `path:line`.
    pub fn place(&self, e: &Evidence) -> String {
        let path = (self.inputs.get(e.input as usize)).map_or("?", |i| i.path.as_str());
        format!("{path}:{}", e.line)
    }
}

/// How to read the unexplained conflicts, before `Report::unexplained_command`.
pub const UNEXPLAINED_HINT: &str = "A re-read and a successful write after a conflict mean the client handled it; to see one in order:";

/// The title of the conflicts no finding claims, as every renderer names them.
pub const UNEXPLAINED: &str = "Conflicts no cause explains";

/// `s` as one word to a POSIX shell: as it is when it holds nothing a shell reads, else in
/// single quotes.
pub fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:,=@%{}".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `n` and a noun, singular for one: `1 request`, `3 requests`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A count per status as people read it: `409: 2, 412: 1`.
pub fn statuses(by: &BTreeMap<String, u64>) -> String {
    let all: Vec<String> = by.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    all.join(", ")
}

/// A rate as people read it: `0.012345` is `1.23%`.
pub fn percent(r: f64) -> String {
    format!("{:.2}%", r * 100.0)
}

/// An RFC 3339 time as tables show it (their heading says UTC):
/// `2026-03-02T09:14:05Z` → `2026-03-02 09:14:05`.
pub fn short_time(s: &str) -> String {
    s.replace('T', " ").trim_end_matches('Z').to_string()
}

/// Two times (RFC 3339) as tables show them, with as many digits of a second each: the
/// report trims a time's trailing zeros, and `09:52:24.955 → 13:20:22.46` reads as if the
/// two were logged differently (`13:20:22.460`).
fn short_times(start: &str, end: &str) -> (String, String) {
    let mut both = [short_time(start), short_time(end)];
    same_fraction_digits(&mut both);
    let [s, e] = both;
    (s, e)
}

/// A column of times (RFC 3339) as a table shows them: each with as many digits of a second
/// as the most precise (`short_times`), without the day under a heading that names it
/// (`one_day`).
pub fn time_column<'a>(times: impl Iterator<Item = &'a str>, day: Option<&str>) -> Vec<String> {
    let mut column: Vec<String> = times.map(short_time).collect();
    same_fraction_digits(&mut column);
    if day.is_some() {
        for t in &mut column {
            if let Some(clock) = t.get(11..) {
                *t = clock.to_string();
            }
        }
    }
    column
}

/// Leaves a time's date (`2026-03-02 09:00:12.819`) only where it differs from the one
/// above's: for the rows of a table in time order across days, where a date on every row
/// would take a column's width, or a line of each row.
pub fn dates_where_they_change(times: &mut [String]) {
    let mut last = String::new();
    for t in times {
        if let Some((date, clock)) = t.split_once(' ') {
            if date == last {
                *t = clock.to_string();
            } else {
                last = date.to_string();
            }
        }
    }
}

/// Pads the fractions of `times` (short) to the longest one's digits.
fn same_fraction_digits(times: &mut [String]) {
    let digits = times.iter().map(|t| fraction_digits(t)).max().unwrap_or(0);
    for t in times {
        let have = fraction_digits(t);
        // A time without a fraction gets a point; a text that is no time (a number of
        // microseconds where a date is out of range) is left as it is.
        if have < digits && t.contains(':') {
            if have == 0 {
                t.push('.');
            }
            t.extend(std::iter::repeat_n('0', digits - have));
        }
    }
}

/// How many digits of a second a short time shows: 3 in `2026-03-02 09:14:05.123`.
fn fraction_digits(t: &str) -> usize {
    match t.rsplit_once('.') {
        Some((head, f)) if head.contains(':') && f.bytes().all(|b| b.is_ascii_digit()) => f.len(),
        _ => 0,
    }
}

/// The period from `start` to `end` (RFC 3339) for a table's overview:
/// `2026-03-02 09:00:00.000 → 2026-03-02 09:05:00.125`.
pub fn period(start: &str, end: &str) -> String {
    let (s, e) = short_times(start, end);
    format!("{s} → {e}")
}

/// When a finding happened, short: one time, or its start and end, the end as a time only
/// on the same day.
pub fn when(f: &FindingReport) -> String {
    between(&f.start, &f.end)
}

/// Two times (RFC 3339) as a span's cell shows them (`short_times`), to the second when
/// they are a second or more apart: a start worked out from a logged duration
/// (`01:59:40.94`) is noise in a span of minutes, and the finding's sentence names the
/// second alone; a shorter span keeps its digits (`09:00:20.993 → 09:00:21.000`).
fn span_times(start: &str, end: &str) -> (String, String) {
    let (s, e) = short_times(start, end);
    let at = |t: &str| parse_iso8601(t.as_bytes());
    let long = matches!((at(start), at(end)), (Some(a), Some(b)) if b - a >= MICROS_PER_SEC);
    if !long {
        return (s, e);
    }
    let second = |t: String| match fraction_digits(&t) {
        0 => t,
        n => t[..t.len() - n - 1].to_string(),
    };
    (second(s), second(e))
}

/// The period from `start` to `end` (RFC 3339) short: one time when they are equal, the end
/// as a time only on the same day.
pub fn between(start: &str, end: &str) -> String {
    let (s, e) = span_times(start, end);
    if s == e {
        return s;
    }
    if s.len() >= 10 && e.len() >= 10 && s[..10] == e[..10] {
        format!("{s} → {}", &e[11..])
    } else {
        format!("{s} → {e}")
    }
}

/// The day (`2026-03-02`) on which every one of `spans` (RFC 3339 starts and ends) lies, if
/// they share one: a table then names the day once, in its heading, and shows its times
/// without it (`times`), which keeps its rows one or two lines high on a narrow terminal.
pub fn one_day<'a>(mut spans: impl Iterator<Item = (&'a str, &'a str)>) -> Option<&'a str> {
    let (start, end) = spans.next()?;
    let d = date_of(start)?;
    let same = |(s, e): (&'a str, &'a str)| date_of(s) == Some(d) && date_of(e) == Some(d);
    (same((start, end)) && spans.all(same)).then_some(d)
}

/// The date of an RFC 3339 time (`2026-03-02` of `2026-03-02T09:24:11Z`); none for a time
/// out of the calendar's range, which is written as a number.
pub fn date_of(t: &str) -> Option<&str> {
    t.get(..10).filter(|_| t.as_bytes().get(10) == Some(&b'T'))
}

/// `between` without the day, for the rows of a table whose heading names it (`one_day`):
/// `09:35:00 → 09:59:58`.
pub fn times(start: &str, end: &str) -> String {
    let (s, e) = span_times(start, end);
    let clock = |t: &str| t.get(11..).unwrap_or(t).to_string();
    if s == e {
        clock(&s)
    } else {
        format!("{} → {}", clock(&s), clock(&e))
    }
}

fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        ((n as f64 / d as f64) * 1e6).round() / 1e6
    }
}

impl Report {
    /// Builds the report, keeping the top `top` rows of each ranked list.
    pub fn build(a: &Analysis, top: usize) -> Report {
        let t = &a.tally;
        let inputs = a.sources.iter().map(input_report).collect();
        // Looked up, never iterated: hash maps (a large log has a hundred thousand
        // conflicting instances to fold).
        let (per_template_clients, per_client_templates) =
            conflicting_clients_by_route(t, a.clients.len());
        let resources = resource_rows(a, top, &per_template_clients);
        let instances = instance_rows(a, top);
        let clients = client_rows(a, top, &per_client_templates);

        let timeline = timeline_rows(a);
        let findings = a.findings.iter().map(|f| finding_report(a, f)).collect();
        let unexplained = (a.unexplained.iter().take(top))
            .map(|u| unexplained_row(a, u))
            .collect();

        Report {
            schema: SCHEMA,
            inputs,
            period: Period {
                start: a.period.map(|p| rfc3339(p.0)),
                end: a.period.map(|p| rfc3339(p.1)),
            },
            window_seconds: a.window_us / MICROS_PER_SEC,
            conflict_statuses: a.statuses.clone(),
            name_positions: a.name_positions.clone(),
            totals: Totals {
                requests: t.totals.requests,
                writes: t.totals.writes,
                conflicts: t.totals.conflicts,
                by_status: a
                    .statuses
                    .iter()
                    .map(|s| (s.to_string(), t.by_status.get(s).copied().unwrap_or(0)))
                    .collect(),
                conflict_rate: rate(t.totals.conflicts, t.totals.requests),
                explained: a.findings.iter().map(Finding::conflicts).sum(),
                unexplained_instances: a.unexplained.len() as u64,
                unexplained_handled: a.unexplained.iter().map(|u| u64::from(u.handled)).sum(),
            },
            top,
            resources,
            instances,
            clients,
            timeline,
            findings,
            unexplained,
            inputs_not_read: a.inputs_not_read.clone(),
            warnings: a.warnings.clone(),
        }
    }
}

/// A timeline row as a person reads it: one window, or a run of empty windows as one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShownWindow<'a> {
    Window(&'a TimelineRow),
    /// `windows` consecutive windows without requests, from `first` to `last` (starts).
    Empty {
        first: &'a str,
        last: &'a str,
        windows: usize,
    },
}

/// Runs of this many empty windows or more are shown as one row.
pub const FOLDED_EMPTY_RUN: usize = 3;

/// The timeline as the table and Markdown show it: runs of `FOLDED_EMPTY_RUN` or more
/// windows without requests fold into one row, so a sparse log (a few requests over years)
/// does not print pages of zeros. The JSON report keeps every window.
pub fn shown_timeline(rows: &[TimelineRow]) -> Vec<ShownWindow<'_>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let run = rows[i..].iter().take_while(|x| x.requests == 0).count();
        if run >= FOLDED_EMPTY_RUN {
            out.push(ShownWindow::Empty {
                first: &rows[i].start,
                last: &rows[i + run - 1].start,
                windows: run,
            });
            i += run;
        } else {
            out.extend(rows[i..i + run.max(1)].iter().map(ShownWindow::Window));
            i += run.max(1);
        }
    }
    out
}

/// An input's row: its names, format, size and line accounting.
fn input_report(s: &crate::analyze::Source) -> InputReport {
    InputReport {
        path: s.input.name.clone(),
        read_as: (s.input.archive.clone()).unwrap_or_else(|| s.input.name.clone()),
        format: s.format.to_string(),
        bytes: s.input.size(),
        lines: s.accounting.lines,
        parsed: s.accounting.parsed,
        skipped: s.accounting.skipped,
        skip_reasons: s
            .accounting
            .skip_reasons
            .iter()
            .map(|&(k, v)| (k.to_string(), v))
            .collect(),
        filtered: s.accounting.filtered,
        unread: s.accounting.unread,
        read_lines: s.accounting.read_lines.map(|(a, b)| [a, b]),
        context: s.accounting.context,
        skip_examples: s
            .accounting
            .skip_examples
            .iter()
            .map(|e| SkipExampleReport {
                reason: e.reason.to_string(),
                line: e.line,
                text: e.text.clone(),
            })
            .collect(),
    }
}

/// How many clients had conflicts on each template, and on how many templates each client
/// (by number, `clients` of them) had conflicts.
fn conflicting_clients_by_route(
    t: &crate::aggregate::Tally,
    clients: usize,
) -> (FxHashMap<&str, u64>, Vec<u64>) {
    let mut per_template_clients: FxHashMap<&str, u64> = FxHashMap::default();
    let mut per_client_templates = vec![0u64; clients];
    for (tpl, clients) in &t.route_clients {
        if clients.conflicting.is_empty() {
            continue;
        }
        per_template_clients.insert(tpl.as_str(), clients.conflicting.len() as u64);
        for &k in &clients.conflicting {
            per_client_templates[k as usize] += 1;
        }
    }
    (per_template_clients, per_client_templates)
}

/// The templates with conflicts, most first (`top` of them), each with its clients, its
/// instances and the one with most conflicts.
fn resource_rows(
    a: &Analysis,
    top: usize,
    per_template_clients: &FxHashMap<&str, u64>,
) -> Vec<ResourceRow> {
    let t = &a.tally;
    // Per template: instances, and the one with most conflicts (the first by name on a
    // tie, told by `InstanceName` without reading names where it can).
    let mut per_template_instances: FxHashMap<&str, (u64, Option<InstanceName>, u64)> =
        FxHashMap::default();
    for (inst, c) in a.conflicting_instances() {
        let e = per_template_instances
            .entry(&c.template)
            .or_insert((0, None, 0));
        e.0 += 1;
        let first = match e.1 {
            None => true,
            Some(top) => {
                c.conflicts > e.2 || (c.conflicts == e.2 && a.cmp_instance_names(inst, top).is_lt())
            }
        };
        if first {
            e.1 = Some(inst);
            e.2 = c.conflicts;
        }
    }
    let mut resources: Vec<ResourceRow> = t
        .templates
        .iter()
        .filter(|(_, c)| c.conflicts > 0)
        .map(|(tpl, c)| {
            let inst = per_template_instances
                .get(tpl.as_str())
                .map_or((0, "", 0), |&(n, top, c)| {
                    (n, top.map_or("", |t| a.instance_name(t)), c)
                });
            ResourceRow {
                template: tpl.clone(),
                requests: c.requests,
                writes: c.writes,
                conflicts: c.conflicts,
                conflict_rate: rate(c.conflicts, c.requests),
                write_conflict_rate: rate(c.conflicts, c.writes),
                clients: per_template_clients.get(tpl.as_str()).copied().unwrap_or(0),
                instances: inst.0,
                top_instance: inst.1.to_string(),
            }
        })
        .collect();
    resources.sort_by(|a, b| {
        b.conflicts
            .cmp(&a.conflicts)
            .then_with(|| a.template.cmp(&b.template))
    });
    resources.truncate(top);
    resources
}

/// The instances with the most conflicts (`top` of them).
fn instance_rows(a: &Analysis, top: usize) -> Vec<InstanceRow> {
    // Ranked first, and only the rows shown are built: a large log has a hundred
    // thousand conflicting instances.
    let ranked = top_of(a.conflicting_instances(), top, |x, y| {
        (y.1.conflicts.cmp(&x.1.conflicts)).then_with(|| a.cmp_instance_names(x.0, y.0))
    });
    ranked
        .into_iter()
        .map(|(inst, c)| (a.instance_name(inst), c))
        .map(|(inst, c)| InstanceRow {
            instance: inst.to_string(),
            template: c.template.to_string(),
            requests: a.requests_on(inst).unwrap_or(c.conflicts),
            conflicts: c.conflicts,
            clients: c.clients.len() as u64,
            first_conflict: rfc3339(c.first),
            last_conflict: rfc3339(c.last),
        })
        .collect()
}

/// The clients with the most conflicts (`top` of them), each with the templates it had
/// conflicts on (`per_client_templates`, by number) and its user agents.
fn client_rows(a: &Analysis, top: usize, per_client_templates: &[u64]) -> Vec<ClientRow> {
    let t = &a.tally;
    // Likewise: a public API's log has tens of thousands of clients with conflicts. Ranked
    // by number: names, counts, templates and user agents are all kept by it.
    let names = a.clients.names();
    let conflicting = (0..t.clients.len().min(names.len())).filter(|&k| t.clients[k].conflicts > 0);
    let ranked = top_of(conflicting, top, |&x, &y| {
        (t.clients[y].conflicts.cmp(&t.clients[x].conflicts)).then_with(|| names[x].cmp(&names[y]))
    });
    let no_agents = ClientAgents::default();
    ranked
        .into_iter()
        .map(|k| {
            let c = &t.clients[k];
            let agents = t.client_agents.get(k).unwrap_or(&no_agents);
            let (user_agents, user_agents_more) = agents.distinct();
            ClientRow {
                client: names[k].to_string(),
                requests: c.requests,
                conflicts: c.conflicts,
                conflict_rate: rate(c.conflicts, c.requests),
                templates: per_client_templates.get(k).copied().unwrap_or(0),
                user_agent: agents.first(&t.agent_texts).map(str::to_string),
                user_agents: user_agents as u64,
                user_agents_more,
            }
        })
        .collect()
}

fn timeline_rows(a: &Analysis) -> Vec<TimelineRow> {
    let t = &a.tally;
    let Some((first, last)) = a.period else {
        return Vec::new();
    };
    let w = a.window_us.max(MICROS_PER_SEC);
    let w_s = w / MICROS_PER_SEC;
    let (lo, hi) = (first.div_euclid(w), last.div_euclid(w));
    // Every window from the first to the last; `seconds` holds only seconds with requests,
    // all within them.
    let mut rows: Vec<(u64, u64)> = vec![(0, 0); (hi - lo + 1) as usize];
    for (sec, req, conf) in t.seconds.iter() {
        let k = sec.div_euclid(w_s) - lo;
        if let Some(e) = rows.get_mut(k as usize) {
            e.0 += req;
            e.1 += conf;
        }
    }
    rows.into_iter()
        .zip(lo..)
        .map(|((r, c), k)| TimelineRow {
            start: rfc3339(k * w),
            requests: r,
            conflicts: c,
        })
        .collect()
}

/// The log line an event was read from.
fn evidence(a: &Analysis, r: &EventRef) -> Evidence {
    let e = &a.timelines.events[r.instance as usize][r.index];
    Evidence {
        input: e.input,
        line: a.line_number(e.input, e.offset()),
        text: a.line_text(e.input, e.offset()),
    }
}

fn unexplained_row(a: &Analysis, u: &Unexplained) -> UnexplainedRow {
    let tl = &a.timelines;
    let instance = tl.instance(u.instance);
    let d = unexplained::detail(tl, &a.findings, u);
    UnexplainedRow {
        instance: instance.path.to_string(),
        template: instance.template.to_string(),
        conflicts: u.conflicts,
        handled: u64::from(u.handled),
        by_status: (d.by_status.iter())
            .map(|(s, n)| (s.to_string(), *n))
            .collect(),
        clients: (d.clients.iter().take(FINDING_CLIENTS))
            .map(|&c| tl.client(c).to_string())
            .collect(),
        client_count: d.clients.len() as u64,
        first_conflict: rfc3339(u.first),
        last_conflict: rfc3339(u.last),
        lines: d.lines.iter().map(|r| evidence(a, r)).collect(),
    }
}

fn finding_report(a: &Analysis, f: &Finding) -> FindingReport {
    let tl = &a.timelines;
    let evidence = (f.evidence.iter().take(FINDING_EVIDENCE))
        .map(|r| evidence(a, r))
        .collect();
    FindingReport {
        cause: f.cause,
        severity: f.severity,
        scope: f.scope,
        template: f.template.clone(),
        instance: f.instance.clone(),
        instances: (f.instances.iter().take(FINDING_INSTANCES))
            .map(|&i| tl.instance(i).path.to_string())
            .collect(),
        instance_count: f.instances.len() as u64,
        start: rfc3339(f.start),
        end: rfc3339(f.end),
        conflicts: f.conflicts(),
        clients: (f.clients.iter().take(FINDING_CLIENTS))
            .map(|&c| tl.client(c).to_string())
            .collect(),
        client_count: f.clients.len() as u64,
        confidence: (f.confidence * 100.0).round() / 100.0,
        summary: f.summary.clone(),
        evidence,
        advice: f.advice.clone(),
        schedule: f.schedule.map(|a| Alignment {
            share: (a.share * 1000.0).round() / 1000.0,
            expected: (a.expected * 1000.0).round() / 1000.0,
            ..a
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(cause: &'static str, template: &str, conflicts: u64, start: &str) -> FindingReport {
        FindingReport {
            cause,
            severity: if cause == "deploy_regression" {
                Severity::Incident
            } else {
                Severity::Info
            },
            scope: Scope::Instance,
            template: template.into(),
            instance: Some(format!("{template}/x")),
            instances: Vec::new(),
            instance_count: 1,
            start: start.into(),
            end: start.replace("00Z", "05Z"),
            conflicts,
            clients: Vec::new(),
            client_count: 1,
            confidence: 0.5,
            summary: String::new(),
            evidence: Vec::new(),
            advice: format!("fix {cause}").into(),
            schedule: None,
        }
    }

    /// A period's two ends show as many digits of a second each (the report trims trailing
    /// zeros); a time without a fraction gets one beside one with; a text that is no time is
    /// left as it is; the end is a time only on the start's day.
    #[test]
    fn period_ends_show_the_same_digits_of_a_second() {
        let p = period("2026-03-02T09:52:24.955Z", "2026-03-02T13:20:22.46Z");
        assert_eq!(p, "2026-03-02 09:52:24.955 → 2026-03-02 13:20:22.460");
        let p = period("2026-03-02T09:00:00Z", "2026-03-03T09:00:01.5Z");
        assert_eq!(p, "2026-03-02 09:00:00.0 → 2026-03-03 09:00:01.5");
        assert_eq!(
            period("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
            "2026-03-02 09:00:00 → 2026-03-02 10:00:00"
        );
        assert_eq!(
            period("-62135596800000001", "2026-03-02T10:00:00.25Z"),
            "-62135596800000001 → 2026-03-02 10:00:00.25"
        );
        assert_eq!(
            between("2026-03-02T09:00:00.1Z", "2026-03-02T09:00:00.125Z"),
            "2026-03-02 09:00:00.100 → 09:00:00.125"
        );
        assert_eq!(
            between("2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z"),
            "2026-03-02 09:00:00"
        );
        // Seconds apart, a span is told to the second; across days as well.
        assert_eq!(
            between("2026-03-03T01:59:40.94Z", "2026-03-03T08:14:25Z"),
            "2026-03-03 01:59:40 → 08:14:25"
        );
        assert_eq!(
            between("2026-03-02T09:45:56.957Z", "2026-03-03T06:39:35Z"),
            "2026-03-02 09:45:56 → 2026-03-03 06:39:35"
        );
        assert_eq!(
            between("2026-03-02T09:00:00.9Z", "2026-03-02T09:00:01.9Z"),
            "2026-03-02 09:00:00 → 09:00:01"
        );
        // Less than a second apart, they keep their digits, across a second as well.
        assert_eq!(
            between("2026-03-02T09:00:20.993Z", "2026-03-02T09:00:21Z"),
            "2026-03-02 09:00:20.993 → 09:00:21.000"
        );
    }

    /// A table's rows all on one day: the day, named once, and times without it; one row
    /// on another day, or a time out of the calendar's range, and every row keeps its date.
    #[test]
    fn rows_on_one_day_show_times_only() {
        let a = ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
        let b = ("2026-03-02T23:59:59.5Z", "2026-03-02T23:59:59.5Z");
        assert_eq!(one_day([a, b].into_iter()), Some("2026-03-02"));
        let next = ("2026-03-02T23:00:00Z", "2026-03-03T00:00:01Z");
        assert_eq!(one_day([a, next].into_iter()), None);
        assert_eq!(one_day([("-62135596800000001", a.1)].into_iter()), None);
        assert_eq!(one_day(std::iter::empty()), None);
        assert_eq!(times(a.0, a.1), "09:00:00 → 10:00:00");
        assert_eq!(times(b.0, b.1), "23:59:59.5");
        assert_eq!(
            times("2026-03-02T17:33:58.99Z", "2026-03-02T17:34:07Z"),
            "17:33:58 → 17:34:07"
        );
        assert_eq!(
            times("2026-03-02T09:00:00.1Z", "2026-03-02T09:00:00.125Z"),
            "09:00:00.100 → 09:00:00.125"
        );
        // A column's times keep as many digits each, a time out of range as it is.
        let column = [
            "2026-03-02T09:59:59.988Z",
            "2026-03-02T10:00:00.99Z",
            "2026-03-02T10:00:01Z",
        ];
        assert_eq!(
            time_column(column.into_iter(), Some("2026-03-02")),
            ["09:59:59.988", "10:00:00.990", "10:00:01.000"]
        );
        assert_eq!(
            time_column(
                column[1..].iter().copied().chain(["-62135596800000001"]),
                None
            ),
            [
                "2026-03-02 10:00:00.99",
                "2026-03-02 10:00:01.00",
                "-62135596800000001"
            ]
        );
    }

    /// Past the listed findings, one group per cause and route, largest first; past the
    /// shown groups, one count.
    #[test]
    fn findings_past_the_listed_are_grouped() {
        let mut all = vec![finding("hot_spot_edit", "/a", 50, "2026-03-02T10:00:00Z")];
        for k in 0..30u64 {
            let t = format!("2026-03-02T{:02}:00:00Z", 10 + k % 5);
            all.push(finding("retry_storm", "/docs", 6, &t));
        }
        all.push(finding(
            "deploy_regression",
            "/orders",
            40,
            "2026-03-02T09:00:00Z",
        ));
        all.push(finding("stale_version", "/docs", 6, "2026-03-02T11:00:00Z"));
        for k in 0..12 {
            all.push(finding(
                "retry_storm",
                &format!("/r{k:02}"),
                2,
                "2026-03-02T12:00:00Z",
            ));
        }
        let rows = finding_rows(&all, 2);
        assert_eq!(rows.listed.len(), 2);
        let groups: Vec<(&str, &str, usize, u64)> = (rows.groups.iter())
            .map(|g| (g.cause, g.template, g.findings, g.conflicts))
            .collect();
        assert_eq!(
            groups[..4],
            [
                ("retry_storm", "/docs", 29, 174),
                ("deploy_regression", "/orders", 1, 40),
                ("stale_version", "/docs", 1, 6),
                ("retry_storm", "/r00", 1, 2),
            ]
        );
        assert_eq!(groups.len(), FINDING_GROUPS);
        let docs = &rows.groups[0];
        assert_eq!(
            (docs.start, docs.end),
            ("2026-03-02T10:00:00Z", "2026-03-02T14:00:05Z")
        );
        assert_eq!(
            (docs.severity, docs.advice),
            (Severity::Info, "fix retry_storm")
        );
        assert_eq!(rows.groups[1].severity, Severity::Incident);
        assert_eq!(
            (docs.count(), rows.groups[1].count()),
            ("(29 findings)".to_string(), "(1 finding)".to_string())
        );
        assert_eq!(rows.more, (5, 5, 10));
        assert_eq!(
            rows.note().unwrap(),
            "The first 2 findings are listed; the other 43 are grouped by cause and route (5 of \
             them, in 5 more groups with 10 conflicts, are not shown); --output json lists every \
             finding."
        );
        // Few findings: all listed, nothing to say.
        let rows = finding_rows(&all[..3], 25);
        assert_eq!(
            (rows.listed.len(), rows.groups.len(), rows.more),
            (3, 0, (0, 0, 0))
        );
        assert_eq!(rows.note(), None);
    }

    /// Control characters from a log never reach a terminal as they are.
    #[test]
    fn visible_escapes_control_characters() {
        assert_eq!(visible("/orders/7"), "/orders/7");
        assert_eq!(visible("/o/\x1b[2J"), "/o/\\x1b[2J");
        assert_eq!(visible("a\tb\u{7f}\u{85}\0é"), "a b\\x7f\\x85\\x00é");
    }

    /// The top rows, most first and ties by name, whether the list is longer than the top
    /// or not.
    #[test]
    fn keep_top_keeps_the_first_rows_in_order() {
        let rank = |&(n, name): &(u64, &'static str)| (std::cmp::Reverse(n), name);
        let keep_top = |v: &mut Vec<_>, top| keep_top_by(v, top, |a, b| rank(a).cmp(&rank(b)));
        let all = vec![(3, "c"), (1, "a"), (5, "e"), (3, "b"), (4, "d")];
        let mut v = all.clone();
        keep_top(&mut v, 3);
        assert_eq!(v, [(5, "e"), (4, "d"), (3, "b")]);
        let mut v = all.clone();
        keep_top(&mut v, 10);
        assert_eq!(v, [(5, "e"), (4, "d"), (3, "b"), (3, "c"), (1, "a")]);
        let mut v = all;
        keep_top(&mut v, 0);
        assert!(v.is_empty());
    }

    proptest::proptest! {
        /// Gathered in passes that cut the list back, the top rows are those of the whole
        /// list sorted (ties by name, as the reports rank).
        #[test]
        fn top_of_a_stream_is_the_top_of_the_whole(
            counts in proptest::collection::vec(0u64..5, 0..10_000),
            top in 0usize..3000,
        ) {
            let items: Vec<(u64, usize)> = counts.into_iter().zip(0..).collect();
            let cmp = |x: &(u64, usize), y: &(u64, usize)| y.0.cmp(&x.0).then(x.1.cmp(&y.1));
            let mut all = items.clone();
            all.sort_by(cmp);
            all.truncate(top);
            proptest::prop_assert_eq!(top_of(items, top, cmp), all);
        }
    }

    fn rows(requests: &[u64]) -> Vec<TimelineRow> {
        requests
            .iter()
            .enumerate()
            .map(|(i, &n)| TimelineRow {
                start: format!("w{i}"),
                requests: n,
                conflicts: n / 2,
            })
            .collect()
    }

    #[test]
    fn runs_of_empty_windows_fold_into_one_row() {
        let r = rows(&[3, 0, 0, 0, 0, 9, 0, 0, 4, 0, 0, 0]);
        let shown = shown_timeline(&r);
        let w = |i: usize| ShownWindow::Window(&r[i]);
        assert_eq!(
            shown,
            [
                w(0),
                ShownWindow::Empty {
                    first: "w1",
                    last: "w4",
                    windows: 4
                },
                w(5),
                // Two empty windows stay as they are.
                w(6),
                w(7),
                w(8),
                ShownWindow::Empty {
                    first: "w9",
                    last: "w11",
                    windows: 3
                },
            ]
        );
        // Every window is shown once, folded or not.
        let covered: usize = shown
            .iter()
            .map(|s| match s {
                ShownWindow::Window(_) => 1,
                ShownWindow::Empty { windows, .. } => *windows,
            })
            .sum();
        assert_eq!(covered, r.len());
        assert!(shown_timeline(&[]).is_empty());
        let quiet = rows(&[0, 0]);
        assert_eq!(shown_timeline(&quiet).len(), 2);
    }
}
