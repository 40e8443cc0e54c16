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

use super::signals::{self, Draft, clock, last_segment};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::{Method, Micros};
use crate::timeline::{ClientId, Event, InstanceId, Timelines};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};

pub struct StateTransition;

const ADVICE: &str = "Check the resource's current state (GET) before sending the action and hide or disable actions the state no longer allows; treat this 409 as final (do not retry it) and show the user why; servers should return a machine-readable reason (such as 'order already shipped') so clients can tell it apart from a version conflict.";

/// The state key of an action or DELETE conflict: the instance the action applies to.
fn state_key(path: &str, e: &Event) -> Option<String> {
    if signals::is_action_path(path) {
        crate::resource::parent(path).map(str::to_string)
    } else if e.method() == Method::Delete && !signals::is_lock_path(path) {
        Some(path.to_string())
    } else {
        None
    }
}

/// The successful state changes under one state key (its instances' successful writes that
/// are not lock operations), ordered as the search prefers them: by end, then by instance
/// and position, so that the last one ending by a time is the one to name.
struct StateChanges {
    changes: Vec<Change>,
    /// For each change, the latest earlier one by another (client, instance, method): what
    /// the search falls back to when the latest is the rejected request's own kind.
    prev_other: Vec<Option<usize>>,
}

struct Change {
    end: Micros,
    at: EventRef,
    client: ClientId,
    method: Method,
}

