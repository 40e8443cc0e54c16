//! HTML renderer: one self-contained page (inline CSS and SVG; no script, nothing fetched)
//! with the sections of the Markdown report, for a postmortem attached to a ticket or a
//! scheduled report published as a file.
//!
//! Every text from the logs is escaped for HTML here; the caller passes the report through
//! `Report::visible` first, so control characters arrive as `\xNN` escapes.

use super::{
    Evidence, FindingReport, Report, ShownWindow, TimelineRow, UNEXPLAINED_HINT, between, percent,
    short_time, when,
};
use crate::timestamp::human_span;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::io::{self, Write};

/// The chart draws at most this many bars; longer timelines merge neighbouring windows.
const MAX_BARS: usize = 480;

const STYLE: &str = r#"
:root { --fg: #1f2328; --dim: #59636e; --bg: #fff; --rule: #d1d9e0; --band: #f6f8fa;
  --conflict: #cf222e; --requests: #8c959f; --info: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --dim: #9198a1; --bg: #0d1117; --rule: #3d444d; --band: #151b23;
    --conflict: #f85149; --requests: #656c76; --info: #4493f8; }
}
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); max-width: 1180px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid var(--rule); }
h3 { margin-bottom: .3em; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--band); padding: .7em; overflow-x: auto; white-space: pre; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid var(--rule); padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: var(--band); } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.name { word-break: break-all; }
.dim { color: var(--dim); }
.badge { display: inline-block; border-radius: 1em; padding: 0 .6em; font-size: .85em;
  color: #fff; background: var(--info); }
.badge.incident { background: var(--conflict); }
.warnings { border-left: 4px solid var(--conflict); background: var(--band); padding: .4em 1em; }
.finding { border: 1px solid var(--rule); border-radius: 6px; padding: .2em 1em .6em; margin: 1em 0; }
.advice { border-left: 4px solid var(--info); padding-left: .8em; }
svg .c { fill: var(--conflict); } svg .r { fill: var(--requests); }
svg text { fill: var(--dim); font: 11px system-ui, sans-serif; }
"#;

pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(out, "<meta name=\"generator\" content=\"why409\">")?;
    let period = match (&r.period.start, &r.period.end) {
        (Some(s), Some(e)) => format!("{} UTC", super::period(s, e)),
        _ => "no requests".into(),
    };
    writeln!(out, "<title>why409 report: {}</title>", text(&period))?;
    writeln!(out, "<style>{STYLE}</style></head><body>")?;
    writeln!(out, "<h1>why409 report</h1>")?;
    overview(r, &period, out)?;
    findings(r, out)?;
    resources(r, out)?;
    instances(r, out)?;
    clients(r, out)?;
    unexplained(r, out)?;
    timeline(r, out)?;
    skipped(r, out)?;
    writeln!(out, "</body></html>")
}

fn overview(r: &Report, period: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<p class=\"dim\">{}</p>", text(period))?;
    writeln!(out, "<table>")?;
    for i in r.listed_inputs() {
        writeln!(
            out,
            "<tr><th>input</th><td><code>{}</code> ({}, {} bytes): {}</td></tr>",
            text(&i.path),
            text(&i.format),
            i.bytes,
            text(&i.line_counts())
        )?;
    }
    if let Some(rest) = r.unlisted_inputs() {
        writeln!(out, "<tr><th>inputs</th><td>{}</td></tr>", text(&rest))?;
    }
    if let Some(line) = r.not_read_inputs(str::to_string) {
        writeln!(out, "<tr><th>not read</th><td>{}</td></tr>", text(&line))?;
    }
    if !r.name_positions.is_empty() {
        let names: Vec<String> = (r.name_positions.iter())
            .map(|n| format!("<code>{}</code>", text(n)))
            .collect();
        writeln!(
            out,
            "<tr><th>names</th><td>{} (more than {} distinct words there; <code>--route</code> to name it otherwise)</td></tr>",
            names.join(", "),
            crate::names::MAX_LITERAL_CHILDREN
        )?;
    }
    writeln!(
        out,
        "<tr><th>requests</th><td>{}</td></tr>",
        r.request_counts()
    )?;
    let by: Vec<String> = (r.totals.by_status.iter())
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    writeln!(
        out,
        "<tr><th>conflicts</th><td>{} = {} of requests ({})</td></tr>",
        r.totals.conflicts,
        percent(r.totals.conflict_rate),
        by.join(", ")
    )?;
    if let Some(note) = r.context_note() {
        writeln!(out, "<tr><th>context</th><td>{}</td></tr>", text(&note))?;
    }
    writeln!(out, "</table>")?;
    // A report read later keeps what stderr said when it was made.
    if !r.warnings.is_empty() {
        writeln!(out, "<div class=\"warnings\"><strong>Warnings</strong><ul>")?;
        for w in &r.warnings {
            writeln!(out, "<li>{}</li>", text(w))?;
        }
        writeln!(out, "</ul></div>")?;
    }
    Ok(())
}

