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

use super::signals::{self, Draft, Lookup, clock, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::{Method, Micros};
use crate::timeline::{Event, InstanceId};
use std::collections::BTreeSet;

pub struct InProgressConflict;

const ADVICE: &str = "Poll the 202's status URL (Location / operation resource) until the accepted job finishes before sending the next change to the resource, retry 'operation in progress' conflicts with exponential backoff honouring Retry-After, avoid deleting and immediately recreating the same name, and serialise jobs and edits on one resource.";

/// A trigger: where it is relative to K, and the event.
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

impl Detector for InProgressConflict {
    fn cause(&self) -> &'static str {
        "in_progress_conflict"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min_conflicts = cx.thresholds.get("in_progress_min_conflicts").max(1.0) as usize;
        let min_share = cx.thresholds.get("in_progress_min_share");
        let r = signals::clock_resolution(tl);
        let mut out = Vec::new();
        // Triggers of every instance, found once: (event index, usable from a child, i.e.
        // a 202 rather than a DELETE). A busy collection is the parent of many conflicting
        // items, so scanning its events per item would be quadratic.
        let triggers_of: Vec<Vec<(usize, bool)>> = tl
            .instances
            .iter()
            .enumerate()
            .map(|(rid, inst)| {
                tl.events[rid]
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| is_trigger(e, &inst.path, true))
                    .map(|(k, e)| (k, is_trigger(e, &inst.path, false)))
                    .collect()
            })
            .collect();
        for (id, inst) in tl.instances.iter().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let id = id as InstanceId;
            let events = &tl.events[id as usize];
            let mut triggers: Vec<Trigger> = Vec::new();
            let mut related: Vec<(InstanceId, bool)> = vec![(id, true)];
            if let Some(p) = inst.parent {
                related.push((p, true));
            }
            related.extend(tl.children(id).map(|c| (c, false)));
            for (rid, own_or_parent) in related {
                for &(index, from_child) in &triggers_of[rid as usize] {
                    if own_or_parent || from_child {
                        triggers.push(Trigger {
                            instance: rid,
                            index,
                            related: rid != id,
                        });
                    }
                }
            }
            triggers.sort_by_key(|t| tl.events[t.instance as usize][t.index].end);
            if triggers.is_empty() {
                continue;
            }
            let lookup = Lookup::new(events);
            let mut used_until = i64::MIN;
            for t in &triggers {
                let z = &tl.events[t.instance as usize][t.index];
                if z.end <= used_until {
                    continue;
                }
                let own = (t.instance == id).then_some(t.index);
                let Some(BusyWindow {
                    success: s,
                    inside,
                    after,
                }) = busy_window(events, &lookup, own, z.end, r)
                else {
                    continue;
                };
                let until = events[s].end;
                if inside.len() < min_conflicts {
                    continue;
                }
                if (inside.len() as f64) < min_share * (inside.len() + after) as f64 {
                    continue;
                }
                used_until = until;
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
                let claims: Vec<EventRef> = inside
                    .iter()
                    .map(|&index| EventRef {
                        instance: id,
                        index,
                    })
                    .collect();
                let trigger_ref = EventRef {
                    instance: t.instance,
                    index: t.index,
                };
                let mut evidence = vec![trigger_ref, claims[0]];
                if let Some(other) = inside
                    .iter()
                    .find(|&&k| events[k].client != events[inside[0]].client)
                {
                    evidence.push(EventRef {
                        instance: id,
                        index: *other,
                    });
                }
                evidence.push(*claims.last().unwrap());
                evidence.push(EventRef {
                    instance: id,
                    index: s,
                });
                let clients: BTreeSet<u32> = inside.iter().map(|&k| events[k].client).collect();
                let summary = format!(
                    "{} {} returned {} at {} ({}); then {} writes to {} from {} client{} got {} until the first successful write at {}, {} later.",
                    z.method().as_str(),
                    tl.instance(t.instance).path,
                    z.status,
                    clock(z.end),
                    tl.client(z.client),
                    inside.len(),
                    inst.path,
                    clients.len(),
                    if clients.len() == 1 { "" } else { "s" },
                    signals::status_list(inside.iter().map(|&k| events[k].status)),
                    clock(until),
                    span_text(until - z.end, r),
                );
                let extra = if t.related {
                    vec![t.instance]
                } else {
                    Vec::new()
                };
                out.push(
                    Draft {
                        cause: "in_progress_conflict",
                        severity: Severity::Incident,
                        scope: Scope::Instance,
                        template: inst.template.to_string(),
                        instance: Some(inst.path.clone()),
                        extra_instances: extra,
                        claims,
                        evidence,
                        other_clients: vec![z.client, events[s].client],
                        confidence,
                        summary,
                        advice: ADVICE.into(),
                    }
                    .build(cx),
                );
            }
        }
        out
    }
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
