//! `in_progress_conflict` (root-causes.md D5): an accepted long-running operation on an
//! instance (or its parent or a child) makes writes to it conflict until the operation ends.
//!
//! Signature: a trigger — a 202 Accepted on instance K, its parent or a child (`…/export`,
//! `…/rebuild`), or a successful DELETE of K or its parent (deletion continues after the
//! response) — followed by conflicts on K, with no successful write on K between the trigger
//! and the first conflict; the busy window ends at the first successful write on K after the
//! trigger. A finding needs `in_progress_min_conflicts` conflicts in the window, and at least
//! `in_progress_min_share` of the episode's conflicts must fall before that success (the
//! conflicts *stop* once the operation is over). There is no fixed look-back: the trigger is
//! simply the last one before the first conflict with no success in between.
//!
//! Guards: lock acquire/release calls are not triggers (see `lock_contention`); conflicts that
//! go on after a success are not "in progress".
//!
//! Advice: poll the 202's status URL (Location / operation resource) until it finishes before
//! the next mutation; retry "in progress" conflicts with backoff honouring Retry-After; do not
//! delete and immediately recreate the same name.

use super::signals::{self, Draft, Lookup, Moments, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::{Method, Micros};
use crate::timeline::{Event, Instance, InstanceId, Timelines};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

pub struct InProgressConflict;

const ADVICE: &str = "Poll the 202's status URL (Location / operation resource) until the accepted job finishes before sending the next change to the resource, retry 'operation in progress' conflicts with exponential backoff honouring Retry-After, avoid deleting and immediately recreating the same name, and serialise jobs and edits on one resource.";

/// A trigger: where it is relative to K, and the event.
#[derive(Debug, PartialEq)]
struct Trigger {
    instance: InstanceId,
    index: usize,
    related: bool,
}

/// A request that may start work its instance stays busy with, as seen from the instance
/// itself or its parent: a 202 Accepted, or a successful DELETE (deletion goes on after the
/// response). From a child only a 202 counts. The pass keeps these on collections for the
/// sake of their items (`interest`).
pub fn may_trigger(method: Method, status: u16) -> bool {
    status == 202 || (method == Method::Delete && (200..300).contains(&status))
}

fn is_trigger(e: &Event, path: &str, own_or_parent: bool) -> bool {
    // Cheap status/method test first: most events are neither.
    let candidate = if own_or_parent {
        may_trigger(e.method(), e.status)
    } else {
        e.status == 202
    };
    candidate && signals::lock_op(e, path).is_none()
}

/// The window a trigger ending at `z_end` opens on K (whose timeline is `events`; `own` is
/// the trigger's index when it is on K itself).
#[derive(Debug, PartialEq, Eq)]
struct BusyWindow {
    /// The first successful write on K after the trigger, which ends the window.
    success: usize,
    /// The conflicting writes inside the window.
    inside: Vec<usize>,
    /// The conflicting writes that go on after it, within as long again as the window.
    after: usize,
}

fn busy_window(
    events: &[Event],
    lookup: &Lookup<'_>,
    own: Option<usize>,
    z_end: Micros,
    r: Micros,
) -> Option<BusyWindow> {
    let from = z_end - r;
    // Events are in start order: each question below is about a range of them.
    let starting = |t: Micros| events.partition_point(|e| e.start < t);
    let started_by = |t: Micros| events.partition_point(|e| e.start <= t);
    let success = lookup.first_success_from(starting(from), own)?;
    let until = events[success].end;
    let inside: Vec<usize> = (starting(from)..started_by(until))
        .filter(|&k| {
            events[k].conflict()
                && events[k].is_write()
                && events[k].start >= from
                && events[k].end <= until
        })
        .collect();
    let last_start = until + (until - z_end).max(r);
    let after = events[lookup.reaching(until, last_start)]
        .iter()
        .filter(|e| e.conflict() && e.is_write() && e.end > until && e.start <= last_start)
        .count();
    Some(BusyWindow {
        success,
        inside,
        after,
    })
}

/// How many conflicting writes the busy window of a trigger on a relative (not on K itself)
/// holds, given `first`, the index of K's first event starting at or after the window's
/// start: for such a trigger that index decides the window (`busy_window` with no `own`),
/// so every trigger giving the same index gives the same count. None when no success ends
/// it.
fn inside_from(events: &[Event], lookup: &Lookup<'_>, first: usize) -> Option<usize> {
    let success = lookup.first_success_from(first, None)?;
    let until = events[success].end;
    let end = events.partition_point(|e| e.start <= until);
    Some(
        (first..end.max(first))
            .filter(|&k| events[k].conflict() && events[k].is_write() && events[k].end <= until)
            .count(),
    )
}

/// What makes a busy window a finding.
struct Rules {
    /// The clock's resolution.
    r: Micros,
    min_conflicts: usize,
    min_share: f64,
}

impl Rules {
    fn qualify(&self, w: &BusyWindow) -> bool {
        let inside = w.inside.len();
        inside >= self.min_conflicts && inside as f64 >= self.min_share * (inside + w.after) as f64
    }
}

/// Where K's triggers come from: K itself, its parent or one of its children, with their
/// triggers sorted by end, and how far the choice has gone through them.
struct Source<'l> {
    instance: InstanceId,
    /// (end, event index), by end (stable: triggers ending together in event order).
    list: &'l [(Micros, usize)],
    /// A relative's triggers, not K's own.
    related: bool,
    /// The next trigger to try.
    at: usize,
    /// The window end `at` was found for (`Source::advance`), while it stands.
    ready_for: Option<Micros>,
}

