//! `why409 explain`: every request on one instance as a timeline, each conflict labelled with
//! the finding it was attributed to, so a postmortem can show the sequence of events.

use super::table::{
    Fit, Shape, Style, fit, para, para_ending, path_para, right, table, write_fitted,
};
use super::{
    counted, date_of, dates_where_they_change, one_day, short_time, time_column, top_of, visible,
};
use crate::analyze::Analysis;
use crate::detect::EventRef;
use crate::timestamp::rfc3339;
use comfy_table::{Cell, Color};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The inputs read, by the number events give (`ExplainedEvent::input`).
    pub inputs: Vec<String>,
    pub instance: String,
    pub template: Option<String>,
    /// The instance's requests and conflicts; a route's on all its instances.
    pub requests: u64,
    pub conflicts: u64,
    pub events: Vec<ExplainedEvent>,
    /// The findings that name this instance.
    pub findings: Vec<String>,
    /// When the instance has no requests: instances to try instead, most conflicts first
    /// (those of the route when `instance` is one of the routes, else any); of a route none
    /// of whose instances had conflicts, its instances with the most requests.
    pub suggestions: Vec<Suggestion>,
    /// Whether `instance` is a route template as the report prints them (`/orders/{id}`)
    /// rather than an instance.
    pub is_route: bool,
}

/// An instance `explain` could show instead, with its conflicts.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub instance: String,
    pub template: String,
    pub conflicts: u64,
    /// The requests on it, where suggestions are ranked by them (a route without
    /// conflicts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
}

/// How many instances a miss suggests.
const SUGGESTED: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct ExplainedEvent {
    /// Start of the request (end − duration when a duration is logged).
    pub start: String,
    /// The time as logged.
    pub time: String,
    pub client: String,
    pub method: &'static str,
    pub status: u16,
    pub duration_ms: Option<f64>,
    pub conflict: bool,
    /// The cause this conflict was attributed to, if any.
    pub finding: Option<&'static str>,
    /// Who produced the response, where the log tells: `upstream`, `gateway` (no upstream
    /// answered) or `rewritten` (the gateway replaced the upstream's status).
    pub answered_by: Option<&'static str>,
    /// The idempotency key the line logged, where the format logs request headers.
    pub idempotency_key: Option<String>,
    pub input: u32,
    pub line: u64,
}

impl Explanation {
    /// A request's input path (`?` for a number out of range, which `build` never makes).
    pub fn input_of(&self, ev: &ExplainedEvent) -> &str {
        self.inputs
            .get(ev.input as usize)
            .map_or("?", String::as_str)
    }

    /// Where a request is: its line number, led by its input's path when there are several.
    pub fn line_of(&self, ev: &ExplainedEvent) -> String {
        if self.inputs.len() > 1 {
            format!("{}:{}", self.input_of(ev), ev.line)
        } else {
            ev.line.to_string()
        }
    }

    /// The inputs the requests are in, in the order of their first request.
    pub fn files(&self) -> Vec<u32> {
        let mut files: Vec<u32> = Vec::new();
        for ev in &self.events {
            if !files.contains(&ev.input) {
                files.push(ev.input);
            }
        }
        files
    }

    pub fn build(a: &Analysis, instance: &str) -> Explanation {
        let tl = &a.timelines;
        let inputs: Vec<String> = a.sources.iter().map(|s| s.input.name.clone()).collect();
        let mut labels: BTreeMap<EventRef, &'static str> = BTreeMap::new();
        let mut findings = Vec::new();
        for f in &a.findings {
            for c in &f.claims {
                labels.entry(*c).or_insert(f.cause);
            }
            if f.instance.as_deref() == Some(instance)
                || (f.instances.iter()).any(|&i| tl.instance(i).path == instance)
            {
                findings.push(format!("{}: {}", f.cause, f.summary));
            }
        }
        let Some(id) = tl.find_instance(instance) else {
            // A route is no instance, but its totals are known (a route with no conflicts
            // has no instance in the timelines to suggest).
            let route = a.tally.templates.get(instance);
            return Explanation {
                inputs,
                instance: instance.to_string(),
                template: None,
                requests: route.map_or(0, |c| c.requests),
                conflicts: route.map_or(0, |c| c.conflicts),
                events: Vec::new(),
                findings,
                suggestions: match suggestions(a, route.is_some().then_some(instance)) {
                    s if s.is_empty() && route.is_some() => busiest(a, instance),
                    s => s,
                },
                is_route: route.is_some(),
            };
        };
        let events: Vec<ExplainedEvent> = tl.events[id as usize]
            .iter()
            .enumerate()
            .map(|(k, e)| ExplainedEvent {
                start: rfc3339(e.start),
                time: rfc3339(if e.timed() && e.end != e.start {
                    e.end
                } else {
                    e.start
                }),
                client: tl.client(e.client).to_string(),
                method: e.method().as_str(),
                status: e.status,
                duration_ms: e.timed().then(|| (e.duration() as f64) / 1000.0),
                conflict: e.conflict(),
                finding: labels
                    .get(&EventRef {
                        instance: id,
                        index: k,
                    })
                    .copied(),
                answered_by: e.origin().name(),
                idempotency_key: tl.idempotency_key(e).map(str::to_string),
                input: e.input,
                line: a.line_number(e.input, e.offset()),
            })
            .collect();
        Explanation {
            inputs,
            instance: instance.to_string(),
            template: Some(tl.instance(id).template.to_string()),
            requests: events.len() as u64,
            conflicts: events.iter().filter(|e| e.conflict).count() as u64,
            events,
            findings,
            suggestions: Vec::new(),
            is_route: false,
        }
    }
}

