//! `control_plane_conflict` (root-causes.md R14(b)(c), D13 `admin_sync_loop` and
//! `iac_parallelism`): conflicts made by the tools that manage an API's configuration, not by
//! its users.
//!
//! * **Sync loop.** A configuration sync tool (an ingress controller, decK, Argo CD, Flux: see
//!   `crate::agent`) or any client of APISIX's admin API (`/apisix/admin/…`) sends the same
//!   write to one instance at least `control_plane_min_sync_attempts` times at a steady
//!   interval (gap coefficient of variation below `control_plane_max_sync_cv`) and never
//!   succeeds with it (`signals::unanswered_repeats`): its declared configuration violates a
//!   uniqueness rule and every sync cycle fails on it again
//!   (`Kong/kubernetes-ingress-controller#1716`). Kong's admin paths (`/services`, `/routes`,
//!   `/upstreams`, …) are ordinary API paths elsewhere, so there the user agent decides.
//! * **Infrastructure-as-code burst.** One client whose user agent names Terraform, OpenTofu,
//!   Pulumi, Crossplane or Ansible gets conflicts on at least `control_plane_min_iac_instances`
//!   sibling instances (one parent) with no more than `control_plane_iac_window_secs` between
//!   them: the tool changes them in parallel and the control plane serializes changes under
//!   the parent. With logged durations the requests must overlap in time; without them the
//!   burst is only possible (lower confidence). One finding per client and route: the
//!   siblings' template, or `{parent}/{name}` when hand-named siblings did not template alike.
//!
//! Formats without a user agent (most JSON layouts unless configured) show only APISIX's
//! admin paths. Before `duplicate_create` in arbitration: the tool and its configuration are
//! the cause to name.
//!
//! Confidence: sync loop 0.75 (+0.10 on an admin path with a sync tool's agent); burst 0.70
//! with overlapping durations, 0.60 without durations.
//!
//! Advice: remove the duplicate name or id from the declarative configuration (sync loop);
//! lower the tool's parallelism or retry 409 with backoff (burst).

use super::signals::{self, Draft, clocks, median, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::agent::{Agent, Kind};
use crate::resource;
use crate::timeline::{ClientId, Timelines};
use crate::timestamp::MICROS_PER_SEC;
use std::collections::BTreeMap;

pub struct ControlPlaneConflict;

const SYNC_ADVICE: &str = "The configuration sync keeps failing on the same conflict, so every cycle re-sends it: find the duplicate name or id in the declarative configuration (two resources declaring one name, or an entity created by hand that the sync also declares) and remove or rename it; the sync tool's own log names the entity it rejects. Until then the gateway runs on its last good configuration, so later changes are not applied either.";

const IAC_ADVICE: &str = "The tool changes sibling resources of one parent in parallel and the control plane accepts one change under that parent at a time: lower the tool's parallelism for this provider (e.g. `terraform apply -parallelism=1`, or a provider-level setting), add explicit dependencies between the sibling resources, or have the provider retry 409 with backoff.";

/// APISIX's admin API: unambiguous by its path.
const APISIX_ADMIN: &str = "/apisix/admin/";

/// Kong admin API collections: a sync tool writing there is syncing gateway configuration.
const KONG_ADMIN: &[&str] = &[
    "services",
    "routes",
    "upstreams",
    "targets",
    "consumers",
    "plugins",
    "certificates",
    "ca_certificates",
    "snis",
    "vaults",
    "keys",
    "key-sets",
    "config",
];

fn is_admin_path(path: &str) -> bool {
    path.starts_with(APISIX_ADMIN)
        || (path.split('/').nth(1)).is_some_and(|first| KONG_ADMIN.contains(&first))
}

impl Detector for ControlPlaneConflict {
    fn cause(&self) -> &'static str {
        "control_plane_conflict"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let mut out = sync_loops(cx);
        out.extend(iac_bursts(cx));
        out
    }
}

