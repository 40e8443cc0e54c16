//! Root-cause detectors: one file per cause, each behind the small `Detector` trait.
//!
//! A detector reads the per-instance timelines (and per-route counts) and returns findings;
//! each finding *claims* the conflict events it explains. `run` arbitrates so that every
//! conflict line is attributed to at most one primary cause: findings are visited in the
//! detectors' priority order and a claimed event is not handed to a later finding.
//! Adding a cause is adding a file and listing it in `registry()`.

pub mod client_concentration;
pub mod control_plane_conflict;
pub mod deploy_regression;
pub mod duplicate_create;
pub mod expected_exists;
pub mod gateway_generated;
pub mod hot_spot_edit;
pub mod idempotency_conflict;
pub mod in_progress_conflict;
pub mod invisible_writer;
pub mod lock_contention;
pub mod missing_precondition;
pub mod permanent_retry;
pub mod retry_storm;
pub mod schedule;
pub mod signals;
pub mod stale_version;
pub mod state_transition;
#[cfg(test)]
pub mod testkit;

use crate::aggregate::{RouteBuckets, RouteClients};
use crate::record::Micros;
use crate::timeline::{ClientId, EventsByInstance, InstanceId, Timelines};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Incident,
    Info,
}

impl Severity {
    /// The name the JSON report gives it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Incident => "incident",
            Severity::Info => "info",
        }
    }
}

/// Whether a finding is about one instance or a whole route template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Instance,
    Template,
}

impl Scope {
    /// The name the JSON report gives it.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Instance => "instance",
            Scope::Template => "template",
        }
    }
}

/// A reference to one event of one instance's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRef {
    pub instance: InstanceId,
    pub index: usize,
}

/// A set of events of the timelines, a bit per event: a million claimed conflicts were a
/// 34 MB hash set, the peak of a log of a million conflicting instances.
#[derive(Debug, Clone)]
pub struct EventSet {
    bits: Vec<u64>,
}

impl EventSet {
    /// An empty set of `events`' events.
    pub fn new(events: &EventsByInstance) -> EventSet {
        EventSet {
            bits: vec![0; events.events().div_ceil(64)],
        }
    }

    /// Adds `r`, an event of `events` (those the set was made for).
    pub fn insert(&mut self, events: &EventsByInstance, r: EventRef) {
        let k = events.place(r.instance, r.index);
        self.bits[k / 64] |= 1 << (k % 64);
    }

    pub fn contains(&self, events: &EventsByInstance, r: EventRef) -> bool {
        let k = events.place(r.instance, r.index);
        self.bits[k / 64] >> (k % 64) & 1 != 0
    }
}

/// A root cause found in the log.
#[derive(Debug, Clone)]
pub struct Finding {
    pub cause: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    pub template: String,
    /// The instance, for instance-scope findings.
    pub instance: Option<String>,
    /// Affected instances, most conflicts first (up to 20 are reported). Ids, not names: a
    /// finding can span a million instances, whose names the timelines hold once.
    pub instances: Vec<InstanceId>,
    pub start: Micros,
    pub end: Micros,
    /// Clients involved (the conflicting clients first), by id.
    pub clients: Vec<ClientId>,
    pub confidence: f64,
    pub summary: String,
    /// What to change: the cause's text (borrowed: tens of thousands of findings of one cause
    /// shared one text where each held a copy), owned once something is added to it.
    pub advice: Cow<'static, str>,
    /// Events that prove it, in the order to show them (up to 5 are reported).
    pub evidence: Vec<EventRef>,
    /// The conflict events this finding explains.
    pub claims: Vec<EventRef>,
    /// Whether its conflicts bunch at the top of the minute or hour (`schedule`).
    pub schedule: Option<schedule::Alignment>,
}

impl Finding {
    /// Number of conflicts attributed to this finding.
    pub fn conflicts(&self) -> u64 {
        self.claims.len() as u64
    }
}

