//! `permanent_retry` (root-causes.md R7(b), D6 `permanent_retry`): a client keeps re-sending a
//! request that cannot succeed as the resource stands — a merge bot retrying
//! `PUT …/pulls/5466/merge` every few minutes for hours, a GitOps tool re-applying a manifest
//! that conflicts, a job re-creating a name that exists.
//!
//! Signature: on one instance, the same client's conflicting write with one method, at least
//! `permanent_retry_min_attempts` times over at least `permanent_retry_min_span_secs`, with no
//! success of that (client, method) from the first of them on (`signals::unanswered_repeats`;
//! reads in between do not matter), and a median gap of at most
//! `permanent_retry_max_median_gap_secs`. Periodic when the gaps' coefficient of variation is
//! below `permanent_retry_periodic_cv` (a bot's, cron's or sync's cadence). One finding per
//! client, method and route, naming its instances.
//!
//! Guards: an hourly "ensure it exists" probe answered 409 is create-if-absent, left to
//! `expected_exists` (the median-gap bound); a tight loop is `retry_storm`'s, a client
//! overwriting another's newer version `stale_version`'s and a rejected action after a state
//! change `state_transition`'s — all earlier in arbitration, so this takes what they leave.
//!
//! Confidence 0.70, +0.10 when periodic, +0.10 with ten attempts or more.
//!
//! Advice: classify the 409's reason and resolve it (re-read, rebase or merge, pick a new
//! name, change field ownership) instead of re-sending; stop after a few attempts and surface
//! the error; servers should return a machine-readable reason.

use super::signals::{self, Draft, clocks, median, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::Method;
use crate::timeline::ClientId;
use crate::timestamp::MICROS_PER_SEC;
use std::collections::BTreeMap;

pub struct PermanentRetry;

const ADVICE: &str = "This request cannot succeed as the resource stands, so re-sending it changes nothing: find the 409's reason (response body, server log for these request ids) and resolve it — re-read and rebase or merge, pick a new name, change field ownership, or use the API's force option where intended — instead of retrying; stop after a few attempts and surface the error to a person. Servers should return a machine-readable reason so clients can tell a permanent conflict from a transient one.";

/// One qualifying repeat, kept until its route's finding is written.
struct Found {
    instance: u32,
    attempts: Vec<usize>,
    median_gap: i64,
    periodic: bool,
}

impl Detector for PermanentRetry {
    fn cause(&self) -> &'static str {
        "permanent_retry"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let th = cx.thresholds;
        let min_attempts = th.get("permanent_retry_min_attempts").max(2.0) as usize;
        let min_span = (th.get("permanent_retry_min_span_secs") * MICROS_PER_SEC as f64) as i64;
        let max_gap =
            (th.get("permanent_retry_max_median_gap_secs") * MICROS_PER_SEC as f64) as i64;
        let periodic_cv = th.get("permanent_retry_periodic_cv");
        let r = signals::clock_resolution(tl);
        let mut groups: BTreeMap<(&str, ClientId, Method), Vec<Found>> = BTreeMap::new();
        for (id, inst) in tl.instances().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let events = &tl.events[id];
            for rep in signals::unanswered_repeats(events, min_attempts) {
                let times: Vec<i64> = rep.attempts.iter().map(|&k| events[k].start).collect();
                let span = times[times.len() - 1] - times[0];
                let gaps = signals::gaps(&times);
                let median_gap = median(&gaps);
                if span < min_span || median_gap > max_gap {
                    continue;
                }
                groups
                    .entry((inst.template, rep.client, rep.method))
                    .or_default()
                    .push(Found {
                        instance: id as u32,
                        attempts: rep.attempts,
                        median_gap,
                        periodic: signals::gap_cv(&gaps, r) < periodic_cv,
                    });
            }
        }
        (groups.into_iter())
            .map(|((template, client, method), found)| {
                let group = Group {
                    template,
                    client,
                    method,
                    found,
                };
                group.finding(cx, r)
            })
            .collect()
    }
}

/// One client's repeats of one method on one route's instances: one finding.
struct Group<'a> {
    template: &'a str,
    client: ClientId,
    method: Method,
    found: Vec<Found>,
}

/// What the summary tells: the attempts, their first and last times, statuses and cadence.
struct Told {
    attempts: usize,
    first: i64,
    last: i64,
    statuses: String,
    periodic: bool,
}

