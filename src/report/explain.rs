//! `why409 explain`: every request on one instance as a timeline, each conflict labelled with
//! the finding it was attributed to, so a postmortem can show the sequence of events.

use super::table::{Fit, Style, fit, para, right, table};
use super::visible;
use crate::analyze::Analysis;
use crate::detect::EventRef;
use crate::timestamp::rfc3339;
use comfy_table::{Cell, Color};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub instance: String,
    pub template: Option<String>,
    pub requests: u64,
    pub conflicts: u64,
    pub events: Vec<ExplainedEvent>,
    /// The findings that name this instance.
    pub findings: Vec<String>,
}

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
    pub input: u32,
    pub line: u64,
}

impl Explanation {
    pub fn build(a: &Analysis, instance: &str) -> Explanation {
        let tl = &a.timelines;
        let mut labels: BTreeMap<EventRef, &'static str> = BTreeMap::new();
        let mut findings = Vec::new();
        for f in &a.findings {
            for c in &f.claims {
                labels.entry(*c).or_insert(f.cause);
            }
            if f.instance.as_deref() == Some(instance) || f.instances.iter().any(|i| i == instance)
            {
                findings.push(format!("{}: {}", f.cause, f.summary));
            }
        }
        let Some(id) = tl.find_instance(instance) else {
            return Explanation {
                instance: instance.to_string(),
                template: None,
                requests: 0,
                conflicts: 0,
                events: Vec::new(),
                findings,
            };
        };
        let events: Vec<ExplainedEvent> = tl.events[id as usize]
            .iter()
            .enumerate()
            .map(|(k, e)| ExplainedEvent {
                start: rfc3339(e.start),
                time: rfc3339(if e.timed && e.end != e.start {
                    e.end
                } else {
                    e.start
                }),
                client: tl.client(e.client).to_string(),
                method: e.method.as_str(),
                status: e.status,
                duration_ms: e.timed.then(|| (e.duration() as f64) / 1000.0),
                conflict: e.conflict,
                finding: labels
                    .get(&EventRef {
                        instance: id,
                        index: k,
                    })
                    .copied(),
                input: e.input,
                line: e.line,
            })
            .collect();
        Explanation {
            instance: instance.to_string(),
            template: Some(tl.instance(id).template.to_string()),
            requests: events.len() as u64,
            conflicts: events.iter().filter(|e| e.conflict).count() as u64,
            events,
            findings,
        }
    }
}

pub fn render_json(e: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, e).map_err(io::Error::from)?;
    writeln!(out)
}

pub fn render_table(e: &Explanation, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    // Texts from the logs are shown `visible` (a logged ESC would reach the terminal).
    let instance = visible(&e.instance);
    if e.events.is_empty() {
        writeln!(out, "No requests on {instance} in these logs.")?;
        return Ok(());
    }
    writeln!(
        out,
        "{instance} ({}): {} requests, {} conflicts",
        visible(e.template.as_deref().unwrap_or("?")),
        e.requests,
        e.conflicts
    )?;
    for f in &e.findings {
        para(out, style, "  ", &format!("finding: {}", visible(f)))?;
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
            "line",
        ],
    );
    for ev in &e.events {
        let mut status = Cell::new(ev.status);
        if style.color && ev.conflict {
            status = status.fg(Color::Red);
        } else if style.color && (200..300).contains(&ev.status) {
            status = status.fg(Color::Green);
        }
        t.add_row(vec![
            Cell::new(ev.start.replace('T', " ").trim_end_matches('Z')),
            Cell::new(visible(&ev.client)),
            Cell::new(ev.method),
            status,
            Cell::new(
                ev.duration_ms
                    .map(|d| format!("{d:.0}ms"))
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::new(
                ev.finding
                    .unwrap_or(if ev.conflict { "(none)" } else { "" }),
            ),
            Cell::new(ev.line),
        ]);
    }
    let columns = [
        // The date above the time when the row is narrow.
        Fit::Rest(12),
        Fit::Name,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
    ];
    fit(&mut t, style, &columns, &[&[], &[4]]);
    right(&mut t, &[3, 4, 6]);
    writeln!(out, "{t}")
}