/// The instance a finding is about, or its template.
fn subject(f: &FindingReport) -> &str {
    f.instance.as_deref().unwrap_or(&f.template)
}

fn findings(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<h2 id=\"causes\">Root causes</h2>")?;
    if r.findings.is_empty() {
        return writeln!(out, "<p>{}</p>", r.explained());
    }
    let names = [
        "#",
        "cause",
        "resource",
        "scope",
        "conflicts",
        "clients",
        "when (UTC)",
        "confidence",
    ];
    head(out, &names, &[4, 5, 7])?;
    let rows = r.finding_rows(super::LISTED_FINDINGS);
    for (k, f) in rows.listed.iter().enumerate() {
        let n = k + 1;
        let cells = [
            format!("<td class=\"n\"><a href=\"#finding-{n}\">{n}</a></td>"),
            format!(
                "<td><span class=\"badge {}\">{}</span></td>",
                f.severity.name(),
                f.cause
            ),
            name(subject(f)),
            format!("<td>{}</td>", f.scope.name()),
            num(f.conflicts),
            num(f.client_count),
            format!("<td>{}</td>", when(f)),
            num(format!("{:.2}", f.confidence)),
        ];
        writeln!(out, "<tr>{}</tr>", cells.concat())?;
    }
    for g in &rows.groups {
        let cells = [
            "<td class=\"n\"></td>".to_string(),
            format!(
                "<td><span class=\"badge {}\">{}</span></td>",
                g.severity.name(),
                g.cause
            ),
            name(&format!("{} {}", g.template, g.count())),
            "<td>grouped</td>".to_string(),
            num(g.conflicts),
            "<td></td>".to_string(),
            format!("<td>{}</td>", super::between(g.start, g.end)),
            "<td></td>".to_string(),
        ];
        writeln!(out, "<tr>{}</tr>", cells.concat())?;
    }
    writeln!(out, "</table>")?;
    if let Some(note) = rows.note() {
        writeln!(out, "<p>{}</p>", text(&note))?;
    }
    writeln!(out, "<p>{}</p>", r.explained())?;
    for (k, f) in rows.listed.iter().enumerate() {
        finding(r, k + 1, f, out)?;
    }
    Ok(())
}

fn finding(r: &Report, n: usize, f: &FindingReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<section class=\"finding\" id=\"finding-{n}\">")?;
    writeln!(
        out,
        "<h3>#{n} <span class=\"badge {}\">{}</span> {} on <code>{}</code></h3>",
        f.severity.name(),
        f.severity.name(),
        f.cause,
        text(subject(f))
    )?;
    writeln!(out, "<p>{}</p>", text(&f.summary))?;
    writeln!(
        out,
        "<p class=\"advice\"><strong>What to change:</strong> {}</p>",
        text(&f.advice)
    )?;
    writeln!(
        out,
        "<p class=\"dim\">{} conflicts, {} UTC, confidence {:.2}; template <code>{}</code></p>",
        f.conflicts,
        when(f),
        f.confidence,
        text(&f.template)
    )?;
    listed(out, ("client", "clients"), &f.clients, f.client_count)?;
    if f.instance.is_none() {
        listed(
            out,
            ("instance", "instances"),
            &f.instances,
            f.instance_count,
        )?;
    }
    quoted(r, &f.evidence, out)?;
    writeln!(out, "</section>")
}