/// Thresholds the detectors use; every one can be changed with `--threshold NAME=VALUE`.
#[derive(Debug, Clone)]
pub struct Thresholds {
    values: BTreeMap<&'static str, (f64, &'static str)>,
}

impl Default for Thresholds {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        for (name, value, about) in DEFAULT_THRESHOLDS {
            values.insert(*name, (*value, *about));
        }
        Thresholds { values }
    }
}

/// Name, default value and meaning of every threshold.
/// Time windows are never fixed minutes: they are multiples of a sequence's own median gap
/// (`episode_gap_factor`) or of the report bucket (`*_buckets`, about 1/600 of the analysed
/// period rounded to 1 s, 10 s, 5 min, ...), so findings do not depend on the log's length.
pub const DEFAULT_THRESHOLDS: &[(&str, f64, &str)] = &[
    (
        "idempotency_min_in_flight",
        2.0,
        "conflicts on a route retried with the idempotency key of a request still running",
    ),
    (
        "idempotency_min_key_reuse",
        1.0,
        "conflicts on a route that reused a key the client had sent for another operation",
    ),
    (
        "idempotency_min_no_replay",
        3.0,
        "conflicts on a route whose key's first request had already succeeded (no replay)",
    ),
    (
        "gateway_min_conflicts",
        3.0,
        "conflicts on a route the gateway answered itself (or rewrote) before a finding",
    ),
    (
        "min_conflicts",
        3.0,
        "conflicts on one instance before any instance-scope finding",
    ),
    (
        "episode_gap_factor",
        10.0,
        "a gap this many times a sequence's median gap starts a new episode",
    ),
    (
        "retry_storm_min_attempts",
        5.0,
        "conflicts in one blind run of one client before it is a retry storm",
    ),
    (
        "retry_storm_min_self_conflicts",
        3.0,
        "own successes followed within 2 s by the same client's conflict before a storm is said to conflict with itself",
    ),
    (
        "retry_storm_max_gap",
        0.05,
        "median gap of a retry storm, in report buckets (at least the clock resolution)",
    ),
    (
        "retry_storm_max_growth",
        2.0,
        "gap growth (last third / first third) at or above which retries count as backoff",
    ),
    (
        "stale_version_min_repeats",
        3.0,
        "conflicts of one client without a re-read before it is a stale version",
    ),
    (
        "hot_spot_min_writers",
        2.0,
        "distinct writers on the instance during a hot-spot episode",
    ),
    (
        "hot_spot_min_conflict_ratio",
        0.05,
        "conflicts / writes on the instance during a hot-spot episode",
    ),
    (
        "hot_spot_lookback",
        1.0,
        "without a read by the loser, how far before its write a winner may end, in report buckets",
    ),
    (
        "duplicate_create_min_pairs",
        2.0,
        "retried creates (first attempt 2xx) that got 409 before a finding; one suffices after 408/499/5xx/timeout",
    ),
    (
        "duplicate_create_max_gap",
        3.0,
        "longest gap between a create and its retry, in report buckets (or twice the first attempt's duration)",
    ),
    (
        "in_progress_min_conflicts",
        2.0,
        "conflicts between an accepted operation and the first successful write",
    ),
    (
        "in_progress_min_share",
        0.8,
        "share of the episode's conflicts that fall before the first successful write",
    ),
    (
        "lock_min_blocked",
        3.0,
        "blocked attempts during one lock hold before a finding",
    ),
    (
        "lock_long_hold_factor",
        3.0,
        "a hold this many times the median of the other holds on the key makes contention an incident",
    ),
    (
        "state_transition_min_conflicts",
        3.0,
        "conflicts on a route's action/DELETE after a prior state change",
    ),
    (
        "permanent_retry_min_attempts",
        3.0,
        "conflicts of one client's identical request on an instance, with no success of it, before it is a permanent retry",
    ),
    (
        "permanent_retry_min_span_secs",
        600.0,
        "seconds from a permanent retry's first attempt to its last",
    ),
    (
        "permanent_retry_max_median_gap_secs",
        600.0,
        "longest median gap (seconds) of a permanent retry; sparser repeats are create-if-absent probes",
    ),
    (
        "permanent_retry_periodic_cv",
        0.3,
        "gap coefficient of variation below which a permanent retry is periodic (a bot's or sync's cadence)",
    ),
    (
        "control_plane_min_sync_attempts",
        5.0,
        "identical conflicts of a configuration sync tool on one instance, with no success of it, before it is a sync loop",
    ),
    (
        "control_plane_max_sync_cv",
        0.25,
        "gap coefficient of variation of a sync loop's attempts (its sync interval)",
    ),
    (
        "control_plane_min_iac_instances",
        3.0,
        "sibling instances (one parent) an infrastructure-as-code client conflicts on within the window below",
    ),
    (
        "control_plane_iac_window_secs",
        10.0,
        "longest gap (seconds) between the conflicts of one infrastructure-as-code burst",
    ),
    (
        "deploy_min_conflicts",
        20.0,
        "conflicts on the route after the change point",
    ),
    (
        "deploy_min_rate_ratio",
        5.0,
        "conflict rate after / before the change point",
    ),
    (
        "deploy_rate_floor",
        0.001,
        "baseline conflict rate used when the route had none before",
    ),
    (
        "deploy_min_clients",
        3.0,
        "distinct clients with conflicts after the change point",
    ),
    (
        "deploy_min_instances",
        3.0,
        "distinct instances with conflicts after the change point",
    ),
    (
        "deploy_max_instance_share",
        0.5,
        "largest share of post-change conflicts one instance may hold (else it is a hot spot, not the route)",
    ),
    (
        "deploy_min_baseline_share",
        0.25,
        "share of the period that must lie before the change point",
    ),
    (
        "deploy_min_after_share",
        0.05,
        "share of the period that must lie after the change point",
    ),
    (
        "deploy_max_volume_change",
        2.0,
        "write volume per bucket may change by at most this factor across the change point",
    ),
    (
        "deploy_min_g",
        10.83,
        "log-likelihood-ratio statistic G of the rate change (10.83: p < 0.001)",
    ),
    (
        "missing_precondition_min_conflicts",
        5.0,
        "428 responses to writes on one route before a finding",
    ),
    (
        "expected_exists_min_conflicts",
        20.0,
        "single create conflicts on a route before an info finding",
    ),
    (
        "expected_exists_min_share",
        0.3,
        "share of the route's conflicts that are single create conflicts",
    ),
    (
        "invisible_writer_min_conflicts",
        5.0,
        "conflicts on one instance right after the client's own read, with no write in sight, within the window below",
    ),
    (
        "invisible_writer_window_secs",
        3600.0,
        "the window (seconds) those conflicts must fall within",
    ),
    (
        "schedule_min_conflicts",
        20.0,
        "conflicts of a finding (the runs of one job are one finding) before they are checked for alignment to the minute or hour",
    ),
    (
        "schedule_min_minute_share",
        0.4,
        "share of those conflicts in seconds 0-4 of a minute that marks scheduled jobs (8% expected; 10% with whole-second times)",
    ),
    (
        "schedule_min_hour_share",
        0.3,
        "share of those conflicts within 10 s of the hour that marks scheduled jobs (0.6% expected)",
    ),
    (
        "client_concentration_min_conflicts",
        20.0,
        "conflicts of one client on one route before it is compared with the route's other clients",
    ),
    (
        "client_concentration_min_ratio_factor",
        10.0,
        "a client's conflicts / writes on a route this many times the other clients' marks it",
    ),
    (
        "client_concentration_max_write_share",
        0.2,
        "or: at least half the route's conflicts with at most this share of its writes",
    ),
    (
        "client_concentration_min_peer_writes",
        60.0,
        "writes by the route's other clients (three at least) before a client is compared with them",
    ),
    (
        "arbitration_min_kept",
        0.5,
        "share of its claims a finding must keep after higher-priority causes took theirs",
    ),
];

