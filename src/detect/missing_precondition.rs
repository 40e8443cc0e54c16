//! `missing_precondition` (root-causes.md D9, 428): the server requires conditional writes
//! (`If-Match`) and clients send writes without one, so every such write is refused.
//!
//! Signature: 428 Precondition Required responses to writes on one route template, at least
//! `missing_precondition_min_conflicts` of them. 428 is never a race — the request itself lacks
//! the header — so no timing pattern is needed; the clients and their share are what matter.
//! Scope: `template`.
//!
//! Guards: a handful of 428s stay below the minimum (a developer trying the API by hand); a
//! 428 the client resolves — its next write to the instance succeeds, typically after a GET
//! for the ETag — is handled and not counted, however many such clients a busy route has
//! (root-causes.md §6.1: single handled conflicts are normal).
//!
//! Advice: send If-Match with the ETag from the last GET on every write to the route; announce
//! the requirement and find the client versions that omit it.

use super::signals::{self, Draft, clocks, percent};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Micros;
use crate::timeline::{ClientId, Event};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

pub struct MissingPrecondition;

const ADVICE: &str = "The server requires conditional writes on this route: send If-Match with the ETag from the last GET on every write (and re-read on 412). Announce the requirement to API consumers and identify the client versions (user agents) that omit the header.";

impl Detector for MissingPrecondition {
    fn cause(&self) -> &'static str {
        "missing_precondition"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min = cx
            .thresholds
            .get("missing_precondition_min_conflicts")
            .max(1.0) as usize;
        let mut per_template: BTreeMap<&str, Vec<EventRef>> = BTreeMap::new();
        for (id, inst) in tl.instances().enumerate() {
            let events = &tl.events[id];
            let refused = signals::refs_where(tl, id as u32, |e| {
                e.conflict() && e.status == 428 && e.is_write()
            });
            if refused.is_empty() {
                continue;
            }
            let next = NextWrites::new(events);
            for r in refused {
                if next.handled(&events[r.index]) {
                    continue;
                }
                per_template.entry(inst.template).or_default().push(r);
            }
        }
        let mut out = Vec::new();
        for (template, mut claims) in per_template {
            if claims.len() < min {
                continue;
            }
            claims.sort_by_key(|r| signals::event(tl, *r).start);
            let clients: BTreeSet<u32> = claims
                .iter()
                .map(|r| signals::event(tl, *r).client)
                .collect();
            let writes: usize = tl
                .instances()
                .enumerate()
                .filter(|(_, i)| i.template == template)
                .map(|(k, _)| tl.events[k].iter().filter(|e| e.is_write()).count())
                .sum();
            let mut evidence: Vec<EventRef> = Vec::new();
            let mut seen = BTreeSet::new();
            for r in &claims {
                if seen.insert(signals::event(tl, *r).client) && evidence.len() < 4 {
                    evidence.push(*r);
                }
            }
            evidence.push(*claims.last().unwrap());
            let (first_at, last_at) = clocks(
                signals::event(tl, claims[0]).start,
                signals::event(tl, *claims.last().unwrap()).end,
                cx.period,
            );
            let summary = format!(
                "{} writes to {template} from {} client{} got 428 Precondition Required between {} and {} ({} of the route's logged writes on these instances): they were sent without If-Match.",
                claims.len(),
                clients.len(),
                if clients.len() == 1 { "" } else { "s" },
                first_at,
                last_at,
                percent(claims.len(), writes),
            );
            out.push(
                Draft {
                    cause: "missing_precondition",
                    severity: Severity::Incident,
                    scope: Scope::Template,
                    template: template.to_string(),
                    instance: None,
                    extra_instances: Vec::new(),
                    claims,
                    evidence,
                    other_clients: Vec::new(),
                    confidence: 0.75,
                    summary,
                    advice: ADVICE.into(),
                }
                .build(cx),
            );
        }
        out
    }
}