/// Log lines in a block, each after its `path:line:`.
fn quoted<'a>(
    r: &Report,
    lines: impl IntoIterator<Item = &'a Evidence>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut lines = lines.into_iter().peekable();
    if lines.peek().is_none() {
        return Ok(());
    }
    writeln!(out, "<pre>")?;
    for e in lines {
        writeln!(
            out,
            "<span class=\"dim\">{}:</span> {}",
            text(&r.place(e)),
            text(&e.text)
        )?;
    }
    writeln!(out, "</pre>")
}

/// A finding's clients or instances: those listed, and how many there are in all.
fn listed(
    out: &mut dyn Write,
    (one, many): (&str, &str),
    shown: &[String],
    all: u64,
) -> io::Result<()> {
    if shown.is_empty() {
        return Ok(());
    }
    let items: Vec<String> = (shown.iter())
        .map(|x| format!("<code>{}</code>", text(x)))
        .collect();
    let more = if all > shown.len() as u64 {
        format!(
            " <span class=\"dim\">(the first {} of {all})</span>",
            shown.len()
        )
    } else {
        String::new()
    };
    let what = if all == 1 { one } else { many };
    writeln!(
        out,
        "<p><strong>{all} {what}:</strong> {}{more}</p>",
        items.join(", ")
    )
}

/// A table's header row: the columns in `numeric` right-aligned.
fn head(out: &mut dyn Write, names: &[&str], numeric: &[usize]) -> io::Result<()> {
    write!(out, "<table><tr>")?;
    for (k, n) in names.iter().enumerate() {
        let class = if numeric.contains(&k) {
            " class=\"n\""
        } else {
            ""
        };
        write!(out, "<th{class}>{n}</th>")?;
    }
    writeln!(out, "</tr>")
}

/// A name from the log as a cell: escaped, in code, breaking anywhere.
fn name(s: &str) -> String {
    format!("<td class=\"name\"><code>{}</code></td>", text(s))
}

/// A number as a cell, right-aligned.
fn num(v: impl std::fmt::Display) -> String {
    format!("<td class=\"n\">{v}</td>")
}

/// A ranked list's section: its heading and table, nothing when the list is empty.
fn ranked(
    out: &mut dyn Write,
    (id, title): (&str, &str),
    (names, numeric): (&[&str], &[usize]),
    rows: Vec<String>,
) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h2 id=\"{id}\">{title}</h2>")?;
    head(out, names, numeric)?;
    for row in rows {
        writeln!(out, "<tr>{row}</tr>")?;
    }
    writeln!(out, "</table>")
}

fn resources(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows = (r.resources.iter())
        .map(|x| {
            [
                name(&x.template),
                num(x.requests),
                num(x.writes),
                num(x.conflicts),
                num(percent(x.conflict_rate)),
                num(x.clients),
                num(x.instances),
                name(&x.top_instance),
            ]
            .concat()
        })
        .collect();
    let names = [
        "template",
        "requests",
        "writes",
        "conflicts",
        "rate",
        "clients",
        "instances",
        "top instance",
    ];
    let title = ("resources", "Top resources by conflicts");
    ranked(out, title, (&names, &[1, 2, 3, 4, 5, 6]), rows)
}

fn instances(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows = (r.instances.iter())
        .map(|x| {
            let span = format!(
                "<td>{}</td>",
                text(&between(&x.first_conflict, &x.last_conflict))
            );
            [
                name(&x.instance),
                num(x.requests),
                num(x.conflicts),
                num(x.clients),
                span,
            ]
            .concat()
        })
        .collect();
    let names = [
        "instance",
        "requests",
        "conflicts",
        "clients",
        "first → last conflict (UTC)",
    ];
    let title = ("instances", "Top instances by conflicts");
    ranked(out, title, (&names, &[1, 2, 3]), rows)
}