impl Thresholds {
    pub fn get(&self, name: &str) -> f64 {
        self.values
            .get(name)
            .map(|v| v.0)
            .unwrap_or_else(|| panic!("unknown threshold {name}"))
    }

    /// Sets `NAME=VALUE`; the name must be a known threshold.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (name, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("threshold '{spec}' must be NAME=VALUE"))?;
        let value: f64 = value
            .trim()
            .parse()
            .ok()
            // Counts, shares, factors and gaps: none is negative, and NaN would pass no test.
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("threshold '{spec}': '{value}' is not a number ≥ 0"))?;
        match self.values.get_mut(name.trim()) {
            Some(v) => {
                v.0 = value;
                Ok(())
            }
            None => Err(format!(
                "unknown threshold '{name}' (known: {})",
                self.values.keys().copied().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64, &'static str)> + '_ {
        self.values.iter().map(|(k, (v, a))| (*k, *v, *a))
    }
}

/// What detectors read.
pub struct Context<'a> {
    pub timelines: &'a Timelines,
    /// Per-template counts by bucket (all requests).
    pub routes: &'a RouteBuckets,
    /// Per template, the writes and conflicts of each client with enough conflicts to be
    /// compared with the rest (by candidate number, see `candidates`), and who else wrote.
    pub route_clients: &'a FxHashMap<String, RouteClients>,
    /// The names of those clients, by candidate number.
    pub candidates: &'a [String],
    pub bucket_us: i64,
    /// First and last request time of the whole analysis.
    pub period: (Micros, Micros),
    pub thresholds: &'a Thresholds,
}

/// One root cause.
pub trait Detector: Sync {
    /// The `cause` name (a contract: users' scripts match on it).
    fn cause(&self) -> &'static str;
    fn detect(&self, cx: &Context<'_>) -> Vec<Finding>;
}

/// Every detector, in arbitration priority order (earlier claims conflicts first).
/// Order (root-causes.md §5.3): idempotency_conflict (D4: a conflict about a key the log
/// shows, even when a gateway plugin answered it) > gateway_generated (D13: a conflict the
/// service never saw has no cause in it) > control_plane_conflict (D13: a sync tool's loop or
/// an infrastructure-as-code burst names its tool) > duplicate_create (D3) >
/// in_progress_conflict (D5) > lock_contention (D8) > retry_storm (D2) > stale_version,
/// hot_spot_edit (D1) > state_transition (D6) > missing_precondition (D9, 428) >
/// permanent_retry (D6: what is left of a request re-sent for minutes that never succeeds) >
/// deploy_regression (D11, route-wide: it keeps only what no
/// instance-level cause explains) > expected_exists (D7) > invisible_writer (D10: what the
/// log cannot show comes after all it can). `client_concentration` (D12) is an overlay that
/// `run` applies after arbitration: it takes only the conflicts none of these explains.
pub fn registry() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(idempotency_conflict::IdempotencyConflict),
        Box::new(gateway_generated::GatewayGenerated),
        Box::new(control_plane_conflict::ControlPlaneConflict),
        Box::new(duplicate_create::DuplicateCreate),
        Box::new(in_progress_conflict::InProgressConflict),
        Box::new(lock_contention::LockContention),
        Box::new(retry_storm::RetryStorm),
        Box::new(stale_version::StaleVersion),
        Box::new(hot_spot_edit::HotSpotEdit),
        Box::new(state_transition::StateTransition),
        Box::new(missing_precondition::MissingPrecondition),
        Box::new(permanent_retry::PermanentRetry),
        Box::new(deploy_regression::DeployRegression),
        Box::new(expected_exists::ExpectedExists),
        Box::new(invisible_writer::InvisibleWriter),
    ]
}

