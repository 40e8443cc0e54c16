//! `client_concentration` (root-causes.md R13/D12): one client makes most of a route's
//! conflicts with a small part of its writes — a broken integration (blind retries, no ETag
//! handling, double submits) or, the other way round, the one client that keeps losing
//! races to the rest.
//!
//! Signature, per route over the analysed period: a client with at least
//! `client_concentration_min_conflicts` conflicts whose conflict ratio (conflicts / writes)
//! is at least `client_concentration_min_ratio_factor` times that of the other clients
//! together, or which holds at least half of the route's conflicts with at most a fifth of
//! its writes (`client_concentration_max_write_share`).
//!
//! Guards: the other clients must have written at least `client_concentration_min_peer_writes`
//! times, and at least three other clients must have written at all (a route with one writer
//! has no peers to compare with); a peer ratio of 0 counts as one conflict in their writes, so
//! a client with 20 conflicts in a million writes is not called out against a quiet rest.
//!
//! An overlay, like the schedule note (root-causes §0: D11–D14 annotate findings): it runs
//! after arbitration, adds one sentence to every finding that explains some of the client's
//! conflicts on the route, and reports a finding of its own only for the conflicts no other
//! cause explains (at least `min_conflicts`). When at least 60 % of the client's conflicts
//! are races it lost (`hot_spot_edit`), it is the victim, not the culprit: the winners are
//! named and the finding is `info`.
//!
//! Advice: share the per-client evidence with the client's owner, limit or circuit-break
//! repeated conflicts per client; for a victim, look at the competing writers.

use super::signals::{Draft, percent};
use super::{Context, EventRef, Finding, Scope, Severity};
use crate::aggregate::Counts;
use crate::timeline::{ClientId, Timelines};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

/// The cause of the findings this overlay adds (it is not in `registry()`).
pub const CAUSE: &str = "client_concentration";

const ADVICE: &str = "Share the per-client evidence with the owner of this client: its conflicts are far above its peers', so the fix is in its integration (re-read before writing, back off on 409, one idempotency key per operation). Meanwhile apply a per-client limit or circuit breaker on repeated conflicts.";

const VICTIM_ADVICE: &str = "This client loses the races on these resources to the other writers named here: look at how they write (bursts, long read-modify-write cycles, batch jobs), and have this client re-read and retry with backoff, or serialise its writes with theirs.";

/// Share of a client's conflicts that must be races it lost for it to be the victim.
const VICTIM_SHARE: f64 = 0.6;

/// A client that makes far more of a route's conflicts than its writes would explain.
#[derive(Debug, Clone, PartialEq)]
pub struct Concentration {
    pub template: String,
    pub client: String,
    /// The client's writes and conflicts on the route.
    pub own: Counts,
    /// The route's writes and conflicts, all clients.
    pub route: Counts,
}

impl Concentration {
    fn ratio(&self) -> f64 {
        self.own.conflicts as f64 / self.own.writes.max(self.own.conflicts).max(1) as f64
    }

    /// The other clients' writes on the route.
    fn peer_writes(&self) -> u64 {
        self.route.writes.saturating_sub(self.own.writes)
    }

    fn peer_ratio(&self) -> f64 {
        let conflicts = self.route.conflicts.saturating_sub(self.own.conflicts);
        conflicts as f64 / self.peer_writes().max(1) as f64
    }

    /// "203.0.113.9's writes on /orders/{id} conflicted 20% of the time (212 of 1040),
    /// against 0.2% for the other clients; it made 82% of the route's conflicts with 4.9% of
    /// its writes" (the second part when that is so).
    fn describe(&self) -> String {
        let mut s = format!(
            "{}'s writes on {} conflicted {} of the time ({} of {}), against {} for the other clients",
            self.client,
            self.template,
            permille(self.ratio()),
            self.own.conflicts,
            self.own.writes,
            permille(self.peer_ratio()),
        );
        if 2 * self.own.conflicts >= self.route.conflicts {
            s.push_str(&format!(
                "; it made {} of the route's conflicts with {} of its writes",
                percent(self.own.conflicts as usize, self.route.conflicts as usize),
                percent(self.own.writes as usize, self.route.writes as usize),
            ));
        }
        s
    }
}