impl<'l> Source<'l> {
    fn new(instance: InstanceId, list: &'l [(Micros, usize)], related: bool) -> Source<'l> {
        Source {
            instance,
            list,
            related,
            at: 0,
            ready_for: None,
        }
    }

    /// Moves `at` to the next trigger worth trying once the last finding's window ended at
    /// `used_until`: one that ends after it and, for a relative, whose window qualifies. The
    /// rest would be tried and fail whatever came before, so skipping them changes nothing.
    ///
    /// A relative's triggers whose windows start before the same event of K share their
    /// window's success and conflicts, so each run of them is looked at once: skipped whole
    /// when too few conflicts fall inside, else searched for its first trigger that
    /// qualifies (a later trigger's window reaches less far past the success, so finds no
    /// more conflicts after it: once one qualifies, the rest of the run do). A collection's
    /// thousands of 202s were otherwise each tried on each of its items.
    fn advance(
        &mut self,
        events: &[Event],
        lookup: &Lookup<'_>,
        used_until: Micros,
        rules: &Rules,
    ) {
        if self.ready_for == Some(used_until) {
            return;
        }
        self.ready_for = Some(used_until);
        let list = self.list;
        let starting = |t: Micros| events.partition_point(|e| e.start < t);
        let mut p = self.at;
        loop {
            p += list[p..].partition_point(|&(end, _)| end <= used_until);
            if !self.related || p >= list.len() {
                break;
            }
            let first = starting(list[p].0 - rules.r);
            // The run: triggers whose window starts at or before `events[first]`'s start.
            let run_end = match events.get(first) {
                Some(e) => p + list[p..].partition_point(|&(end, _)| end - rules.r <= e.start),
                None => list.len(),
            };
            if inside_from(events, lookup, first).is_some_and(|n| n >= rules.min_conflicts) {
                let fails = |&(end, _): &(Micros, usize)| {
                    !busy_window(events, lookup, None, end, rules.r)
                        .is_some_and(|w| rules.qualify(&w))
                };
                let q = p + list[p..run_end].partition_point(fails);
                if q < run_end {
                    p = q;
                    break;
                }
            }
            p = run_end.max(p + 1);
        }
        self.at = p;
    }

    /// The next trigger to try, after `advance`.
    fn next(&self) -> Option<(Micros, usize)> {
        self.list.get(self.at).copied()
    }
}

/// The windows K's triggers open that make findings, with their triggers: every trigger is
/// tried in end order (triggers ending together in `sources`' order), skipped when it ends
/// within the last finding's window, and makes a finding when its window qualifies. The
/// sources skip what cannot make one (`Source::advance`), which gives what trying every
/// trigger gives (tested).
fn chosen_windows(
    events: &[Event],
    lookup: &Lookup<'_>,
    sources: &mut [Source<'_>],
    rules: &Rules,
) -> Vec<(Trigger, BusyWindow)> {
    let mut used_until = Micros::MIN;
    let mut out = Vec::new();
    // Each source's next trigger by (end, source), kept lazily: a finding moves the sources
    // on, and an entry is looked at again only when it comes up (a collection has thousands
    // of children to take triggers from, most of which never come up).
    let mut next: BinaryHeap<Reverse<(Micros, usize)>> = BinaryHeap::new();
    for (k, s) in sources.iter_mut().enumerate() {
        s.advance(events, lookup, used_until, rules);
        if let Some((end, _)) = s.next() {
            next.push(Reverse((end, k)));
        }
    }
    while let Some(Reverse((end, k))) = next.pop() {
        let s = &mut sources[k];
        s.advance(events, lookup, used_until, rules);
        match s.next() {
            None => continue,
            // Moved on since it was queued: queued again where it is now.
            Some((now, _)) if now != end => {
                next.push(Reverse((now, k)));
                continue;
            }
            Some(_) => {}
        }
        let (_, index) = s.list[s.at];
        s.at += 1;
        s.ready_for = None;
        let own = (!s.related).then_some(index);
        if let Some(w) = busy_window(events, lookup, own, end, rules.r)
            && rules.qualify(&w)
        {
            used_until = events[w.success].end;
            let t = Trigger {
                instance: s.instance,
                index,
                related: s.related,
            };
            out.push((t, w));
        }
        s.advance(events, lookup, used_until, rules);
        if let Some((end, _)) = s.next() {
            next.push(Reverse((end, k)));
        }
    }
    out
}

/// Each instance's triggers, (end, event index) sorted by end, in one vector: a vector per
/// instance cost 24 bytes an instance even when empty (as most are), 72 MB in all on a log
/// of a million and a half instances.
struct Triggers {
    list: Vec<(Micros, usize)>,
    /// Instance `i`'s triggers are `list[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
}

impl Triggers {
    fn with_capacity(instances: usize) -> Triggers {
        let mut starts = Vec::with_capacity(instances + 1);
        starts.push(0);
        Triggers {
            list: Vec::new(),
            starts,
        }
    }

    /// Adds a trigger of the instance being filled.
    fn push(&mut self, t: (Micros, usize)) {
        self.list.push(t);
    }

    /// Ends the instance being filled, sorting its triggers by end (stable: triggers
    /// ending together stay in event order); the next one pushed is the next instance's.
    fn close(&mut self) {
        let from = *self.starts.last().expect("starts with 0");
        self.list[from..].sort_by_key(|t| t.0);
        self.starts.push(self.list.len());
    }

    fn of(&self, id: InstanceId) -> &[(Micros, usize)] {
        let k = id as usize;
        &self.list[self.starts[k]..self.starts[k + 1]]
    }
}

impl Detector for InProgressConflict {
    fn cause(&self) -> &'static str {
        "in_progress_conflict"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let rules = Rules {
            r: signals::clock_resolution(tl),
            min_conflicts: cx.thresholds.get("in_progress_min_conflicts").max(1.0) as usize,
            min_share: cx.thresholds.get("in_progress_min_share"),
        };
        let mut out = Vec::new();
        let (all, from_child) = Triggers::found(tl);
        for (id, inst) in tl.instances().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let id = id as InstanceId;
            let events = &tl.events[id as usize];
            // K's own triggers, then its parent's, then its children's: the order in which
            // triggers ending together are tried.
            let mut sources: Vec<Source<'_>> = vec![Source::new(id, all.of(id), false)];
            sources.extend(inst.parent.map(|p| Source::new(p, all.of(p), true)));
            sources.extend(
                tl.children(id)
                    .map(|c| Source::new(c, from_child.of(c), true)),
            );
            sources.retain(|s| !s.list.is_empty());
            if sources.is_empty() {
                continue;
            }
            let lookup = Lookup::new(events);
            for (t, window) in chosen_windows(events, &lookup, &mut sources, &rules) {
                out.push(finding(cx, (id, inst), &t, window, rules.r));
            }
        }
        out
    }
}

