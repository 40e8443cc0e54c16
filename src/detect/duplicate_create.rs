//! `duplicate_create` (root-causes.md D3): a create whose first attempt succeeded or ended
//! ambiguously is retried by the same client, and the retry gets 409 "already exists".
//!
//! Signature: a 409/412 on a create (POST to a collection such as `/api/v1/orders` — the
//! instance is the collection itself) whose immediately preceding request by the same client
//! with the same method on the same instance ended 2xx, 408, 499, 5xx or with status 0, no
//! more than `duplicate_create_max_gap` report buckets (or twice that attempt's duration)
//! earlier. A pair whose first attempt was ambiguous (408/499/5xx/0: the client never learned
//! that the create went through) is a finding on its own; pairs after a 2xx (double submits)
//! need `duplicate_create_min_pairs`.
//!
//! Guards: a single double-tap is normal; a lone create-if-absent 409 has no earlier attempt;
//! different clients creating the same thing are not duplicates.
//!
//! Advice: idempotency keys (or client-chosen ids with PUT), treating 409 on a retry as
//! success after a GET, client timeouts above the server's p99, gateway retries only on
//! connection failure, and debounced submit buttons.

use super::signals::{self, Draft, clocks, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::{Method, Micros};
use crate::timeline::{ClientId, Event, Instance};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

pub struct DuplicateCreate;

const ADVICE: &str = "Make creates idempotent: send an Idempotency-Key header (or let the client choose the id and use PUT), and on a 409 after a retry GET the resource and treat it as created instead of failing. Keep client timeouts above the server's p99, let the gateway retry non-idempotent requests only on connection failure, and disable submit buttons until the response arrives.";

/// Did the first attempt end without the client learning whether it worked?
fn ambiguous(status: u16) -> bool {
    matches!(status, 0 | 408 | 499) || status >= 500
}

/// Whether `x`, on the instance at `path`, is a create that conflicted (a candidate retry).
fn is_retried_create(x: &Event, path: &str) -> bool {
    x.conflict() && matches!(x.status, 409 | 412) && signals::is_create(x, path)
}

/// The (first attempt, retry) pairs of a timeline: each conflicting create with the same
/// client's latest earlier request of the same method, when that one succeeded or ended
/// ambiguously within the gap allowed.
fn retry_pairs(
    events: &[Event],
    path: &str,
    max_gap_buckets: i64,
    r: Micros,
) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    if !events.iter().any(|x| is_retried_create(x, path)) {
        return pairs;
    }
    // Each (client, method)'s latest request so far: searched back from each retry, a busy
    // collection's creates by many clients were quadratic.
    let mut latest: FxHashMap<(ClientId, Method), usize> = FxHashMap::default();
    for (k, x) in events.iter().enumerate() {
        let Some(j) = latest.insert((x.client, x.method()), k) else {
            continue;
        };
        if !is_retried_create(x, path) {
            continue;
        }
        if is_first_attempt(&events[j], x, max_gap_buckets, r) {
            pairs.push((j, k));
        }
    }
    pairs
}

/// Whether `y`, the same client's request before the retry `x`, is its first attempt: it
/// succeeded or ended ambiguously, did not conflict, and ended within the gap allowed.
fn is_first_attempt(y: &Event, x: &Event, max_gap_buckets: i64, r: Micros) -> bool {
    let first_ok = y.is_success() || ambiguous(y.status);
    let limit = max_gap_buckets.max(2 * y.duration()) + r;
    first_ok && !y.conflict() && x.start - y.end <= limit
}

impl Detector for DuplicateCreate {
    fn cause(&self) -> &'static str {
        "duplicate_create"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min_pairs = cx.thresholds.get("duplicate_create_min_pairs").max(1.0) as usize;
        let max_gap_buckets =
            (cx.thresholds.get("duplicate_create_max_gap") * cx.bucket_us as f64) as i64;
        let r = signals::clock_resolution(tl);
        let mut out = Vec::new();
        for (id, inst) in tl.instances().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let id = id as u32;
            let events = &tl.events[id as usize];
            let pairs = retry_pairs(events, inst.path, max_gap_buckets, r);
            let lost = pairs
                .iter()
                .filter(|p| ambiguous(events[p.0].status))
                .count();
            if pairs.is_empty() || (lost == 0 && pairs.len() < min_pairs) {
                continue;
            }
            out.push(finding(cx, (id, inst), &pairs, lost, r));
        }
        out
    }
}

