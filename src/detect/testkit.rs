//! Test helper for detector unit tests: writes a small scenario as timed requests and runs a
//! detector (or the whole registry) on it, without going through log parsing.

use super::{Context, Detector, Finding, Thresholds};
use crate::agent::Agent;
use crate::aggregate::{Observation, Tally};
use crate::analyze::round_window;
use crate::name_list::NameList;
use crate::record::{Method, Micros, Origin};
use crate::resource::{TemplateCache, Templater};
use crate::timeline::{InstanceId, RawEvent, TimelineBuilder, Timelines};
use crate::timestamp::MICROS_PER_SEC;

/// 2026-03-02T09:00:00Z, the scenarios' time zero.
pub const T0: Micros = 1_772_442_000 * MICROS_PER_SEC;

/// One request of a scenario: its logged time (the end) and what the log says of it.
#[derive(Debug)]
struct Planned {
    time: Micros,
    duration: Option<f64>,
    client: String,
    method: Method,
    path: String,
    status: u16,
    origin: Origin,
    idempotency_key: Option<String>,
    agent: Agent,
}

/// A scenario under construction.
#[derive(Default, Debug)]
pub struct Log {
    now: f64,
    /// Duration of the next requests in seconds; `None` logs no duration.
    duration: Option<f64>,
    /// Who answers the next requests (the upstream unless said otherwise).
    origin: Origin,
    /// The idempotency key the next requests log.
    idempotency_key: Option<String>,
    /// The tool the next requests' user agent names.
    agent: Agent,
    raw: Vec<Planned>,
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

    /// Who produces the following responses (`Origin::Unknown` when the log would not say).
    pub fn origin(&mut self, origin: Origin) -> &mut Log {
        self.origin = origin;
        self
    }

    /// The idempotency key the following requests log (`None`: no key).
    pub fn key(&mut self, key: Option<&str>) -> &mut Log {
        self.idempotency_key = key.map(str::to_string);
        self
    }

    /// The user agent of the following requests (`""` for none).
    pub fn agent(&mut self, user_agent: &str) -> &mut Log {
        self.agent = Agent::of(user_agent);
        self
    }

    pub fn req(&mut self, client: &str, method: &str, path: &str, status: u16) -> &mut Log {
        let t = T0 + (self.now * 1e6).round() as Micros;
        self.raw.push(Planned {
            time: t,
            duration: self.duration,
            client: client.to_string(),
            method: Method::parse(method.as_bytes()),
            path: path.to_string(),
            status,
            origin: self.origin,
            idempotency_key: self.idempotency_key.clone(),
            agent: self.agent,
        });
        self
    }

    /// The timelines, the counts, the bucket and the clients' names by number (every client
    /// is numbered here, and a candidate, as if each had enough conflicts).
    fn build(&self) -> (Timelines, Tally, Micros, Vec<String>) {
        let templater = Templater::new(Vec::new());
        let first = self.raw.iter().map(|r| r.time).min().unwrap_or(T0);
        let last = self.raw.iter().map(|r| r.time).max().unwrap_or(T0);
        let bucket_us = round_window(last - first, 600);
        let mut tally = Tally::default();
        let mut templates = TemplateCache::default();
        let mut builder = TimelineBuilder::default();
        let mut names: Vec<String> = Vec::new();
        for (k, r) in self.raw.iter().enumerate() {
            let Planned {
                time: t,
                duration: d,
                client,
                method,
                path,
                status,
                origin,
                idempotency_key,
                agent,
            } = r;
            let conflict = matches!(status, 409 | 412 | 423 | 428);
            let template_id = templater.template_id(path, &mut templates);
            let number = match names.iter().position(|n| n == client) {
                Some(k) => k,
                None => {
                    names.push(client.clone());
                    names.len() - 1
                }
            };
            tally.observe(
                &Observation {
                    time: *t,
                    template_id,
                    template: templates.name(template_id),
                    instance: path,
                    key: None,
                    client,
                    client_number: Some(number as u32),
                    candidate: Some(number as u32),
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
                    offset: k as u64,
                    conflict,
                    origin: *origin,
                    // As the pass does: known on conflicts only.
                    agent: if conflict { *agent } else { Agent::OTHER },
                },
                false,
            );
            if let Some(key) = idempotency_key {
                builder.note_idempotency_key(0, k as u64, key);
            }
        }
        tally.seal();
        let (mut tl, _) = builder.build(NameList::default(), &NameList::default());
        for id in 0..tl.instance_count() {
            let conflicted = tl.events[id].iter().any(|e| e.conflict());
            tl.set_conflicted(id as InstanceId, conflicted);
        }
        (tl, tally, bucket_us, names)
    }

