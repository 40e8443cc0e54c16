//! `state_transition` (root-causes.md D6): actions or DELETEs conflict because the instance
//! already moved to a state that forbids them (cancel after ship, merge after close).
//!
//! Signature: a 409 on an action endpoint (`…/{id}/cancel`, see `signals::ACTIONS`) or on a
//! DELETE, preceded in the context (24 h look-back) by a successful state-changing
//! write on the same state key — the instance itself (`…/{id}`) or another action on it
//! (`…/{id}/ship`) — by another client or through a different action. Findings are
//! route-wide (scope `template`, the action's template) with at least
//! `state_transition_min_conflicts` such conflicts; the summary names the transitions seen
//! (`ship → cancel`).
//!
//! Severity: `incident` when a client keeps re-sending a rejected action on the same
//! instance (it cannot succeed), or when `min_conflicts` instances are affected; else `info`.
//!
//! Advice: check the current state (GET) before the action, handle the 409 as final and tell
//! the user, and have the server return a machine-readable reason.

use super::signals::{self, Draft, clocks, last_segment};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::{Method, Micros};
use crate::timeline::{ClientId, Event, InstanceId, Timelines};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

pub struct StateTransition;

const ADVICE: &str = "Check the resource's current state (GET) before sending the action and hide or disable actions the state no longer allows; treat this 409 as final (do not retry it) and show the user why; servers should return a machine-readable reason (such as 'order already shipped') so clients can tell it apart from a version conflict.";

/// The state key of an action or DELETE conflict: the instance the action applies to.
fn state_key<'a>(path: &'a str, e: &Event) -> Option<&'a str> {
    if signals::is_action_path(path) {
        crate::resource::parent(path)
    } else if e.method() == Method::Delete && !signals::is_lock_path(path) {
        Some(path)
    } else {
        None
    }
}

/// The successful state changes under each state key (its instances' successful writes
/// that are not lock operations), each key's ordered as the search prefers them: by end,
/// then by instance and position, so that the last one ending by a time is the one to name.
/// All keys' are in one vector: a log of a million rejected actions has as many keys, and a
/// pair of vectors a key cost more than the search.
struct StateChanges {
    changes: Vec<Change>,
    /// For each change, the latest earlier one of its key by another (client, instance,
    /// method): what the search falls back to when the latest is the rejected request's own
    /// kind.
    prev_other: Vec<Option<usize>>,
    /// Key `k`'s changes are `changes[starts[k]..starts[k + 1]]`.
    starts: Vec<usize>,
}

struct Change {
    end: Micros,
    at: EventRef,
    client: ClientId,
    method: Method,
}

impl StateChanges {
    /// The changes of each key, numbered in turn, given the instances under it.
    fn new<'g>(tl: &Timelines, keys: impl Iterator<Item = &'g [InstanceId]>) -> StateChanges {
        let mut out = StateChanges {
            changes: Vec::new(),
            prev_other: Vec::new(),
            starts: vec![0],
        };
        let kind = |c: &Change| (c.client, c.at.instance, c.method);
        for related in keys {
            let from = out.changes.len();
            for &rid in related {
                let rpath = tl.instance(rid).path;
                for (j, e) in tl.events[rid as usize].iter().enumerate() {
                    if is_state_change(e, rpath) {
                        out.changes.push(Change {
                            end: e.end,
                            at: EventRef {
                                instance: rid,
                                index: j,
                            },
                            client: e.client,
                            method: e.method(),
                        });
                    }
                }
            }
            out.changes[from..].sort_by_key(|c| (c.end, c.at.instance, c.at.index));
            for p in from..out.changes.len() {
                let prev = if p == from {
                    None
                } else if kind(&out.changes[p - 1]) != kind(&out.changes[p]) {
                    Some(p - 1)
                } else {
                    out.prev_other[p - 1]
                };
                out.prev_other.push(prev);
            }
            out.starts.push(out.changes.len());
        }
        out
    }

    /// The latest change under key `key` ending by `by` that another client, another
    /// instance or another method made (what a conflict by `client` with `method` on
    /// `instance` is set against).
    fn latest(
        &self,
        key: usize,
        by: Micros,
        client: ClientId,
        instance: InstanceId,
        method: Method,
    ) -> Option<EventRef> {
        let from = self.starts[key];
        let changes = &self.changes[from..self.starts[key + 1]];
        let p = from + changes.partition_point(|c| c.end <= by).checked_sub(1)?;
        let c = &self.changes[p];
        if (c.client, c.at.instance, c.method) != (client, instance, method) {
            Some(c.at)
        } else {
            self.prev_other[p].map(|q| self.changes[q].at)
        }
    }
}