/// The finding of the retried creates on instance `id`: `pairs` (first attempt, retry that
/// got 409) each, `lost` of them after an ambiguous first attempt; spans told at the clock
/// resolution `r`.
fn finding(
    cx: &Context<'_>,
    (id, inst): (u32, Instance<'_>),
    pairs: &[(usize, usize)],
    lost: usize,
    r: i64,
) -> Finding {
    let tl = cx.timelines;
    let events = &tl.events[id as usize];
    let mut confidence = 0.5;
    if lost > 0 {
        confidence += 0.15;
    }
    if pairs.len() >= 3 {
        confidence += 0.1;
    }
    if events[pairs[0].1].timed() {
        confidence += 0.05;
    }
    let at = |index| EventRef {
        instance: id,
        index,
    };
    let claims: Vec<EventRef> = pairs.iter().map(|p| at(p.1)).collect();
    let mut evidence: Vec<EventRef> = (pairs.iter().take(2))
        .flat_map(|p| [at(p.0), at(p.1)])
        .collect();
    if pairs.len() > 2 {
        evidence.extend(claims.last());
    }
    let clients: BTreeSet<u32> = pairs.iter().map(|p| events[p.1].client).collect();
    let firsts: BTreeSet<u16> = pairs.iter().map(|p| events[p.0].status).collect();
    let gaps: Vec<i64> = pairs
        .iter()
        .map(|p| (events[p.1].start - events[p.0].end).max(0))
        .collect();
    let first = &events[pairs[0].1];
    let who = match clients.first() {
        Some(&c) if clients.len() == 1 => tl.client(c).to_string(),
        _ => format!("{} clients", clients.len()),
    };
    let (first_at, last_at) = clocks(
        events[pairs[0].0].start,
        events[pairs[pairs.len() - 1].1].end,
        cx.period,
    );
    let summary = format!(
        "{who} {} {} retried after a first attempt that ended {} and got 409 (already exists) {} later (median gap), {} time{} between {} and {}{}.",
        first.method().as_str(),
        inst.path,
        firsts
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        span_text(signals::median(&gaps), r),
        pairs.len(),
        if pairs.len() == 1 { "" } else { "s" },
        first_at,
        last_at,
        if lost > 0 {
            format!(
                "; {lost} first attempts ended ambiguously (timeout/5xx/499), so those creates probably succeeded and the client may have reported a failure"
            )
        } else {
            String::new()
        }
    );
    Draft {
        cause: "duplicate_create",
        severity: Severity::Incident,
        scope: Scope::Instance,
        template: inst.template.to_string(),
        instance: Some(inst.path.to_string()),
        extra_instances: Vec::new(),
        claims,
        evidence,
        other_clients: Vec::new(),
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

    /// The search `retry_pairs` replaced: back from each retry to the same client's latest
    /// request of the same method.
    fn retry_pairs_by_search_back(
        events: &[Event],
        path: &str,
        max_gap_buckets: i64,
        r: Micros,
    ) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (k, x) in events.iter().enumerate() {
            if !is_retried_create(x, path) {
                continue;
            }
            let Some(j) = events[..k]
                .iter()
                .rposition(|e| e.client == x.client && e.method() == x.method())
            else {
                continue;
            };
            if is_first_attempt(&events[j], x, max_gap_buckets, r) {
                pairs.push((j, k));
            }
        }
        pairs
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Random scenarios: every timeline, read as a collection's and as an item's, pairs
        /// as the search back paired it.
        #[test]
        fn retry_pairs_match_the_search_back(log in scenario()) {
            let tl = log.timelines();
            for events in tl.events.iter() {
                for path in ["/orders", "/orders/1"] {
                    for gap in [0, 5_000_000, 60_000_000] {
                        proptest::prop_assert_eq!(
                            retry_pairs(events, path, gap, 1_000),
                            retry_pairs_by_search_back(events, path, gap, 1_000)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn retry_after_gateway_timeout_is_a_duplicate() {
        let mut log = Log::new();
        log.at(100.0)
            .req("svc", "POST", "/api/v1/orders", 504)
            .at(104.0)
            .req("svc", "POST", "/api/v1/orders", 409);
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&DuplicateCreate);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].instance.as_deref(), Some("/api/v1/orders"));
        assert_eq!(f[0].claims.len(), 1);
        assert_eq!(f[0].evidence.len(), 2);
    }

    #[test]
    fn one_double_tap_is_normal_two_are_not() {
        let mut log = Log::new();
        log.at(100.0)
            .req("web", "POST", "/api/v1/orders", 201)
            .at(100.4)
            .req("web", "POST", "/api/v1/orders", 409);
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&DuplicateCreate).is_empty());
        log.at(900.0)
            .req("web2", "POST", "/api/v1/orders", 201)
            .at(900.3)
            .req("web2", "POST", "/api/v1/orders", 409);
        assert_eq!(log.run_one(&DuplicateCreate).len(), 1);
    }

    #[test]
    fn a_lone_create_conflict_has_no_first_attempt() {
        let mut log = Log::new();
        log.at(100.0)
            .req("svc", "POST", "/api/v1/buckets", 409)
            .at(101.0)
            .req("svc", "GET", "/api/v1/buckets", 200);
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&DuplicateCreate).is_empty());
    }
}