    /// The first and last request time, as the analysis takes its period.
    fn period(&self) -> (Micros, Micros) {
        let times = self.raw.iter().map(|r| r.time);
        (times.clone().min().unwrap_or(0), times.max().unwrap_or(0))
    }

    /// The timelines the detectors would see.
    pub fn timelines(&self) -> Timelines {
        self.build().0
    }

    /// The names of a finding's clients (the timelines number them in name order, so the
    /// ids of a finding from this log name the same clients here).
    pub fn clients_of(&self, f: &Finding) -> Vec<String> {
        let tl = self.timelines();
        f.clients
            .iter()
            .map(|&c| tl.client(c).to_string())
            .collect()
    }

    /// The paths of a finding's instances.
    pub fn instances_of(&self, f: &Finding) -> Vec<String> {
        let tl = self.timelines();
        (f.instances.iter())
            .map(|&i| tl.instance(i).path.to_string())
            .collect()
    }

    /// Calls `f` with the context the detectors would see.
    pub fn with_context<R>(&self, f: impl FnOnce(&Context<'_>) -> R) -> R {
        let (tl, tally, bucket_us, names) = self.build();
        f(&Context {
            timelines: &tl,
            routes: &tally.routes,
            route_clients: &tally.route_clients,
            candidates: &names,
            bucket_us,
            period: self.period(),
            thresholds: &self.thresholds,
        })
    }

    /// Runs one detector.
    pub fn run_one(&self, d: &dyn Detector) -> Vec<Finding> {
        self.with_context(|cx| d.detect(cx))
    }

    /// Runs every detector with arbitration; returns (cause, instance or template) pairs.
    pub fn run_all(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = self
            .with_context(super::run)
            .into_iter()
            .map(|f| (f.cause, f.instance.unwrap_or(f.template)))
            .collect();
        v.sort();
        v
    }
}

/// Random scenarios on one busy item, its actions, its lock, its collection and a neighbour
/// (a few clients, every method, successes and conflicts, whole and fractional seconds, with
/// and without durations): for checking an indexed search against the plain one it replaces.
pub fn scenario() -> impl proptest::strategy::Strategy<Value = Log> {
    use proptest::prelude::*;
    const PATHS: [&str; 6] = [
        "/orders/1",
        "/orders/1/ship",
        "/orders/1/cancel",
        "/orders/1/lock",
        "/orders",
        "/orders/2",
    ];
    const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "PATCH"];
    const STATUSES: [u16; 8] = [200, 201, 202, 204, 409, 412, 423, 404];
    const CLIENTS: [&str; 3] = ["a", "b", "c"];
    let request = (
        0u32..1200,
        any::<bool>(),
        0..CLIENTS.len(),
        0..METHODS.len(),
        0..PATHS.len(),
        0..STATUSES.len(),
        prop_oneof![Just(None), (0u32..3000).prop_map(Some)],
    );
    proptest::collection::vec(request, 1..120).prop_map(|reqs| {
        let mut log = Log::new();
        for (tenths, whole, c, m, p, s, ms) in reqs {
            let secs = if whole {
                (tenths / 10) as f64
            } else {
                tenths as f64 / 10.0
            };
            log.timed(ms.map(|ms| ms as f64 / 1000.0)).at(secs).req(
                CLIENTS[c],
                METHODS[m],
                PATHS[p],
                STATUSES[s],
            );
        }
        log
    })
}