/// The state key an instance's requests change: its parent for an action (`…/{id}/ship`
/// changes `…/{id}`), else the instance itself.
fn instance_state_key(path: &str) -> &str {
    if signals::is_action_path(path) {
        crate::resource::parent(path).unwrap_or(path)
    } else {
        path
    }
}

/// Whether `e`, on the instance at `path`, changed its state: a successful write that is
/// not a lock operation.
fn is_state_change(e: &Event, path: &str) -> bool {
    e.is_write() && e.is_success() && signals::lock_op(e, path).is_none()
}

/// The instances that changed state, in instance order: the only instances under a key
/// whose events `StateChanges` takes.
fn changers(tl: &Timelines) -> Vec<InstanceId> {
    (tl.instances().zip(tl.events.iter()).enumerate())
        .filter(|(_, (inst, events))| events.iter().any(|e| is_state_change(e, inst.path)))
        .map(|(id, _)| id as InstanceId)
        .collect()
}

/// What `shared_keys` gives: how many keys, the rejected requests (instance, event, key's
/// number), the changers (key's number, instance).
#[derive(Debug, PartialEq)]
struct SharedKeys {
    keys: usize,
    rejected: Vec<(usize, usize, u32)>,
    changers: Vec<(u32, InstanceId)>,
}

/// The state keys of the rejected requests (instance, event, key) and of the instances that
/// changed state, numbered densely: the rejected requests under a key some instance changed,
/// and the changers under a key some rejected request asks about, each with the key's
/// number (in the order given). Only the smaller side's keys are hashed into a map, the
/// other side's looked up: a bulk job's re-run rejects a million requests on records nobody
/// changed, and a busy log changes half a million records when a few dozen actions are
/// rejected (hashing every changer's key was 0.27 s of 0.35 s there).
fn shared_keys<'t>(
    tl: &'t Timelines,
    rejected: Vec<(usize, usize, &'t str)>,
    changers: &[InstanceId],
) -> SharedKeys {
    let changer_key = |id: InstanceId| instance_state_key(tl.instance(id).path);
    let mut keys: FxHashMap<&str, u32> = FxHashMap::default();
    let mut number = |key| {
        let n = keys.len() as u32;
        *keys.entry(key).or_insert(n)
    };
    let (rejected, changers) = if rejected.len() <= changers.len() {
        // In place (`into_iter` and `collect` keep the vector): a log can reject a million.
        let rejected: Vec<(usize, usize, u32)> = (rejected.into_iter())
            .map(|(id, k, key)| (id, k, number(key)))
            .collect();
        let changers = (changers.iter())
            .filter_map(|&id| keys.get(changer_key(id)).map(|&n| (n, id)))
            .collect();
        (rejected, changers)
    } else {
        let changers: Vec<(u32, InstanceId)> = (changers.iter())
            .map(|&id| (number(changer_key(id)), id))
            .collect();
        let mut wanted = vec![false; keys.len()];
        let rejected = (rejected.into_iter())
            .filter_map(|(id, k, key)| keys.get(key).map(|&n| (id, k, n)))
            .inspect(|r| wanted[r.2 as usize] = true)
            .collect();
        let changers = (changers.into_iter())
            .filter(|c| wanted[c.0 as usize])
            .collect();
        (rejected, changers)
    };
    SharedKeys {
        keys: keys.len(),
        rejected,
        changers,
    }
}

/// The rejected actions and DELETEs (409s on writes), each as its instance, its event's
/// index and its state key.
fn rejected(tl: &Timelines) -> Vec<(usize, usize, &str)> {
    let mut rejected = Vec::new();
    for (id, inst) in tl.instances().enumerate() {
        if !inst.conflicted {
            continue;
        }
        for (k, x) in tl.events[id].iter().enumerate() {
            if x.conflict()
                && x.status == 409
                && x.is_write()
                && let Some(key) = state_key(inst.path, x)
            {
                rejected.push((id, k, key));
            }
        }
    }
    rejected
}

/// What one template's rejected requests show: the transitions seen (the three most
/// frequent, prior action → rejected action), the instances, and how many (client,
/// instance) pairs re-sent a rejected request.
struct Rejections {
    matrix: String,
    instances: BTreeSet<InstanceId>,
    repeated: usize,
}

