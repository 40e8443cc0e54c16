//! `gateway_generated` (root-causes.md R14/D13): conflicts the gateway produced itself, not
//! the service behind it — a plugin or policy (an idempotency or concurrency plugin, a
//! `return 409` or `error_page` rule, a limit configured to answer 409/423), or a rewrite of
//! the upstream's status.
//!
//! Signature: conflict responses on one route whose line says no upstream answered
//! (`$upstream_status` `-`, ALB `target_status_code` `-`, Traefik `OriginStatus` 0, Kong
//! `source` `kong` or `exit`) or that the upstream answered with another status; at least
//! `gateway_min_conflicts` of them on the route. Scope `template`. Only formats that log the
//! upstream's status can show it; on the others nothing is called gateway-generated.
//!
//! First in arbitration: a conflict the service never saw has no cause in the service.
//!
//! Advice: find the gateway rule or plugin that answers this status on the route; review
//! its settings; do not count these as service errors.

use super::signals::{self, Draft, clocks, percent};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Origin;
use std::collections::BTreeMap;

pub struct GatewayGenerated;

const ADVICE: &str = "These responses were produced by the gateway, not by the service behind it: find the gateway rule or plugin that answers this status on this route (an idempotency or concurrency plugin, a `return`/`error_page` rule, a limit configured to answer with it; in Kong's log the response's `source` names it), review its key and window settings, and keep these out of the service's error budget and dashboards.";

impl Detector for GatewayGenerated {
    fn cause(&self) -> &'static str {
        "gateway_generated"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let min = cx.thresholds.get("gateway_min_conflicts").max(1.0) as usize;
        let mut routes: BTreeMap<&str, Route> = BTreeMap::new();
        for (id, inst) in tl.instances().enumerate() {
            let route = routes.entry(inst.template).or_default();
            for (index, e) in tl.events[id].iter().enumerate() {
                if !e.conflict() {
                    continue;
                }
                route.all += 1;
                route.known += usize::from(e.origin() != Origin::Unknown);
                if matches!(e.origin(), Origin::Gateway | Origin::Rewritten) {
                    route.claims.push(EventRef {
                        instance: id as u32,
                        index,
                    });
                }
            }
        }
        (routes.into_iter())
            .filter(|(_, route)| route.claims.len() >= min)
            .map(|(template, route)| route.finding(cx, template))
            .collect()
    }
}

/// Of all conflicts on a route's instances: how many, on how many the log says who
/// answered, and those the gateway answered.
#[derive(Default)]
struct Route {
    all: usize,
    known: usize,
    claims: Vec<EventRef>,
}

impl Route {
    fn finding(mut self, cx: &Context<'_>, template: &str) -> Finding {
        let tl = cx.timelines;
        let claims = &mut self.claims;
        claims.sort_by_key(|r| {
            let e = signals::event(tl, *r);
            (e.start, e.input, e.offset())
        });
        let mut evidence: Vec<EventRef> = claims.iter().take(3).copied().collect();
        evidence.extend(claims.last().copied());
        let summary = self.summary(cx, template);
        Draft {
            cause: "gateway_generated",
            severity: Severity::Incident,
            scope: Scope::Template,
            template: template.to_string(),
            instance: None,
            extra_instances: Vec::new(),
            claims: self.claims,
            evidence,
            other_clients: Vec::new(),
            confidence: 0.85,
            summary,
            advice: ADVICE.into(),
        }
        .build(cx)
    }

    /// How many, when, which statuses, and whether no upstream answered or the gateway
    /// replaced the upstream's status (`claims` in time order, at least one).
    fn summary(&self, cx: &Context<'_>, template: &str) -> String {
        let tl = cx.timelines;
        let claims = &self.claims;
        let statuses = signals::status_list(claims.iter().map(|r| signals::event(tl, *r).status));
        let first = signals::event(tl, claims[0]);
        let last = signals::event(tl, *claims.last().unwrap_or(&claims[0]));
        let rewritten = (claims.iter())
            .filter(|r| signals::event(tl, **r).origin() == Origin::Rewritten)
            .count();
        let how = match (claims.len() - rewritten, rewritten) {
            (_, 0) => "no upstream answered them".to_string(),
            (0, _) => {
                "the upstream answered another status, which the gateway replaced".to_string()
            }
            (none, r) => format!(
                "no upstream answered {none} of them, and for {r} the gateway replaced the upstream's status"
            ),
        };
        let unknown = match self.all - self.known {
            0 => String::new(),
            n => format!("; for {n} the log does not say who answered"),
        };
        let (first_at, last_at) = clocks(first.start, last.end, cx.period);
        format!(
            "{} conflict responses ({statuses}) on {template} between {} and {} came from the gateway, not from the service: {how} ({} of the route's {} conflicts{unknown}).",
            claims.len(),
            first_at,
            last_at,
            percent(claims.len(), self.all),
            self.all,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// A gateway idempotency plugin answers 409 to in-flight duplicates itself.
    fn plugin(log: &mut Log, n: usize) {
        for k in 0..n {
            let path = format!("/api/v1/payments/{}", 800 + k);
            log.origin(Origin::Upstream)
                .at(10.0 * k as f64)
                .req("10.3.0.1", "PUT", &path, 201);
            log.origin(Origin::Gateway)
                .at(10.0 * k as f64 + 0.1)
                .req("10.3.0.1", "PUT", &path, 409);
        }
    }

    #[test]
    fn conflicts_the_gateway_answered_itself() {
        let mut log = Log::new();
        plugin(&mut log, 4);
        let f = log.run_one(&GatewayGenerated);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].template.as_str(), f[0].scope, f[0].conflicts()),
            ("/api/v1/payments/{id}", Scope::Template, 4)
        );
        assert!(
            f[0].summary
                .contains(": no upstream answered them (100% of the route's 4 conflicts)."),
            "{}",
            f[0].summary
        );
        // It goes first: the duplicate creates are the gateway's, not the client's retries.
        assert_eq!(
            log.run_all(),
            vec![("gateway_generated", "/api/v1/payments/{id}".to_string())]
        );
    }

    #[test]
    fn rewritten_statuses_are_the_gateways_too() {
        let mut log = Log::new();
        plugin(&mut log, 2);
        log.origin(Origin::Rewritten)
            .at(100.0)
            .req("10.3.0.4", "PUT", "/api/v1/payments/870", 409);
        log.origin(Origin::Unknown)
            .at(101.0)
            .req("10.3.0.5", "PUT", "/api/v1/payments/871", 409);
        let f = log.run_one(&GatewayGenerated);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].conflicts(), 3);
        assert!(
            f[0].summary.contains("no upstream answered 2 of them, and for 1 the gateway replaced the upstream's status (75% of the route's 4 conflicts; for 1 the log does not say who answered)."),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn upstream_conflicts_and_unknown_origins_are_not_the_gateways() {
        let mut log = Log::new();
        for origin in [Origin::Upstream, Origin::Unknown] {
            log.origin(origin);
            for k in 0..5 {
                log.at(10.0 * k as f64)
                    .req("10.3.0.2", "PUT", "/api/v1/payments/900", 409);
            }
        }
        assert!(log.run_one(&GatewayGenerated).is_empty());
        // Too few.
        let mut log = Log::new();
        plugin(&mut log, 2);
        assert!(log.run_one(&GatewayGenerated).is_empty());
    }
}