/// Instances to explain instead of one with no requests: the instances with the most
/// conflicts, of `route` when one was asked for, ranked and counted as the report's instances
/// table ranks and counts them.
fn suggestions(a: &Analysis, route: Option<&str>) -> Vec<Suggestion> {
    let candidates =
        (a.conflicting_instances()).filter(|(_, c)| route.is_none_or(|r| c.template.as_str() == r));
    let ranked = top_of(candidates, SUGGESTED, |x, y| {
        (y.1.conflicts.cmp(&x.1.conflicts)).then_with(|| a.cmp_instance_names(x.0, y.0))
    });
    (ranked.into_iter())
        .map(|(inst, c)| Suggestion {
            instance: a.instance_name(inst).to_string(),
            template: c.template.to_string(),
            conflicts: c.conflicts,
            requests: None,
        })
        .collect()
}

/// The instances of `route` with the most requests (counted by the pass when `explain` is
/// given a route: `Settings::counted_route`), most first, then by name.
fn busiest(a: &Analysis, route: &str) -> Vec<Suggestion> {
    let ranked = top_of(a.tally.route_instances.iter(), SUGGESTED, |x, y| {
        (y.1.cmp(x.1)).then_with(|| x.0.cmp(y.0))
    });
    (ranked.into_iter())
        .map(|(instance, &requests)| Suggestion {
            instance: instance.to_string(),
            template: route.to_string(),
            conflicts: 0,
            requests: Some(requests),
        })
        .collect()
}

/// What a miss prints: its paragraphs (`code` marks up the paths), then one item per
/// suggestion.
fn miss_lines(
    e: &Explanation,
    code: impl Fn(&str) -> String,
    space: &str,
) -> (Vec<String>, Vec<String>) {
    let path = code(&visible(&e.instance));
    let first = if e.is_route {
        format!(
            "{path} is a route: {} and {} on its instances in these logs. explain shows one \
             instance{}",
            counted(e.requests, "request", "requests"),
            counted(e.conflicts, "conflict", "conflicts"),
            match e.suggestions.first() {
                None => ": give one of its paths.",
                Some(s) if s.requests.is_some() => "; those with the most requests:",
                Some(_) => "; those with the most conflicts:",
            }
        )
    } else {
        format!("No requests on {path} in these logs.")
    };
    let mut paragraphs = vec![first];
    if !e.is_route && !e.suggestions.is_empty() {
        paragraphs.push("The instances with the most conflicts:".into());
    }
    let items = (e.suggestions.iter()).map(|s| {
        let n = match s.requests {
            Some(r) => counted(r, "request", "requests"),
            None => counted(s.conflicts, "conflict", "conflicts"),
        };
        let n = n.replace(' ', space);
        format!("{} ({n})", code(&visible(&s.instance)))
    });
    (paragraphs, items.collect())
}

pub fn render_json(e: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, e).map_err(io::Error::from)?;
    writeln!(out)
}

/// The duration column: `42ms`, or `-` where the log has none.
fn duration(ev: &ExplainedEvent) -> String {
    (ev.duration_ms).map_or_else(|| "-".into(), |d| format!("{d:.0}ms"))
}

