//! `hot_spot_edit` (root-causes.md D1): several clients write one instance at once and the
//! losers get 409/412 right after another client's successful write.
//!
//! Signature: each 409/412 update x by client A on instance K is *attributed* when a
//! successful write on K by another client ends after A's last read of K (minus the clock
//! resolution) and no later than x ends — the winner committed between A's read and A's
//! write. Without a read by A the winner must end within `hot_spot_lookback` report buckets
//! before x. Attributed conflicts are split into episodes by their own gaps, but a lull in
//! the losses while the writes on K go on does not split (`signals::join_lulls`: at 1-s
//! resolution a 30-conflict minute has a median gap of 1 s, and a chance 13-s pause between
//! losses must not report one race as two); an episode is a
//! finding with at least `min_conflicts` conflicts, `hot_spot_min_writers` distinct writers on
//! K during it, and conflicts ≥ `hot_spot_min_conflict_ratio` of K's writes during it.
//!
//! Guards: the ratio keeps a busy key with a legitimate 0.1 % of conflicts quiet; a single
//! conflict the client resolved (409 → GET → 200) is below `min_conflicts`; creates and lock
//! operations belong to other causes. At 1-s timestamp resolution the overlap is only
//! "possible", which lowers confidence.
//!
//! Advice: read–modify–write with If-Match/ETag and a bounded retry that re-reads with
//! jittered exponential backoff; for hot keys serialise writes (queue/single owner), shard the
//! record or use atomic server-side operations.

use super::signals::{self, Draft, clocks, percent, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Micros;
use crate::timeline::{Event, Instance};
use signals::Lookup;
use std::collections::BTreeSet;

pub struct HotSpotEdit;

const ADVICE: &str = "Use read-modify-write with If-Match/ETag and a bounded retry that re-reads before each attempt, with jittered exponential backoff, because several writers race on this resource; prefer partial updates (PATCH, atomic increments) over full replacement; for a hot key serialise writes through a single owner or queue, or shard the record.";

/// A conflict `attribute` looks at: a version conflict on a versioned update.
fn attributable(x: &Event, path: &str) -> bool {
    signals::is_version_conflict(x) && signals::is_versioned_update(x, path)
}

/// The conflicts on one instance attributed to a winner: (conflict index, winner index, had a
/// read anchor). The winner of conflict x by client A is the last successful write by another
/// client that ends after A's last read before x (or within `lookback` of x without one) and
/// by the end of x.
///
/// Indexed (`Lookup`) so that a hot instance is not quadratic.
fn attribute(
    events: &[Event],
    lookup: &Lookup<'_>,
    path: &str,
    r: Micros,
    lookback: Micros,
) -> Vec<(usize, usize, bool)> {
    let mut attributed = Vec::new();
    for (k, x) in events.iter().enumerate() {
        if !attributable(x, path) {
            continue;
        }
        let read = lookup.last_read_before(x.client, k);
        let since = match read {
            Some(j) => events[j].end - r,
            None => x.start - lookback - r,
        };
        // Winners start by the end of x; events are in start order.
        let upto = events.partition_point(|w| w.start <= x.end);
        if let Some(j) = lookup.last_foreign_success(upto, k, x.client, since, x.end + r) {
            attributed.push((k, j, read.is_some()));
        }
    }
    attributed
}

impl Detector for HotSpotEdit {
    fn cause(&self) -> &'static str {
        "hot_spot_edit"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let limits = Limits::of(cx);
        let mut out = Vec::new();
        for (id, inst) in tl.instances().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let events = &tl.events[id];
            // Fewer conflicts that could be attributed than a finding needs: most conflicting
            // instances of a large log have one or two, and need no index built.
            let candidates = (events.iter())
                .filter(|x| attributable(x, inst.path))
                .take(limits.min_conflicts)
                .count();
            if candidates < limits.min_conflicts {
                continue;
            }
            let lookup = Lookup::new(events);
            let attributed = attribute(events, &lookup, inst.path, limits.r, limits.lookback);
            let times: Vec<i64> = attributed.iter().map(|a| events[a.0].start).collect();
            let eps = signals::episodes(&times, limits.factor, limits.r);
            let write_times: Vec<i64> = events
                .iter()
                .filter(|e| e.is_write())
                .map(|e| e.start)
                .collect();
            for ep in signals::join_lulls(&times, eps, limits.factor, limits.r, &write_times) {
                let race = Race {
                    id: id as u32,
                    inst,
                    events,
                    group: &attributed[ep],
                };
                out.extend(race.finding(cx, &limits, &lookup));
            }
        }
        out
    }
}