impl Group<'_> {
    fn finding(&self, cx: &Context<'_>, resolution: i64) -> Finding {
        let tl = cx.timelines;
        let found = &self.found;
        let refs = |f: &Found| -> Vec<EventRef> {
            (f.attempts.iter())
                .map(|&index| EventRef {
                    instance: f.instance,
                    index,
                })
                .collect()
        };
        let claims: Vec<EventRef> = found.iter().flat_map(refs).collect();
        // The longest repeat proves it: its first two attempts, its middle and its last.
        let longest = (found.iter())
            .max_by_key(|f| (f.attempts.len(), std::cmp::Reverse(f.instance)))
            .expect("a group has a repeat");
        let shown = refs(longest);
        let evidence = vec![
            shown[0],
            shown[1],
            shown[shown.len() / 2],
            shown[shown.len() - 1],
        ];
        let starts = || claims.iter().map(|r| signals::event(tl, *r).start);
        let told = Told {
            attempts: claims.len(),
            first: starts().min().unwrap_or(0),
            last: starts().max().unwrap_or(0),
            statuses: signals::status_list(claims.iter().map(|r| signals::event(tl, *r).status)),
            periodic: found.iter().all(|f| f.periodic),
        };
        let mut confidence: f64 = 0.7;
        if told.periodic {
            confidence += 0.1;
        }
        if told.attempts >= 10 {
            confidence += 0.1;
        }
        let one = found.len() == 1;
        Draft {
            cause: "permanent_retry",
            severity: Severity::Incident,
            scope: if one {
                Scope::Instance
            } else {
                Scope::Template
            },
            template: self.template.to_string(),
            instance: one.then(|| tl.instance(longest.instance).path.to_string()),
            extra_instances: Vec::new(),
            claims,
            evidence,
            other_clients: Vec::new(),
            confidence,
            summary: self.summary(cx, longest, &told, resolution),
            advice: ADVICE.into(),
        }
        .build(cx)
    }

    /// The finding's sentence: one instance's repeat, or the route's when there are several.
    fn summary(&self, cx: &Context<'_>, longest: &Found, t: &Told, resolution: i64) -> String {
        let tl = cx.timelines;
        let (client, method) = (tl.client(self.client), self.method.as_str());
        let (attempts, statuses) = (t.attempts, &t.statuses);
        let cadence = format!(
            "{} {}",
            if t.periodic { "every" } else { "about every" },
            span_text(median_gap(&self.found), resolution)
        );
        let most = tl.instance(longest.instance).path;
        let (first_at, last_at) = clocks(t.first, t.last, cx.period);
        if self.found.len() == 1 {
            format!(
                "{client} sent {method} {most} {attempts} times in {}, {cadence}{}, and got {statuses} every time; it never succeeded there in the log. First attempt at {}, last at {}.",
                span_text(t.last - t.first, resolution),
                if t.periodic { " (a fixed cadence)" } else { "" },
                first_at,
                last_at,
            )
        } else {
            format!(
                "{client} kept re-sending {method} to {} {} instances ({attempts} attempts from {} to {}, {cadence}{}) and got {statuses} every time; none succeeded in the log (most on {most}: {}).",
                self.found.len(),
                self.template,
                first_at,
                last_at,
                if t.periodic { ", a fixed cadence" } else { "" },
                longest.attempts.len(),
            )
        }
    }
}