/// A ratio as a percentage, to a tenth below 10 %.
fn permille(r: f64) -> String {
    percent((r * 1000.0).round() as usize, 1000)
}

/// The concentrated clients of every route, in route and client order.
pub fn concentrations(cx: &Context<'_>) -> Vec<Concentration> {
    let th = cx.thresholds;
    let min = th.get("client_concentration_min_conflicts").max(1.0) as u64;
    let factor = th.get("client_concentration_min_ratio_factor");
    let max_write_share = th.get("client_concentration_max_write_share");
    let min_peer_writes = th.get("client_concentration_min_peer_writes");
    let mut out = Vec::new();
    let mut routes: Vec<_> = cx.route_clients.iter().collect();
    routes.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (template, rc) in routes {
        let mut route = Counts::default();
        for c in cx.routes.get(template).into_iter().flat_map(|b| b.values()) {
            route.add(c);
        }
        for (k, own) in rc.candidates.iter().enumerate() {
            let Some(client) = cx.candidates.get(k) else {
                continue;
            };
            if (own.conflicts as u64) < min || rc.writers.others_than(client) < 3 {
                continue;
            }
            let c = Concentration {
                template: template.clone(),
                client: client.clone(),
                own: Counts {
                    requests: 0,
                    writes: own.writes as u64,
                    conflicts: own.conflicts as u64,
                },
                route,
            };
            let peer_writes = c.peer_writes();
            if (peer_writes as f64) < min_peer_writes {
                continue;
            }
            let peer = c.peer_ratio().max(1.0 / peer_writes as f64);
            let by_ratio = c.ratio() >= factor * peer;
            let by_share = 2 * c.own.conflicts >= route.conflicts
                && c.own.writes as f64 <= max_write_share * route.writes as f64;
            if by_ratio || by_share {
                out.push(c);
            }
        }
    }
    out.sort_unstable_by(|a, b| (&a.template, &a.client).cmp(&(&b.template, &b.client)));
    out
}

/// Notes each concentrated client on the findings that explain its conflicts, and adds a
/// `client_concentration` finding for the conflicts nothing else explains.
pub fn overlay(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let found = concentrations(cx);
    if found.is_empty() {
        return;
    }
    let tl = cx.timelines;
    let min_own = cx.thresholds.get("min_conflicts").max(1.0) as usize;
    let mut claimed_by: FxHashMap<EventRef, usize> = FxHashMap::default();
    for (k, f) in findings.iter().enumerate() {
        claimed_by.extend(f.claims.iter().map(|&r| (r, k)));
    }
    let client_ids: FxHashMap<&str, ClientId> = (tl.clients.iter().enumerate())
        .map(|(k, n)| (n, k as ClientId))
        .collect();
    let conflicts_of = conflicts_of_each(tl, &found, &client_ids);
    let mut added = Vec::new();
    for (c, conflicts) in found.into_iter().zip(conflicts_of) {
        let share = Share::of(conflicts, &claimed_by, findings);
        let described = c.describe();
        for &k in share.explained.keys() {
            let f = &mut findings[k];
            f.summary.push_str(&format!(" {described}"));
            f.summary.push_str(if share.victim {
                ": it is the one that loses these races."
            } else {
                "."
            });
        }
        if share.unclaimed.len() < min_own {
            continue;
        }
        // The winners of the races it lost, for a victim.
        let own = client_ids.get(c.client.as_str()).copied();
        let mut winners: Vec<ClientId> = Vec::new();
        if share.victim {
            let races = (share.explained.keys()).filter(|&&k| findings[k].cause == "hot_spot_edit");
            for &k in races {
                for &id in &findings[k].clients {
                    if Some(id) != own && !winners.contains(&id) {
                        winners.push(id);
                    }
                }
            }
        }
        added.push(own_finding(cx, &c, described, share, winners));
    }
    findings.extend(added);
}