/// The thresholds, and the log's clock resolution.
struct Limits {
    min_conflicts: usize,
    min_writers: usize,
    min_ratio: f64,
    lookback: Micros,
    factor: f64,
    r: Micros,
}

impl Limits {
    fn of(cx: &Context<'_>) -> Limits {
        let th = cx.thresholds;
        Limits {
            min_conflicts: th.get("min_conflicts").max(1.0) as usize,
            min_writers: th.get("hot_spot_min_writers").max(2.0) as usize,
            min_ratio: th.get("hot_spot_min_conflict_ratio"),
            lookback: (th.get("hot_spot_lookback") * cx.bucket_us as f64) as i64,
            factor: th.get("episode_gap_factor"),
            r: signals::clock_resolution(cx.timelines),
        }
    }
}

/// One episode of attributed conflicts on one instance: (conflict index, winner index, had
/// a read anchor) each, as `attribute` gives them.
struct Race<'a> {
    id: u32,
    inst: Instance<'a>,
    events: &'a [Event],
    group: &'a [(usize, usize, bool)],
}

impl Race<'_> {
    /// The finding, when the episode has enough conflicts, writers, and conflicts among the
    /// writes in its span.
    fn finding(&self, cx: &Context<'_>, limits: &Limits, lookup: &Lookup<'_>) -> Option<Finding> {
        let (events, group, r) = (self.events, self.group, limits.r);
        if group.len() < limits.min_conflicts {
            return None;
        }
        let from = (group.iter())
            .map(|a| events[a.1].start.min(events[a.0].start))
            .min()?;
        let to = group.iter().map(|a| events[a.0].end).max()?;
        let in_span = |e: &&Event| e.is_write() && e.end >= from && e.start <= to;
        let writes: Vec<&Event> = events[lookup.reaching(from, to)]
            .iter()
            .filter(in_span)
            .collect();
        let writers: BTreeSet<u32> = writes.iter().map(|e| e.client).collect();
        let conflicts_in_span = writes.iter().filter(|e| e.conflict()).count();
        if writers.len() < limits.min_writers
            || (conflicts_in_span as f64) < limits.min_ratio * writes.len() as f64
        {
            return None;
        }
        let successes = writes.iter().filter(|e| e.is_success()).count();
        let at = |index| EventRef {
            instance: self.id,
            index,
        };
        let claims: Vec<EventRef> = group.iter().map(|a| at(a.0)).collect();
        let mut evidence: Vec<EventRef> = (group.iter().take(2))
            .flat_map(|a| [at(a.1), at(a.0)])
            .collect();
        evidence.extend(claims.last());
        let winners: Vec<u32> = group.iter().map(|a| events[a.1].client).collect();
        let losers: BTreeSet<u32> = group.iter().map(|a| events[a.0].client).collect();
        let (first_at, last_at) = clocks(from, to, cx.period);
        let summary = format!(
            "{} clients wrote {} between {} and {} ({}): {} of {} writes ({}) got {} right after another client's successful write; {} conflicting clients, {} attempts per success.",
            writers.len(),
            self.inst.path,
            first_at,
            last_at,
            span_text(to - from, r),
            conflicts_in_span,
            writes.len(),
            percent(conflicts_in_span, writes.len()),
            signals::status_list(group.iter().map(|a| events[a.0].status)),
            losers.len(),
            if successes == 0 {
                "no".to_string()
            } else {
                format!("{:.1}", writes.len() as f64 / successes as f64)
            }
        );
        let anchored = group.iter().filter(|a| a.2).count();
        Some(
            Draft {
                cause: "hot_spot_edit",
                severity: Severity::Incident,
                scope: Scope::Instance,
                template: self.inst.template.to_string(),
                instance: Some(self.inst.path.to_string()),
                extra_instances: Vec::new(),
                claims,
                evidence,
                other_clients: winners,
                confidence: confidence(anchored, group.len(), writers.len(), r),
                summary,
                advice: ADVICE.into(),
            }
            .build(cx),
        )
    }
}