impl StateChanges {
    fn new(tl: &Timelines, related: &[InstanceId]) -> StateChanges {
        let mut changes: Vec<Change> = Vec::new();
        for &rid in related {
            let rpath = &tl.instance(rid).path;
            for (j, e) in tl.events[rid as usize].iter().enumerate() {
                if e.is_write() && e.is_success() && signals::lock_op(e, rpath).is_none() {
                    changes.push(Change {
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
        changes.sort_by_key(|c| (c.end, c.at.instance, c.at.index));
        let kind = |c: &Change| (c.client, c.at.instance, c.method);
        let mut prev_other: Vec<Option<usize>> = Vec::with_capacity(changes.len());
        for p in 0..changes.len() {
            prev_other.push(match p {
                0 => None,
                _ if kind(&changes[p - 1]) != kind(&changes[p]) => Some(p - 1),
                _ => prev_other[p - 1],
            });
        }
        StateChanges {
            changes,
            prev_other,
        }
    }

    /// The latest change ending by `by` that another client, another instance or another
    /// method made (what a conflict by `client` with `method` on `instance` is set against).
    fn latest(
        &self,
        by: Micros,
        client: ClientId,
        instance: InstanceId,
        method: Method,
    ) -> Option<EventRef> {
        let p = self
            .changes
            .partition_point(|c| c.end <= by)
            .checked_sub(1)?;
        let c = &self.changes[p];
        if (c.client, c.at.instance, c.method) != (client, instance, method) {
            Some(c.at)
        } else {
            self.prev_other[p].map(|q| self.changes[q].at)
        }
    }
}

/// Instances by state key, for the keys in `wanted`: the key itself and its action
/// children.
fn by_state<'a>(
    tl: &'a Timelines,
    wanted: &FxHashSet<&str>,
) -> FxHashMap<&'a str, Vec<InstanceId>> {
    let mut by_state: FxHashMap<&str, Vec<InstanceId>> = FxHashMap::default();
    for (id, inst) in tl.instances.iter().enumerate() {
        let key = if signals::is_action_path(&inst.path) {
            crate::resource::parent(&inst.path).unwrap_or(&inst.path)
        } else {
            inst.path.as_str()
        };
        if wanted.contains(key) {
            by_state.entry(key).or_default().push(id as InstanceId);
        }
    }
    by_state
}

impl Detector for StateTransition {
    fn cause(&self) -> &'static str {
        "state_transition"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min_conflicts = cx.thresholds.get("state_transition_min_conflicts").max(1.0) as usize;
        // The rejected actions and DELETEs with their state keys: only those keys'
        // instances are grouped below (a large log has hundreds of thousands of instances,
        // most of them no state key of a rejected action).
        let mut rejected: Vec<(usize, usize, String)> = Vec::new();
        for (id, inst) in tl.instances.iter().enumerate() {
            if !inst.conflicted {
                continue;
            }
            for (k, x) in tl.events[id].iter().enumerate() {
                if x.conflict()
                    && x.status == 409
                    && x.is_write()
                    && let Some(key) = state_key(&inst.path, x)
                {
                    rejected.push((id, k, key));
                }
            }
        }
        if rejected.is_empty() {
            return Vec::new();
        }
        // Looked at once: it reads every event.
        let resolution = signals::clock_resolution(tl);
        let wanted: FxHashSet<&str> = rejected.iter().map(|r| r.2.as_str()).collect();
        let by_state = by_state(tl, &wanted);
        // Each key's state changes, indexed once when a conflict first needs them (a hot
        // instance has many conflicts against the same changes).
        let mut changes_by_key: FxHashMap<&str, StateChanges> = FxHashMap::default();
        // Template of the rejected request → (conflict, prior state change).
        let mut per_template: BTreeMap<&str, Vec<(EventRef, EventRef)>> = BTreeMap::new();
        for (id, k, key) in &rejected {
            let (inst, x) = (&tl.instances[*id], &tl.events[*id][*k]);
            let Some((&key, related)) = by_state.get_key_value(key.as_str()) else {
                continue;
            };
            // The latest successful state change before x, by another client or action.
            let prior = changes_by_key
                .entry(key)
                .or_insert_with(|| StateChanges::new(tl, related))
                .latest(
                    x.start + resolution,
                    x.client,
                    *id as InstanceId,
                    x.method(),
                );
            if let Some(p) = prior {
                per_template.entry(&*inst.template).or_default().push((
                    EventRef {
                        instance: *id as InstanceId,
                        index: *k,
                    },
                    p,
                ));
            }
        }
        let mut out = Vec::new();
        for (template, mut pairs) in per_template {
            if pairs.len() < min_conflicts {
                continue;
            }
            pairs.sort_by_key(|(x, _)| signals::event(tl, *x).start);
            let claims: Vec<EventRef> = pairs.iter().map(|p| p.0).collect();
            let instances: BTreeSet<InstanceId> = claims.iter().map(|c| c.instance).collect();
            // Transition matrix: prior action → rejected action.
            let mut transitions: BTreeMap<(String, String), usize> = BTreeMap::new();
            let mut repeats: BTreeMap<(u32, InstanceId), usize> = BTreeMap::new();
            for (x, p) in &pairs {
                let xe = signals::event(tl, *x);
                let pe = signals::event(tl, *p);
                let name = |r: &EventRef, e: &Event| {
                    let path = &tl.instance(r.instance).path;
                    if signals::is_action_path(path) {
                        last_segment(path).to_string()
                    } else {
                        e.method().as_str().to_string()
                    }
                };
                *transitions.entry((name(p, pe), name(x, xe))).or_insert(0) += 1;
                *repeats.entry((xe.client, x.instance)).or_insert(0) += 1;
            }
            let repeated = repeats.values().filter(|n| **n >= 2).count();
            let mut t: Vec<((String, String), usize)> = transitions.into_iter().collect();
            t.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let matrix = t
                .iter()
                .take(3)
                .map(|((a, b), n)| format!("{a} → {b} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ");
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
            let summary = format!(
                "{} {} requests on {} instance{} of {} got 409 after the instance had already changed state ({}) between {} and {}{}.",
                claims.len(),
                first.method().as_str(),
                instances.len(),
                if instances.len() == 1 { "" } else { "s" },
                template,
                matrix,
                clock(first.start),
                clock(last.end),
                if repeated > 0 {
                    format!("; {repeated} client/instance pairs re-sent the rejected request")
                } else {
                    String::new()
                }
            );
            out.push(
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
            let rpath = &tl.instance(rid).path;
            for (j, e) in tl.events[rid as usize].iter().enumerate() {
                let state_change =
                    e.is_write() && e.is_success() && signals::lock_op(e, rpath).is_none();
                let different =
                    e.client != x.client || rpath != &inst.path || e.method() != x.method();
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// For every conflict of random scenarios, the index names the state change the full
        /// search names.
        #[test]
        fn the_index_finds_what_the_full_search_finds(log in scenario()) {
            let tl = log.timelines();
            let resolution = signals::clock_resolution(&tl);
            // Every key there is: each path and its parent.
            let every: FxHashSet<&str> = (tl.instances.iter())
                .flat_map(|i| [Some(i.path.as_str()), crate::resource::parent(&i.path)])
                .flatten()
                .collect();
            let states = by_state(&tl, &every);
            for (id, inst) in tl.instances.iter().enumerate() {
                for (k, x) in tl.events[id].iter().enumerate() {
                    let Some(key) = state_key(&inst.path, x) else { continue };
                    let Some(related) = states.get(key.as_str()) else { continue };
                    // Only successes are changes, so a rejected request is never its own.
                    if x.is_success() {
                        continue;
                    }
                    let want = latest_by_full_search(&tl, related, id, k, resolution);
                    let got = StateChanges::new(&tl, related).latest(
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

    #[test]
    fn cancel_after_ship_is_a_transition() {
        let mut log = Log::new();
        for k in 1..=4 {
            let t = 100.0 * k as f64;
            log.at(t)
                .req("wh", "POST", &format!("/orders/{k}/ship"), 200);
            log.at(t + 20.0)
                .req("cust", "POST", &format!("/orders/{k}/cancel"), 409);
        }
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