impl Rejections {
    fn of(tl: &Timelines, pairs: &[(EventRef, EventRef)]) -> Rejections {
        let instances = pairs.iter().map(|p| p.0.instance).collect();
        // Transition matrix: prior action → rejected action (names borrowed: a route of
        // a million rejected actions allocated two names a conflict).
        let mut transitions: FxHashMap<(&str, &str), usize> = FxHashMap::default();
        // Each (client, instance) of a rejected request, sorted below to count the
        // pairs that re-sent it.
        let mut senders: Vec<(u32, InstanceId)> = Vec::with_capacity(pairs.len());
        for (x, p) in pairs {
            let xe = signals::event(tl, *x);
            let pe = signals::event(tl, *p);
            let name = |r: &EventRef, e: &Event| -> &str {
                let path = tl.instance(r.instance).path;
                if signals::is_action_path(path) {
                    last_segment(path)
                } else {
                    e.method().as_str()
                }
            };
            *transitions.entry((name(p, pe), name(x, xe))).or_insert(0) += 1;
            senders.push((xe.client, x.instance));
        }
        senders.sort_unstable();
        let repeated = senders
            .chunk_by(|a, b| a == b)
            .filter(|run| run.len() >= 2)
            .count();
        let mut t: Vec<((&str, &str), usize)> = transitions.into_iter().collect();
        t.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let matrix = t
            .iter()
            .take(3)
            .map(|((a, b), n)| format!("{a} → {b} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        Rejections {
            matrix,
            instances,
            repeated,
        }
    }
}

/// The finding of one template's rejected requests, each `(conflict, prior change)` in
/// start order: the transitions seen, how many clients re-sent a rejected request, and the
/// evidence of the first two pairs.
fn finding(
    cx: &Context<'_>,
    template: &str,
    pairs: Vec<(EventRef, EventRef)>,
    min_conflicts: usize,
) -> Finding {
    let tl = cx.timelines;
    let Rejections {
        matrix,
        instances,
        repeated,
    } = Rejections::of(tl, &pairs);
    let claims: Vec<EventRef> = pairs.iter().map(|p| p.0).collect();
    let severity = if repeated > 0 || instances.len() >= min_conflicts {
        Severity::Incident
    } else {
        Severity::Info
    };
    let mut confidence = 0.6;
    if pairs
        .iter()
        .all(|(x, p)| signals::event(tl, *x).client != signals::event(tl, *p).client)
    {
        confidence += 0.1;
    }
    if repeated > 0 {
        confidence += 0.1;
    }
    let mut evidence = Vec::new();
    for (x, p) in pairs.iter().take(2) {
        evidence.push(*p);
        evidence.push(*x);
    }
    evidence.push(*claims.last().unwrap());
    let changers: Vec<u32> = pairs
        .iter()
        .map(|(_, p)| signals::event(tl, *p).client)
        .collect();
    let first = signals::event(tl, claims[0]);
    let last = signals::event(tl, *claims.last().unwrap());
    let (first_at, last_at) = clocks(first.start, last.end, cx.period);
    let summary = format!(
        "{} {} requests on {} instance{} of {} got 409 after the instance had already changed state ({}) between {} and {}{}.",
        claims.len(),
        first.method().as_str(),
        instances.len(),
        if instances.len() == 1 { "" } else { "s" },
        template,
        matrix,
        first_at,
        last_at,
        if repeated > 0 {
            format!("; {repeated} client/instance pairs re-sent the rejected request")
        } else {
            String::new()
        }
    );
    Draft {
        cause: "state_transition",
        severity,
        scope: Scope::Template,
        template: template.to_string(),
        instance: None,
        extra_instances: Vec::new(),
        claims,
        evidence,
        other_clients: changers,
        confidence,
        summary,
        advice: ADVICE.into(),
    }
    .build(cx)
}

impl Detector for StateTransition {
    fn cause(&self) -> &'static str {
        "state_transition"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min_conflicts = cx.thresholds.get("state_transition_min_conflicts").max(1.0) as usize;
        // Only the rejected requests' state keys' instances are grouped below (a large log
        // has hundreds of thousands of instances, most of them no state key of a rejected
        // action).
        let rejected = rejected(tl);
        if rejected.is_empty() {
            return Vec::new();
        }
        // A key no instance changed cannot hold a finding's conflict: most rejected requests
        // of a bulk job re-run against existing records (a million creates, 409 each) drop
        // here, before each would cost a group of its own; and only the changers under a
        // key a rejected request asks about are grouped.
        let SharedKeys {
            keys,
            rejected,
            mut changers,
        } = shared_keys(tl, rejected, &changers(tl));
        if rejected.is_empty() || changers.is_empty() {
            return Vec::new();
        }
        // Grouped by key (in instance order within one: the sort is stable).
        changers.sort_by_key(|c| c.0);
        let mut starts = vec![0usize; keys + 1];
        changers.iter().for_each(|c| starts[c.0 as usize + 1] += 1);
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        let ids: Vec<InstanceId> = changers.iter().map(|c| c.1).collect();
        let changes = StateChanges::new(tl, starts.windows(2).map(|w| &ids[w[0]..w[1]]));
        drop((changers, ids));
        // Looked at once: it reads every event.
        let resolution = signals::clock_resolution(tl);
        // Template of the rejected request → (its start, the conflict, the prior state
        // change).
        let mut per_template: BTreeMap<&str, Vec<(Micros, EventRef, EventRef)>> = BTreeMap::new();
        for &(id, k, key) in &rejected {
            let (inst, x) = (tl.instance(id as InstanceId), &tl.events[id][k]);
            // The latest successful state change before x, by another client or action.
            let prior = changes.latest(
                key as usize,
                x.start + resolution,
                x.client,
                id as InstanceId,
                x.method(),
            );
            if let Some(p) = prior {
                let at = EventRef {
                    instance: id as InstanceId,
                    index: k,
                };
                (per_template.entry(inst.template).or_default()).push((x.start, at, p));
            }
        }
        let mut out = Vec::new();
        for (template, mut pairs) in per_template {
            if pairs.len() < min_conflicts {
                continue;
            }
            pairs.sort_by_key(|(start, _, _)| *start);
            let pairs = pairs.into_iter().map(|(_, x, p)| (x, p)).collect();
            out.push(finding(cx, template, pairs, min_conflicts));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use rustc_hash::FxHashSet;

    /// The search `StateChanges` replaced: every event of every related instance looked at
    /// for each conflict.
    fn latest_by_full_search(
        tl: &Timelines,
        related: &[InstanceId],
        id: usize,
        k: usize,
        resolution: Micros,
    ) -> Option<EventRef> {
        let inst = tl.instance(id as InstanceId);
        let x = &tl.events[id][k];
        let mut prior: Option<EventRef> = None;
        for &rid in related {
            let rpath = tl.instance(rid).path;
            for (j, e) in tl.events[rid as usize].iter().enumerate() {
                let state_change =
                    e.is_write() && e.is_success() && signals::lock_op(e, rpath).is_none();
                let different =
                    e.client != x.client || rpath != inst.path || e.method() != x.method();
                if state_change
                    && different
                    && e.end <= x.start + resolution
                    && !(rid as usize == id && j == k)
                {
                    let later = prior.is_none_or(|p| signals::event(tl, p).end <= e.end);
                    if later {
                        prior = Some(EventRef {
                            instance: rid,
                            index: j,
                        });
                    }
                }
            }
        }
        prior
    }

    /// Instances by state key, for the keys in `wanted`: the key itself and its action
    /// children.
    fn by_state<'a>(
        tl: &'a Timelines,
        wanted: &FxHashSet<&str>,
    ) -> FxHashMap<&'a str, Vec<InstanceId>> {
        let mut by_state: FxHashMap<&str, Vec<InstanceId>> = FxHashMap::default();
        for (id, inst) in tl.instances().enumerate() {
            let key = instance_state_key(inst.path);
            if wanted.contains(key) {
                by_state.entry(key).or_default().push(id as InstanceId);
            }
        }
        by_state
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// For every conflict of random scenarios, the index names the state change the full
        /// search names.
        #[test]
        fn the_index_finds_what_the_full_search_finds(log in scenario()) {
            let tl = log.timelines();
            let resolution = signals::clock_resolution(&tl);
            // Every key there is: each path and its parent.
            let every: FxHashSet<&str> = (tl.instances())
                .flat_map(|i| [Some(i.path), crate::resource::parent(i.path)])
                .flatten()
                .collect();
            let states = by_state(&tl, &every);
            // All keys' changes in one index, as the detector builds it.
            let numbers: FxHashMap<&str, usize> =
                states.keys().enumerate().map(|(n, &k)| (k, n)).collect();
            let changes = StateChanges::new(&tl, states.values().map(|v| &v[..]));
            for (id, inst) in tl.instances().enumerate() {
                for (k, x) in tl.events[id].iter().enumerate() {
                    let Some(key) = state_key(inst.path, x) else { continue };
                    let Some(related) = states.get(key) else { continue };
                    // Only successes are changes, so a rejected request is never its own.
                    if x.is_success() {
                        continue;
                    }
                    let want = latest_by_full_search(&tl, related, id, k, resolution);
                    let got = changes.latest(
                        numbers[key],
                        x.start + resolution,
                        x.client,
                        id as InstanceId,
                        x.method(),
                    );
                    proptest::prop_assert_eq!(got, want);
                }
            }
        }
    }

