//! `idempotency_conflict` (root-causes.md R5/D4): conflicts about an idempotency key. The
//! client timed out and retried with the same `Idempotency-Key` while the first request was
//! still running (the IETF draft and Stripe answer 409), the server did not replay the stored
//! result of a finished request, or one key was used for two different operations.
//!
//! Needs the key in the log: formats that log request headers (Caddy, Kong, Traefik with
//! headers, nginx `$http_idempotency_key`, `--field` maps) give `Idempotency-Key` or
//! `X-Idempotency-Key` for the lines kept as context. A conflict counts only when its own line
//! and its partner's carry the same key from the same client, so logs without keys have no
//! finding, and no guess is made about lines that do not say.
//!
//! Per conflict `x` with key `k` from client `C`, against the other requests of `(C, k)` that
//! did not conflict (the 32 before and after it in time, so that a client sending one key
//! with everything stays linear):
//! * `in_flight`: one of them, the same operation (method and route), was still running when
//!   `x` arrived — certain when durations are logged (`y.start < x.start < y.end`), possible
//!   when only end times are (`y` logged no earlier than `x`); at least
//!   `idempotency_min_in_flight` on a route;
//! * `key_reuse`: `(C, k)` was used for another write (method and route); at least
//!   `idempotency_min_key_reuse`;
//! * `no_replay`: `y` had already succeeded before `x` started, on the same operation, yet
//!   `x` got a conflict instead of the stored response; at least `idempotency_min_no_replay`.
//!
//! First in arbitration (root-causes §0: D4 > D3 > …), before `gateway_generated`: when the
//! gateway answered, its idempotency plugin is named in the summary (the spec's
//! `gateway_policy`).

use super::signals::{self, Draft, event, span_text};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::record::{Micros, Origin};
use crate::timeline::{ClientId, Event, Timelines};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

pub struct IdempotencyConflict;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InFlight,
    KeyReuse,
    NoReplay,
}

/// A conflict and the request with the same key it collided with.
#[derive(Debug, Clone, Copy)]
struct Hit {
    conflict: EventRef,
    original: EventRef,
    /// The overlap is shown by logged durations (`in_flight` only).
    certain: bool,
}

/// How many requests of a `(client, key)` group before and after a conflict are compared
/// with it.
const NEAR: usize = 32;

/// Classifies the conflicts of one `(client, key)` group (refs in time order).
fn classify<'t>(
    tl: &'t Timelines,
    group: &[EventRef],
    out: &mut BTreeMap<(&'t str, Kind), Vec<Hit>>,
) {
    let op = |r: &EventRef| (event(tl, *r).method(), tl.instance(r.instance).template);
    for (i, &x) in group.iter().enumerate() {
        let e = event(tl, x);
        if !e.conflict() {
            continue;
        }
        // The requests next to it in time: a client that sends one key with everything
        // would otherwise make this quadratic.
        let near = &group[i.saturating_sub(NEAR)..(i + NEAR + 1).min(group.len())];
        let others = || {
            (near.iter())
                .filter(move |r| **r != x && !event(tl, **r).conflict())
                .copied()
        };
        // The same operation still running: a retry of this very request.
        let running = others().filter(|y| op(y) == op(&x)).find_map(|y| {
            let o = event(tl, y);
            let certain = e.timed() && o.timed() && o.start < e.start && e.start < o.end;
            // Without both durations: `y` ended no earlier than `x` (and, if its duration
            // is logged, had started by then).
            let possible =
                !(e.timed() && o.timed()) && o.end >= e.end && (!o.timed() || o.start <= e.end);
            (certain || possible).then_some(Hit {
                conflict: x,
                original: y,
                certain,
            })
        });
        // Another write under the same key (a client that sends its key on reads too is
        // not reusing it).
        let reused = || others().find(|y| event(tl, *y).is_write() && op(y) != op(&x));
        let replayable = || {
            others().find(|y| {
                let o = event(tl, *y);
                op(y) == op(&x) && o.is_success() && o.end <= e.start
            })
        };
        let (kind, hit) = if let Some(h) = running {
            (Kind::InFlight, h)
        } else if let Some(y) = reused() {
            (Kind::KeyReuse, plain(x, y))
        } else if let Some(y) = replayable() {
            (Kind::NoReplay, plain(x, y))
        } else {
            continue;
        };
        let template = tl.instance(x.instance).template;
        out.entry((template, kind)).or_default().push(hit);
    }
}

fn plain(conflict: EventRef, original: EventRef) -> Hit {
    Hit {
        conflict,
        original,
        certain: false,
    }
}

