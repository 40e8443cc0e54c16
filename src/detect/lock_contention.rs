//! `lock_contention` (root-causes.md D8): a client acquires a lock on an instance and others
//! get 423 (or 409 on lock calls) until it is released — or forever, when it never is.
//!
//! Signature: lock operations on the resource — WebDAV LOCK/UNLOCK on it, or POST/PUT
//! (acquire) and DELETE (release) on its `…/lock` child, POST `…/unlock` — give holds: a 2xx
//! acquire by holder H until the next 2xx release by anyone (or the end of the log). Conflicts
//! on the resource or its lock endpoint during a hold are *blocked attempts*; a hold with at
//! least `lock_min_blocked` of them is a finding. 423s with no hold in the log (acquired before
//! it started) form one finding with an unknown holder and lower confidence.
//!
//! Severity: `incident` when the lock is never released, or the hold lasted at least
//! `lock_long_hold_factor` times the median of the other holds on the same resource, or (no
//! other holds to compare with) two or more clients were blocked; else `info` — short waits on
//! a lock released within its usual hold time are serialisation, not a fault.
//!
//! Advice: shorter lock leases with expiry, release locks in `finally`/on cancellation, queue
//! instead of polling the lock, and send the lock token on the holder's own writes.

use super::signals::{self, Draft, LockOp, Moments, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Micros;
use crate::timeline::{InstanceId, Timelines};
use std::collections::{BTreeMap, BTreeSet};

pub struct LockContention;

const ADVICE: &str = "Give locks short leases that expire, release them in a finally block and when a job is cancelled, refresh (heartbeat) instead of holding indefinitely, make waiting clients queue or back off instead of polling, and when a lock is stale confirm no run is active and force-release it (DELETE the lock, terraform force-unlock).";

/// One hold of a lock.
struct Hold {
    acquire: Option<EventRef>,
    release: Option<EventRef>,
    start: i64,
    end: i64,
}

/// The template of a locked resource (its own instance's, else its lock path's parent:
/// `/docs/{id}` from `/docs/{id}/lock`), and the instances of its lock paths (`ids`, the
/// group's instances, but the resource's own).
fn template_and_lock_paths(
    tl: &Timelines,
    resource: &str,
    ids: &[InstanceId],
) -> (String, Vec<InstanceId>) {
    let tpl_id = (ids.iter().copied())
        .find(|i| tl.instance(*i).path == resource)
        .unwrap_or(ids[0]);
    let template = if tl.instance(tpl_id).path == resource {
        tl.instance(tpl_id).template.to_string()
    } else {
        crate::resource::parent(tl.instance(tpl_id).template)
            .unwrap_or(tl.instance(tpl_id).template)
            .to_string()
    };
    let lock_paths = (ids.iter().copied())
        .filter(|&i| tl.instance(i).path != resource)
        .collect();
    (template, lock_paths)
}

/// Who held the lock on `resource` and for how long, for the summary: the holder of
/// `hold` if it is known (its acquire seen), else a holder not seen in the log. `r` is the
/// log's clock resolution; a hold never released lasts to `log_end`. Its times are the
/// sentence's first (`moments`).
fn holder_text(
    tl: &Timelines,
    resource: &str,
    hold: Option<&Hold>,
    log_end: Micros,
    r: Micros,
    moments: &mut Moments,
) -> String {
    let holder = hold
        .and_then(|h| h.acquire)
        .map(|a| signals::event(tl, a).client);
    match (holder, hold) {
        (Some(c), Some(h)) => {
            let (from, released) = moments.span(h.start, h.end);
            let how_long = match h.release {
                Some(_) => format!(
                    "for {} (released {released})",
                    span_text(h.end - h.start, r)
                ),
                None => format!(
                    "and never released it ({} to the end of the log)",
                    span_text(log_end - h.start, r)
                ),
            };
            format!(
                "{} held the lock on {resource} from {from} {how_long}",
                tl.client(c)
            )
        }
        _ => format!(
            "{resource} was locked by a holder not seen in the log (acquired before it starts)"
        ),
    }
}

/// The holds of a lock, from its successful acquires and releases (`all` in start order,
/// `ops` their lock operations): an acquire opens a hold when none is open, a release
/// closes the open one; a hold still open at the end of the log is last.
fn holds(tl: &Timelines, all: &[EventRef], ops: &[Option<LockOp>]) -> Vec<Hold> {
    let mut holds: Vec<Hold> = Vec::new();
    let mut open: Option<Hold> = None;
    for (x, op) in all.iter().zip(ops) {
        let e = signals::event(tl, *x);
        match (*op, e.is_success()) {
            (Some(LockOp::Acquire), true) if open.is_none() => {
                open = Some(Hold {
                    acquire: Some(*x),
                    release: None,
                    start: e.end,
                    end: i64::MAX,
                })
            }
            (Some(LockOp::Release), true) => {
                if let Some(mut h) = open.take() {
                    h.release = Some(*x);
                    h.end = e.end;
                    holds.push(h);
                }
            }
            _ => {}
        }
    }
    holds.extend(open);
    holds
}

/// The blocked attempts (from `blocked`, in start order) that fall within hold `h` and are not
/// the holder's own re-acquire. Only the range that can overlap the hold is looked at: none
/// of the attempts lasted longer than `longest`.
fn blocked_during(
    tl: &Timelines,
    blocked: &[EventRef],
    h: &Hold,
    r: Micros,
    longest: Micros,
) -> Vec<EventRef> {
    let holder = h.acquire.map(|a| signals::event(tl, a).client);
    let start = |x: &EventRef| signals::event(tl, *x).start;
    let lo = blocked.partition_point(|x| start(x).saturating_add(longest) < h.start - r);
    let hi = blocked.partition_point(|x| start(x) <= h.end.saturating_add(r));
    blocked[lo..hi.max(lo)]
        .iter()
        .copied()
        .filter(|x| {
            let e = signals::event(tl, *x);
            e.end >= h.start - r
                && e.start <= h.end.saturating_add(r)
                && (Some(e.client) != holder || e.status == 423)
        })
        .collect()
}

/// The median (`signals::median`) of the sorted hold times `sorted` without those equal to
/// `d`, the hold being judged; `None` when no other remains.
fn median_without(sorted: &[Micros], d: Micros) -> Option<Micros> {
    let (a, b) = (
        sorted.partition_point(|&x| x < d),
        sorted.partition_point(|&x| x <= d),
    );
    let n = sorted.len() - (b - a);
    if n == 0 {
        return None;
    }
    let m = n / 2;
    Some(if m < a {
        sorted[m]
    } else {
        sorted[m + (b - a)]
    })
}

impl Detector for LockContention {
    fn cause(&self) -> &'static str {
        "lock_contention"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let mut limits = Limits {
            min_blocked: cx.thresholds.get("lock_min_blocked").max(1.0) as usize,
            long_factor: cx.thresholds.get("lock_long_hold_factor"),
            r: 0,
        };
        // Only resources with a blocked attempt can make a finding: their groups are the
        // only ones built (grouping every instance, a map entry and vectors each, cost most
        // of this detector's time on a log of a million conflicting instances).
        // Asked of every instance below: hashed, not searched in a tree of strings.
        let contended: rustc_hash::FxHashSet<&str> = (tl.instances().enumerate())
            .filter(|(id, inst)| tl.events[*id].iter().any(|e| is_blocked(e, inst.path)))
            .map(|(_, inst)| signals::locked_resource(inst.path))
            .collect();
        if contended.is_empty() {
            return Vec::new();
        }
        limits.r = signals::clock_resolution(tl);
        // Group instances by the resource they lock: `/docs/1` and `/docs/1/lock`.
        let mut groups: BTreeMap<&str, Vec<InstanceId>> = BTreeMap::new();
        for (id, inst) in tl.instances().enumerate() {
            let resource = signals::locked_resource(inst.path);
            if contended.contains(resource) {
                groups.entry(resource).or_default().push(id as InstanceId);
            }
        }
        let mut out = Vec::new();
        for (resource, ids) in groups {
            resource_findings(cx, resource, &ids, &limits, &mut out);
        }
        out
    }
}