/// Every `cause` name a finding can carry: the detectors' and the overlay's.
pub fn causes() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = registry().iter().map(|d| d.cause()).collect();
    v.push(client_concentration::CAUSE);
    v
}

/// Runs every detector and arbitrates overlapping claims. Findings come back sorted by
/// conflicts (descending), then cause, template and instance.
pub fn run(cx: &Context<'_>) -> Vec<Finding> {
    let detectors = registry();
    let min_kept = cx.thresholds.get("arbitration_min_kept");
    let events = &cx.timelines.events;
    let mut claimed = EventSet::new(events);
    let mut out = Vec::new();
    // Detectors only read the timelines, so they run side by side; arbitration then takes
    // their findings in priority order, as if they had run one after another.
    let found: Vec<Vec<Finding>> = {
        use rayon::prelude::*;
        // Each detector's time with the phases' (`WHY409_TIMINGS`, for profiling): one slow
        // detector holds up the whole phase.
        let timed = std::env::var_os("WHY409_TIMINGS").is_some();
        detectors
            .par_iter()
            .map(|d| {
                let start = std::time::Instant::now();
                let found = d.detect(cx);
                if timed {
                    let took = start.elapsed().as_secs_f64();
                    eprintln!("why409:   detector {}: {took:.3}s", d.cause());
                }
                found
            })
            .collect()
    };
    for findings in found {
        for mut f in findings {
            let had = f.claims.len();
            f.claims.retain(|&c| !claimed.contains(events, c));
            // A finding whose conflicts are mostly explained by higher-priority causes is
            // dropped rather than reported with the leftovers.
            if had > 0 && (f.claims.is_empty() || (f.claims.len() as f64) < min_kept * had as f64) {
                continue;
            }
            f.claims.iter().for_each(|&c| claimed.insert(events, c));
            out.push(f);
        }
    }
    let mut out = merge_recurring(out, cx.period);
    client_concentration::overlay(cx, &mut out);
    schedule::annotate(
        &mut out,
        cx.timelines,
        cx.thresholds.get("schedule_min_conflicts") as usize,
        cx.thresholds.get("schedule_min_minute_share"),
        cx.thresholds.get("schedule_min_hour_share"),
    );
    sort_findings(&mut out);
    out
}