/// The conflicts of each concentrated client (`found`) on its route, found in one look at
/// the routes' timelines (a public API may have many such clients on one busy route).
fn conflicts_of_each(
    tl: &Timelines,
    found: &[Concentration],
    client_ids: &FxHashMap<&str, ClientId>,
) -> Vec<Vec<EventRef>> {
    let by_template = tl.by_template();
    let wanted: FxHashMap<(&str, ClientId), usize> = (found.iter().enumerate())
        .filter_map(|(k, c)| {
            Some((
                (c.template.as_str(), *client_ids.get(c.client.as_str())?),
                k,
            ))
        })
        .collect();
    let mut conflicts_of: Vec<Vec<EventRef>> = vec![Vec::new(); found.len()];
    let routes: BTreeSet<&str> = found.iter().map(|c| c.template.as_str()).collect();
    for template in routes {
        for &id in by_template.get(template).into_iter().flatten() {
            for (index, e) in tl.events[id as usize].iter().enumerate() {
                if let Some(&k) = e
                    .conflict()
                    .then(|| wanted.get(&(template, e.client)))
                    .flatten()
                {
                    conflicts_of[k].push(EventRef {
                        instance: id,
                        index,
                    });
                }
            }
        }
    }
    conflicts_of
}

/// A concentrated client's conflicts as the other findings share them out.
struct Share {
    /// Those no finding claims.
    unclaimed: Vec<EventRef>,
    /// The findings (by place) that claim some, with how many.
    explained: BTreeMap<usize, usize>,
    /// How many each cause explains.
    by_cause: BTreeMap<&'static str, usize>,
    /// Most of them are races lost (`hot_spot_edit`): the client is their victim.
    victim: bool,
}

impl Share {
    fn of(
        conflicts: Vec<EventRef>,
        claimed_by: &FxHashMap<EventRef, usize>,
        findings: &[Finding],
    ) -> Share {
        let mut unclaimed = Vec::new();
        let mut explained: BTreeMap<usize, usize> = BTreeMap::new();
        for r in conflicts {
            match claimed_by.get(&r) {
                Some(&k) => *explained.entry(k).or_insert(0) += 1,
                None => unclaimed.push(r),
            }
        }
        let mut by_cause: BTreeMap<&'static str, usize> = BTreeMap::new();
        for (&k, &n) in &explained {
            *by_cause.entry(findings[k].cause).or_insert(0) += n;
        }
        let seen = unclaimed.len() + explained.values().sum::<usize>();
        let lost = by_cause.get("hot_spot_edit").copied().unwrap_or(0);
        Share {
            victim: seen > 0 && lost as f64 >= VICTIM_SHARE * seen as f64,
            unclaimed,
            explained,
            by_cause,
        }
    }
}

