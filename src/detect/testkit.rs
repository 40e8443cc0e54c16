//! Test helper for detector unit tests: writes a small scenario as timed requests and runs a
//! detector (or the whole registry) on it, without going through log parsing.

use super::{Context, Detector, Finding, Thresholds};
use crate::aggregate::{Observation, Tally};
use crate::analyze::round_window;
use crate::record::{Method, Micros};
use crate::resource::{TemplateCache, Templater};
use crate::timeline::{RawEvent, TimelineBuilder, Timelines};
use crate::timestamp::MICROS_PER_SEC;

/// 2026-03-02T09:00:00Z, the scenarios' time zero.
pub const T0: Micros = 1_772_442_000 * MICROS_PER_SEC;

/// A scenario under construction.
#[derive(Default)]
pub struct Log {
    now: f64,
    /// Duration of the next requests in seconds; `None` logs no duration.
    duration: Option<f64>,
    raw: Vec<(Micros, Option<f64>, String, Method, String, u16)>,
    pub thresholds: Thresholds,
}

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    /// Moves the clock to `secs` after T0 (the logged time, which is the request's end).
    pub fn at(&mut self, secs: f64) -> &mut Log {
        self.now = secs;
        self
    }

    /// Logs durations (seconds) for the following requests.
    pub fn timed(&mut self, secs: Option<f64>) -> &mut Log {
        self.duration = secs;
        self
    }

    pub fn req(&mut self, client: &str, method: &str, path: &str, status: u16) -> &mut Log {
        let t = T0 + (self.now * 1e6).round() as Micros;
        self.raw.push((
            t,
            self.duration,
            client.to_string(),
            Method::parse(method.as_bytes()),
            path.to_string(),
            status,
        ));
        self
    }

    fn build(&self) -> (Timelines, Tally, Micros) {
        let templater = Templater::new(Vec::new());
        let first = self.raw.iter().map(|r| r.0).min().unwrap_or(T0);
        let last = self.raw.iter().map(|r| r.0).max().unwrap_or(T0);
        let bucket_us = round_window(last - first, 600);
        let mut tally = Tally::default();
        let mut templates = TemplateCache::default();
        let mut builder = TimelineBuilder::default();
        for (k, (t, d, client, method, path, status)) in self.raw.iter().enumerate() {
            let conflict = matches!(status, 409 | 412 | 423 | 428);
            let template_id = templater.template_id(path, &mut templates);
            tally.observe(
                &Observation {
                    time: *t,
                    template_id,
                    template: templates.name(template_id),
                    instance: path,
                    client,
                    status: *status,
                    write: method.is_write(),
                    conflict,
                },
                bucket_us,
            );
            let dur = d.map(|s| (s * 1e6).round() as Micros);
            builder.push(
                RawEvent {
                    start: t - dur.unwrap_or(0),
                    end: *t,
                    timed: dur.is_some(),
                    client: client.clone(),
                    method: *method,
                    status: *status,
                    instance: path.clone(),
                    template: templates.name(template_id).to_string(),
                    input: 0,
                    line: k as u64 + 1,
                    offset: 0,
                    len: 0,
                    conflict,
                },
                false,
            );
        }
        tally.seal();
        let mut tl = builder.build();
        for (id, inst) in tl.instances.iter_mut().enumerate() {
            inst.conflicted = tl.events[id].iter().any(|e| e.conflict);
        }
        (tl, tally, bucket_us)
    }

    /// Runs one detector.
    pub fn run_one(&self, d: &dyn Detector) -> Vec<Finding> {
        let (tl, tally, bucket_us) = self.build();
        let cx = Context {
            timelines: &tl,
            routes: &tally.routes,
            bucket_us,
            period: (tally.first.unwrap_or(0), tally.last.unwrap_or(0)),
            thresholds: &self.thresholds,
        };
        d.detect(&cx)
    }

    /// Runs every detector with arbitration; returns (cause, instance or template) pairs.
    pub fn run_all(&self) -> Vec<(&'static str, String)> {
        let (tl, tally, bucket_us) = self.build();
        let cx = Context {
            timelines: &tl,
            routes: &tally.routes,
            bucket_us,
            period: (tally.first.unwrap_or(0), tally.last.unwrap_or(0)),
            thresholds: &self.thresholds,
        };
        let mut v: Vec<(&'static str, String)> = super::run(&cx)
            .into_iter()
            .map(|f| (f.cause, f.instance.unwrap_or(f.template)))
            .collect();
        v.sort();
        v
    }
}
