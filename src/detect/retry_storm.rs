//! `retry_storm` (root-causes.md D2): one client re-sends a conflicting write to one instance
//! at a tight, non-growing interval without re-reading it.
//!
//! Signature: a run of the same client's conflicts on one instance with no read of the
//! instance by that client in between (`signals::blind_runs`), split into episodes at gaps far
//! above the run's own median gap. An episode is a storm when it has at least
//! `retry_storm_min_attempts` conflicts, its median gap is at most `retry_storm_max_gap`
//! report buckets (the bucket scales with the log's length, so "tight" means tight for this
//! log: 0.5 s in an hour, 15 s in a day; never less than the clock resolution) and its gaps do
//! not grow (`retry_storm_max_growth`; exponential backoff doubles them).
//!
//! Guards: a re-read ends the run, so the healthy 409 → GET → retry loop never qualifies;
//! growing gaps (backoff) do not qualify; a client re-sending on its own schedule (a sync job
//! every ~35 s in a day-long log, 0.12 buckets) is not a storm — that is a stale copy and is
//! left to `stale_version`.
//!
//! Tags (in the summary): *self-conflict* when at least `retry_storm_min_self_conflicts`
//! attempts came within 2 s of the client's own successful write with no other writer's
//! success between (it keeps sending the version its own write replaced); *controller* when the
//! user agent is a Kubernetes controller's or operator's (`agent::Kind::Controller`) or the
//! path is a `/status` subresource, which only controllers write.
//!
//! Advice: bound retries, back off exponentially with jitter, re-read (or use PATCH) before
//! retrying, and update the cached version from a successful write's response; controllers:
//! requeue through a rate-limited work queue and skip status updates that change nothing.

use super::signals::{self, Draft, blind_runs, gap_growth, median, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::agent::Kind;
use crate::record::Micros;
use crate::timeline::{ClientId, Event, Instance};
use crate::timestamp::MICROS_PER_SEC;

pub struct RetryStorm;

const ADVICE: &str = "Stop retrying conflicts blindly: bound the number of retries, back off exponentially with jitter, and re-read the resource (GET for the current version/ETag, or use PATCH) before each new attempt; after a successful write, take the new version from its response. Controllers should requeue through a rate-limited work queue.";

const CONTROLLER_ADVICE: &str = "Requeue conflicts through the controller's rate-limited work queue (exponential per-item backoff) instead of retrying at once, take the resourceVersion from each successful update's response (or use server-side apply / PATCH for status), and skip status updates that change nothing.";

/// How soon after the client's own success a conflict counts as a self-conflict.
const SELF_CONFLICT_GAP: Micros = 2 * MICROS_PER_SEC;

/// How many of the conflicts at `claimed` came right after the same client's own successful
/// write (its previous write), within `SELF_CONFLICT_GAP` and with no other client's
/// successful write in between: (own 2xx → own conflict) pairs.
fn self_conflicts(events: &[Event], client: ClientId, claimed: &[usize]) -> usize {
    claimed
        .iter()
        .filter(|&&k| {
            let own = events[..k]
                .iter()
                .rposition(|e| e.client == client && e.is_write());
            own.is_some_and(|o| {
                events[o].is_success()
                    && events[k].start - events[o].end <= SELF_CONFLICT_GAP
                    && !events[o + 1..k]
                        .iter()
                        .any(|e| e.client != client && e.is_write() && e.is_success())
            })
        })
        .count()
}

/// What the summary adds about the client that loops, and whether it is a Kubernetes
/// controller: that it conflicts with its own writes (at least `min_self` times), that
/// its user agent names a controller, or that it writes a status subresource (`path`).
fn who_loops(
    events: &[Event],
    client: ClientId,
    claimed: &[usize],
    path: &str,
    min_self: usize,
    r: Micros,
) -> (String, bool) {
    let own = self_conflicts(events, client, claimed);
    let agent = (claimed.iter())
        .map(|&k| events[k].agent)
        .find(|a| a.kind() == Some(Kind::Controller));
    let status_path = path.ends_with("/status");
    let mut tags = String::new();
    if own >= min_self {
        tags.push_str(&format!(
            " It conflicts with itself: {own} times its own successful write was followed within {} by its own conflict (it keeps sending the version that write replaced).",
            span_text(SELF_CONFLICT_GAP, r)
        ));
    }
    match (agent.and_then(|a| a.name()), status_path) {
        (Some(name), _) => tags.push_str(&format!(
            " The client is {name}, a Kubernetes controller: it requeues the conflict at once."
        )),
        (None, true) => tags.push_str(
            " The writes go to a status subresource, which controllers write: a controller requeuing the conflict at once.",
        ),
        (None, false) => {}
    }
    (tags, agent.is_some() || status_path)
}

impl Detector for RetryStorm {
    fn cause(&self) -> &'static str {
        "retry_storm"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        let limits = Limits::of(cx);
        let mut out = Vec::new();
        for (id, inst) in tl.instances().enumerate() {
            if !inst.conflicted {
                continue;
            }
            let id = id as u32;
            let events = &tl.events[id as usize];
            let counts = |e: &crate::timeline::Event| e.conflict() && e.is_write();
            // An episode is part of one client's run: fewer such conflicts in all than an
            // episode needs rule the instance out.
            if events.iter().filter(|e| counts(e)).count() < limits.min_attempts {
                continue;
            }
            for (client, run) in blind_runs(tl, id, counts, false) {
                let times: Vec<i64> = run.iter().map(|&k| events[k].start).collect();
                for ep in signals::episodes(&times, limits.factor, limits.r) {
                    let idx = &run[ep.clone()];
                    if idx.len() < limits.min_attempts {
                        continue;
                    }
                    let gaps = signals::gaps(&times[ep.clone()]);
                    let med = median(&gaps);
                    let growth = gap_growth(&gaps, limits.r);
                    if med > limits.max_gap || growth >= limits.max_growth {
                        continue;
                    }
                    let storm = Storm {
                        id,
                        inst,
                        client,
                        idx,
                        med,
                    };
                    out.push(storm.finding(cx, &limits));
                }
            }
        }
        out
    }
}

