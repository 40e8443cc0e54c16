//! `stale_version` (root-causes.md R2 stale copy, D9 stale ETag loop): one client keeps
//! writing an instance with a version that another client's successful write has replaced.
//!
//! Signature: a run of one client's 409/412 updates on one instance with no read of the
//! instance and no own successful write in between (`signals::blind_runs`), split into
//! episodes by the run's own gaps; at least `stale_version_min_repeats` conflicts; and another
//! client's successful write on the instance after the loser's last read and before its first
//! conflict (the write that made its copy stale). When the loser has no read in the context,
//! any earlier foreign write counts, with lower confidence.
//!
//! Guards: one conflict followed by a re-read is handled (runs end at reads); creates and lock
//! operations are left to their own causes; tight loops are claimed first by `retry_storm`.
//!
//! Advice: send If-Match with the ETag from a fresh GET, and after a 409/412 re-read and
//! re-apply the change instead of resending the same version.

use super::signals::{self, Draft, Lookup, Moments, blind_runs, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Micros;
use crate::timeline::{ClientId, Event, Instance};

pub struct StaleVersion;

const ADVICE: &str = "On 409/412, re-read the resource (GET for the current ETag), re-apply the change and retry with If-Match set to the new ETag instead of resending the outdated version; refresh cached copies before editing (long editing sessions, informer caches) and use partial updates (PATCH) where the API allows.";

/// What surrounds a client's run of conflicts `first..=last` on one instance.
#[derive(Debug, PartialEq, Eq)]
struct Around {
    /// The client's last read before the run.
    last_read: Option<usize>,
    /// The foreign success that replaced the version the client holds: the last successful
    /// write by another client before the run, after the client's last read.
    winner: Option<usize>,
    /// The client's re-read after the run, and its successful write after that.
    recovery: Option<usize>,
    recovered: Option<usize>,
}

fn around(
    events: &[Event],
    lookup: &Lookup<'_>,
    client: ClientId,
    first: usize,
    last: usize,
    r: Micros,
) -> Around {
    let last_read = lookup.last_read_before(client, first);
    let since = last_read.map_or(Micros::MIN, |k| events[k].end - r);
    let winner = lookup.last_foreign_success(first, first, client, since, events[first].end + r);
    let recovery = lookup.first_read_after(client, last);
    let recovered = recovery.and_then(|k| lookup.first_own_success_after(client, k));
    Around {
        last_read,
        winner,
        recovery,
        recovered,
    }
}

impl Detector for StaleVersion {
    fn cause(&self) -> &'static str {
        "stale_version"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min_repeats = cx.thresholds.get("stale_version_min_repeats").max(2.0) as usize;
        let factor = cx.thresholds.get("episode_gap_factor");
        let r = signals::clock_resolution(tl);
        let mut out = Vec::new();
        for (id, inst) in tl.instances().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let id = id as u32;
            let events = &tl.events[id as usize];
            let counts = |e: &crate::timeline::Event| {
                signals::is_version_conflict(e) && signals::is_versioned_update(e, inst.path)
            };
            // An episode is part of one client's run: fewer such conflicts in all than an
            // episode needs rule the instance out (most conflicting instances of a large
            // log have one or two).
            if events.iter().filter(|e| counts(e)).count() < min_repeats {
                continue;
            }
            let lookup = Lookup::new(events);
            for (client, run) in blind_runs(tl, id, counts, true) {
                let times: Vec<i64> = run.iter().map(|&k| events[k].start).collect();
                for ep in signals::episodes(&times, factor, r) {
                    let idx = &run[ep];
                    if idx.len() < min_repeats {
                        continue;
                    }
                    let around = around(events, &lookup, client, idx[0], *idx.last().unwrap(), r);
                    out.extend(finding(cx, (id, inst), client, idx, around, r));
                }
            }
        }
        out
    }
}

