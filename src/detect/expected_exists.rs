//! `expected_exists` (root-causes.md D7, info): create-if-absent ("ensure") code whose 409s
//! mean "already there" and are handled — normal behaviour, reported only when it dominates a
//! route's conflicts so that dashboards can stop counting it as errors.
//!
//! Signature: a 409/412 on a create — POST to a collection, or PUT to an instance that had no
//! earlier successful write in the context (first write of a name) — that is the client's only
//! conflict on that instance, and the client does not re-send the same method there afterwards
//! (it moves on). A route-wide info finding needs at least `expected_exists_min_conflicts` of
//! them, making up at least `expected_exists_min_share` of the route's conflicts.
//!
//! Guards: a single probe is never a finding; repeated creates are left to
//! `duplicate_create` / `retry_storm`, which run first.
//!
//! Advice: check with HEAD/GET or send `If-None-Match: *`, and mark this 409 as expected in the
//! client so it is not logged as an error.

use super::signals::{self, Draft, percent};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Method;
use crate::timeline::Event;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

pub struct ExpectedExists;

const ADVICE: &str = "These are create-if-absent probes answered 'already exists', which the clients handle. Optionally check first with HEAD/GET or send If-None-Match: *, and mark this 409 as expected in the client and in dashboards so it is not counted as an error.";

/// The conflicts on one instance that look like create-if-absent probes: a conflict on a
/// create (or on a PUT before any successful write), the client's only conflict there, and
/// the client's last request there with that method.
///
/// Appended to `out`, which most instances leave as it is: a million conflicting instances
/// each allocated a list otherwise.
fn probes(events: &[Event], path: &str, out: &mut Vec<usize>) {
    if !events.iter().any(signals::is_version_conflict) {
        return;
    }
    let first_success = events
        .iter()
        .position(|e| e.is_write() && e.is_success())
        .unwrap_or(events.len());
    let create = |k: usize, x: &Event| {
        signals::is_version_conflict(x)
            && (signals::is_create(x, path) || (x.method() == Method::Put && k <= first_success))
    };
    // Most conflicting instances have a few events: looking along the timeline for each
    // candidate costs less than building the counts below (two hash maps per instance).
    if events.len() <= SHORT {
        let found = (0..events.len()).filter(|&k| {
            let x = &events[k];
            create(k, x)
                && events
                    .iter()
                    .filter(|e| e.client == x.client && e.conflict())
                    .count()
                    == 1
                && !events[k + 1..]
                    .iter()
                    .any(|e| e.client == x.client && e.method() == x.method())
        });
        out.extend(found);
        return;
    }
    // What each test needs from the whole timeline is counted once, so that a busy
    // instance is not quadratic.
    let mut conflicts_of: FxHashMap<u32, usize> = FxHashMap::default();
    let mut last_of: FxHashMap<(u32, Method), usize> = FxHashMap::default();
    for (k, e) in events.iter().enumerate() {
        if e.conflict() {
            *conflicts_of.entry(e.client).or_insert(0) += 1;
        }
        last_of.insert((e.client, e.method()), k);
    }
    out.extend((0..events.len()).filter(|&k| {
        let x = &events[k];
        create(k, x)
            && conflicts_of.get(&x.client) == Some(&1)
            && last_of.get(&(x.client, x.method())) == Some(&k)
    }));
}

/// One template's instances met in a row (instances come in path order, so those of a
/// template mostly do): their conflicts and probes, put into the per-template maps once
/// (a million conflicting instances each hashed their template otherwise).
struct Run<'a> {
    template: &'a str,
    conflicts: usize,
    claims: Vec<EventRef>,
}

impl<'a> Run<'a> {
    fn flush(
        self,
        conflicts_per_template: &mut FxHashMap<&'a str, usize>,
        per_template: &mut BTreeMap<&'a str, Vec<EventRef>>,
    ) {
        *conflicts_per_template.entry(self.template).or_insert(0) += self.conflicts;
        if !self.claims.is_empty() {
            (per_template.entry(self.template).or_default()).extend(self.claims);
        }
    }
}

/// Timelines up to this long are searched directly (`probes`).
const SHORT: usize = 16;