/// Configuration sync loops, one finding per (client, instance).
fn sync_loops(cx: &Context<'_>) -> Vec<Finding> {
    let tl = cx.timelines;
    let th = cx.thresholds;
    let min = th.get("control_plane_min_sync_attempts").max(2.0) as usize;
    let max_cv = th.get("control_plane_max_sync_cv");
    let r = signals::clock_resolution(tl);
    let mut out = Vec::new();
    for (id, inst) in tl.instances().enumerate() {
        if !inst.conflicted {
            continue;
        }
        let events = &tl.events[id];
        for rep in signals::unanswered_repeats(events, min) {
            let agent = events[rep.attempts[0]].agent;
            let sync_tool = agent.kind() == Some(Kind::ConfigSync);
            if !sync_tool && !inst.path.starts_with(APISIX_ADMIN) {
                continue;
            }
            let times: Vec<i64> = rep.attempts.iter().map(|&k| events[k].start).collect();
            let gaps = signals::gaps(&times);
            if signals::gap_cv(&gaps, r) >= max_cv {
                continue;
            }
            let claims: Vec<EventRef> = (rep.attempts.iter())
                .map(|&index| EventRef {
                    instance: id as u32,
                    index,
                })
                .collect();
            let n = claims.len();
            let evidence = vec![claims[0], claims[1], claims[n / 2], claims[n - 1]];
            let first = &events[rep.attempts[0]];
            let last = &events[rep.attempts[n - 1]];
            let who = match agent.name() {
                Some(name) => format!("{name} ({})", tl.client(rep.client)),
                None => tl.client(rep.client).to_string(),
            };
            let admin = is_admin_path(inst.path);
            let (first_at, last_at) = clocks(first.start, last.start, cx.period);
            let summary = format!(
                "{who} sent {} {} {n} times, every {}, from {} to {} and got {} every time: a configuration sync{} that fails on the same conflict each cycle and never succeeds in the log.",
                rep.method.as_str(),
                inst.path,
                span_text(median(&gaps), r),
                first_at,
                last_at,
                signals::status_list(rep.attempts.iter().map(|&k| events[k].status)),
                if admin {
                    " against the gateway's admin API"
                } else {
                    ""
                },
            );
            out.push(
                Draft {
                    cause: "control_plane_conflict",
                    severity: Severity::Incident,
                    scope: Scope::Instance,
                    template: inst.template.to_string(),
                    instance: Some(inst.path.to_string()),
                    extra_instances: Vec::new(),
                    claims,
                    evidence,
                    other_clients: Vec::new(),
                    confidence: if sync_tool && admin { 0.85 } else { 0.75 },
                    summary,
                    advice: SYNC_ADVICE.into(),
                }
                .build(cx),
            );
        }
    }
    out
}

/// A conflict of an infrastructure-as-code client, for grouping under its parent.
struct Hit {
    start: i64,
    end: i64,
    at: EventRef,
}

/// A burst of an infrastructure-as-code client.
struct Burst<'a> {
    /// Its conflicts, in time order.
    hits: Vec<EventRef>,
    /// Whether the requests' logged durations overlap (else it is only likely).
    certain: bool,
    /// The parent of the sibling instances.
    parent: &'a str,
}

/// The conflicting writes of infrastructure-as-code clients on instances with a parent,
/// by (client, parent); and the agent each such client was first seen with.
struct IacHits<'a> {
    under: BTreeMap<(ClientId, &'a str), Vec<Hit>>,
    agents: BTreeMap<ClientId, Agent>,
}

/// Infrastructure-as-code bursts, one finding per (client, route) with all its bursts.
fn iac_bursts(cx: &Context<'_>) -> Vec<Finding> {
    let th = cx.thresholds;
    let min = th.get("control_plane_min_iac_instances").max(2.0) as usize;
    let window = (th.get("control_plane_iac_window_secs") * MICROS_PER_SEC as f64) as i64;
    let IacHits { under, agents } = iac_hits(cx.timelines);
    let r = signals::clock_resolution(cx.timelines);
    // (client, template of the burst's instances) → its bursts.
    let mut groups: BTreeMap<(ClientId, String), Vec<Burst<'_>>> = BTreeMap::new();
    for ((client, parent), hits) in under {
        for (template, burst) in bursts_under(cx.timelines, parent, hits, window, min) {
            groups.entry((client, template)).or_default().push(burst);
        }
    }
    (groups.into_iter())
        .map(|((client, template), bursts)| {
            let name = agents
                .get(&client)
                .and_then(|a| a.name())
                .unwrap_or("an infrastructure-as-code tool");
            iac_finding(cx, (client, name), template, &bursts, r)
        })
        .collect()
}