/// The median of the repeats' median gaps: the group's cadence.
fn median_gap(found: &[Found]) -> i64 {
    let gaps: Vec<i64> = found.iter().map(|f| f.median_gap).collect();
    median(&gaps)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn found(log: &Log) -> Vec<Finding> {
        log.run_one(&PermanentRetry)
    }

    /// root-causes.md D6's test: a merge bot's `PUT …/merge` answered 409 at 0, 6, 9, 15, 23
    /// … minutes, reading the pull request in between.
    fn merge_bot() -> Log {
        let mut log = Log::new();
        for (k, m) in [0, 6, 9, 15, 23, 25, 36, 41].into_iter().enumerate() {
            let t = m as f64 * 60.0;
            log.at(t)
                .req("bot", "GET", "/repos/dlang/phobos/pulls/5466", 200)
                .at(t + 1.0)
                .req("bot", "PUT", "/repos/dlang/phobos/pulls/5466/merge", 409)
                .at(t + 30.0 + k as f64)
                .req("dev", "GET", "/repos/dlang/phobos/pulls/5466", 200);
        }
        log
    }

    #[test]
    fn a_merge_bot_retrying_for_forty_minutes() {
        let log = merge_bot();
        let f = found(&log);
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.cause, "permanent_retry");
        assert_eq!(f.scope, Scope::Instance);
        assert_eq!(f.conflicts(), 8);
        assert_eq!(log.clients_of(f), ["bot"]);
        assert_eq!(
            f.instance.as_deref(),
            Some("/repos/dlang/phobos/pulls/5466/merge")
        );
        assert!(
            f.summary.starts_with(
                "bot sent PUT /repos/dlang/phobos/pulls/5466/merge 8 times in 41m, about every 6m"
            ),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("never succeeded"), "{}", f.summary);
        // Not periodic (gaps of 3 to 8 minutes), eight attempts: the base confidence.
        assert!((f.confidence - 0.7).abs() < 1e-9, "{}", f.confidence);
    }

    #[test]
    fn a_fixed_cadence_with_many_attempts_is_more_certain() {
        let mut log = Log::new();
        for k in 0..20 {
            log.at(k as f64 * 60.0)
                .req("gitops", "PUT", "/apis/apps/v1/deployments/web", 409);
        }
        let f = found(&log);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].summary.contains("every 1m (a fixed cadence)"),
            "{}",
            f[0].summary
        );
        assert!((f[0].confidence - 0.9).abs() < 1e-9);
    }

    #[test]
    fn one_client_on_many_instances_is_one_finding() {
        let mut log = Log::new();
        for k in 0..12 {
            for doc in 1..=3 {
                log.at(k as f64 * 120.0 + doc as f64).req(
                    "sync",
                    "PUT",
                    &format!("/docs/{doc}"),
                    409,
                );
            }
        }
        let f = found(&log);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].scope, Scope::Template);
        assert_eq!(f[0].template, "/docs/{id}");
        assert_eq!(f[0].conflicts(), 36);
        assert_eq!(f[0].instances.len(), 3);
        assert!(
            f[0].summary
                .starts_with("sync kept re-sending PUT to 3 /docs/{id} instances (36 attempts"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn a_success_of_the_same_request_ends_it() {
        // Failing for 40 minutes, then the same PUT succeeds: the conflict was resolvable,
        // and nothing is left unanswered.
        let mut log = merge_bot();
        log.at(45.0 * 60.0)
            .req("bot", "PUT", "/repos/dlang/phobos/pulls/5466/merge", 200);
        assert!(found(&log).is_empty());
        // Another client's success, or the bot's read, does not.
        let mut log = merge_bot();
        log.at(45.0 * 60.0)
            .req("dev", "PUT", "/repos/dlang/phobos/pulls/5466/merge", 200)
            .req("bot", "GET", "/repos/dlang/phobos/pulls/5466/merge", 200);
        assert_eq!(found(&log).len(), 1);
    }

    #[test]
    fn too_few_too_short_or_too_sparse_is_not_a_finding() {
        // Two attempts.
        let mut log = Log::new();
        log.at(0.0).req("c", "PUT", "/docs/1", 409);
        log.at(900.0).req("c", "PUT", "/docs/1", 409);
        assert!(found(&log).is_empty());
        // Five attempts within five minutes: not yet ten minutes of failing.
        let mut log = Log::new();
        for k in 0..5 {
            log.at(k as f64 * 60.0).req("c", "PUT", "/docs/1", 409);
        }
        assert!(found(&log).is_empty());
        // An hourly create-if-absent probe (expected_exists' pattern).
        let mut log = Log::new();
        for k in 0..6 {
            log.at(k as f64 * 3600.0)
                .req("cron", "POST", "/tags/nightly", 409);
        }
        assert!(found(&log).is_empty());
    }

    #[test]
    fn different_clients_or_methods_are_separate_requests() {
        // Six conflicts over 25 minutes, two per client with two methods: no (client,
        // method) sends its request more than once.
        let mut log = Log::new();
        for (k, c) in ["a", "b", "c", "a", "b", "c"].iter().enumerate() {
            let m = if k % 2 == 0 { "PUT" } else { "PATCH" };
            log.at(k as f64 * 300.0).req(c, m, "/docs/1", 409);
        }
        assert!(found(&log).is_empty());
    }
}