/// The thresholds, read once, and the log's clock resolution (`r`: every event is read to
/// tell it).
struct Limits {
    min_blocked: usize,
    long_factor: f64,
    r: i64,
}

/// A blocked attempt: a conflict that is a 423, or a 409 on an acquire.
fn is_blocked(e: &crate::timeline::Event, path: &str) -> bool {
    e.conflict()
        && (e.status == 423
            || (e.status == 409 && signals::lock_op(e, path) == Some(LockOp::Acquire)))
}

/// The findings of one locked resource (its instances `ids`): its events in start order,
/// its holds, and the blocked attempts each hold (or an unknown holder, before the first
/// known acquire) kept waiting, where they are enough.
fn resource_findings(
    cx: &Context<'_>,
    resource: &str,
    ids: &[InstanceId],
    limits: &Limits,
    out: &mut Vec<Finding>,
) {
    let (tl, r) = (cx.timelines, limits.r);
    let mut all: Vec<EventRef> = ids
        .iter()
        .flat_map(|&i| {
            (0..tl.events[i as usize].len()).map(move |index| EventRef { instance: i, index })
        })
        .collect();
    all.sort_by_key(|r| {
        let e = signals::event(tl, *r);
        (e.start, e.end, e.input, e.offset())
    });
    let op = |r: &EventRef| signals::lock_op(signals::event(tl, *r), tl.instance(r.instance).path);
    // The blocked attempts, in `all`'s (start) order; most groups have none.
    let blocked_all: Vec<EventRef> = all
        .iter()
        .copied()
        .filter(|r| is_blocked(signals::event(tl, *r), tl.instance(r.instance).path))
        .collect();
    if blocked_all.is_empty() {
        return;
    }
    // Each event's lock operation, told once.
    let ops: Vec<Option<LockOp>> = all.iter().map(op).collect();
    let longest = all
        .iter()
        .map(|r| signals::event(tl, *r).duration())
        .max()
        .unwrap_or(0)
        .max(0);
    let holds = holds(tl, &all, &ops);
    let mut completed: Vec<i64> = holds
        .iter()
        .filter(|h| h.release.is_some())
        .map(|h| h.end - h.start)
        .collect();
    completed.sort_unstable();
    // Blocked attempts before the first known acquire: holder unknown.
    let first_acquire = holds.first().map_or(i64::MAX, |h| h.start);
    let mut candidates: Vec<(Option<&Hold>, Vec<EventRef>)> = Vec::new();
    let unknown: Vec<EventRef> = blocked_all
        .iter()
        .copied()
        .filter(|x| signals::event(tl, *x).end < first_acquire - r)
        .collect();
    candidates.push((None, unknown));
    for h in &holds {
        candidates.push((Some(h), blocked_during(tl, &blocked_all, h, r, longest)));
    }
    for (hold, blocked) in candidates {
        if blocked.len() < limits.min_blocked {
            continue;
        }
        let lock = Lock {
            resource,
            ids,
            completed: &completed,
            r,
        };
        out.push(lock.finding(cx, hold, blocked, limits.long_factor));
    }
}