fn iac_hits(tl: &Timelines) -> IacHits<'_> {
    let mut under: BTreeMap<(ClientId, &str), Vec<Hit>> = BTreeMap::new();
    let mut agents: BTreeMap<ClientId, Agent> = BTreeMap::new();
    for (id, inst) in tl.instances().enumerate() {
        if !inst.conflicted {
            continue;
        }
        let Some(parent) = resource::parent(inst.path) else {
            continue;
        };
        for (index, e) in tl.events[id].iter().enumerate() {
            if e.conflict() && e.is_write() && e.agent.kind() == Some(Kind::InfrastructureAsCode) {
                agents.entry(e.client).or_insert(e.agent);
                under.entry((e.client, parent)).or_default().push(Hit {
                    start: e.start,
                    end: e.end,
                    at: EventRef {
                        instance: id as u32,
                        index,
                    },
                });
            }
        }
    }
    IacHits { under, agents }
}

/// One client's conflicts under `parent` cut into bursts (hits at most `window` apart), the
/// bursts on at least `min` sibling instances, whose requests ran side by side where the
/// log tells: each with the route of its instances.
fn bursts_under<'a>(
    tl: &Timelines,
    parent: &'a str,
    mut hits: Vec<Hit>,
    window: i64,
    min: usize,
) -> Vec<(String, Burst<'a>)> {
    hits.sort_by_key(|h| (h.start, h.at));
    let mut out = Vec::new();
    let mut from = 0;
    for k in 1..=hits.len() {
        if k < hits.len() && hits[k].start - hits[k - 1].start <= window {
            continue;
        }
        let burst = &hits[from..k];
        from = k;
        let mut instances: Vec<u32> = burst.iter().map(|h| h.at.instance).collect();
        instances.sort_unstable();
        instances.dedup();
        if instances.len() < min {
            continue;
        }
        let timed = burst
            .iter()
            .all(|h| signals::event(tl, h.at).timed() && h.end > h.start);
        // With durations, the requests must have run side by side.
        let overlap = timed && {
            let mut by_start: Vec<&Hit> = burst.iter().collect();
            by_start.sort_by_key(|h| h.start);
            let mut reach = i64::MIN;
            by_start.iter().any(|h| {
                let overlaps = h.start < reach;
                reach = reach.max(h.end);
                overlaps
            })
        };
        if timed && !overlap {
            continue;
        }
        // The siblings' route; when the names did not template alike (a handful of
        // hand-named resources), the parent with a name placeholder.
        let first: &str = tl.instance(burst[0].at.instance).template;
        let template = if (burst.iter()).all(|h| tl.instance(h.at.instance).template == first) {
            first.to_string()
        } else {
            format!("{parent}/{{name}}")
        };
        let hits = burst.iter().map(|h| h.at).collect();
        out.push((
            template,
            Burst {
                hits,
                certain: overlap,
                parent,
            },
        ));
    }
    out
}

