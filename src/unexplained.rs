//! The conflicts no finding claims, grouped by instance: what is left after the root causes.
//!
//! Most are normal behaviour (a 409 the client handled with a re-read, one create-if-absent
//! probe), but a reader of a postmortem wants to see them rather than take "the others look
//! isolated" on trust: which instances, how many, from whom, when, and the lines themselves.
//! Every conflict line is an event of its instance's timeline (the pass keeps a conflicting
//! instance's own lines whole), so these groups add up to the conflicts less the explained.

use crate::detect::{EventRef, EventSet, Finding};
use crate::record::Micros;
use crate::timeline::{ClientId, Event, InstanceId, Timelines};
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;

/// How many of a group's conflict lines are kept to quote.
pub const QUOTED: usize = 3;

/// The unexplained conflicts on one instance: how many and when. A large log has a hundred
/// thousand such instances and the report shows a few, so what it shows of each (`Detail`)
/// is looked up for those only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unexplained {
    pub instance: InstanceId,
    /// How many of them the client followed with its own successful write on the instance:
    /// handled (a re-read and a retry, or a different change), not merely unexplained.
    pub handled: u32,
    pub conflicts: u64,
    pub first: Micros,
    pub last: Micros,
}

/// What the report shows of one instance's unexplained conflicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// Distinct clients that got them, the one with the most first (ties by number).
    pub clients: Vec<ClientId>,
    pub by_status: BTreeMap<u16, u64>,
    /// The first `QUOTED` of them, in time order.
    pub lines: Vec<EventRef>,
}

/// The events the findings claim, those on instance `only` if given.
fn claimed(timelines: &Timelines, findings: &[Finding], only: Option<InstanceId>) -> EventSet {
    let mut set = EventSet::new(&timelines.events);
    let claims = findings.iter().flat_map(|f| f.claims.iter());
    for &r in claims.filter(|r| only.is_none_or(|id| r.instance == id)) {
        set.insert(&timelines.events, r);
    }
    set
}