    /// Four orders shipped, each then cancelled by a customer and answered 409.
    fn four_cancels_after_ships() -> Log {
        let mut log = Log::new();
        for k in 1..=4 {
            let t = 100.0 * k as f64;
            log.at(t)
                .req("wh", "POST", &format!("/orders/{k}/ship"), 200);
            log.at(t + 20.0)
                .req("cust", "POST", &format!("/orders/{k}/cancel"), 409);
        }
        log
    }

    #[test]
    fn cancel_after_ship_is_a_transition() {
        let mut log = four_cancels_after_ships();
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&StateTransition);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].scope, Scope::Template);
        assert_eq!(f[0].template, "/orders/{id}/cancel");
        assert_eq!(f[0].claims.len(), 4);
        assert!(
            f[0].summary.contains("ship → cancel ×4"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn one_rejected_cancel_is_normal() {
        let mut log = Log::new();
        log.at(100.0)
            .req("wh", "POST", "/orders/1/ship", 200)
            .at(120.0)
            .req("cust", "POST", "/orders/1/cancel", 409);
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&StateTransition).is_empty());
    }

    /// The keys some instance changed: an action's parent, a written instance itself; not
    /// a failed write, a read or a lock operation.
    #[test]
    fn changers_are_those_written_or_acted_on_and_keys_are_shared() {
        let mut log = Log::new();
        log.at(100.0)
            .req("a", "PUT", "/orders/1", 200)
            .req("b", "POST", "/orders/2/ship", 202)
            .req("c", "POST", "/orders/3/cancel", 409)
            .req("d", "GET", "/orders/4", 200)
            .req("e", "DELETE", "/orders/5", 204)
            .req("f", "POST", "/orders/6/lock", 200);
        log.at(3600.0).req("z", "GET", "/health", 200);
        let tl = log.timelines();
        let changers = changers(&tl);
        let paths: Vec<&str> = (changers.iter()).map(|&id| tl.instance(id).path).collect();
        assert_eq!(paths, ["/orders/1", "/orders/2/ship", "/orders/5"]);
        let ship = changers[1];
        // Fewer rejected requests than changers: numbered by the rejected requests' keys,
        // all kept; only the changer under one of them is.
        let few = [(7, 0, "/orders/2"), (8, 1, "/orders/3")];
        assert_eq!(
            shared_keys(&tl, few.to_vec(), &changers),
            SharedKeys {
                keys: 2,
                rejected: vec![(7, 0, 0), (8, 1, 1)],
                changers: vec![(0, ship)]
            }
        );
        // More: numbered by the changers' keys, only the rejected requests under one kept,
        // and the changers they ask about.
        let many = [
            (7, 0, "/orders/2"),
            (8, 1, "/orders/3"),
            (9, 2, "/orders/9"),
            (7, 3, "/orders/2"),
        ];
        assert_eq!(
            shared_keys(&tl, many.to_vec(), &changers),
            SharedKeys {
                keys: 3,
                rejected: vec![(7, 0, 1), (7, 3, 1)],
                changers: vec![(1, ship)]
            }
        );
    }

    /// A bulk re-run's rejected actions, on orders nobody changed, beside four cancels after
    /// a ship: only the four are a transition.
    #[test]
    fn rejected_actions_on_unchanged_records_stay_out_of_the_transition() {
        let mut log = four_cancels_after_ships();
        for k in 10..=300 {
            log.at(500.0 + k as f64)
                .req("bulk", "POST", &format!("/orders/{k}/cancel"), 409);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&StateTransition);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 4);
        assert_eq!(log.instances_of(&f[0]).len(), 4);
        assert!(
            f[0].summary.contains("ship → cancel ×4"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn action_conflicts_without_a_prior_change_are_not_transitions() {
        let mut log = Log::new();
        for k in 1..=4 {
            log.at(100.0 * k as f64)
                .req("cust", "POST", &format!("/orders/{k}/cancel"), 409);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&StateTransition).is_empty());
    }
}