/// A locked resource (`/docs/1`, locked through `/docs/1/lock` too: `ids`), the lengths of
/// its completed holds, sorted, and the log's clock resolution.
struct Lock<'a> {
    resource: &'a str,
    ids: &'a [InstanceId],
    completed: &'a [i64],
    r: i64,
}

impl Lock<'_> {
    /// The finding of the attempts `blocked` while `hold` held the lock (or before any known
    /// acquire: `None`); an incident when the hold was never released or was long (at least
    /// `long_factor` times the other holds' median).
    fn finding(
        &self,
        cx: &Context<'_>,
        hold: Option<&Hold>,
        blocked: Vec<EventRef>,
        long_factor: f64,
    ) -> Finding {
        let tl = cx.timelines;
        let first = signals::event(tl, blocked[0]);
        let last = signals::event(tl, *blocked.last().unwrap());
        let blocked_clients: BTreeSet<u32> = blocked
            .iter()
            .map(|x| signals::event(tl, *x).client)
            .collect();
        let holder = hold
            .and_then(|h| h.acquire)
            .map(|a| signals::event(tl, a).client);
        let released = hold.and_then(|h| h.release);
        let held_for = hold.map(|h| {
            if h.release.is_some() {
                h.end - h.start
            } else {
                cx.period.1 - h.start
            }
        });
        let long = match held_for.and_then(|d| median_without(self.completed, d)) {
            Some(m) => held_for.unwrap_or(0) as f64 >= long_factor * m as f64,
            None => blocked_clients.len() >= 2,
        };
        let severity = if hold.is_some() && released.is_none() || long {
            Severity::Incident
        } else {
            Severity::Info
        };
        let confidence = match (holder, released) {
            (Some(_), Some(_)) => 0.8,
            (Some(_), None) => 0.75,
            (None, _) => 0.5,
        };
        let mut evidence: Vec<EventRef> = hold.and_then(|h| h.acquire).into_iter().collect();
        evidence.push(blocked[0]);
        if let Some(o) = blocked
            .iter()
            .find(|x| signals::event(tl, **x).client != first.client)
        {
            evidence.push(*o);
        }
        evidence.extend(blocked.last());
        evidence.extend(released);
        // The sentence's times in turn: the hold's, then the attempts'.
        let mut moments = Moments::new(cx.period);
        let holder_text = holder_text(tl, self.resource, hold, cx.period.1, self.r, &mut moments);
        let (first_at, last_at) = moments.span(first.end, last.end);
        let summary = format!(
            "{holder_text}; {} attempts by {} client{} got {} between {} and {}.",
            blocked.len(),
            blocked_clients.len(),
            if blocked_clients.len() == 1 { "" } else { "s" },
            signals::status_list(blocked.iter().map(|x| signals::event(tl, *x).status)),
            first_at,
            last_at,
        );
        let (template, lock_paths) = template_and_lock_paths(tl, self.resource, self.ids);
        Draft {
            cause: "lock_contention",
            severity,
            scope: Scope::Instance,
            template,
            instance: Some(self.resource.to_string()),
            extra_instances: lock_paths,
            claims: blocked,
            evidence,
            other_clients: holder.into_iter().collect(),
            confidence,
            summary,
            advice: ADVICE.into(),
        }
        .build(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// On random scenarios, with holds between any two events (and open ones), the
        /// range search picks the attempts the full filter picks, in the same order.
        #[test]
        fn blocked_during_matches_the_full_filter(log in scenario(), r in proptest::sample::select(vec![1_000i64, 1_000_000])) {
            let tl = log.timelines();
            let mut all: Vec<EventRef> = (0..tl.instance_count())
                .flat_map(|i| (0..tl.events[i].len()).map(move |index| EventRef { instance: i as InstanceId, index }))
                .collect();
            all.sort_by_key(|x| {
                let e = signals::event(&tl, *x);
                (e.start, e.end, e.input, e.offset())
            });
            let blocked: Vec<EventRef> = all.iter().copied().filter(|x| signals::event(&tl, *x).conflict()).collect();
            let longest = all.iter().map(|x| signals::event(&tl, *x).duration()).max().unwrap_or(0).max(0);
            for (k, a) in all.iter().enumerate().step_by(2) {
                for b in all[k..].iter().map(Some).step_by(3).chain([None]) {
                    let h = Hold {
                        acquire: Some(*a),
                        release: b.copied(),
                        start: signals::event(&tl, *a).end,
                        end: b.map_or(i64::MAX, |b| signals::event(&tl, *b).end),
                    };
                    let holder = Some(signals::event(&tl, *a).client);
                    let want: Vec<EventRef> = blocked.iter().copied().filter(|x| {
                        let e = signals::event(&tl, *x);
                        e.end >= h.start - r
                            && e.start <= h.end.saturating_add(r)
                            && (Some(e.client) != holder || e.status == 423)
                    }).collect();
                    proptest::prop_assert_eq!(blocked_during(&tl, &blocked, &h, r, longest), want);
                }
            }
        }

        /// The median without one hold time, against filtering and sorting.
        #[test]
        fn median_without_matches_filtering(v in proptest::collection::vec(0i64..20, 0..30), d in 0i64..20) {
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let others: Vec<i64> = v.iter().copied().filter(|x| *x != d).collect();
            let want = (!others.is_empty()).then(|| signals::median(&others));
            proptest::prop_assert_eq!(median_without(&sorted, d), want);
        }
    }

    #[test]
    fn long_hold_blocks_others() {
        let mut log = Log::new();
        log.at(10.0)
            .req("h", "POST", "/docs/1/lock", 200)
            .at(12.0)
            .req("h", "DELETE", "/docs/1/lock", 204);
        log.at(100.0).req("h", "POST", "/docs/1/lock", 200);
        for (k, c) in ["a", "b", "a", "c"].iter().enumerate() {
            log.at(150.0 + 60.0 * k as f64)
                .req(c, "PUT", "/docs/1", 423);
        }
        log.at(500.0).req("h", "DELETE", "/docs/1/lock", 204);
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&LockContention);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].instance.as_deref(), Some("/docs/1"));
        assert_eq!(f[0].severity, Severity::Incident);
        assert_eq!(log.clients_of(&f[0])[3], "h");
    }

    #[test]
    fn prompt_release_is_not_a_finding() {
        let mut log = Log::new();
        log.at(100.0).req("h", "LOCK", "/dav/a.txt", 200);
        log.at(101.0).req("a", "PUT", "/dav/a.txt", 423);
        log.at(102.0).req("h", "UNLOCK", "/dav/a.txt", 204);
        log.at(103.0).req("a", "PUT", "/dav/a.txt", 201);
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&LockContention).is_empty());
    }

    #[test]
    fn never_released_lock_is_an_incident() {
        let mut log = Log::new();
        log.at(100.0).req("ci-1", "LOCK", "/state/prod", 200);
        for t in [2700.0, 3000.0, 3300.0] {
            log.at(t).req("ci-2", "LOCK", "/state/prod", 423);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&LockContention);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Incident);
    }
}
