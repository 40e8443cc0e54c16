//! Shared building blocks for the detectors: what a request *is* (create, action, lock
//! operation, read), the clock resolution of the log, episode splitting from a sequence's own
//! gaps, gap statistics, and assembling a `Finding` with its time span and client list.
//!
//! Everything here is scale-free: windows come from the data (a sequence's median gap, the
//! report's bucket size), never from fixed minutes, so a 3-second incident in a one-minute log
//! and a two-hour incident in a week of logs are handled alike.

use super::{Context, EventRef, Finding, Scope, Severity};
use crate::record::{Method, Micros};
use crate::resource;
use crate::timeline::{ClientId, Event, InstanceId, Timelines};
use crate::timestamp::MICROS_PER_SEC;
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;
use std::ops::Range;

/// Declares the action segments once, as a list (`ACTIONS`) and as a match (`is_action`):
/// detectors ask of every event whether its path ends in one, and a match on literals
/// compares a few bytes in line where a search of the list called `memcmp` once per action
/// of the same length (a million conflicting instances spent most of their detector time
/// there).
macro_rules! actions {
    ($($a:literal),* $(,)?) => {
        /// Action segments: a POST to `…/{id}/<action>` changes the state of `…/{id}`
        /// (root-causes.md §5.1).
        pub const ACTIONS: &[&str] = &[$($a),*];

        /// Is `segment` one of `ACTIONS`?
        #[inline]
        pub fn is_action(segment: &str) -> bool {
            matches!(segment, $($a)|*)
        }
    };
}

actions!(
    "cancel",
    "capture",
    "refund",
    "void",
    "merge",
    "approve",
    "reject",
    "submit",
    "close",
    "reopen",
    "start",
    "stop",
    "restart",
    "retry",
    "publish",
    "archive",
    "transition",
    "confirm",
    "complete",
    "ship",
    "pay",
    "fulfil",
    "fulfill",
    "activate",
    "deactivate",
    "suspend",
    "resume",
    "export",
    "import",
    "sync",
);

/// The last path segment of an instance.
pub fn last_segment(path: &str) -> &str {
    // The crate's inline search: detectors ask this of every event they look at.
    crate::bytes::rfind(path.as_bytes(), b'/').map_or(path, |p| &path[p + 1..])
}

/// Is the instance an action endpoint (`/orders/7/cancel`)?
pub fn is_action_path(path: &str) -> bool {
    is_action(last_segment(path))
}

/// Is the instance a lock endpoint (`…/lock`, `…/locks`, `…/unlock`)?
pub fn is_lock_path(path: &str) -> bool {
    matches!(last_segment(path), "lock" | "locks" | "unlock")
}

/// What a request does to a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOp {
    Acquire,
    Release,
}

/// The lock operation of a request, if it is one: WebDAV LOCK/UNLOCK, POST/PUT `…/lock`
/// (acquire), DELETE `…/lock` or POST `…/unlock` (release).
pub fn lock_op(e: &Event, path: &str) -> Option<LockOp> {
    match e.method() {
        Method::Lock => return Some(LockOp::Acquire),
        Method::Unlock => return Some(LockOp::Release),
        Method::Post | Method::Put | Method::Delete => {}
        _ => return None,
    }
    match (last_segment(path), e.method()) {
        ("lock" | "locks", Method::Post | Method::Put) => Some(LockOp::Acquire),
        ("lock" | "locks", Method::Delete) | ("unlock", Method::Post | Method::Put) => {
            Some(LockOp::Release)
        }
        _ => None,
    }
}

/// The resource a lock operation or a blocked request is about: the parent of a lock
/// endpoint, else the instance itself.
pub fn locked_resource(path: &str) -> &str {
    if is_lock_path(path) {
        resource::parent(path).unwrap_or(path)
    } else {
        path
    }
}

/// A create: POST to a collection (last segment is a word, not an id, an action or a lock).
pub fn is_create(e: &Event, path: &str) -> bool {
    e.method() == Method::Post
        && !is_action_path(path)
        && !is_lock_path(path)
        && resource::classify(last_segment(path)).is_none()
}