impl Detector for IdempotencyConflict {
    fn cause(&self) -> &'static str {
        "idempotency_conflict"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let tl = cx.timelines;
        if !tl.has_idempotency_keys() {
            return Vec::new();
        }
        let mut groups: FxHashMap<(ClientId, &str), Vec<EventRef>> = FxHashMap::default();
        for (id, events) in tl.events.iter().enumerate() {
            for (index, e) in events.iter().enumerate() {
                if let Some(k) = tl.idempotency_key(e) {
                    (groups.entry((e.client, k)).or_default()).push(EventRef {
                        instance: id as u32,
                        index,
                    });
                }
            }
        }
        let mut hits: BTreeMap<(&str, Kind), Vec<Hit>> = BTreeMap::new();
        for group in groups.values_mut() {
            if !group.iter().any(|r| event(tl, *r).conflict()) {
                continue;
            }
            group.sort_by_key(|r| {
                let e = event(tl, *r);
                (e.start, e.end, e.input, e.offset())
            });
            classify(tl, group, &mut hits);
        }
        let th = cx.thresholds;
        let min = |kind| {
            let name = match kind {
                Kind::InFlight => "idempotency_min_in_flight",
                Kind::KeyReuse => "idempotency_min_key_reuse",
                Kind::NoReplay => "idempotency_min_no_replay",
            };
            th.get(name).max(1.0) as usize
        };
        let mut out = Vec::new();
        for ((template, kind), mut found) in hits {
            if found.len() < min(kind) {
                continue;
            }
            found.sort_by_key(|h| h.conflict);
            out.push(finding(cx, template, kind, &found));
        }
        out
    }
}

/// The median of `v` (sorted here), or 0 when empty.
fn median(mut v: Vec<Micros>) -> Micros {
    v.sort_unstable();
    signals::median(&v)
}

/// What a finding says: its summary, what to change, and how sure it is.
struct Told {
    summary: String,
    advice: std::borrow::Cow<'static, str>,
    confidence: f64,
}

/// A finding's hits, with what every summary names: how many requests on the template from
/// how many clients (`lead`), and which statuses they got.
struct Hits<'a> {
    tl: &'a Timelines,
    hits: &'a [Hit],
    template: &'a str,
    lead: String,
    statuses: String,
}

impl<'a> Hits<'a> {
    fn new(tl: &'a Timelines, hits: &'a [Hit], template: &'a str) -> Hits<'a> {
        let mut c: Vec<ClientId> = hits.iter().map(|h| event(tl, h.conflict).client).collect();
        c.sort_unstable();
        c.dedup();
        let clients = match c.len() {
            1 => "1 client".to_string(),
            n => format!("{n} clients"),
        };
        let statuses = signals::status_list(hits.iter().map(|h| event(tl, h.conflict).status));
        Hits {
            tl,
            hits,
            template,
            lead: format!("{} requests on {template} ({clients})", hits.len()),
            statuses,
        }
    }

    fn ev(&self, r: EventRef) -> &'a Event {
        event(self.tl, r)
    }

    /// Retries that reused the key while the first request ran. Where the original's
    /// duration is logged, its start is known: how long the client waited before retrying,
    /// and how long the server took.
    fn in_flight(&self) -> Told {
        let Hits {
            hits,
            lead,
            statuses,
            ..
        } = self;
        let res = signals::clock_resolution(self.tl);
        let timed: Vec<&Hit> = hits
            .iter()
            .filter(|h| self.ev(h.original).timed())
            .collect();
        let gap = median(
            (timed.iter())
                .map(|h| (self.ev(h.conflict).start - self.ev(h.original).start).max(0))
                .collect(),
        );
        let took = median(
            timed
                .iter()
                .map(|h| self.ev(h.original).duration())
                .collect(),
        );
        let mut summary = format!(
            "{lead} reused an Idempotency-Key while the first request with that key was still running, and got {statuses}."
        );
        let (gap, took) = (span_text(gap, res), span_text(took, res));
        if timed.is_empty() {
            summary.push_str(" The log has no durations: each first request was logged (when it ended) no earlier than its retry.");
        } else {
            summary.push_str(&format!(
                " The retries came a median {gap} after the original, which took a median {took}: the client's timeout is shorter than the server's time."
            ));
        }
        let estimate = if timed.is_empty() {
            String::new()
        } else {
            format!(" (client timeout ≈ {gap}, server median ≈ {took})")
        };
        Told {
            summary,
            advice: std::borrow::Cow::Owned(format!(
                "Retries reuse the key while the original is still running{estimate}. Treat 'request in progress' 409 as retryable after a delay, raise the client timeout above the server's p99, generate one random key per logical operation (never per business id), and keep the key stable across retries of the same operation."
            )),
            confidence: if hits.iter().all(|h| h.certain) {
                0.85
            } else {
                0.65
            },
        }
    }

