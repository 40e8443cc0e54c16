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
use crate::record::Method;
use crate::timeline::{Event, InstanceId};
use std::collections::{BTreeMap, BTreeSet};

pub struct StateTransition;

const ADVICE: &str = "Check the resource's current state (GET) before sending the action and hide or disable actions the state no longer allows; treat this 409 as final (do not retry it) and show the user why; servers should return a machine-readable reason (such as 'order already shipped') so clients can tell it apart from a version conflict.";

/// The state key of an action or DELETE conflict: the instance the action applies to.
fn state_key(path: &str, e: &Event) -> Option<String> {
    if signals::is_action_path(path) {
        crate::resource::parent(path).map(str::to_string)
    } else if e.method == Method::Delete && !signals::is_lock_path(path) {
        Some(path.to_string())
    } else {
        None
    }
}

impl Detector for StateTransition {
    fn cause(&self) -> &'static str {
        "state_transition"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min_conflicts = cx.thresholds.get("state_transition_min_conflicts").max(1.0) as usize;
        // Looked at once: it reads every event.
        let resolution = signals::clock_resolution(tl);
        // Instances by state key: the key itself and its action children.
        let mut by_state: BTreeMap<&str, Vec<InstanceId>> = BTreeMap::new();
        for (id, inst) in tl.instances.iter().enumerate() {
            let key = if signals::is_action_path(&inst.path) {
                crate::resource::parent(&inst.path).unwrap_or(&inst.path)
            } else {
                inst.path.as_str()
            };
            by_state.entry(key).or_default().push(id as InstanceId);
        }
        // Template of the rejected request → (conflict, prior state change).
        let mut per_template: BTreeMap<&str, Vec<(EventRef, EventRef)>> = BTreeMap::new();
        for (id, inst) in tl.instances.iter().enumerate() {
            if !inst.conflicted {
                continue;
            }
            for (k, x) in tl.events[id].iter().enumerate() {
                if !(x.conflict && x.status == 409 && x.is_write()) {
                    continue;
                }
                let Some(key) = state_key(&inst.path, x) else {
                    continue;
                };
                let Some(related) = by_state.get(key.as_str()) else {
                    continue;
                };
                // The latest successful state change before x, by another client or action.
                let mut prior: Option<EventRef> = None;
                for &rid in related {
                    let rpath = &tl.instance(rid).path;
                    for (j, e) in tl.events[rid as usize].iter().enumerate() {
                        let state_change =
                            e.is_write() && e.is_success() && signals::lock_op(e, rpath).is_none();
                        let different =
                            e.client != x.client || rpath != &inst.path || e.method != x.method;
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
                if let Some(p) = prior {
                    per_template
                        .entry(inst.template.as_str())
                        .or_default()
                        .push((
                            EventRef {
                                instance: id as InstanceId,
                                index: k,
                            },
                            p,
                        ));
                }
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
                        e.method.as_str().to_string()
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
                first.method.as_str(),
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
                    advice: ADVICE.to_string(),
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