/// The `client_concentration` finding of client `c`'s conflicts that no other finding
/// explains; for a victim, naming the `winners` of the races it lost.
fn own_finding(
    cx: &Context<'_>,
    c: &Concentration,
    described: String,
    share: Share,
    winners: Vec<ClientId>,
) -> Finding {
    let Share {
        unclaimed,
        explained,
        by_cause,
        victim,
    } = share;
    let mut summary = format!("{described}.");
    if !by_cause.is_empty() {
        let causes: Vec<String> = by_cause.iter().map(|(k, n)| format!("{k} {n}")).collect();
        summary.push_str(&format!(
            " {} of its conflicts there are explained by other findings ({}); the {} counted here have no other cause.",
            explained.values().sum::<usize>(),
            causes.join(", "),
            unclaimed.len()
        ));
    }
    if victim {
        summary.push_str(&format!(
            " Most of its conflicts are races it lost to {}: it is the victim, not the culprit.",
            (winners.iter().take(3))
                .map(|&id| cx.timelines.client(id))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let ip_only = c.client.parse::<std::net::IpAddr>().is_ok();
    let confidence =
        0.65 + if explained.is_empty() { 0.0 } else { 0.15 } - if ip_only { 0.2 } else { 0.0 };
    let mut evidence: Vec<EventRef> = unclaimed.iter().take(4).copied().collect();
    evidence.extend(unclaimed.last().copied());
    Draft {
        cause: CAUSE,
        severity: if victim {
            Severity::Info
        } else {
            Severity::Incident
        },
        scope: Scope::Template,
        template: c.template.clone(),
        instance: None,
        extra_instances: Vec::new(),
        claims: unclaimed,
        evidence,
        other_clients: winners,
        confidence,
        summary,
        advice: if victim { VICTIM_ADVICE } else { ADVICE }.into(),
    }
    .build(cx)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::timeline::InstanceId;

    /// An hour on /orders/{id}: four peers write 40 times each (on their own orders, no
    /// conflict but `peer_conflicts` spread among them); `x` writes `writes` times, the
    /// first `conflicts` of them answered 409, each on an order of its own, one a minute.
    fn route(writes: usize, conflicts: usize, peer_conflicts: usize) -> Log {
        let mut log = Log::new();
        for k in 0..160 {
            let status = if k < peer_conflicts { 409 } else { 200 };
            let peer = format!("peer{}", k % 4);
            log.at(k as f64 * 20.0)
                .req(&peer, "PUT", &format!("/orders/{}", 1000 + k), status);
        }
        for k in 0..writes {
            let status = if k < conflicts { 409 } else { 200 };
            log.at(5.0 + k as f64 * 60.0 % 3500.0).req(
                "x",
                "PATCH",
                &format!("/orders/{}", 5000 + k),
                status,
            );
        }
        log
    }

    fn found(log: &Log) -> Vec<(String, String, u64, u64)> {
        log.with_context(|cx| {
            (concentrations(cx).into_iter())
                .map(|c| (c.template, c.client, c.own.conflicts, c.own.writes))
                .collect()
        })
    }

    #[test]
    fn a_client_far_above_its_peers_is_concentrated() {
        // 25 of 50 writes against 2 of 160: by ratio and by share.
        let log = route(50, 25, 2);
        assert_eq!(found(&log), [("/orders/{id}".into(), "x".into(), 25, 50)]);
        // Its conflicts have no other cause: the finding claims them all.
        let f: Vec<Finding> = log.with_context(super::super::run);
        assert_eq!(f.len(), 1, "{f:?}");
        let f = &f[0];
        assert_eq!(
            (f.cause, f.scope, f.template.as_str()),
            ("client_concentration", Scope::Template, "/orders/{id}")
        );
        assert_eq!(
            (f.conflicts(), log.clients_of(f), f.severity),
            (25, vec!["x".to_string()], Severity::Incident)
        );
        assert_eq!(
            f.summary,
            "x's writes on /orders/{id} conflicted 50% of the time (25 of 50), against 1.3% for the other clients; it made 93% of the route's conflicts with 24% of its writes."
        );
        assert_eq!(f.evidence.len(), 5);
        assert!((f.confidence - 0.65).abs() < 1e-9);
    }

    #[test]
    fn half_the_conflicts_from_a_fifth_of_the_writes_is_concentrated() {
        // 20 of 40 writes (20% of the route's 200) against 20 of 160 (12.5%): a ratio of
        // 4, but 50% of the conflicts from 20% of the writes.
        assert_eq!(
            found(&route(40, 20, 20)),
            [("/orders/{id}".into(), "x".into(), 20, 40)]
        );
    }

    #[test]
    fn proportionate_or_lone_clients_are_not_concentrated() {
        // Too few conflicts.
        assert!(found(&route(50, 19, 0)).is_empty());
        // Conflicts in step with its writes: 20 of 400 (5%) against 8 of 160 (5%).
        assert!(found(&route(400, 20, 8)).is_empty());
        // Two peers only.
        let mut log = Log::new();
        for k in 0..100 {
            log.at(k as f64)
                .req(["a", "b"][k % 2], "PUT", "/orders/1", 200);
        }
        for k in 0..30 {
            log.at(k as f64)
                .req("x", "PUT", &format!("/orders/{}", 10 + k), 409);
        }
        assert!(found(&log).is_empty());
        // Four peers but fewer than 60 writes among them.
        let mut log = Log::new();
        for k in 0..50 {
            log.at(k as f64)
                .req(&format!("p{}", k % 4), "PUT", "/orders/1", 200);
        }
        for k in 0..30 {
            log.at(k as f64)
                .req("x", "PUT", &format!("/orders/{}", 10 + k), 409);
        }
        assert!(found(&log).is_empty());
    }

    /// A retry storm's client is concentrated too, but the storm explains every conflict:
    /// the storm's finding says so and there is no finding of its own.
    #[test]
    fn explained_conflicts_are_noted_on_their_finding() {
        let mut log = route(10, 0, 2);
        log.at(1000.0).req("x", "GET", "/orders/77", 200);
        for k in 0..25 {
            log.at(1001.0 + 0.2 * k as f64)
                .req("x", "PUT", "/orders/77", 409);
        }
        let f: Vec<Finding> = log.with_context(super::super::run);
        let causes: Vec<&str> = f.iter().map(|f| f.cause).collect();
        assert_eq!(causes, ["retry_storm"]);
        assert!(
            f[0].summary.ends_with(" x's writes on /orders/{id} conflicted 71% of the time (25 of 35), against 1.3% for the other clients; it made 93% of the route's conflicts with 18% of its writes."),
            "{}",
            f[0].summary
        );
    }

    /// A client whose conflicts are mostly races it lost is the victim: the finding is
    /// info, names the winners and says so.
    #[test]
    fn a_client_that_loses_races_is_the_victim() {
        let log = route(50, 25, 2);
        log.with_context(|cx| {
            let tl = cx.timelines;
            let x = tl.clients.iter().position(|n| n == "x").unwrap() as ClientId;
            let mut conflicts: Vec<EventRef> = Vec::new();
            for (id, events) in tl.events.iter().enumerate() {
                for (index, e) in events.iter().enumerate() {
                    if e.conflict() && e.client == x {
                        conflicts.push(EventRef { instance: id as InstanceId, index });
                    }
                }
            }
            conflicts.sort();
            // Races it lost to peer0 explain 16 of its 25 conflicts.
            let race = Draft {
                cause: "hot_spot_edit",
                severity: Severity::Incident,
                scope: Scope::Template,
                template: "/orders/{id}".into(),
                instance: None,
                extra_instances: Vec::new(),
                claims: conflicts[..16].to_vec(),
                evidence: Vec::new(),
                other_clients: vec![tl.clients.iter().position(|n| n == "peer0").unwrap() as ClientId],
                confidence: 0.6,
                summary: "Races.".into(),
                advice: "".into(),
            }
            .build(cx);
            let mut findings = vec![race];
            overlay(cx, &mut findings);
            assert_eq!(findings.len(), 2);
            assert!(findings[0].summary.ends_with(": it is the one that loses these races."), "{}", findings[0].summary);
            let own = &findings[1];
            assert_eq!((own.cause, own.severity, own.conflicts()), ("client_concentration", Severity::Info, 9));
            let names: Vec<&str> = own.clients.iter().map(|&c| cx.timelines.client(c)).collect();
            assert_eq!(names, ["x", "peer0"]);
            assert!(own.summary.contains("16 of its conflicts there are explained by other findings (hot_spot_edit 16); the 9 counted here have no other cause. Most of its conflicts are races it lost to peer0: it is the victim, not the culprit."), "{}", own.summary);
            assert!((own.confidence - 0.8).abs() < 1e-9);
        });
    }
}