/// Each client's writes on one instance in logged order, to tell whether a 428 was handled.
struct NextWrites {
    by_client: FxHashMap<ClientId, Vec<(WriteKey, bool)>>,
}

/// "Next" is by logged (end) time, then by line: at 1-s resolution a 428, the GET and the
/// successful retry often share one logged second, and ordering by start (end − duration)
/// would put a slow retry before the fast 428 it answers.
type WriteKey = (Micros, u32, u64);

fn write_key(e: &Event) -> WriteKey {
    (e.end, e.input, e.offset())
}

impl NextWrites {
    fn new(events: &[Event]) -> NextWrites {
        let mut by_client: FxHashMap<ClientId, Vec<(WriteKey, bool)>> = FxHashMap::default();
        for e in events.iter().filter(|e| e.is_write()) {
            by_client
                .entry(e.client)
                .or_default()
                .push((write_key(e), e.is_success()));
        }
        for writes in by_client.values_mut() {
            writes.sort_unstable();
        }
        NextWrites { by_client }
    }

    /// A 428 the client resolved: its next write to the same instance succeeded, so it
    /// re-sent the write with the precondition (usually after a GET for the ETag). Single
    /// handled conflicts are normal API behaviour (root-causes.md §6.1).
    fn handled(&self, x: &Event) -> bool {
        let Some(writes) = self.by_client.get(&x.client) else {
            return false;
        };
        let key = write_key(x);
        writes
            .get(writes.partition_point(|(k, _)| *k <= key))
            .is_some_and(|(_, success)| *success)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// What `NextWrites::handled` replaced: a scan of the timeline per refused write.
    fn handled_by_full_search(events: &[Event], k: usize) -> bool {
        let x = &events[k];
        events
            .iter()
            .filter(|e| e.client == x.client && e.is_write() && write_key(e) > write_key(x))
            .min_by_key(|e| write_key(e))
            .is_some_and(|e| e.is_success())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn handled_matches_the_full_search(log in scenario()) {
            let tl = log.timelines();
            for events in tl.events.iter() {
                let next = NextWrites::new(events);
                for k in 0..events.len() {
                    proptest::prop_assert_eq!(
                        next.handled(&events[k]),
                        handled_by_full_search(events, k)
                    );
                }
            }
        }
    }

    #[test]
    fn writes_without_if_match_are_refused() {
        let mut log = Log::new();
        for k in 0..6 {
            log.at(100.0 * k as f64).req(
                &format!("c{}", k % 3),
                "PUT",
                &format!("/docs/{}", k + 10),
                428,
            );
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&MissingPrecondition);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].template, "/docs/{id}");
        assert_eq!(f[0].claims.len(), 6);
    }

    #[test]
    fn handled_428s_are_not_a_finding() {
        // Many clients each get one 428, re-read and write again with If-Match: 200.
        let mut log = Log::new();
        for k in 0..12 {
            let (c, p) = (format!("c{k}"), format!("/docs/{}", k + 10));
            let t = 200.0 * k as f64;
            log.at(t).req(&c, "PUT", &p, 428);
            log.at(t + 0.5).req(&c, "GET", &p, 200);
            log.at(t + 1.5).req(&c, "PUT", &p, 200);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&MissingPrecondition).is_empty());
        // The same clients that never get a write through are a finding.
        let mut log = Log::new();
        for k in 0..6 {
            let (c, p) = (format!("c{k}"), format!("/docs/{}", k + 10));
            let t = 200.0 * k as f64;
            log.at(t).req(&c, "PUT", &p, 428);
            log.at(t + 0.5).req(&c, "GET", &p, 200);
            log.at(t + 1.5).req(&c, "PUT", &p, 428);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&MissingPrecondition);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 12);
    }

    #[test]
    fn a_few_428s_are_not_a_finding() {
        let mut log = Log::new();
        log.at(10.0)
            .req("dev", "PUT", "/docs/1", 428)
            .at(20.0)
            .req("dev", "PUT", "/docs/1", 428);
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&MissingPrecondition).is_empty());
    }
}