/// Instance findings of one cause on one instance are episodes of one problem (a job that
/// fires every minute makes one per run): they are merged into the first, which then spans
/// them all and says how often it happened, instead of filling the table with copies.
fn merge_recurring(findings: Vec<Finding>, period: (Micros, Micros)) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut first: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut episodes: Vec<usize> = Vec::with_capacity(findings.len());
    // The first conflict of each merged finding's latest episode, quoted after the first
    // episode's evidence to show that it recurred.
    let mut latest: Vec<Option<EventRef>> = Vec::with_capacity(findings.len());
    // The clients of each merged finding, once it has taken in a second episode: looked up
    // in its list, a record written by 100,000 clients was quadratic.
    let mut clients_of: FxHashMap<usize, rustc_hash::FxHashSet<ClientId>> = FxHashMap::default();
    for f in findings {
        let key = match (&f.scope, &f.instance) {
            (Scope::Instance, Some(instance)) => (f.cause, instance.clone()),
            _ => {
                out.push(f);
                episodes.push(1);
                latest.push(None);
                continue;
            }
        };
        let Some(&k) = first.get(&key) else {
            first.insert(key, out.len());
            out.push(f);
            episodes.push(1);
            latest.push(None);
            continue;
        };
        let into = &mut out[k];
        episodes[k] += 1;
        into.start = into.start.min(f.start);
        into.end = into.end.max(f.end);
        into.confidence = into.confidence.max(f.confidence);
        into.severity = into.severity.min(f.severity);
        let seen = (clients_of.entry(k)).or_insert_with(|| into.clients.iter().copied().collect());
        for c in f.clients {
            if seen.insert(c) {
                into.clients.push(c);
            }
        }
        for i in f.instances {
            if !into.instances.contains(&i) {
                into.instances.push(i);
            }
        }
        latest[k] = f.claims.first().copied();
        // Sorted once all episodes are in: sorting at each of thousands of episodes (a
        // record edited all day) made the merge quadratic.
        into.claims.extend(f.claims);
    }
    for ((f, n), last) in out.iter_mut().zip(episodes).zip(latest) {
        if n > 1 {
            f.claims.sort_unstable();
            f.claims.dedup();
        }
        if let Some(r) = last.filter(|r| !f.evidence.contains(r)) {
            // Among the first five, which the reports quote.
            let at = f.evidence.len().min(4);
            f.evidence.insert(at, r);
        }
        if n > 1 {
            let (first_at, last_at) = signals::clocks(f.start, f.end, period);
            f.summary.push_str(&format!(
                " It happened {n} times in all, from {} to {} ({} conflicts); the first is described.",
                first_at,
                last_at,
                f.claims.len()
            ));
        }
    }
    out
}