impl Detector for ExpectedExists {
    fn cause(&self) -> &'static str {
        "expected_exists"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min = cx.thresholds.get("expected_exists_min_conflicts").max(1.0) as usize;
        let min_share = cx.thresholds.get("expected_exists_min_share");
        let mut per_template: BTreeMap<&str, Vec<EventRef>> = BTreeMap::new();
        // Counted for every run of instances (`Run`) and only looked up: hashed, not a
        // tree of strings.
        let mut conflicts_per_template: FxHashMap<&str, usize> = FxHashMap::default();
        let mut run: Option<Run> = None;
        let mut found = Vec::new();
        for (id, inst) in tl.instances().enumerate() {
            let events = &tl.events[id];
            let template = inst.template;
            if let Some(r) = run.take_if(|r| r.template != template) {
                r.flush(&mut conflicts_per_template, &mut per_template);
            }
            let r = run.get_or_insert_with(|| Run {
                template,
                conflicts: 0,
                claims: Vec::new(),
            });
            r.conflicts += events.iter().filter(|e| e.conflict()).count();
            found.clear();
            probes(events, inst.path, &mut found);
            (r.claims).extend(found.iter().map(|&index| EventRef {
                instance: id as u32,
                index,
            }));
        }
        if let Some(r) = run {
            r.flush(&mut conflicts_per_template, &mut per_template);
        }
        let mut out = Vec::new();
        for (template, claims) in per_template {
            let all = conflicts_per_template.get(template).copied().unwrap_or(0);
            if claims.len() < min || (claims.len() as f64) < min_share * all as f64 {
                continue;
            }
            let evidence: Vec<EventRef> = claims.iter().take(3).copied().collect();
            let summary = format!(
                "{} create-if-absent requests on {template} got 'already exists' once each and the clients moved on ({} of the route's conflicts); expected behaviour, not an incident.",
                claims.len(),
                percent(claims.len(), all)
            );
            out.push(
                Draft {
                    cause: "expected_exists",
                    severity: Severity::Info,
                    scope: Scope::Template,
                    template: template.to_string(),
                    instance: None,
                    extra_instances: Vec::new(),
                    claims,
                    evidence,
                    other_clients: Vec::new(),
                    confidence: 0.7,
                    summary,
                    advice: ADVICE.into(),
                }
                .build(cx),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::timeline::EventFields;

    /// The tests `probes` replaced, each a scan of the timeline per conflict.
    fn probes_by_full_search(events: &[Event], path: &str) -> Vec<usize> {
        let mut out = Vec::new();
        for (k, x) in events.iter().enumerate() {
            if !signals::is_version_conflict(x) {
                continue;
            }
            let create = signals::is_create(x, path)
                || (x.method() == Method::Put
                    && !events[..k].iter().any(|e| e.is_write() && e.is_success()));
            let only = events
                .iter()
                .filter(|e| e.client == x.client && e.conflict())
                .count()
                == 1;
            let moved_on = !events[k + 1..]
                .iter()
                .any(|e| e.client == x.client && e.method() == x.method());
            if create && only && moved_on {
                out.push(k);
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn probes_match_the_full_search(log in scenario()) {
            let tl = log.timelines();
            for (id, inst) in tl.instances().enumerate() {
                let events = &tl.events[id];
                let want = probes_by_full_search(events, inst.path);
                let mut got = Vec::new();
                probes(events, inst.path, &mut got);
                proptest::prop_assert_eq!(got, want.clone());
                // The counted search, whatever the length (`probes` takes it above `SHORT`).
                let mut padded = events.to_vec();
                if !padded.is_empty() && padded.len() <= SHORT {
                    // Reads by a client of its own, after everything: no probe changes.
                    let read = Event::new(EventFields {
                        client: u32::MAX,
                        method: Method::Get,
                        status: 200,
                        conflict: false,
                        ..padded[padded.len() - 1].fields()
                    });
                    padded.resize(SHORT + 1, read);
                    let mut got = Vec::new();
                    probes(&padded, inst.path, &mut got);
                    proptest::prop_assert_eq!(got, want);
                }
            }
        }
    }

    #[test]
    fn many_single_probes_are_an_info_finding() {
        let mut log = Log::new();
        for k in 0..25 {
            let path = format!("/containers/c{k:04}x");
            log.at(10.0 * k as f64)
                .req(&format!("w{k}"), "PUT", &path, 409)
                .at(10.0 * k as f64 + 1.0)
                .req(&format!("w{k}"), "GET", &path, 200);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&ExpectedExists);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
    }

    /// Two routes whose instances alternate in path order (`/orders/7`, `/orders/7/items`,
    /// `/orders/8`, …): each route's probes and conflicts are counted in full, not only its
    /// last run of instances.
    #[test]
    fn routes_whose_instances_alternate_are_counted_whole() {
        let mut log = Log::new();
        for k in 0..25 {
            let (order, items) = (
                format!("/orders/{}", 7000 + k),
                format!("/orders/{}/items", 7000 + k),
            );
            let t = 10.0 * k as f64;
            log.at(t).req(&format!("w{k}"), "PUT", &order, 409);
            log.at(t + 1.0).req(&format!("w{k}"), "GET", &order, 200);
            log.at(t + 2.0).req(&format!("v{k}"), "POST", &items, 409);
            log.at(t + 3.0).req(&format!("v{k}"), "GET", &items, 200);
        }
        // A conflict on the items route that is no probe (the client re-sends): the route's
        // share is then 25 of 27.
        log.at(400.0).req("r", "POST", "/orders/7000/items", 409);
        log.at(401.0).req("r", "POST", "/orders/7000/items", 409);
        log.at(3600.0).req("z", "GET", "/health", 200);
        let mut f = log.run_one(&ExpectedExists);
        f.sort_by(|a, b| a.template.cmp(&b.template));
        let got: Vec<(&str, usize)> = f.iter().map(|f| (&*f.template, f.claims.len())).collect();
        assert_eq!(got, [("/orders/{id}", 25), ("/orders/{id}/items", 25)]);
        assert!(
            f[0].summary.contains("(100% of the route's conflicts)"),
            "{}",
            f[0].summary
        );
        assert!(
            f[1].summary.contains("(93% of the route's conflicts)"),
            "{}",
            f[1].summary
        );
    }

    #[test]
    fn a_single_probe_is_silent() {
        let mut log = Log::new();
        log.at(10.0)
            .req("w", "PUT", "/users/usr_adff553311", 409)
            .at(11.0)
            .req("w", "GET", "/users/usr_adff553311", 200);
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&ExpectedExists).is_empty());
    }
}