/// The conflicts no finding explains, by instance, with their first lines.
fn unexplained(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows = (r.unexplained.iter())
        .map(|u| {
            [
                name(&u.instance),
                num(u.conflicts),
                num(u.handled),
                format!("<td>{}</td>", text(&super::statuses(&u.by_status))),
                num(u.client_count),
                format!(
                    "<td>{}</td>",
                    text(&between(&u.first_conflict, &u.last_conflict))
                ),
            ]
            .concat()
        })
        .collect();
    let names = [
        "instance",
        "conflicts",
        "handled",
        "statuses",
        "clients",
        "when (UTC)",
    ];
    let title = ("unexplained", r.unexplained_heading());
    ranked(out, (title.0, &title.1), (&names, &[1, 2, 4]), rows)?;
    if let Some(cmd) = r.unexplained_command(false) {
        writeln!(out, "<p>{UNEXPLAINED_HINT} <code>{}</code></p>", text(&cmd))?;
    }
    quoted(r, r.unexplained.iter().flat_map(|u| &u.lines), out)
}

fn clients(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows = (r.clients.iter())
        .map(|x| {
            [
                name(&x.client),
                num(x.requests),
                num(x.conflicts),
                num(percent(x.conflict_rate)),
                num(x.templates),
                name(&x.user_agents_text()),
            ]
            .concat()
        })
        .collect();
    let title = ("clients", "Top clients by conflicts");
    ranked(out, title, (&super::CLIENT_COLUMNS, &[1, 2, 3, 4]), rows)
}

/// Windows merged into at most `MAX_BARS` bars: each bar's first window start and sums.
fn bars(rows: &[TimelineRow]) -> (usize, Vec<(&str, u64, u64)>) {
    let per = rows.len().div_ceil(MAX_BARS).max(1);
    let bars = rows
        .chunks(per)
        .map(|c| {
            let (req, conf) =
                (c.iter()).fold((0, 0), |(r, k), x| (r + x.requests, k + x.conflicts));
            (c[0].start.as_str(), req, conf)
        })
        .collect();
    (per, bars)
}

/// Requests (grey, upper chart) and conflicts (red, lower chart) per window, each on its
/// own scale, in an inline SVG; each bar's tooltip gives its window and counts.
fn chart(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let (per, bars) = bars(&r.timeline);
    let (max_req, max_conf) = (bars.iter()).fold((1, 1), |(a, b), x| (a.max(x.1), b.max(x.2)));
    const W: f64 = 960.0;
    const H: f64 = 70.0;
    const LEFT: f64 = 70.0;
    let bw = (W - LEFT) / bars.len() as f64;
    writeln!(
        out,
        "<svg role=\"img\" aria-label=\"requests and conflicts per window\" viewBox=\"0 0 {W} {}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">",
        2.0 * H + 40.0
    )?;
    // Each chart: its label, bar class, top edge, scale and the count it draws.
    type Count = fn(&(&str, u64, u64)) -> u64;
    let charts: [(&str, &str, f64, u64, Count); 2] = [
        ("requests", "r", 0.0, max_req, |b| b.1),
        ("conflicts", "c", H + 20.0, max_conf, |b| b.2),
    ];
    for (label, class, top, max, count) in charts {
        writeln!(
            out,
            "<text x=\"0\" y=\"{}\">{label}</text><text x=\"0\" y=\"{}\">max {max}</text>",
            top + 14.0,
            top + 28.0
        )?;
        for (k, bar) in bars.iter().enumerate() {
            let &(start, req, conf) = bar;
            let v = count(bar);
            if v == 0 {
                continue;
            }
            let h = (v as f64 / max as f64 * H).max(1.0);
            writeln!(
                out,
                "<rect class=\"{class}\" x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{h:.2}\"><title>{}: {req} requests, {conf} conflicts</title></rect>",
                LEFT + k as f64 * bw,
                top + H - h,
                (bw * 0.85).max(0.5),
                attr(&short_time(start))
            )?;
        }
    }
    let (first, last) = (
        &r.timeline[0].start,
        &r.timeline[r.timeline.len() - 1].start,
    );
    writeln!(
        out,
        "<text x=\"{LEFT}\" y=\"{}\">{}</text><text x=\"{W}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        2.0 * H + 36.0,
        text(&short_time(first)),
        2.0 * H + 36.0,
        text(&short_time(last))
    )?;
    writeln!(out, "</svg>")?;
    if per > 1 {
        writeln!(
            out,
            "<p class=\"dim\">Each bar is {per} windows ({}).</p>",
            human_span(r.window_seconds * per as i64 * 1_000_000)
        )?;
    }
    Ok(())
}