/// The conflict events on instance `id` that `claimed` does not hold, with their indices.
fn left<'t>(
    timelines: &'t Timelines,
    id: InstanceId,
    claimed: &'t EventSet,
) -> impl Iterator<Item = (usize, &'t Event)> + 't {
    let at = move |index| EventRef {
        instance: id,
        index,
    };
    timelines.events[id as usize]
        .iter()
        .enumerate()
        .filter(move |&(index, e)| e.conflict() && !claimed.contains(&timelines.events, at(index)))
}

/// Every instance's conflicts that no finding claims, most first (ties by path).
pub fn unexplained(timelines: &Timelines, findings: &[Finding]) -> Vec<Unexplained> {
    let claimed = claimed(timelines, findings, None);
    let mut out = Vec::new();
    // Clients with a successful write later on the instance, filled walking back in time.
    let mut succeeds_later: FxHashSet<ClientId> = Default::default();
    for id in 0..timelines.events.len() as InstanceId {
        let mut group: Option<Unexplained> = None;
        for (_, e) in left(timelines, id, &claimed) {
            let g = group.get_or_insert(Unexplained {
                instance: id,
                handled: 0,
                conflicts: 0,
                first: e.start,
                last: e.end,
            });
            g.conflicts += 1;
            g.first = g.first.min(e.start);
            g.last = g.last.max(e.end);
        }
        let Some(mut g) = group else {
            continue;
        };
        succeeds_later.clear();
        for (index, e) in timelines.events[id as usize].iter().enumerate().rev() {
            if e.is_write() && e.is_success() {
                succeeds_later.insert(e.client);
            } else if e.conflict()
                && succeeds_later.contains(&e.client)
                && !claimed.contains(
                    &timelines.events,
                    EventRef {
                        instance: id,
                        index,
                    },
                )
            {
                g.handled += 1;
            }
        }
        out.push(g);
    }
    // Instance ids follow their paths' order (`TimelineBuilder::build`). On every thread:
    // a million groups took half as long to sort as to gather, on one.
    use rayon::slice::ParallelSliceMut;
    out.par_sort_unstable_by_key(|u| (std::cmp::Reverse(u.conflicts), u.instance));
    out
}

/// The clients, statuses and first lines of one group of `unexplained`.
pub fn detail(timelines: &Timelines, findings: &[Finding], u: &Unexplained) -> Detail {
    let claimed = claimed(timelines, findings, Some(u.instance));
    let mut by_status = BTreeMap::new();
    let mut per_client: BTreeMap<ClientId, u64> = BTreeMap::new();
    let mut lines = Vec::new();
    for (index, e) in left(timelines, u.instance, &claimed) {
        *by_status.entry(e.status).or_insert(0) += 1;
        *per_client.entry(e.client).or_insert(0) += 1;
        if lines.len() < QUOTED {
            lines.push(EventRef {
                instance: u.instance,
                index,
            });
        }
    }
    let mut clients: Vec<(ClientId, u64)> = per_client.into_iter().collect();
    clients.sort_by_key(|&(c, n)| (std::cmp::Reverse(n), c));
    Detail {
        clients: clients.into_iter().map(|(c, _)| c).collect(),
        by_status,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::{Log, T0};
    use crate::detect::{Scope, Severity};
    use crate::timestamp::MICROS_PER_SEC as SEC;

    fn finding(claims: Vec<EventRef>) -> Finding {
        Finding {
            cause: "retry_storm",
            severity: Severity::Incident,
            scope: Scope::Instance,
            template: "/orders/{id}".into(),
            instance: Some("/orders/1".into()),
            instances: claims.first().map(|r| r.instance).into_iter().collect(),
            start: 0,
            end: 0,
            clients: vec![],
            confidence: 1.0,
            summary: String::new(),
            advice: "".into(),
            evidence: vec![],
            claims,
            schedule: None,
        }
    }

    /// What no finding claims is grouped by instance, with its statuses, clients (most
    /// first), period and first lines; instances without such conflicts are left out.
    #[test]
    fn groups_the_conflicts_no_finding_claims() {
        let mut log = Log::new();
        log.at(0.0).req("a", "PUT", "/orders/1", 409);
        log.at(1.0).req("a", "PUT", "/orders/1", 409);
        log.at(2.0).req("b", "PUT", "/orders/1", 412);
        log.at(3.0).req("b", "PUT", "/orders/1", 200);
        log.at(4.0).req("b", "PUT", "/orders/1", 409);
        log.at(5.0).req("c", "PUT", "/orders/2", 409);
        log.at(6.0).req("c", "GET", "/orders/3", 200);
        let tl = log.timelines();
        let one = tl.find_instance("/orders/1").unwrap();
        let two = tl.find_instance("/orders/2").unwrap();
        let at = |instance, index| EventRef { instance, index };
        // The finding claims the first two conflicts on /orders/1.
        let claims = [finding(vec![at(one, 0), at(one, 1)])];
        let left = unexplained(&tl, &claims);
        assert_eq!(left.len(), 2);
        assert_eq!(left[0].instance, one);
        assert_eq!(left[0].conflicts, 2);
        assert_eq!((left[0].first, left[0].last), (T0 + 2 * SEC, T0 + 4 * SEC));
        let d = detail(&tl, &claims, &left[0]);
        assert_eq!(
            d.by_status.iter().collect::<Vec<_>>(),
            [(&409, &1), (&412, &1)]
        );
        assert_eq!(d.clients.len(), 1);
        assert_eq!(tl.client(d.clients[0]), "b");
        assert_eq!(d.lines, [at(one, 2), at(one, 4)]);
        assert_eq!(left[1].instance, two);
        assert_eq!(left[1].conflicts, 1);
        assert_eq!((left[1].first, left[1].last), (T0 + 5 * SEC, T0 + 5 * SEC));
        // Nothing claimed: all five conflicts, clients most first; everything claimed:
        // nothing left.
        let all = unexplained(&tl, &[]);
        assert_eq!(all.iter().map(|g| g.conflicts).sum::<u64>(), 5);
        let d = detail(&tl, &[], &all[0]);
        let names: Vec<&str> = d.clients.iter().map(|&c| tl.client(c)).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(d.lines.len(), QUOTED);
        let every: Vec<EventRef> = (0..tl.events.len() as InstanceId)
            .flat_map(|i| (0..tl.events[i as usize].len()).map(move |k| at(i, k)))
            .collect();
        assert!(unexplained(&tl, &[finding(every)]).is_empty());
    }
}