    /// One key used for two operations by the same client.
    fn key_reuse(&self) -> Told {
        let Hits {
            hits,
            template,
            lead,
            statuses,
            ..
        } = self;
        let h = hits[0];
        let (a, b) = (self.ev(h.original), self.ev(h.conflict));
        Told {
            summary: format!(
                "{lead} sent an Idempotency-Key the same client had already used for another operation ({} {} before {} {template}), and got {statuses}.",
                a.method().as_str(),
                self.tl.instance(h.original.instance).template,
                b.method().as_str(),
            ),
            advice: "One key was used for two operations. Generate one random key (a UUID) per logical operation — never per business id, session or user — and reuse it only for retries of that same request.".into(),
            confidence: 0.8,
        }
    }

    /// A repeat of a request that had succeeded, answered with a conflict, not a replay.
    fn no_replay(&self) -> Told {
        let Hits { lead, statuses, .. } = self;
        Told {
            summary: format!(
                "{lead} repeated an operation with the Idempotency-Key of a request that had already succeeded, and got {statuses} instead of the stored response: the server does not replay stored results (the key store evicts them too early, or this response is not stored)."
            ),
            advice: "Store the first response with its key for at least the clients' retry window (24 h is usual) and replay it to retries with the same key and request; answer 409 only while the first request is still running.".into(),
            confidence: 0.6,
        }
    }
}

