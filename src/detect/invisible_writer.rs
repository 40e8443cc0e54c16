//! `invisible_writer` (root-causes.md R11/D10, unexplained conflicts): a client reads an
//! instance, writes it back, and gets 409/412 although nobody the log shows wrote it in
//! between. The version moved where the gateway cannot see it (a job, direct database
//! access, another ingress), or the read was answered by a replica or cache that lags.
//!
//! Signature: on one instance, version conflicts (409/412 on updates) that each follow the
//! same client's own successful read of the instance, with no write of that client between
//! the read and the conflict, and no successful write by anyone on the instance or its
//! sub-resources from the read until the conflict; at least `invisible_writer_min_conflicts`
//! of them within `invisible_writer_window_secs`.
//! When most of them come less than a second after the read, the read was probably served
//! stale (replica or cache lag), which the summary says (confidence +0.15).
//!
//! Guards: a second conflict without a re-read is a blind retry (`retry_storm`,
//! `stale_version`), not this; a client's own successful write before its conflict is a
//! self-conflict, not invisible; a route whose log holds no write that did not conflict
//! (a log of errors only, or a sampled one) shows no writes at all, so nothing on it is
//! called invisible. Last in arbitration: every cause the log can show goes first.
//!
//! Advice: log every write path, read from the primary for read-modify-write, and use
//! version-carrying responses.

use super::signals::{self, Draft, clocks, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Micros;
use crate::timeline::{ClientId, Instance, InstanceId, Timelines};
use crate::timestamp::MICROS_PER_SEC;
use rustc_hash::FxHashMap;

pub struct InvisibleWriter;

const ADVICE: &str = "Another writer changes this resource without passing through this gateway (a background job, a direct database update, another ingress or region), or reads are served from a lagging replica or cache. Log every write path; for read-modify-write, read from the primary (or pass a consistency token); return the new version (ETag) in write responses so clients need not re-read.";

/// Added for 412s: a proxy that rewrites ETags makes every precondition fail the same way.
const ETAG_ADVICE: &str = " For the 412s: check that the ETag the client sends back is the one it was given (a proxy that compresses or rewrites responses can turn strong ETags weak).";

/// A conflict that followed the client's own fresh read with no visible write in between.
struct Unseen {
    read: usize,
    conflict: usize,
}

/// The successful writes on an instance and its sub-resources, as (end, start), sorted.
struct Writes {
    spans: Vec<(Micros, Micros)>,
    longest: Micros,
}

impl Writes {
    fn of(tl: &Timelines, id: InstanceId) -> Writes {
        let mut spans: Vec<(Micros, Micros)> = std::iter::once(id)
            .chain(tl.children(id))
            .flat_map(|i| tl.events[i as usize].iter())
            .filter(|e| e.is_write() && e.is_success())
            .map(|e| (e.end, e.start))
            .collect();
        spans.sort_unstable();
        let longest = spans.iter().map(|(e, s)| e - s).max().unwrap_or(0);
        Writes { spans, longest }
    }

    /// Whether a write overlaps `from..=to`: it ends at or after `from` and starts by `to`.
    fn any_between(&self, from: Micros, to: Micros) -> bool {
        let lo = self.spans.partition_point(|&(end, _)| end < from);
        self.spans[lo..]
            .iter()
            .take_while(|&&(end, _)| end <= to.saturating_add(self.longest))
            .any(|&(_, start)| start <= to)
    }
}

/// The conflicts on one instance that follow the client's own fresh read with no write
/// visible in between (see the module doc), in time order.
fn unseen(tl: &Timelines, id: InstanceId, r: Micros) -> Vec<Unseen> {
    let events = &tl.events[id as usize];
    let path = tl.instance(id).path;
    let writes = Writes::of(tl, id);
    // Each client's last read, if it succeeded and no write of its own followed.
    let mut fresh: FxHashMap<ClientId, usize> = FxHashMap::default();
    let mut out = Vec::new();
    for (k, e) in events.iter().enumerate() {
        if e.method().is_read() {
            if e.is_success() {
                fresh.insert(e.client, k);
            } else {
                fresh.remove(&e.client);
            }
            continue;
        }
        if !e.is_write() {
            continue;
        }
        let Some(read) = fresh.remove(&e.client) else {
            continue;
        };
        if !(signals::is_version_conflict(e) && signals::is_versioned_update(e, path)) {
            continue;
        }
        // A write that ended up to the clock's resolution before the read began may not
        // have been visible to it: counted as visible, so such a conflict is not claimed.
        if !writes.any_between(events[read].start - r, e.end + r) {
            out.push(Unseen { read, conflict: k });
        }
    }
    out
}

/// The most conflicts starting within any `window` (times sorted).
fn densest(times: &[Micros], window: Micros) -> usize {
    let mut lo = 0;
    let mut best = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] > window {
            lo += 1;
        }
        best = best.max(hi + 1 - lo);
    }
    best
}

/// Whether the template logs writes that did not conflict (the guard against logs that
/// only show errors).
fn logs_writes(cx: &Context<'_>, template: &str) -> bool {
    cx.routes
        .get(template)
        .is_some_and(|buckets| buckets.values().any(|c| c.writes > c.conflicts))
}