/// How sure a race is: more when most of its losers had read before (`anchored` of
/// `conflicts`), when three or more clients wrote, and with sub-second timestamps (at whole
/// seconds the winner and the loser only possibly overlap: less).
fn confidence(anchored: usize, conflicts: usize, writers: usize, r: Micros) -> f64 {
    let mut confidence = 0.5;
    if anchored * 2 >= conflicts {
        confidence += 0.2;
    }
    if writers >= 3 {
        confidence += 0.1;
    }
    if r < crate::timestamp::MICROS_PER_SEC {
        confidence += 0.1;
    } else {
        confidence -= 0.2;
    }
    if anchored == 0 {
        confidence -= 0.1;
    }
    confidence
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// The attribution `attribute` replaced: a backward scan for the read and a scan of all
    /// events for the winner, for each conflict.
    fn attribute_by_full_search(
        events: &[Event],
        path: &str,
        r: Micros,
        lookback: Micros,
    ) -> Vec<(usize, usize, bool)> {
        let mut attributed = Vec::new();
        for (k, x) in events.iter().enumerate() {
            if !(signals::is_version_conflict(x) && signals::is_versioned_update(x, path)) {
                continue;
            }
            let read = events[..k]
                .iter()
                .rposition(|e| e.client == x.client && e.method().is_read());
            let since = match read {
                Some(j) => events[j].end - r,
                None => x.start - lookback - r,
            };
            let mut winner = events.iter().enumerate().filter(|(j, w)| {
                *j != k
                    && w.client != x.client
                    && w.is_write()
                    && w.is_success()
                    && w.end >= since
                    && w.end <= x.end + r
                    && w.start <= x.end
            });
            if let Some((j, _)) = winner.next_back() {
                attributed.push((k, j, read.is_some()));
            }
        }
        attributed
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Random scenarios: the indexed attribution equals the full search, at both clock
        /// resolutions and with and without a look-back.
        #[test]
        fn attribution_matches_the_full_search(log in scenario(), lookback in 0i64..100_000_000) {
            let tl = log.timelines();
            for (id, inst) in tl.instances().enumerate() {
                for r in [1_000, crate::timestamp::MICROS_PER_SEC] {
                    let lookup = Lookup::new(&tl.events[id]);
                    proptest::prop_assert_eq!(
                        attribute(&tl.events[id], &lookup, inst.path, r, lookback),
                        attribute_by_full_search(&tl.events[id], inst.path, r, lookback)
                    );
                }
            }
        }
    }

    fn race(log: &mut Log, t: f64, winner: &str, loser: &str) {
        log.at(t).req(loser, "GET", "/inv/1", 200);
        log.at(t + 0.1).req(winner, "PUT", "/inv/1", 200);
        log.at(t + 0.3).req(loser, "PUT", "/inv/1", 409);
    }

    #[test]
    fn losers_after_foreign_writes_make_a_hot_spot() {
        let mut log = Log::new();
        log.timed(Some(0.02));
        for (k, (w, l)) in [("a", "b"), ("b", "c"), ("c", "a"), ("a", "c")]
            .iter()
            .enumerate()
        {
            race(&mut log, 10.0 + k as f64, w, l);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&HotSpotEdit);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 4);
        assert!(f[0].confidence >= 0.75, "{}", f[0].confidence);
    }

    #[test]
    fn rare_conflicts_on_a_busy_key_are_normal() {
        let mut log = Log::new();
        // 2,000 writes over an hour from 4 clients, 4 conflicts spread out.
        for k in 0..2000 {
            let c = ["a", "b", "c", "d"][k % 4];
            log.at(k as f64 * 1.8).req(c, "PUT", "/inv/1", 200);
        }
        for k in 0..4 {
            log.at(100.0 + 900.0 * k as f64 + 0.5)
                .req("b", "PUT", "/inv/1", 409);
        }
        assert!(log.run_one(&HotSpotEdit).is_empty());
    }

    #[test]
    fn one_writer_alone_is_not_a_hot_spot() {
        let mut log = Log::new();
        for k in 0..5 {
            log.at(10.0 + k as f64)
                .req("a", "GET", "/inv/1", 200)
                .at(10.5 + k as f64)
                .req("a", "PUT", "/inv/1", 409);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&HotSpotEdit).is_empty());
    }
}