/// The finding of `client`'s run of stale writes `idx` on instance `id` (spans told at the
/// clock resolution `r`), when another client's write that outdated its version is seen.
fn finding(
    cx: &Context<'_>,
    (id, inst): (u32, Instance<'_>),
    client: u32,
    idx: &[usize],
    around: Around,
    r: i64,
) -> Option<Finding> {
    let tl = cx.timelines;
    let events = &tl.events[id as usize];
    let (first, last) = (idx[0], *idx.last()?);
    let Around {
        last_read,
        winner,
        recovery,
        recovered,
    } = around;
    let winner = winner?;
    let mut confidence = 0.6;
    if last_read.is_some() {
        confidence += 0.15;
    }
    if recovered.is_some() {
        confidence += 0.1;
    }
    let at = |index| EventRef {
        instance: id,
        index,
    };
    let claims: Vec<EventRef> = idx.iter().map(|&index| at(index)).collect();
    let mut evidence: Vec<EventRef> = last_read.map(at).into_iter().collect();
    evidence.push(at(winner));
    evidence.push(claims[0]);
    evidence.extend(claims.last());
    evidence.extend(recovered.map(at));
    let w = &events[winner];
    // The times in the order the sentence names them.
    let mut moments = Moments::new(cx.period);
    let written = moments.at(w.end);
    let read_text = match last_read {
        Some(k) => format!("its last read at {}", moments.at(events[k].end)),
        None => "any read of it in the log".to_string(),
    };
    let recovery_text = match (recovery, recovered) {
        (Some(read), Some(_)) => format!("until {}", moments.at(events[read].end)),
        _ => "before the end of the log".to_string(),
    };
    let summary = format!(
        "{} sent {} {} {} times over {} with an outdated version and got {} each time: {} had written it ({} {}) at {}, after {}, and {} did not re-read {}.",
        tl.client(client),
        events[first].method().as_str(),
        inst.path,
        idx.len(),
        span_text(events[last].end - events[first].start, r),
        signals::status_list(idx.iter().map(|&k| events[k].status)),
        tl.client(w.client),
        w.method().as_str(),
        w.status,
        written,
        read_text,
        tl.client(client),
        recovery_text,
    );
    Some(
        Draft {
            cause: "stale_version",
            severity: Severity::Incident,
            scope: Scope::Instance,
            template: inst.template.to_string(),
            instance: Some(inst.path.to_string()),
            extra_instances: Vec::new(),
            claims,
            evidence,
            other_clients: vec![w.client],
            confidence,
            summary,
            advice: ADVICE.into(),
        }
        .build(cx),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// What `around` replaced: scans of the timeline before and after each run.
    fn around_by_full_search(
        events: &[Event],
        client: ClientId,
        first: usize,
        last: usize,
        r: Micros,
    ) -> Around {
        let last_read = events[..first]
            .iter()
            .rposition(|e| e.client == client && e.method().is_read());
        let since = last_read.map_or(i64::MIN, |k| events[k].end - r);
        let winner = events[..first].iter().rposition(|e| {
            e.client != client
                && e.is_write()
                && e.is_success()
                && e.end >= since
                && e.end <= events[first].end + r
        });
        let recovery = events[last + 1..]
            .iter()
            .position(|e| e.client == client && e.method().is_read())
            .map(|p| last + 1 + p);
        let recovered = recovery.and_then(|k| {
            events[k + 1..]
                .iter()
                .position(|e| e.client == client && e.is_write() && e.is_success())
                .map(|p| k + 1 + p)
        });
        Around {
            last_read,
            winner,
            recovery,
            recovered,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Every client's every span of events on random scenarios: the lookups find what
        /// the scans found.
        #[test]
        fn lookups_match_the_full_search(log in scenario()) {
            let tl = log.timelines();
            for events in tl.events.iter() {
                let lookup = Lookup::new(events);
                for first in 0..events.len() {
                    for last in (first..events.len()).step_by(3) {
                        for client in 0..tl.clients.len() as ClientId {
                            for r in [1_000, crate::timestamp::MICROS_PER_SEC] {
                                proptest::prop_assert_eq!(
                                    around(events, &lookup, client, first, last, r),
                                    around_by_full_search(events, client, first, last, r)
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn repeated_blind_conflicts_after_a_foreign_write() {
        let mut log = Log::new();
        log.at(0.0).req("sync", "GET", "/docs/d1", 200);
        log.at(300.0).req("editor", "PUT", "/docs/d1", 200);
        for k in 0..4 {
            log.at(320.0 + 40.0 * k as f64)
                .req("sync", "PUT", "/docs/d1", 412);
        }
        log.at(500.0)
            .req("sync", "GET", "/docs/d1", 200)
            .at(503.0)
            .req("sync", "PUT", "/docs/d1", 200);
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&StaleVersion);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 4);
        assert_eq!(
            log.clients_of(&f[0]),
            vec!["sync".to_string(), "editor".to_string()]
        );
        assert_eq!(f[0].evidence.len(), 5);
    }

    #[test]
    fn conflicts_each_followed_by_a_reread_are_handled() {
        let mut log = Log::new();
        log.at(300.0).req("editor", "PUT", "/docs/d1", 200);
        for k in 0..4 {
            let t = 320.0 + 40.0 * k as f64;
            log.at(t)
                .req("sync", "PUT", "/docs/d1", 412)
                .at(t + 1.0)
                .req("sync", "GET", "/docs/d1", 200);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&StaleVersion).is_empty());
    }

    #[test]
    fn no_foreign_write_means_not_stale() {
        let mut log = Log::new();
        log.at(0.0).req("sync", "GET", "/docs/d1", 200);
        for k in 0..4 {
            log.at(320.0 + 40.0 * k as f64)
                .req("sync", "PUT", "/docs/d1", 409);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&StaleVersion).is_empty());
    }
}