fn timeline(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.timeline.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h2 id=\"timeline\">Timeline ({} windows, UTC)</h2>",
        human_span(r.window_seconds * 1_000_000)
    )?;
    chart(r, out)?;
    write!(out, "<details><summary>Every window</summary>")?;
    head(out, &["window start", "requests", "conflicts"], &[1, 2])?;
    for shown in super::shown_timeline(&r.timeline) {
        let (start, requests, conflicts) = match shown {
            ShownWindow::Window(x) => (short_time(&x.start), x.requests, x.conflicts),
            ShownWindow::Empty {
                first,
                last,
                windows,
            } => (
                format!(
                    "{} … {} ({windows} empty windows)",
                    short_time(first),
                    short_time(last)
                ),
                0,
                0,
            ),
        };
        writeln!(
            out,
            "<tr><td>{start}</td>{}{}</tr>",
            num(requests),
            num(conflicts)
        )?;
    }
    writeln!(out, "</table></details>")
}

fn skipped(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.inputs.iter().all(|i| i.skipped == 0) {
        return Ok(());
    }
    writeln!(out, "<h2 id=\"skipped\">Skipped lines</h2>")?;
    head(out, &["input", "reason", "lines"], &[2])?;
    for i in r.listed_inputs().iter().filter(|i| i.skipped > 0) {
        for (reason, n) in &i.skip_reasons {
            let cells = [name(&i.path), format!("<td>{}</td>", text(reason)), num(n)];
            writeln!(out, "<tr>{}</tr>", cells.concat())?;
        }
    }
    let unlisted = r.unlisted_skips();
    for u in &unlisted {
        let more = format!(
            "<td>{}</td>",
            super::counted(u.inputs as u64, "more input", "more inputs")
        );
        let cells = [more, format!("<td>{}</td>", text(u.reason)), num(u.lines)];
        writeln!(out, "<tr>{}</tr>", cells.concat())?;
    }
    writeln!(out, "</table>")?;
    let listed = (r.listed_inputs().iter())
        .flat_map(|i| i.skip_examples.iter().map(move |e| (i.path.as_str(), e)));
    let examples: Vec<_> = listed
        .chain(unlisted.iter().filter_map(|u| u.example))
        .collect();
    if !examples.is_empty() {
        writeln!(out, "<details><summary>Examples</summary><pre>")?;
        for (path, e) in examples {
            writeln!(
                out,
                "<span class=\"dim\">{}:{}: ({})</span> {}",
                text(path),
                e.line,
                text(&e.reason),
                text(&e.text)
            )?;
        }
        writeln!(out, "</pre></details>")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<TimelineRow> {
        (0..n)
            .map(|i| TimelineRow {
                start: format!("w{i}"),
                requests: 2,
                conflicts: (i % 2) as u64,
            })
            .collect()
    }

    /// Short timelines keep a bar per window; long ones merge neighbours into at most
    /// `MAX_BARS` bars and lose no request.
    #[test]
    fn long_timelines_merge_into_fewer_bars() {
        let short = rows(100);
        let (per, b) = bars(&short);
        assert_eq!((per, b.len()), (1, 100));
        assert_eq!(b[3], ("w3", 2, 1));
        let long = rows(100_000);
        let (per, b) = bars(&long);
        assert_eq!(per, 209);
        assert!(b.len() <= MAX_BARS);
        assert_eq!(b[1].0, "w209");
        assert_eq!(b.iter().map(|x| x.1).sum::<u64>(), 200_000);
        assert_eq!(b.iter().map(|x| x.2).sum::<u64>(), 50_000);
    }
}