/// The thresholds, and the log's clock resolution.
struct Limits {
    min_attempts: usize,
    max_growth: f64,
    factor: f64,
    r: Micros,
    max_gap: Micros,
    min_self: usize,
}

impl Limits {
    fn of(cx: &Context<'_>) -> Limits {
        let th = cx.thresholds;
        let r = signals::clock_resolution(cx.timelines);
        Limits {
            min_attempts: th.get("retry_storm_min_attempts").max(2.0) as usize,
            max_growth: th.get("retry_storm_max_growth"),
            factor: th.get("episode_gap_factor"),
            r,
            // At least the clock resolution: at 1-s timestamps a loop of a few attempts per
            // second has a median logged gap of 1 s.
            max_gap: ((th.get("retry_storm_max_gap") * cx.bucket_us as f64) as i64).max(r),
            min_self: th.get("retry_storm_min_self_conflicts").max(1.0) as usize,
        }
    }
}

/// One client's blind run of conflicting writes on instance `id`: the events' indexes
/// (`idx`) and the median gap between them.
struct Storm<'a> {
    id: u32,
    inst: Instance<'a>,
    client: u32,
    idx: &'a [usize],
    med: Micros,
}

impl Storm<'_> {
    fn finding(&self, cx: &Context<'_>, limits: &Limits) -> Finding {
        let tl = cx.timelines;
        let (idx, client, r) = (self.idx, self.client, limits.r);
        let events = &tl.events[self.id as usize];
        let first = &events[idx[0]];
        let last = &events[*idx.last().unwrap()];
        // The success that moved the version the client keeps sending, if visible.
        let cause = events[..idx[0]]
            .iter()
            .rposition(|e| e.is_write() && e.is_success() && e.client != client);
        let successes_after = events[idx[0]..=*idx.last().unwrap()]
            .iter()
            .filter(|e| e.client == client && e.is_write() && e.is_success())
            .count();
        let mut confidence = 0.6;
        if idx.len() >= 10 {
            confidence += 0.15;
        }
        if successes_after == 0 {
            confidence += 0.1;
        }
        if r >= MICROS_PER_SEC && self.med == 0 {
            // Several attempts per logged second: the gaps are certainly sub-second.
            confidence += 0.05;
        }
        let at = |index| EventRef {
            instance: self.id,
            index,
        };
        let claims: Vec<EventRef> = idx.iter().map(|&index| at(index)).collect();
        let mut evidence: Vec<EventRef> = cause.map(at).into_iter().collect();
        evidence.push(claims[0]);
        evidence.push(claims[1]);
        evidence.push(claims[claims.len() / 2]);
        evidence.extend(claims.last());
        let statuses = signals::status_list(idx.iter().map(|&k| events[k].status));
        let (tags, controller) = who_loops(events, client, idx, self.inst.path, limits.min_self, r);
        // A controller reads through a watch, not with GETs: the log cannot say it did not
        // re-read, only that its cache was behind (root-causes §6.5).
        let reads = if controller {
            "no GET of it in between, though a controller reads from its watch cache"
        } else {
            "no re-read in between"
        };
        let summary = format!(
            "{} sent {} {} {} times in {} (median gap {}, gaps not growing, {reads}) and got {} every time{}.",
            tl.client(client),
            first.method().as_str(),
            self.inst.path,
            idx.len(),
            span_text(last.end - first.start, r),
            span_text(self.med, r),
            statuses,
            if successes_after > 0 {
                format!(" except {successes_after} own successes")
            } else {
                String::new()
            },
        );
        Draft {
            cause: "retry_storm",
            severity: Severity::Incident,
            scope: Scope::Instance,
            template: self.inst.template.to_string(),
            instance: Some(self.inst.path.to_string()),
            extra_instances: Vec::new(),
            claims,
            evidence,
            other_clients: cause.map(|c| vec![events[c].client]).unwrap_or_default(),
            confidence,
            summary: format!(
                "{summary} First attempt at {}.{tags}",
                signals::moment(first.start, cx.period)
            ),
            advice: if controller {
                CONTROLLER_ADVICE
            } else {
                ADVICE
            }
            .into(),
        }
        .build(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn tight_blind_loop_is_a_storm() {
        let mut log = Log::new();
        log.at(0.0).req("b", "PUT", "/o/1", 200);
        for k in 0..8 {
            log.at(30.0 + k as f64 * 0.2).req("a", "PUT", "/o/1", 409);
        }
        // Pads the log to an hour so the bucket is 10 s.
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&RetryStorm);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 8);
        assert_eq!(
            log.clients_of(&f[0]),
            vec!["a".to_string(), "b".to_string()]
        );
    }

    /// root-causes D2's test: 60 PUTs on a `/status` in a second from kube-controller-manager,
    /// four of them successes each followed 2 ms later by its own conflict.
    #[test]
    fn controller_hot_loop_conflicting_with_itself() {
        let mut log = Log::new();
        log.agent("kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/3f7a50f");
        let path = "/apis/batch/v1/namespaces/ci/jobs/build-7/status";
        for k in 0..60 {
            let t = 30.0 + k as f64 / 60.0;
            let status = if k % 15 == 0 { 200 } else { 409 };
            log.at(t).req("kcm", "PUT", path, status);
            if status == 200 {
                log.at(t + 0.002).req("kcm", "PUT", path, 409);
            }
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&RetryStorm);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].claims.len(), 60);
        assert!(
            f[0].summary
                .contains("It conflicts with itself: 4 times its own successful write"),
            "{}",
            f[0].summary
        );
        assert!(
            f[0].summary
                .contains("The client is kube-controller-manager, a Kubernetes controller")
        );
        assert_eq!(f[0].advice, CONTROLLER_ADVICE);
    }

    /// The same loop from an ordinary client on an ordinary path, with another client's
    /// success before each of its own: neither tag.
    #[test]
    fn ordinary_storm_has_no_controller_or_self_tag() {
        let mut log = Log::new();
        log.agent("okhttp/4.12.0");
        for k in 0..20 {
            let t = 30.0 + k as f64 * 0.1;
            if k % 5 == 0 {
                log.at(t).req("a", "PUT", "/o/1", 200);
                log.at(t + 0.01).req("b", "PUT", "/o/1", 200);
            }
            log.at(t + 0.02).req("a", "PUT", "/o/1", 409);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&RetryStorm);
        assert_eq!(f.len(), 1);
        assert!(!f[0].summary.contains("itself"), "{}", f[0].summary);
        assert!(!f[0].summary.contains("controller"), "{}", f[0].summary);
        assert!(
            f[0].summary.contains("no re-read in between"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[0].advice, ADVICE);
    }

    /// A `/status` path is a controller's even without a known user agent.
    #[test]
    fn status_subresource_names_a_controller() {
        let mut log = Log::new();
        for k in 0..8 {
            log.at(30.0 + k as f64 * 0.2).req(
                "10.0.0.7",
                "PUT",
                "/api/v1/namespaces/a/pods/p/status",
                409,
            );
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        let f = log.run_one(&RetryStorm);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].summary.contains("status subresource"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[0].advice, CONTROLLER_ADVICE);
    }

    #[test]
    fn backoff_with_reads_is_not_a_storm() {
        let mut log = Log::new();
        let mut t = 10.0;
        for k in 0..6 {
            log.at(t).req("a", "PUT", "/o/1", 409);
            log.at(t + 0.05).req("a", "GET", "/o/1", 200);
            t += 0.1 * 2f64.powi(k);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&RetryStorm).is_empty());
    }

    #[test]
    fn growing_gaps_without_reads_are_backoff() {
        let mut log = Log::new();
        let mut t = 10.0;
        for k in 0..7 {
            log.at(t).req("a", "PUT", "/o/1", 409);
            t += 0.01 * 3f64.powi(k);
        }
        log.at(3600.0).req("z", "GET", "/health", 200);
        assert!(log.run_one(&RetryStorm).is_empty());
    }
}