/// Stable order for findings: by conflicts (descending), then cause, template, instance.
pub fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        b.conflicts().cmp(&a.conflicts()).then_with(|| {
            (a.severity, a.cause, &a.template, &a.instance).cmp(&(
                b.severity,
                b.cause,
                &b.template,
                &b.instance,
            ))
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(instance: &str, start_s: i64, claims: &[(u32, usize)], clients: &[u32]) -> Finding {
        let claims: Vec<EventRef> = (claims.iter())
            .map(|&(instance, index)| EventRef { instance, index })
            .collect();
        Finding {
            cause: "stale_version",
            severity: Severity::Info,
            scope: Scope::Instance,
            template: "/orders/{id}".into(),
            instance: Some(instance.into()),
            instances: vec![0],
            start: start_s * 1_000_000,
            end: (start_s + 5) * 1_000_000,
            clients: clients.to_vec(),
            confidence: 0.5,
            summary: "first".into(),
            advice: Cow::Borrowed(""),
            evidence: claims.iter().take(1).copied().collect(),
            claims,
            schedule: None,
        }
    }

    /// Episodes of one cause on one instance become the first one, spanning them all, with
    /// every episode's claims once and in order however many episodes there are (a record
    /// edited all day has tens of thousands).
    #[test]
    fn recurring_episodes_merge_into_the_first() {
        let mut findings: Vec<Finding> = (0..2_000)
            .map(|k| {
                episode(
                    "/orders/1",
                    10 * k,
                    &[(0, 2 * k as usize + 1), (0, 2 * k as usize)],
                    &[k as u32 % 3],
                )
            })
            .collect();
        // An episode that repeats a claim, and a finding on another instance, kept apart.
        findings.push(episode("/orders/1", 30_000, &[(0, 7), (0, 4_000)], &[9]));
        findings.push(episode("/orders/2", 5, &[(1, 0)], &[4]));
        let out = merge_recurring(findings, (0, 30_005 * 1_000_000));
        assert_eq!(out.len(), 2);
        let merged = &out[0];
        let want: Vec<EventRef> = (0..=4_000)
            .map(|index| EventRef { instance: 0, index })
            .collect();
        assert_eq!(merged.claims, want);
        assert_eq!((merged.start, merged.end), (0, 30_005 * 1_000_000));
        assert_eq!(merged.clients, vec![0, 1, 2, 9]);
        // The first episode's evidence, then the latest episode's first conflict.
        assert_eq!(
            merged.evidence,
            vec![
                EventRef {
                    instance: 0,
                    index: 1
                },
                EventRef {
                    instance: 0,
                    index: 7
                }
            ]
        );
        assert!(
            merged.summary.ends_with(
                "It happened 2001 times in all, from 00:00:00 to 08:20:05 (4001 conflicts); the first is described."
            ),
            "{}",
            merged.summary
        );
        assert_eq!(
            out[1].claims,
            vec![EventRef {
                instance: 1,
                index: 0
            }]
        );
        assert_eq!(out[1].summary, "first");
    }
}