fn finding(cx: &Context<'_>, template: &str, kind: Kind, hits: &[Hit]) -> Finding {
    let named = Hits::new(cx.timelines, hits, template);
    let Told {
        mut summary,
        advice,
        mut confidence,
    } = match kind {
        Kind::InFlight => named.in_flight(),
        Kind::KeyReuse => named.key_reuse(),
        Kind::NoReplay => named.no_replay(),
    };
    let n = hits.len();
    let by_gateway = (hits.iter())
        .filter(|h| matches!(named.ev(h.conflict).origin(), Origin::Gateway))
        .count();
    if by_gateway * 2 >= n && by_gateway > 0 {
        summary.push_str(" The gateway answered them itself (an idempotency plugin or policy).");
        confidence += 0.05;
    }
    let mut evidence = Vec::new();
    for h in hits.iter().take(2) {
        evidence.extend([h.original, h.conflict]);
    }
    evidence.extend(hits.iter().skip(2).map(|h| h.conflict));
    let other_clients = hits.iter().map(|h| named.ev(h.original).client).collect();
    Draft {
        cause: "idempotency_conflict",
        severity: Severity::Incident,
        scope: Scope::Template,
        template: template.to_string(),
        instance: None,
        extra_instances: Vec::new(),
        claims: hits.iter().map(|h| h.conflict).collect(),
        evidence,
        other_clients,
        confidence,
        summary,
        advice,
    }
    .build(cx)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// Two payments whose client timed out after 5 s and retried with the same key while
    /// the first request (12 s) was still running; `timed` logs durations.
    fn in_flight(timed: bool) -> Log {
        retried([Some("k-1"), Some("k-2")], ("shop", "shop"), timed)
    }

    /// Two payments (by `clients.0`) of 12 s, each followed 5 s after its start by a 409 (to
    /// `clients.1`), each pair logging the key given.
    fn retried(keys: [Option<&str>; 2], clients: (&str, &str), timed: bool) -> Log {
        let mut log = Log::new();
        for (k, key) in keys.iter().enumerate() {
            let t = 100.0 * k as f64;
            let (first, retry) = if timed {
                (Some(12.0), Some(0.05))
            } else {
                (None, None)
            };
            log.key(*key)
                .timed(first)
                .at(t + 12.0)
                .req(clients.0, "POST", "/payments", 201)
                .timed(retry)
                .at(t + 5.05)
                .req(clients.1, "POST", "/payments", 409);
        }
        log
    }

    fn found(log: &Log) -> Vec<Finding> {
        log.run_one(&IdempotencyConflict)
    }

    #[test]
    fn a_retry_while_the_original_runs_is_in_flight() {
        let f = found(&in_flight(true));
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!(
            (f.cause, f.scope, f.template.as_str(), f.conflicts()),
            ("idempotency_conflict", Scope::Template, "/payments", 2)
        );
        assert!((f.confidence - 0.85).abs() < 1e-9);
        assert_eq!(
            f.summary,
            "2 requests on /payments (1 client) reused an Idempotency-Key while the first request with that key was still running, and got 409. The retries came a median 5s after the original, which took a median 12s: the client's timeout is shorter than the server's time."
        );
        assert!(f.advice.starts_with("Retries reuse the key while the original is still running (client timeout ≈ 5s, server median ≈ 12s)."), "{}", f.advice);
        // The original, then its retry.
        assert_eq!(f.evidence.len(), 4);
        // Without durations the overlap is only possible: the original was logged later.
        let f = found(&in_flight(false));
        assert_eq!((f.len(), f[0].conflicts()), (1, 2));
        assert!((f[0].confidence - 0.65).abs() < 1e-9);
        assert!(f[0].summary.ends_with(" The log has no durations: each first request was logged (when it ended) no earlier than its retry."), "{}", f[0].summary);
        assert!(
            f[0].advice
                .starts_with("Retries reuse the key while the original is still running. Treat"),
            "{}",
            f[0].advice
        );
    }

    /// The whole registry: the key's finding takes the conflicts before duplicate_create.
    #[test]
    fn in_flight_comes_first_in_arbitration() {
        let mut log = in_flight(true);
        log.key(None);
        assert_eq!(
            log.run_all(),
            [("idempotency_conflict", "/payments".to_string())]
        );
    }

    #[test]
    fn one_in_flight_retry_or_no_key_is_not_a_finding() {
        let mut log = Log::new();
        log.key(Some("k-1"))
            .timed(Some(12.0))
            .at(12.0)
            .req("shop", "POST", "/payments", 201);
        log.timed(Some(0.05))
            .at(5.05)
            .req("shop", "POST", "/payments", 409);
        assert!(found(&log).is_empty());
        // The same as `in_flight` without keys: nothing to say about them.
        assert!(found(&retried([None, None], ("shop", "shop"), true)).is_empty());
        // Another client's key of the same text is another key.
        assert!(found(&retried([Some("k"), Some("k")], ("a", "b"), true)).is_empty());
    }

    #[test]
    fn a_key_used_for_two_operations_is_key_reuse() {
        let mut log = Log::new();
        log.key(Some("order-77"))
            .at(10.0)
            .req("shop", "POST", "/charges", 201);
        log.at(20.0).req("shop", "POST", "/refunds", 409);
        let f = found(&log);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].template.as_str(), f[0].conflicts()), ("/refunds", 1));
        assert!(
            f[0].summary.contains(
                "already used for another operation (POST /charges before POST /refunds)"
            ),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn conflicts_after_a_finished_success_are_no_replay() {
        let mut log = Log::new();
        for k in 0..3 {
            let t = 100.0 * k as f64;
            let key = format!("k-{k}");
            log.key(Some(&key))
                .timed(Some(0.2))
                .at(t + 1.0)
                .req("shop", "POST", "/payments", 201);
            log.at(t + 15.0).req("shop", "POST", "/payments", 409);
        }
        let f = found(&log);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].summary.contains("instead of the stored response"),
            "{}",
            f[0].summary
        );
        assert!((f[0].confidence - 0.6).abs() < 1e-9);
        // A retry after completion that is replayed (201 again) is no conflict at all.
        let mut log = Log::new();
        log.key(Some("k"))
            .at(1.0)
            .req("shop", "POST", "/payments", 201);
        log.at(15.0).req("shop", "POST", "/payments", 201);
        assert!(found(&log).is_empty());
    }

    /// A client that sends one key with every request: each conflict is compared with its
    /// neighbours only (linear in the group), and all are classed.
    #[test]
    fn one_key_for_everything() {
        let mut log = Log::new();
        log.key(Some("static-key"));
        log.at(0.0).req("bot", "POST", "/charges", 201);
        for k in 0..3000 {
            log.at(1.0 + k as f64).req(
                "bot",
                "POST",
                "/refunds",
                if k % 2 == 0 { 409 } else { 201 },
            );
        }
        let f = found(&log);
        // Without durations, each 409 on /refunds is followed by a success with the same
        // key on the same operation: possibly still running when the 409 came.
        let kinds: Vec<(&str, u64)> = f
            .iter()
            .map(|f| (f.template.as_str(), f.conflicts()))
            .collect();
        assert_eq!(kinds, [("/refunds", 1500)]);
        assert!(
            f[0].summary.starts_with(
                "1500 requests on /refunds (1 client) reused an Idempotency-Key while"
            ),
            "{}",
            f[0].summary
        );
    }

    /// A gateway plugin that answers the retries is named.
    #[test]
    fn the_gateway_answering_is_said() {
        let mut log = Log::new();
        for k in 0..2 {
            let t = 100.0 * k as f64;
            let key = format!("k-{k}");
            log.key(Some(&key)).origin(crate::record::Origin::Upstream);
            log.timed(Some(12.0))
                .at(t + 12.0)
                .req("shop", "POST", "/payments", 201);
            log.origin(crate::record::Origin::Gateway);
            log.timed(Some(0.001))
                .at(t + 5.0)
                .req("shop", "POST", "/payments", 409);
        }
        let f = found(&log);
        assert!(
            f[0].summary
                .ends_with(" The gateway answered them itself (an idempotency plugin or policy)."),
            "{}",
            f[0].summary
        );
        assert!((f[0].confidence - 0.9).abs() < 1e-9);
    }
}