/// A write that updates an existing resource with a version (PUT/PATCH/DELETE, or POST that is
/// neither a create nor a lock operation) — the requests optimistic concurrency guards.
pub fn is_versioned_update(e: &Event, path: &str) -> bool {
    e.is_write() && !is_create(e, path) && lock_op(e, path).is_none()
}

/// Conflict statuses that mean "your version is out of date" (not locked / not required).
pub fn is_version_conflict(e: &Event) -> bool {
    e.conflict() && matches!(e.status, 409 | 412)
}

/// Smallest time difference the log can express: 1 s when every timestamp is a whole second
/// (nginx `$time_local`), else 1 ms. Overlaps closer than this are only "possible".
pub fn clock_resolution(tl: &Timelines) -> Micros {
    let whole = tl
        .events
        .iter()
        .flatten()
        .all(|e| e.start % MICROS_PER_SEC == 0 || e.end % MICROS_PER_SEC == 0);
    if whole { MICROS_PER_SEC } else { 1_000 }
}

/// Median of a list (upper median; 0 for an empty list).
pub fn median(v: &[Micros]) -> Micros {
    if v.is_empty() {
        return 0;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    s[s.len() / 2]
}

/// Gaps between consecutive times.
pub fn gaps(times: &[Micros]) -> Vec<Micros> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// How much the gaps grow: mean of the last third over mean of the first third. Exponential
/// backoff doubles each gap, so it shows as growth ≥ 2; a loop without backoff stays near 1.
/// `floor` (the clock resolution) keeps ties at 1-s resolution from dividing by zero.
pub fn gap_growth(gaps: &[Micros], floor: Micros) -> f64 {
    if gaps.len() < 2 {
        return 1.0;
    }
    let third = gaps.len().div_ceil(3);
    let mean = |s: &[Micros]| s.iter().sum::<Micros>() as f64 / s.len() as f64;
    let first = mean(&gaps[..third]) + floor as f64;
    let last = mean(&gaps[gaps.len() - third..]) + floor as f64;
    last / first
}

/// Splits sorted times into episodes: a new episode starts where the gap exceeds `factor` times
/// the sequence's own median gap (at least `floor`). Scale-free: bursts 100 ms apart and
/// bursts 5 min apart are both split from what surrounds them.
pub fn episodes(times: &[Micros], factor: f64, floor: Micros) -> Vec<Range<usize>> {
    if times.is_empty() {
        return Vec::new();
    }
    let limit = (median(&gaps(times)).max(floor) as f64 * factor) as Micros;
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..times.len() {
        if times[i] - times[i - 1] > limit {
            out.push(start..i);
            start = i;
        }
    }
    out.push(start..times.len());
    out
}

/// Joins neighbouring episodes (from `episodes(times, factor, floor)`) across a lull in which
/// the activity behind them went on: the lull is no longer than the longer of the two
/// episodes, and `activity` (sorted times, e.g. every write on the instance) has no gap above
/// the episode split limit from the last time before the lull to the first after it. A
/// 13-second pause between losses inside a minute of non-stop contention is one incident; a
/// burst an hour after another, or one after the writers went quiet, stays separate.
pub fn join_lulls(
    times: &[Micros],
    eps: Vec<Range<usize>>,
    factor: f64,
    floor: Micros,
    activity: &[Micros],
) -> Vec<Range<usize>> {
    let limit = (median(&gaps(times)).max(floor) as f64 * factor) as Micros;
    let span = |r: &Range<usize>| times[r.end - 1] - times[r.start];
    let busy_through = |a: Micros, b: Micros| {
        let from = activity.partition_point(|&t| t < a);
        let to = activity.partition_point(|&t| t <= b);
        let mut last = a;
        for &t in &activity[from..to] {
            if t - last > limit {
                return false;
            }
            last = t;
        }
        b - last <= limit
    };
    let mut out: Vec<Range<usize>> = Vec::with_capacity(eps.len());
    for ep in eps {
        if let Some(prev) = out.last_mut() {
            let (a, b) = (times[prev.end - 1], times[ep.start]);
            if b - a <= span(prev).max(span(&ep)) && busy_through(a, b) {
                prev.end = ep.end;
                continue;
            }
        }
        out.push(ep);
    }
    out
}

/// Runs of one client's conflicts on one instance with no read of the instance by that client
/// in between (a re-read ends a run: the client refreshed its version). With
/// `split_on_own_success`, the client's own successful write also ends a run. Returns
/// (client, event indices) in time order; `counts` picks the conflicts that take part.
pub fn blind_runs(
    tl: &Timelines,
    id: InstanceId,
    counts: impl Fn(&Event) -> bool,
    split_on_own_success: bool,
) -> Vec<(ClientId, Vec<usize>)> {
    let mut open: BTreeMap<ClientId, Vec<usize>> = BTreeMap::new();
    let mut out = Vec::new();
    for (k, e) in tl.events[id as usize].iter().enumerate() {
        let ends_run =
            e.method().is_read() || (split_on_own_success && e.is_write() && e.is_success());
        if ends_run {
            if let Some(run) = open.remove(&e.client) {
                out.push((e.client, run));
            }
        } else if counts(e) {
            open.entry(e.client).or_default().push(k);
        }
    }
    out.extend(open);
    out.sort_by_key(|(_, run)| run[0]);
    out
}

/// One client's identical conflicting request on one instance, sent again and again with no
/// success of it from its first conflict on: a request that cannot succeed as things stand
/// (`permanent_retry`, and `control_plane_conflict`'s sync loops).
pub struct Repeat {
    pub client: ClientId,
    pub method: Method,
    /// The conflicting attempts, as event indices in time order.
    pub attempts: Vec<usize>,
}

/// The repeats of one instance's timeline with at least `min` attempts: per (client, method),
/// the conflicting writes after that pair's last success (reads in between do not matter: a
/// sync loop reads its state every cycle and still sends what fails).
pub fn unanswered_repeats(events: &[Event], min: usize) -> Vec<Repeat> {
    // Most conflicting instances have one or two conflicts: no map for them.
    if events
        .iter()
        .filter(|e| e.conflict() && e.is_write())
        .count()
        < min.max(1)
    {
        return Vec::new();
    }
    let mut open: BTreeMap<(ClientId, Method), Vec<usize>> = BTreeMap::new();
    for (k, e) in events.iter().enumerate() {
        if !e.is_write() {
            continue;
        }
        if e.conflict() {
            open.entry((e.client, e.method())).or_default().push(k);
        } else if e.is_success()
            && let Some(v) = open.get_mut(&(e.client, e.method()))
        {
            v.clear();
        }
    }
    open.into_iter()
        .filter(|(_, attempts)| attempts.len() >= min.max(1))
        .map(|((client, method), attempts)| Repeat {
            client,
            method,
            attempts,
        })
        .collect()
}

/// Coefficient of variation of gaps (standard deviation over mean): 0 for a fixed cadence,
/// near 1 for random arrivals. `floor` (the clock resolution) is added to the mean so that
/// gaps rounded to whole seconds do not read as irregular.
pub fn gap_cv(gaps: &[Micros], floor: Micros) -> f64 {
    if gaps.is_empty() {
        return 0.0;
    }
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<Micros>() as f64 / n;
    let var = gaps.iter().map(|&g| (g as f64 - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() / (mean + floor as f64)
}

/// Lookups on one instance's timeline that detectors would otherwise answer by scanning it
/// once per conflict (quadratic on a hot instance): each client's reads and successful
/// writes, and all successful writes, as indices in time order. The events must be in start
/// order, as `Timelines` keeps them: searches stop where an earlier start rules the rest out.
/// Indices are kept in 32 bits (an instance's events are fewer than 2^32: each is 40 bytes),
/// half the room on a record that every line of a large log is about.
pub struct Lookup<'t> {
    events: &'t [Event],
    /// (client, index) of the reads, sorted: one client's are a run, in time order.
    reads: Vec<(ClientId, u32)>,
    /// (client, index) of the successful writes, sorted likewise.
    own_successes: Vec<(ClientId, u32)>,
    successes: Vec<u32>,
    /// No request on the instance lasted longer: an event starting before `t - longest`
    /// ended before `t`.
    longest: Micros,
}

impl<'t> Lookup<'t> {
    pub fn new(events: &'t [Event]) -> Lookup<'t> {
        // Sorted lists rather than a map per client: most timelines are a handful of
        // events, where hashing and one allocation per client would cost more than the
        // detectors' searches.
        let mut l = Lookup {
            events,
            reads: Vec::new(),
            own_successes: Vec::new(),
            successes: Vec::new(),
            longest: 0,
        };
        debug_assert!(u32::try_from(events.len()).is_ok());
        for (k, e) in (0u32..).zip(events) {
            if e.method().is_read() {
                l.reads.push((e.client, k));
            }
            if e.is_write() && e.is_success() {
                l.successes.push(k);
                l.own_successes.push((e.client, k));
            }
            l.longest = l.longest.max(e.duration());
        }
        // Pushed in index order, so sorting the pairs keeps each client's in time order.
        l.reads.sort_unstable();
        l.own_successes.sort_unstable();
        l
    }

    /// The client's last read before index `k`.
    pub fn last_read_before(&self, client: ClientId, k: usize) -> Option<usize> {
        let p = self
            .reads
            .partition_point(|&r| r < (client, index(k)))
            .checked_sub(1)?;
        let (c, j) = self.reads[p];
        (c == client).then_some(j as usize)
    }

    /// The client's first read after index `k`.
    pub fn first_read_after(&self, client: ClientId, k: usize) -> Option<usize> {
        first_after(&self.reads, client, k)
    }

    /// The client's first successful write after index `k`.
    pub fn first_own_success_after(&self, client: ClientId, k: usize) -> Option<usize> {
        first_after(&self.own_successes, client, k)
    }

    /// The last successful write at an index below `upto` (other than `skip`) by another
    /// client than `client`, ending within `since..=until`. Searched backwards among the
    /// successful writes only, and only as far back as one could still end by `since`.
    pub fn last_foreign_success(
        &self,
        upto: usize,
        skip: usize,
        client: ClientId,
        since: Micros,
        until: Micros,
    ) -> Option<usize> {
        let below = self.successes.partition_point(|&j| j < index(upto));
        (self.successes[..below].iter())
            .map(|&j| j as usize)
            .rev()
            .take_while(|&j| self.events[j].start.saturating_add(self.longest) >= since)
            .find(|&j| {
                let w = &self.events[j];
                j != skip && w.client != client && w.end >= since && w.end <= until
            })
    }

    /// The first successful write at index `from` or later, other than `skip`.
    pub fn first_success_from(&self, from: usize, skip: Option<usize>) -> Option<usize> {
        let q = self.successes.partition_point(|&j| j < index(from));
        (self.successes[q..].iter())
            .map(|&j| j as usize)
            .find(|&j| Some(j) != skip)
    }

    /// The indices of the events that may overlap `from..=to`: those that start by `to` and
    /// may still be running at `from`. A superset: callers test each event's own times.
    pub fn reaching(&self, from: Micros, to: Micros) -> Range<usize> {
        let lo = self
            .events
            .partition_point(|e| e.start.saturating_add(self.longest) < from);
        let hi = self.events.partition_point(|e| e.start <= to);
        lo..hi.max(lo)
    }
}

/// The first index after `k` of `client` in a sorted (client, index) list.
fn first_after(list: &[(ClientId, u32)], client: ClientId, k: usize) -> Option<usize> {
    let (c, j) = *list.get(list.partition_point(|&r| r <= (client, index(k))))?;
    (c == client).then_some(j as usize)
}

/// Index `k` as `Lookup` keeps indices; past them all (never: see `Lookup`) it stays past them.
fn index(k: usize) -> u32 {
    u32::try_from(k).unwrap_or(u32::MAX)
}

/// The event behind a reference.
pub fn event(tl: &Timelines, r: EventRef) -> &Event {
    &tl.events[r.instance as usize][r.index]
}

/// References to the events of one instance that satisfy `pred`.
pub fn refs_where(tl: &Timelines, id: InstanceId, pred: impl Fn(&Event) -> bool) -> Vec<EventRef> {
    tl.events[id as usize]
        .iter()
        .enumerate()
        .filter(|(_, e)| pred(e))
        .map(|(index, _)| EventRef {
            instance: id,
            index,
        })
        .collect()
}

/// The distinct values of a sorted sequence, the most frequent first, ties in value order:
/// counted as runs, with no map (a finding can claim a million conflicts, on as many
/// instances).
fn most_first<T: Ord + Copy>(sorted: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut runs: Vec<(T, usize)> = Vec::new();
    for x in sorted {
        match runs.last_mut() {
            Some((y, n)) if *y == x => *n += 1,
            _ => runs.push((x, 1)),
        }
    }
    debug_assert!(runs.is_sorted_by(|a, b| a.0 < b.0), "not sorted");
    runs.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    runs.into_iter().map(|(x, _)| x).collect()
}

/// Clients: those with claimed conflicts first (most conflicts first, then name), then the
/// other participants in the order given.
pub fn client_ids(tl: &Timelines, claims: &[EventRef], others: &[ClientId]) -> Vec<ClientId> {
    let mut ids: Vec<ClientId> = claims.iter().map(|r| event(tl, *r).client).collect();
    ids.sort_unstable();
    // Client ids follow their names' order (`TimelineBuilder::build`): ties go by name.
    let mut out = most_first(ids);
    if others.is_empty() {
        return out;
    }
    // Looked up in a set: `others` may hold one entry per conflict of a hot instance.
    let mut named: FxHashSet<ClientId> = out.iter().copied().collect();
    for &c in others {
        if named.insert(c) {
            out.push(c);
        }
    }
    out
}

/// Instances in order of how many of the sorted `claims` fall on them (most first, then
/// path: instance ids follow their paths' order, `TimelineBuilder::build`).
fn instance_ids(claims: &[EventRef]) -> Vec<InstanceId> {
    most_first(claims.iter().map(|r| r.instance))
}

/// Everything a detector decides about a finding; `build` derives the rest.
pub struct Draft {
    pub cause: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    pub template: String,
    pub instance: Option<String>,
    /// Extra affected instances beyond those the claims fall on (e.g. a lock endpoint).
    pub extra_instances: Vec<InstanceId>,
    pub claims: Vec<EventRef>,
    pub evidence: Vec<EventRef>,
    /// Participants that did not conflict (winners, holders, triggers), in order of relevance.
    pub other_clients: Vec<ClientId>,
    pub confidence: f64,
    pub summary: String,
    pub advice: std::borrow::Cow<'static, str>,
}

impl Draft {
    /// The finding, spanning its conflicts (first start to last end; the evidence may reach
    /// further back, e.g. to the read or the write that caused them); evidence is
    /// de-duplicated and kept in the order given.
    pub fn build(self, cx: &Context<'_>) -> Finding {
        let tl = cx.timelines;
        let start = self
            .claims
            .iter()
            .map(|r| event(tl, *r).start)
            .min()
            .unwrap_or(cx.period.0);
        let end = self
            .claims
            .iter()
            .map(|r| event(tl, *r).end)
            .max()
            .unwrap_or(cx.period.1);
        let mut evidence = Vec::new();
        for r in self.evidence {
            if !evidence.contains(&r) {
                evidence.push(r);
            }
        }
        let mut claims = self.claims;
        claims.sort();
        claims.dedup();
        let mut instances = instance_ids(&claims);
        for i in self.extra_instances {
            if !instances.contains(&i) {
                instances.push(i);
            }
        }
        Finding {
            cause: self.cause,
            severity: self.severity,
            scope: self.scope,
            template: self.template,
            instance: self.instance,
            instances,
            start,
            end,
            clients: client_ids(tl, &claims, &self.other_clients),
            confidence: self.confidence.clamp(0.05, 0.95),
            summary: self.summary,
            evidence,
            advice: self.advice,
            claims,
            schedule: None,
        }
    }
}

/// `HH:MM:SS` of a time, for summaries (`Moments` says when its date goes with it).
fn clock(t: Micros) -> String {
    let s = t.div_euclid(MICROS_PER_SEC).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The times one summary names, in the order a reader meets them: times of day where the
/// log lies within one UTC day; over several days the first dated, and each later one only
/// where its day is not that of the time before it (`between 2026-03-02 23:35:07 and
/// 23:50:57`, `from 2026-03-02 09:24:11 to 2026-03-03 09:24:18`), lest a time alone not
/// say which day, or a span of days read as seconds.
pub struct Moments {
    several_days: bool,
    day: Option<i64>,
}

impl Moments {
    /// For a summary of a log whose requests span `period`.
    pub fn new(period: (Micros, Micros)) -> Moments {
        Moments {
            several_days: day(period.0) != day(period.1),
            day: None,
        }
    }

    /// The next time the summary names.
    pub fn at(&mut self, t: Micros) -> String {
        let d = day(t);
        let with_date = self.day.map_or(self.several_days, |last| last != d);
        self.day = Some(d);
        if with_date { dated(t) } else { clock(t) }
    }

    /// The two ends of a span, in turn.
    pub fn span(&mut self, start: Micros, end: Micros) -> (String, String) {
        let start = self.at(start);
        (start, self.at(end))
    }
}

/// The one time a summary names (`from 09:35:00 on`); see `Moments`.
pub fn moment(t: Micros, period: (Micros, Micros)) -> String {
    Moments::new(period).at(t)
}

/// The ends of the one span a summary names (`from 09:24:11 to 09:24:18`); see `Moments`.
pub fn clocks(start: Micros, end: Micros, period: (Micros, Micros)) -> (String, String) {
    Moments::new(period).span(start, end)
}

/// The UTC day a time falls on, counted from the epoch.
fn day(t: Micros) -> i64 {
    t.div_euclid(MICROS_PER_SEC * 86_400)
}

/// `2026-03-02 09:24:11`.
fn dated(t: Micros) -> String {
    let date: String = crate::timestamp::rfc3339(t).chars().take(10).collect();
    format!("{date} {}", clock(t))
}

/// A span for summaries; sub-second spans at 1-s resolution read "<1s".
pub fn span_text(us: Micros, resolution: Micros) -> String {
    if us < resolution {
        format!("<{}", crate::timestamp::human_span(resolution))
    } else {
        crate::timestamp::human_span(us)
    }
}

/// `409` or `409/412` for the statuses of a set of conflicts.
pub fn status_list(statuses: impl Iterator<Item = u16>) -> String {
    let mut v: Vec<u16> = statuses.collect();
    v.sort_unstable();
    v.dedup();
    v.iter().map(u16::to_string).collect::<Vec<_>>().join("/")
}

/// Percentage with no decimals below 10 % shown with one.
pub fn percent(n: usize, d: usize) -> String {
    if d == 0 {
        return "0%".into();
    }
    let p = n as f64 * 100.0 / d as f64;
    if p < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = MICROS_PER_SEC;

    /// In a log of one day, times of day; in a log of several, a summary's first time dated
    /// and a later one where the day changes from the time before it (midnight included).
    #[test]
    fn moments_are_dated_where_a_time_alone_would_not_say_the_day() {
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_microsecond();
        let one = (at("2026-03-02T00:00:00Z"), at("2026-03-02T23:59:59Z"));
        let two = (one.0, at("2026-03-03T23:00:00Z"));
        let c = |a: &str, b: &str, period| clocks(at(a), at(b), period);
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        let (start, end) = ("2026-03-02T09:24:11Z", "2026-03-02T09:24:18.5Z");
        assert_eq!(c(start, end, one), pair("09:24:11", "09:24:18"));
        assert_eq!(c(start, end, two), pair("2026-03-02 09:24:11", "09:24:18"));
        let (start, end) = ("2026-03-02T23:59:59Z", "2026-03-03T00:00:01Z");
        let dated = pair("2026-03-02 23:59:59", "2026-03-03 00:00:01");
        assert_eq!(c(start, end, two), dated);
        assert_eq!(moment(at("2026-03-02T09:35:00Z"), one), "09:35:00");
        let moment_in_two = moment(at("2026-03-02T09:35:00Z"), two);
        assert_eq!(moment_in_two, "2026-03-02 09:35:00");
        // A summary's times in turn: dated only where the day changes.
        let mut m = Moments::new(two);
        let times = [
            "2026-03-02T23:50:00Z",
            "2026-03-02T23:55:00Z",
            "2026-03-03T00:05:00Z",
        ];
        let said: Vec<String> = times.iter().map(|&t| m.at(at(t))).collect();
        let want = ["2026-03-02 23:50:00", "23:55:00", "2026-03-03 00:05:00"];
        assert_eq!(said, want);
    }

    /// Most frequent first, ties by value, each once.
    #[test]
    fn most_first_ranks_by_count_then_value() {
        assert_eq!(most_first([1, 1, 2, 3, 3, 3, 5, 7, 7]), [3, 1, 7, 2, 5]);
        assert_eq!(most_first(Vec::<u32>::new()), Vec::<u32>::new());
    }

    proptest::proptest! {
        /// Every event that overlaps a span lies in the range `reaching` gives, and the
        /// range holds nothing that starts after the span.
        #[test]
        fn reaching_holds_every_overlapping_event(
            log in super::super::testkit::scenario(),
            from in 0i64..130,
            len in 0i64..30,
        ) {
            let tl = log.timelines();
            let (from, to) = (super::super::testkit::T0 + from * S, super::super::testkit::T0 + (from + len) * S);
            for events in tl.events.iter() {
                let range = Lookup::new(events).reaching(from, to);
                for (k, e) in events.iter().enumerate() {
                    if e.end >= from && e.start <= to {
                        proptest::prop_assert!(range.contains(&k), "{k} not in {range:?}");
                    }
                }
                proptest::prop_assert!(events[range].iter().all(|e| e.start <= to));
            }
        }
    }

    #[test]
    fn gap_cv_is_zero_for_a_cadence_and_large_for_bursts() {
        assert_eq!(gap_cv(&[], 0), 0.0);
        assert_eq!(gap_cv(&[30 * S; 5], 0), 0.0);
        // 1 s and 3 s: mean 2 s, deviation 1 s.
        assert!((gap_cv(&[S, 3 * S], 0) - 0.5).abs() < 1e-9);
        // The clock resolution keeps whole-second rounding of a 3-s cadence steady.
        assert!(gap_cv(&[3 * S, 3 * S, 4 * S, 2 * S, 3 * S], S) < 0.25);
        assert!(gap_cv(&[S, S, 200 * S, S, 700 * S], S) > 1.0);
    }

    proptest::proptest! {
        /// A repeat holds exactly the (client, method)'s conflicting writes after its last
        /// successful write there, when there are at least `min` of them.
        #[test]
        fn unanswered_repeats_are_the_conflicts_after_the_last_own_success(
            log in super::super::testkit::scenario(),
            min in 1usize..4,
        ) {
            let tl = log.timelines();
            for events in tl.events.iter() {
                let mut expected: BTreeMap<(ClientId, Method), Vec<usize>> = BTreeMap::new();
                for (k, e) in events.iter().enumerate() {
                    let key = (e.client, e.method());
                    let last_success = (events.iter().enumerate())
                        .filter(|(_, x)| (x.client, x.method()) == key && x.is_write() && x.is_success())
                        .map(|(j, _)| j)
                        .next_back();
                    if e.conflict() && e.is_write() && last_success.is_none_or(|j| j < k) {
                        expected.entry(key).or_default().push(k);
                    }
                }
                expected.retain(|_, v| v.len() >= min);
                let got: BTreeMap<(ClientId, Method), Vec<usize>> = unanswered_repeats(events, min)
                    .into_iter()
                    .map(|r| ((r.client, r.method), r.attempts))
                    .collect();
                proptest::prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn episodes_split_at_gaps_far_above_the_median() {
        // Two bursts 100 ms apart inside, 60 s between them.
        let t = [
            0,
            100_000,
            200_000,
            300_000,
            60 * S,
            60 * S + 100_000,
            60 * S + 200_000,
        ];
        assert_eq!(episodes(&t, 10.0, 1_000), vec![0..4, 4..7]);
        // The same shape stretched 1000×: same split.
        let t2: Vec<Micros> = t.iter().map(|x| x * 1000).collect();
        assert_eq!(episodes(&t2, 10.0, 1_000), vec![0..4, 4..7]);
    }

    #[test]
    fn lulls_inside_ongoing_activity_are_joined() {
        // 20 s of conflicts, a 13 s lull, 8 s more; writes every 2 s throughout.
        let mut t: Vec<Micros> = (0..=20).map(|k| k * S).collect();
        t.extend((0..=8).map(|k| (33 + k) * S));
        let writes: Vec<Micros> = (0..=21).map(|k| 2 * k * S).collect();
        let eps = episodes(&t, 10.0, S);
        assert_eq!(eps.len(), 2);
        assert_eq!(join_lulls(&t, eps.clone(), 10.0, S, &writes), vec![0..30]);
        // The same lull with the writers quiet in it: two episodes.
        let quiet: Vec<Micros> = writes
            .iter()
            .copied()
            .filter(|&w| w <= 20 * S || w >= 33 * S)
            .collect();
        assert_eq!(join_lulls(&t, eps.clone(), 10.0, S, &quiet), eps);
        // Two one-minute bursts an hour apart stay apart, however busy the key is.
        let mut t: Vec<Micros> = (0..=60).map(|k| k * S).collect();
        t.extend((0..=60).map(|k| (3600 + k) * S));
        let writes: Vec<Micros> = (0..=3700).map(|k| k * S).collect();
        let eps = episodes(&t, 10.0, S);
        assert_eq!(join_lulls(&t, eps.clone(), 10.0, S, &writes), eps);
    }

    #[test]
    fn growth_tells_backoff_from_a_flat_loop() {
        let flat = [100_000; 6];
        let backoff = [100_000, 200_000, 400_000, 800_000, 1_600_000, 3_200_000];
        assert!(gap_growth(&flat, 1_000) < 1.1);
        assert!(gap_growth(&backoff, 1_000) > 4.0);
        // Ties at 1-s resolution are flat, not infinite growth.
        assert!(gap_growth(&[0, 0, 0, 0, 1_000_000, 0], S) < 2.0);
    }

    #[test]
    fn request_kinds() {
        let e = |m| {
            Event::new(crate::timeline::EventFields {
                start: 0,
                end: 0,
                timed: false,
                client: 0,
                method: m,
                status: 409,
                instance: 0,
                input: 0,
                offset: 0,
                conflict: true,
                origin: crate::record::Origin::Unknown,
                agent: crate::agent::Agent::OTHER,
            })
        };
        for a in ACTIONS {
            assert!(
                is_action(a) && is_action_path(&format!("/orders/7/{a}")),
                "{a}"
            );
            assert!(!is_action(&a[1..]) && !is_action(&format!("{a}s")), "{a}");
        }
        for word in ["", "orders", "9310442", "Cancel", "cancel ", "lock"] {
            assert!(!is_action(word), "{word}");
        }
        assert!(is_create(&e(Method::Post), "/api/v1/orders"));
        assert!(!is_create(&e(Method::Post), "/api/v1/orders/7/cancel"));
        assert!(!is_create(&e(Method::Post), "/api/v1/orders/7"));
        assert_eq!(
            lock_op(&e(Method::Post), "/docs/1/lock"),
            Some(LockOp::Acquire)
        );
        assert_eq!(
            lock_op(&e(Method::Delete), "/docs/1/lock"),
            Some(LockOp::Release)
        );
        assert_eq!(
            lock_op(&e(Method::Unlock), "/dav/a.txt"),
            Some(LockOp::Release)
        );
        assert_eq!(lock_op(&e(Method::Put), "/docs/1"), None);
        assert_eq!(locked_resource("/docs/1/lock"), "/docs/1");
        assert!(is_versioned_update(&e(Method::Put), "/docs/1"));
        assert!(!is_versioned_update(&e(Method::Post), "/docs"));
    }
}