impl Triggers {
    /// The triggers of every instance, found once, each list sorted by end: (end, event
    /// index). The first for K itself and its parent (202s and successful DELETEs), the
    /// second for its children (202s only). A busy collection is the parent of many
    /// conflicting items, so scanning its events per item would be quadratic.
    fn found(tl: &Timelines) -> (Triggers, Triggers) {
        let mut all = Triggers::with_capacity(tl.instance_count());
        let mut from_child = Triggers::with_capacity(tl.instance_count());
        for (rid, inst) in tl.instances().enumerate() {
            for (k, e) in tl.events[rid].iter().enumerate() {
                if is_trigger(e, inst.path, true) {
                    all.push((e.end, k));
                    if is_trigger(e, inst.path, false) {
                        from_child.push((e.end, k));
                    }
                }
            }
            all.close();
            from_child.close();
        }
        (all, from_child)
    }
}

/// The finding of the writes to instance `id` that a busy `window` after trigger `t` held
/// back; spans told at the clock resolution `r`.
fn finding(
    cx: &Context<'_>,
    (id, inst): (InstanceId, Instance<'_>),
    t: &Trigger,
    window: BusyWindow,
    r: Micros,
) -> Finding {
    let tl = cx.timelines;
    let events = &tl.events[id as usize];
    let z = &tl.events[t.instance as usize][t.index];
    let BusyWindow {
        success: s,
        inside,
        after,
    } = window;
    let until = events[s].end;
    let mut confidence = 0.5;
    if after == 0 {
        confidence += 0.2;
    }
    if z.status == 202 {
        confidence += 0.15;
    }
    if inside.len() >= 3 {
        confidence += 0.1;
    }
    if t.related {
        confidence -= 0.2;
    }
    let at = |index| EventRef {
        instance: id,
        index,
    };
    let claims: Vec<EventRef> = inside.iter().map(|&index| at(index)).collect();
    let trigger_ref = EventRef {
        instance: t.instance,
        index: t.index,
    };
    let mut evidence = vec![trigger_ref, claims[0]];
    if let Some(&other) = (inside.iter()).find(|&&k| events[k].client != events[inside[0]].client) {
        evidence.push(at(other));
    }
    evidence.extend(claims.last());
    evidence.push(at(s));
    let clients: BTreeSet<u32> = inside.iter().map(|&k| events[k].client).collect();
    let mut moments = Moments::new(cx.period);
    let (accepted, succeeded) = (moments.at(z.end), moments.at(until));
    let summary = format!(
        "{} {} returned {} at {} ({}); then {} writes to {} from {} client{} got {} until the first successful write at {}, {} later.",
        z.method().as_str(),
        tl.instance(t.instance).path,
        z.status,
        accepted,
        tl.client(z.client),
        inside.len(),
        inst.path,
        clients.len(),
        if clients.len() == 1 { "" } else { "s" },
        signals::status_list(inside.iter().map(|&k| events[k].status)),
        succeeded,
        span_text(until - z.end, r),
    );
    Draft {
        cause: "in_progress_conflict",
        severity: Severity::Incident,
        scope: Scope::Instance,
        template: inst.template.to_string(),
        instance: Some(inst.path.to_string()),
        extra_instances: if t.related {
            vec![t.instance]
        } else {
            Vec::new()
        },
        claims,
        evidence,
        other_clients: vec![z.client, events[s].client],
        confidence,
        summary,
        advice: ADVICE.into(),
    }
    .build(cx)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// What `busy_window` replaced: scans of the whole timeline per trigger.
    fn busy_window_by_full_search(
        events: &[Event],
        own: Option<usize>,
        z_end: Micros,
        r: Micros,
    ) -> Option<BusyWindow> {
        let from = z_end - r;
        let success = (0..events.len()).find(|&k| {
            let e = &events[k];
            e.start >= from && e.is_write() && e.is_success() && Some(k) != own
        })?;
        let until = events[success].end;
        let inside: Vec<usize> = (0..events.len())
            .filter(|&k| {
                events[k].conflict()
                    && events[k].is_write()
                    && events[k].start >= from
                    && events[k].end <= until
            })
            .collect();
        let window = until - z_end;
        let after = events
            .iter()
            .filter(|e| {
                e.conflict() && e.is_write() && e.end > until && e.start <= until + window.max(r)
            })
            .count();
        Some(BusyWindow {
            success,
            inside,
            after,
        })
    }

    /// A source's triggers: (end, event index), by end.
    type Ends = [(Micros, usize)];

    /// What `chosen_windows` replaced: every trigger of every source, in end order (stable,
    /// so sources in turn among triggers ending together), tried in turn.
    fn chosen_by_every_trigger(
        events: &[Event],
        lookup: &Lookup<'_>,
        lists: &[(InstanceId, &Ends, bool)],
        rules: &Rules,
    ) -> Vec<(Trigger, BusyWindow)> {
        let mut all: Vec<(Micros, Trigger)> = Vec::new();
        for &(instance, list, related) in lists {
            for &(end, index) in list {
                all.push((
                    end,
                    Trigger {
                        instance,
                        index,
                        related,
                    },
                ));
            }
        }
        all.sort_by_key(|t| t.0);
        let mut used_until = Micros::MIN;
        let mut out = Vec::new();
        for (end, t) in all {
            if end <= used_until {
                continue;
            }
            let own = (!t.related).then_some(t.index);
            let Some(w) = busy_window(events, lookup, own, end, rules.r) else {
                continue;
            };
            if rules.qualify(&w) {
                used_until = events[w.success].end;
                out.push((t, w));
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Every event of random scenarios taken as a trigger (on the instance or not): the
        /// ranges give the window the scans gave.
        #[test]
        fn busy_window_matches_the_full_search(log in scenario()) {
            let tl = log.timelines();
            for events in tl.events.iter() {
                let lookup = Lookup::new(events);
                for (k, z) in events.iter().enumerate() {
                    for own in [Some(k), None] {
                        for r in [1_000, crate::timestamp::MICROS_PER_SEC] {
                            proptest::prop_assert_eq!(
                                busy_window(events, &lookup, own, z.end, r),
                                busy_window_by_full_search(events, own, z.end, r)
                            );
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Every timeline of random scenarios with its own triggers and, as a relative's,
        /// every event of the scenario (ending in every order against its own): the windows
        /// chosen are those trying every trigger in end order chooses.
        #[test]
        fn chosen_windows_are_those_every_trigger_gives(log in scenario()) {
            let tl = log.timelines();
            let mut every: Vec<(Micros, usize)> = (tl.events.iter())
                .flat_map(|events| events.iter().map(|e| e.end))
                .enumerate()
                .map(|(k, end)| (end, k))
                .collect();
            every.sort_by_key(|t| t.0);
            let half: Vec<(Micros, usize)> = every.iter().copied().step_by(2).collect();
            for (id, inst) in tl.instances().enumerate() {
                let events = &tl.events[id];
                let lookup = Lookup::new(events);
                let mut own: Vec<(Micros, usize)> = (events.iter().enumerate())
                    .filter(|(_, e)| is_trigger(e, inst.path, true))
                    .map(|(k, e)| (e.end, k))
                    .collect();
                own.sort_by_key(|t| t.0);
                for r in [1_000, crate::timestamp::MICROS_PER_SEC] {
                    for min_conflicts in 1..=3 {
                        for min_share in [0.5, 0.8, 1.0] {
                            let rules = Rules { r, min_conflicts, min_share };
                            let lists = [(0, &own[..], false), (1, &every[..], true), (2, &half[..], true)];
                            let mut sources: Vec<Source<'_>> = (lists.iter())
                                .map(|&(i, list, related)| Source::new(i, list, related))
                                .collect();
                            let got = chosen_windows(events, &lookup, &mut sources, &rules);
                            let want = chosen_by_every_trigger(events, &lookup, &lists, &rules);
                            proptest::prop_assert_eq!(got, want);
                        }
                    }
                }
            }
        }
    }

    /// A collection's many 202s before one of its items' conflicts: the 202 that opens the
    /// window is found among them.
    #[test]
    fn one_of_many_collection_202s_opens_the_window() {
        let mut log = Log::new();
        for k in 0..200 {
            log.at(k as f64).req("jobs", "POST", "/orders", 202);
        }
        log.at(300.0).req("jobs", "POST", "/orders", 202);
        for (k, c) in ["a", "b", "c"].iter().enumerate() {
            log.at(301.0 + k as f64).req(c, "PUT", "/orders/7", 409);
        }
        log.at(320.0).req("a", "PUT", "/orders/7", 200);
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&InProgressConflict);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 3);
        // The first 202 opens the window (the later ones end inside it).
        let tl = log.timelines();
        let trigger = f[0].evidence[0];
        assert_eq!(tl.instance(trigger.instance).path, "/orders");
        assert_eq!(trigger.index, 0);
        assert!(
            f[0].summary.starts_with("POST /orders returned 202 at"),
            "{}",
            f[0].summary
        );
        assert!(log.instances_of(&f[0]).contains(&"/orders".to_string()));
    }

    #[test]
    fn conflicts_between_a_202_and_the_first_success() {
        let mut log = Log::new();
        log.at(100.0).req("batch", "POST", "/orders/7/export", 202);
        for (k, c) in ["a", "b", "a", "c"].iter().enumerate() {
            log.at(102.0 + 4.0 * k as f64)
                .req(c, "PUT", "/orders/7", 409);
        }
        log.at(131.0).req("a", "PUT", "/orders/7", 200);
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&InProgressConflict);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 4);
        assert_eq!(f[0].instance.as_deref(), Some("/orders/7"));
        assert!(
            log.instances_of(&f[0])
                .contains(&"/orders/7/export".to_string())
        );
    }

    #[test]
    fn delete_then_recreate() {
        let mut log = Log::new();
        log.at(0.0).req("ops", "DELETE", "/c/logs", 202);
        for t in [2.0, 5.0, 9.0, 14.0] {
            log.at(t).req("ops", "PUT", "/c/logs", 409);
        }
        log.at(31.0).req("ops", "PUT", "/c/logs", 201);
        log.at(600.0).req("z", "GET", "/health", 200);
        assert_eq!(log.run_one(&InProgressConflict).len(), 1);
    }

    #[test]
    fn conflicts_that_continue_after_success_are_not_in_progress() {
        let mut log = Log::new();
        log.at(100.0).req("batch", "POST", "/orders/7/export", 202);
        log.at(102.0)
            .req("a", "PUT", "/orders/7", 409)
            .at(104.0)
            .req("b", "PUT", "/orders/7", 409);
        log.at(106.0).req("c", "PUT", "/orders/7", 200);
        for t in [107.0, 108.0, 109.0, 110.0] {
            log.at(t).req("a", "PUT", "/orders/7", 409);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&InProgressConflict).is_empty());
    }
}