/// The finding of one client's bursts on `template` (`name`: the tool its agent names),
/// their spans told at the log's clock resolution `r`.
fn iac_finding(
    cx: &Context<'_>,
    (client, name): (ClientId, &str),
    template: String,
    bursts: &[Burst<'_>],
    r: i64,
) -> Finding {
    let tl = cx.timelines;
    let certain = bursts.iter().all(|b| b.certain);
    let claims: Vec<EventRef> = bursts.iter().flat_map(|b| b.hits.clone()).collect();
    let Burst {
        hits: largest,
        parent,
        ..
    } = (bursts.iter())
        .max_by_key(|b| (b.hits.len(), std::cmp::Reverse(b.hits[0])))
        .expect("a group has a burst");
    let mut evidence: Vec<EventRef> = largest.iter().take(4).copied().collect();
    if let Some(last) = claims.last() {
        evidence.push(*last);
    }
    let at = |r: &EventRef| signals::event(tl, *r).start;
    let (b0, b1) = (
        largest.iter().map(at).min().unwrap_or(0),
        largest.iter().map(at).max().unwrap_or(0),
    );
    let mut instances: Vec<u32> = largest.iter().map(|c| c.instance).collect();
    instances.sort_unstable();
    instances.dedup();
    let summary = format!(
        "{name} ({}) changed sibling resources of one parent side by side and got {} on {} of them within {} under {parent} at {}{}{}.",
        tl.client(client),
        signals::status_list(largest.iter().map(|r| signals::event(tl, *r).status)),
        instances.len(),
        span_text(b1 - b0, r),
        signals::moment(b0, cx.period),
        if bursts.len() > 1 {
            format!(
                "; {} such bursts in all, {} conflicts",
                bursts.len(),
                claims.len()
            )
        } else {
            String::new()
        },
        if certain {
            " (the requests' logged durations overlap)"
        } else {
            " (the log has no durations: that they ran at the same time is likely, not shown)"
        },
    );
    Draft {
        cause: "control_plane_conflict",
        severity: Severity::Incident,
        scope: Scope::Template,
        template,
        instance: None,
        extra_instances: Vec::new(),
        claims,
        evidence,
        other_clients: Vec::new(),
        confidence: if certain { 0.7 } else { 0.6 },
        summary,
        advice: IAC_ADVICE.into(),
    }
    .build(cx)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    const KIC: &str = "kong-ingress-controller/2.9.3";
    const TF: &str = "Terraform/1.6.2 (+https://www.terraform.io) terraform-provider-aws/5.31.0";

    fn found(log: &Log) -> Vec<Finding> {
        log.run_one(&ControlPlaneConflict)
    }

    /// root-causes.md D13's test: `PUT :8001/upstreams/x` answered 409 every 30 s to an
    /// ingress controller that reads the upstreams each cycle.
    fn sync_loop(user_agent: &str, path: &str) -> Log {
        let mut log = Log::new();
        log.agent(user_agent);
        for k in 0..12 {
            let t = k as f64 * 30.0;
            log.at(t)
                .req("10.1.0.5", "GET", "/upstreams", 200)
                .at(t + 0.2)
                .req("10.1.0.5", "PUT", path, 409);
        }
        log
    }

    #[test]
    fn an_ingress_controller_failing_every_sync() {
        let f = found(&sync_loop(KIC, "/upstreams/billing"));
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.cause, "control_plane_conflict");
        assert_eq!(f.instance.as_deref(), Some("/upstreams/billing"));
        assert_eq!(f.conflicts(), 12);
        assert_eq!(
            f.summary,
            "an ingress controller (10.1.0.5) sent PUT /upstreams/billing 12 times, every 30s, from 09:00:00 to 09:05:30 and got 409 every time: a configuration sync against the gateway's admin API that fails on the same conflict each cycle and never succeeds in the log."
        );
        assert!((f.confidence - 0.85).abs() < 1e-9);
        assert_eq!(f.advice, SYNC_ADVICE);
    }

    #[test]
    fn apisix_admin_paths_need_no_user_agent() {
        let f = found(&sync_loop("", "/apisix/admin/routes/7"));
        assert_eq!(f.len(), 1);
        assert!((f[0].confidence - 0.75).abs() < 1e-9);
        assert!(
            f[0].summary.starts_with("10.1.0.5 sent PUT"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn a_loop_that_is_not_a_sync_tool_is_not_a_control_plane_conflict() {
        // Same cadence from a browser on a Kong-looking path: left to permanent_retry.
        assert!(found(&sync_loop("Mozilla/5.0", "/routes/42")).is_empty());
        assert!(found(&sync_loop("", "/upstreams/billing")).is_empty());
    }

    #[test]
    fn a_sync_that_succeeds_or_wanders_is_not_a_loop() {
        // It succeeds in the end: the conflict was resolved.
        let mut log = sync_loop(KIC, "/upstreams/billing");
        log.at(400.0)
            .req("10.1.0.5", "PUT", "/upstreams/billing", 200);
        assert!(found(&log).is_empty());
        // Irregular gaps (1 s, then minutes): not a sync interval.
        let mut log = Log::new();
        log.agent(KIC);
        for t in [0.0, 1.0, 2.0, 200.0, 201.0, 900.0] {
            log.at(t).req("10.1.0.5", "PUT", "/upstreams/billing", 409);
        }
        assert!(found(&log).is_empty());
        // Four attempts: below the minimum.
        let mut log = Log::new();
        log.agent(KIC);
        for k in 0..4 {
            log.at(k as f64 * 30.0)
                .req("10.1.0.5", "PUT", "/upstreams/billing", 409);
        }
        assert!(found(&log).is_empty());
    }

    fn apply(log: &mut Log, at: f64, api: &str, routes: usize, conflicts: usize) {
        // Route ids 31, 32, …: the first `conflicts` answered 409, the rest created.
        log.agent(TF);
        for j in 0..routes {
            let status = if j < conflicts { 409 } else { 201 };
            log.at(at + j as f64 * 0.3).req(
                "10.2.0.9",
                "PUT",
                &format!("/v1/apis/{api}/routes/{}", 31 + j),
                status,
            );
        }
        log.agent("console/1.0");
    }

    #[test]
    fn terraform_changing_siblings_in_parallel() {
        let mut log = Log::new();
        for k in 0..30 {
            log.at(k as f64 * 20.0).req(
                "10.0.0.1",
                "GET",
                &format!("/v1/apis/{}/routes/31", 1040 + k % 5),
                200,
            );
        }
        log.timed(Some(2.0));
        apply(&mut log, 600.0, "1041", 6, 4);
        apply(&mut log, 1200.0, "1043", 5, 3);
        log.timed(None);
        let f = found(&log);
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.scope, Scope::Template);
        assert_eq!(f.conflicts(), 7);
        assert_eq!(log.clients_of(f), ["10.2.0.9"]);
        assert_eq!(
            f.summary,
            "Terraform (10.2.0.9) changed sibling resources of one parent side by side and got 409 on 4 of them within 900ms under /v1/apis/1041/routes at 09:09:58; 2 such bursts in all, 7 conflicts (the requests' logged durations overlap)."
        );
        assert!((f.confidence - 0.7).abs() < 1e-9);
    }

    #[test]
    fn hand_named_siblings_are_named_by_their_parent() {
        let mut log = Log::new();
        log.agent(TF);
        for name in ["web", "admin", "billing"] {
            log.at(600.0).req(
                "10.2.0.9",
                "PUT",
                &format!("/v1/apis/1041/routes/{name}"),
                409,
            );
        }
        let f = found(&log);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].template, "/v1/apis/1041/routes/{name}");
        assert_eq!(f[0].instances.len(), 3);
    }

    #[test]
    fn terraform_without_durations_is_possible_only() {
        let mut log = Log::new();
        apply(&mut log, 600.0, "1041", 3, 3);
        let f = found(&log);
        assert_eq!(f.len(), 1);
        assert!((f[0].confidence - 0.6).abs() < 1e-9);
        assert!(
            f[0].summary.contains("likely, not shown"),
            "{}",
            f[0].summary
        );
    }

    /// Four sibling routes answered 409 to `user_agent`, `step` seconds apart, each taking
    /// `duration` seconds when logged.
    fn siblings(user_agent: &str, step: f64, duration: Option<f64>) -> Log {
        let mut log = Log::new();
        log.agent(user_agent).timed(duration);
        for j in 0..4 {
            let path = format!("/v1/apis/1041/routes/{}", 31 + j);
            log.at(601.0 + j as f64 * step)
                .req("10.2.0.9", "PUT", &path, 409);
        }
        log
    }

    #[test]
    fn no_burst_without_the_tool_the_siblings_or_the_overlap() {
        assert_eq!(found(&siblings(TF, 0.3, None)).len(), 1);
        assert_eq!(found(&siblings(TF, 0.3, Some(1.0))).len(), 1);
        // A browser making the same requests.
        assert!(found(&siblings("Mozilla/5.0", 0.3, None)).is_empty());
        // Spread out: 20 s apart.
        assert!(found(&siblings(TF, 20.0, None)).is_empty());
        // Durations logged, one after another (parallelism 1): not parallel.
        assert!(found(&siblings(TF, 1.5, Some(1.0))).is_empty());
        // Two siblings only.
        let mut log = Log::new();
        apply(&mut log, 600.0, "1041", 5, 2);
        assert!(found(&log).is_empty());
    }
}