impl Detector for InvisibleWriter {
    fn cause(&self) -> &'static str {
        "invisible_writer"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min = cx.thresholds.get("invisible_writer_min_conflicts").max(1.0) as usize;
        let window =
            (cx.thresholds.get("invisible_writer_window_secs") * MICROS_PER_SEC as f64) as Micros;
        let r = signals::clock_resolution(tl);
        let mut out = Vec::new();
        for (id, inst) in tl.instances().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let id = id as InstanceId;
            let events = &tl.events[id as usize];
            // Most conflicting instances of a large log have one or two conflicts.
            if events
                .iter()
                .filter(|e| signals::is_version_conflict(e))
                .count()
                < min
            {
                continue;
            }
            if !logs_writes(cx, inst.template) {
                continue;
            }
            let found = unseen(tl, id, r);
            let times: Vec<Micros> = found.iter().map(|u| events[u.conflict].start).collect();
            if densest(&times, window) < min {
                continue;
            }
            out.push(finding(cx, (id, inst), &found, r));
        }
        out
    }
}

/// The finding of the writes back on instance `id` that conflicted with no writer in sight
/// (`found`, in time order, at least one); spans told at the clock resolution `r`.
fn finding(
    cx: &Context<'_>,
    (id, inst): (InstanceId, Instance<'_>),
    found: &[Unseen],
    r: Micros,
) -> Finding {
    let tl = cx.timelines;
    let events = &tl.events[id as usize];
    let lagging = found
        .iter()
        .filter(|u| events[u.conflict].start - events[u.read].end < MICROS_PER_SEC)
        .count();
    let replica_lag = lagging * 2 >= found.len();
    let at = |index| EventRef {
        instance: id,
        index,
    };
    let claims: Vec<EventRef> = found.iter().map(|u| at(u.conflict)).collect();
    let (first, last) = (&found[0], found.last().unwrap_or(&found[0]));
    let evidence: Vec<EventRef> = [first.read, first.conflict, last.read, last.conflict]
        .into_iter()
        .map(at)
        .collect();
    let statuses = signals::status_list(found.iter().map(|u| events[u.conflict].status));
    let mut clients: Vec<ClientId> = found.iter().map(|u| events[u.conflict].client).collect();
    clients.sort_unstable();
    clients.dedup();
    let who = match clients.as_slice() {
        [one] => tl.client(*one).to_string(),
        many => format!("{} clients", many.len()),
    };
    let lag_text = if replica_lag {
        format!(
            " {lagging} of them came less than a second after the read: the read was most likely served by a lagging replica or cache."
        )
    } else {
        String::new()
    };
    let (first_at, last_at) = clocks(
        events[first.conflict].start,
        events[last.conflict].end,
        cx.period,
    );
    let summary = format!(
        "{who} read {} and wrote it back {} times from {} to {} ({}), and got {} each time, although no request in the log wrote it (or its sub-resources) between the read and the write.{lag_text}",
        inst.path,
        found.len(),
        first_at,
        last_at,
        span_text(events[last.conflict].end - events[first.conflict].start, r),
        statuses,
    );
    let mut advice = std::borrow::Cow::Borrowed(ADVICE);
    if found.iter().any(|u| events[u.conflict].status == 412) {
        advice.to_mut().push_str(ETAG_ADVICE);
    }
    Draft {
        cause: "invisible_writer",
        severity: Severity::Incident,
        scope: Scope::Instance,
        template: inst.template.to_string(),
        instance: Some(inst.path.to_string()),
        extra_instances: Vec::new(),
        claims,
        evidence,
        other_clients: Vec::new(),
        confidence: if replica_lag { 0.7 } else { 0.55 },
        summary,
        advice,
    }
    .build(cx)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    const K: &str = "/api/v1/accounts/48213";

    /// A log of `n` rounds, `spacing` seconds apart from 10 s on, each written by `round`
    /// from its start; with `logged`, other accounts are written successfully meanwhile (the
    /// route logs its writes).
    fn rounds(n: usize, spacing: f64, logged: bool, round: impl Fn(&mut Log, f64)) -> Log {
        let mut log = Log::new();
        if logged {
            for k in 0..10 {
                let path = format!("/api/v1/accounts/{}", 50_000 + k);
                log.at(5.0 + 30.0 * k as f64)
                    .req("10.0.0.9", "GET", &path, 200)
                    .req("10.0.0.9", "PUT", &path, 200);
            }
        }
        for k in 0..n {
            round(&mut log, 10.0 + spacing * k as f64);
        }
        log
    }

    /// A round: the client reads K and writes it back `gap` seconds later, answered `status`.
    fn read_then(gap: f64, status: u16) -> impl Fn(&mut Log, f64) {
        move |log, at| {
            log.at(at).req("10.1.1.1", "GET", K, 200);
            log.at(at + gap).req("10.1.1.1", "PUT", K, status);
        }
    }

    /// A round: the client reads K, `writer` writes `path` successfully, the client conflicts.
    fn read_write_conflict(writer: &'static str, path: String) -> impl Fn(&mut Log, f64) {
        move |log, at| {
            log.at(at).req("10.1.1.1", "GET", K, 200);
            log.at(at + 1.0).req(writer, "PATCH", &path, 200);
            log.at(at + 2.0).req("10.1.1.1", "PUT", K, 409);
        }
    }

    fn found(log: &Log) -> Vec<Finding> {
        log.run_one(&InvisibleWriter)
    }

    #[test]
    fn fresh_reads_then_conflicts_with_no_writer_in_sight() {
        let log = rounds(6, 40.0, true, read_then(0.2, 409));
        let f = found(&log);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].instance.as_deref(), Some(K));
        assert_eq!(f[0].conflicts(), 6);
        assert_eq!(log.clients_of(&f[0]), vec!["10.1.1.1"]);
        assert!(f[0].summary.contains("lagging replica"), "{}", f[0].summary);
        assert!((f[0].confidence - 0.7).abs() < 1e-9);
        // And in the whole registry nothing else takes them.
        assert_eq!(log.run_all(), vec![("invisible_writer", K.to_string())]);
    }

    #[test]
    fn slow_writes_back_are_not_called_replica_lag() {
        let f = found(&rounds(5, 60.0, true, read_then(20.0, 412)));
        assert_eq!(f.len(), 1);
        assert!(!f[0].summary.contains("replica"), "{}", f[0].summary);
        assert!(f[0].advice.contains("ETag the client sends"));
        assert!((f[0].confidence - 0.55).abs() < 1e-9);
    }

    #[test]
    fn a_visible_write_in_between_explains_the_conflict() {
        // Another client's write of the instance, or of a sub-resource (which changes the
        // instance's version too).
        for path in [K.to_string(), format!("{K}/notes")] {
            let log = rounds(6, 40.0, true, read_write_conflict("10.2.2.2", path));
            assert!(found(&log).is_empty());
        }
    }

    #[test]
    fn blind_retries_and_self_conflicts_are_not_invisible() {
        // One read, then six conflicting writes: only the first follows a fresh read.
        let log = rounds(6, 30.0, true, |log, at| {
            if at == 10.0 {
                log.at(at - 1.0).req("10.1.1.1", "GET", K, 200);
            }
            log.at(at).req("10.1.1.1", "PUT", K, 409);
        });
        assert!(found(&log).is_empty());
        // The client's own successful write moved the version.
        let log = rounds(
            6,
            40.0,
            true,
            read_write_conflict("10.1.1.1", K.to_string()),
        );
        assert!(found(&log).is_empty());
    }

    #[test]
    fn too_few_or_too_spread_out_is_not_a_finding() {
        assert!(found(&rounds(4, 40.0, true, read_then(0.2, 409))).is_empty());
        // Five, but an hour and more apart.
        assert!(found(&rounds(5, 1000.0, true, read_then(0.2, 409))).is_empty());
    }

    #[test]
    fn a_log_without_successful_writes_on_the_route_shows_nothing_invisible() {
        assert!(found(&rounds(6, 40.0, false, read_then(0.2, 409))).is_empty());
    }

    #[test]
    fn the_densest_window() {
        let s = MICROS_PER_SEC;
        assert_eq!(densest(&[], 10 * s), 0);
        assert_eq!(densest(&[0, s, 2 * s, 20 * s, 21 * s], 10 * s), 3);
        assert_eq!(densest(&[0, 10 * s, 20 * s], 10 * s), 2);
    }

    /// What `unseen` computes, by searching the whole timelines for each conflict.
    fn unseen_by_full_search(tl: &Timelines, id: InstanceId, r: Micros) -> Vec<(usize, usize)> {
        let events = &tl.events[id as usize];
        let path = tl.instance(id).path;
        let mut out = Vec::new();
        for (k, e) in events.iter().enumerate() {
            let versioned = signals::is_versioned_update(e, path);
            if !(versioned && signals::is_version_conflict(e)) {
                continue;
            }
            let Some(j) = events[..k]
                .iter()
                .rposition(|p| p.client == e.client && (p.method().is_read() || p.is_write()))
            else {
                continue;
            };
            if !(events[j].method().is_read() && events[j].is_success()) {
                continue;
            }
            let (from, to) = (events[j].start - r, e.end + r);
            let seen = std::iter::once(id).chain(tl.children(id)).any(|i| {
                tl.events[i as usize]
                    .iter()
                    .any(|w| w.is_write() && w.is_success() && w.end >= from && w.start <= to)
            });
            if !seen {
                out.push((j, k));
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// On random scenarios (an item, its actions and lock, its collection), the
        /// conflicts found are those a plain search of the timelines finds.
        #[test]
        fn unseen_matches_the_full_search(log in scenario()) {
            let tl = log.timelines();
            for id in 0..tl.instance_count() as InstanceId {
                for r in [1_000, MICROS_PER_SEC] {
                    let got: Vec<(usize, usize)> =
                        unseen(&tl, id, r).iter().map(|u| (u.read, u.conflict)).collect();
                    proptest::prop_assert_eq!(got, unseen_by_full_search(&tl, id, r));
                }
            }
        }
    }
}