/// The status, with who answered when it was not the upstream: `409 (gateway)`.
fn status_text(ev: &ExplainedEvent) -> String {
    match ev.answered_by {
        Some(by) if by != "upstream" => format!("{} ({by})", ev.status),
        _ => ev.status.to_string(),
    }
}

/// The finding column: the cause a conflict is attributed to, `(none)` for a conflict no
/// finding explains, nothing for other requests.
fn finding(ev: &ExplainedEvent) -> &'static str {
    ev.finding
        .unwrap_or(if ev.conflict { "(none)" } else { "" })
}

/// The timeline as Markdown, for a postmortem ticket: the instance, its findings, and a
/// table of its requests with their line numbers.
pub fn render_markdown(e: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    use super::markdown::{cell, code, esc};
    writeln!(out, "# why409 explain: {}\n", code(&visible(&e.instance)))?;
    if e.events.is_empty() {
        let (paragraphs, items) = miss_lines(e, code, " ");
        writeln!(out, "{}", paragraphs.join("\n\n"))?;
        if !items.is_empty() {
            writeln!(out)?;
        }
        for item in items {
            writeln!(out, "- {item}")?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "Template {}: {}, {}.\n",
        code(&visible(e.template.as_deref().unwrap_or("?"))),
        counted(e.requests, "request", "requests"),
        counted(e.conflicts, "conflict", "conflicts")
    )?;
    for f in &e.findings {
        writeln!(out, "- **finding:** {}", esc(&visible(f)))?;
    }
    if !e.findings.is_empty() {
        writeln!(out)?;
    }
    writeln!(
        out,
        "| start (UTC) | client | method | status | duration | finding | line |"
    )?;
    writeln!(out, "|---|---|---|---:|---:|---|---:|")?;
    for ev in &e.events {
        // Conflicts stand out in bold.
        let status = if ev.conflict {
            format!("**{}**", status_text(ev))
        } else {
            status_text(ev)
        };
        writeln!(
            out,
            "| {} | {} | {} | {status} | {} | {} | {} |",
            short_time(&ev.start),
            cell(&visible(&ev.client)),
            ev.method,
            duration(ev),
            finding(ev),
            esc(&visible(&e.line_of(ev)))
        )?;
    }
    Ok(())
}

/// What a CSV of no rows leaves unsaid, for stderr: that nothing was found, or that the
/// path is a route, with its totals.
pub fn csv_note(e: &Explanation) -> Option<String> {
    if !e.events.is_empty() {
        return None;
    }
    let path = visible(&e.instance);
    let what = if e.is_route {
        format!(
            "{path} is a route ({} and {} on its instances)",
            counted(e.requests, "request", "requests"),
            counted(e.conflicts, "conflict", "conflicts")
        )
    } else {
        format!("no requests on {path} in these logs")
    };
    let instead = match e.suggestions.first() {
        Some(s) => format!("; try {}", visible(&s.instance)),
        None => String::new(),
    };
    Some(format!("{what}: the CSV has its header only{instead}"))
}

/// The timeline as CSV, one row per request (the JSON's fields, the input by its path); a
/// name a spreadsheet would run as a formula gets a leading `'`.
pub fn render_csv(e: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let header = [
        "instance",
        "start",
        "time",
        "client",
        "method",
        "status",
        "duration_ms",
        "conflict",
        "finding",
        "answered_by",
        "idempotency_key",
        "input",
        "line",
    ];
    w.write_record(header).map_err(io::Error::other)?;
    for ev in &e.events {
        w.write_record([
            &*super::csv::cell(&e.instance),
            &ev.start,
            &ev.time,
            &super::csv::cell(&ev.client),
            ev.method,
            &ev.status.to_string(),
            &ev.duration_ms.map_or(String::new(), |d| d.to_string()),
            if ev.conflict { "true" } else { "false" },
            ev.finding.unwrap_or(""),
            ev.answered_by.unwrap_or(""),
            &super::csv::cell(ev.idempotency_key.as_deref().unwrap_or("")),
            &super::csv::cell(e.input_of(ev)),
            &ev.line.to_string(),
        ])
        .map_err(io::Error::other)?;
    }
    w.flush()
}

pub fn render_table(e: &Explanation, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    // Texts from the logs are shown `visible` (a logged ESC would reach the terminal).
    let instance = visible(&e.instance);
    if e.events.is_empty() {
        // An item's count (`(20 conflicts)`) is kept whole.
        let (paragraphs, items) = miss_lines(e, str::to_string, "\u{a0}");
        for p in paragraphs {
            para(out, style, "", &p)?;
        }
        for item in items {
            path_para(out, style, "  ", &item)?;
        }
        return Ok(());
    }
    // Requests all on one day: the first line names it and the rows give times only;
    // over several, it names the first and the last.
    let day = one_day(e.events.iter().map(|ev| (&*ev.start, &*ev.start)));
    let dates = (e.events.iter()).filter_map(|ev| date_of(&ev.start));
    let days = match day {
        Some(d) => format!("all on {d} (UTC)"),
        None => match (dates.clone().min(), dates.max()) {
            (Some(first), Some(last)) if first != last => {
                format!("from {first} to {last} (UTC)")
            }
            _ => String::new(),
        },
    };
    let first = format!(
        "{instance} ({}): {}, {}{}",
        visible(e.template.as_deref().unwrap_or("?")),
        counted(e.requests, "request", "requests"),
        counted(e.conflicts, "conflict", "conflicts"),
        if days.is_empty() { "" } else { ";" }
    );
    para_ending(out, style, "", &first, &days)?;
    for f in &e.findings {
        para(out, style, "  ", &format!("finding: {}", visible(f)))?;
    }
    // With several inputs the rows' files are numbered, their paths listed whole above
    // (to copy): a row's `path:line` would not fit the width.
    let files = if e.inputs.len() > 1 {
        e.files()
    } else {
        vec![]
    };
    if let [only] = files[..] {
        let path = visible(&e.inputs[only as usize]);
        path_para(out, style, "  ", &format!("lines of {path}"))?;
    } else {
        for (n, &input) in files.iter().enumerate() {
            let path = visible(&e.inputs[input as usize]);
            path_para(out, style, "  ", &format!("file {}: {path}", n + 1))?;
        }
    }
    let mut t = table(
        style,
        &[
            "start (UTC)",
            "client",
            "method",
            "status",
            "duration",
            "finding",
            "file",
            "line",
        ],
    );
    let mut starts = time_column(e.events.iter().map(|ev| &*ev.start), day);
    if day.is_none() {
        dates_where_they_change(&mut starts);
    }
    for (ev, start) in e.events.iter().zip(starts) {
        let mut status = Cell::new(status_text(ev));
        if style.color && ev.conflict {
            status = status.fg(Color::Red);
        } else if style.color && (200..300).contains(&ev.status) {
            status = status.fg(Color::Green);
        }
        t.add_row(vec![
            Cell::new(start),
            Cell::new(visible(&ev.client)),
            Cell::new(ev.method),
            status,
            Cell::new(duration(ev)),
            Cell::new(finding(ev)),
            Cell::new(match files.iter().position(|&f| f == ev.input) {
                Some(n) => (n + 1).to_string(),
                None => String::new(),
            }),
            Cell::new(ev.line),
        ]);
    }
    let columns = [
        Fit::Times,
        Fit::Name,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
    ];
    // A log without durations would fill their column with `-`, and rows of one file its
    // number's.
    let timed = e.events.iter().any(|ev| ev.duration_ms.is_some());
    let file: &[usize] = if files.len() < 2 { &[6] } else { &[] };
    let untimed = [&[4], file].concat();
    let mut drops: Vec<&[usize]> = if timed {
        vec![file, &untimed]
    } else {
        vec![&untimed]
    };
    // Where every conflict has the one finding told above the table, its column says no
    // more than that line and the statuses: the last to go before rows become records.
    let mut found = e
        .events
        .iter()
        .filter(|ev| ev.conflict)
        .map(|ev| ev.finding);
    let one_finding = match found.next() {
        Some(first) => first.is_some() && found.all(|f| f == first),
        None => true,
    };
    let unfound = [&untimed[..], &[5]].concat();
    if one_finding {
        drops.push(&unfound);
    }
    for &c in drops[0] {
        if let Some(c) = t.column_mut(c) {
            c.set_constraint(comfy_table::ColumnConstraint::Hidden);
        }
    }
    let shape = fit(&mut t, style, &columns, &drops);
    // Records show what the widest table would, but the one finding the heading tells.
    if shape == Shape::Records
        && one_finding
        && let Some(c) = t.column_mut(5)
    {
        c.set_constraint(comfy_table::ColumnConstraint::Hidden);
    }
    right(&mut t, &[3, 4, 6, 7]);
    // Times under a date line up with it.
    if day.is_none() {
        right(&mut t, &[0]);
    }
    write_fitted(out, &t, shape, style)
}
