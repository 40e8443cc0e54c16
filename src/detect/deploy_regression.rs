//! `deploy_regression` (root-causes.md D11): a route's conflict rate jumps at one point in time
//! across many clients and instances while its write volume stays flat — a release or config
//! change, not user behaviour.
//!
//! Signature: over the route's pass-1 buckets (`cx.bucket_us`, about 1/600 of the period), every
//! bucket boundary τ with at least `deploy_min_baseline_share` of the period before it and
//! `deploy_min_after_share` after is a candidate. τ is kept when, after it, the route has at
//! least `deploy_min_conflicts` conflicts, a conflict rate (conflicts / writes) at least
//! `deploy_min_rate_ratio` times the baseline (floored at `deploy_rate_floor`), write volume per
//! bucket within a factor `deploy_max_volume_change` of the baseline, and the binomial
//! log-likelihood-ratio G ≥ `deploy_min_g` (10.83 ≈ p < 0.001); the τ with the largest G wins.
//! The conflicts after τ must come from ≥ `deploy_min_clients` clients and
//! ≥ `deploy_min_instances` instances, none holding more than `deploy_max_instance_share` of
//! them (one busy instance is a hot spot, not a route-wide change). Scope: `template`.
//!
//! Guards: traffic that doubles at a constant conflict ratio fails the rate test; a burst on
//! one instance fails the spread test; conflicts already explained by instance-level causes
//! are claimed by them first (this detector runs after them in `registry()`).
//!
//! Advice: check deploys and config changes at τ and roll back or fix the release.

use super::signals::{self, Draft, percent};
use super::{Context, Detector, EventRef, Finding, Scope, Severity};
use crate::aggregate::Counts;
use crate::timeline::InstanceId;
use std::collections::{BTreeMap, BTreeSet};

pub struct DeployRegression;

/// At most this many buckets per route (the pass makes about 600 over the period it expects).
const MAX_BUCKETS: i64 = 20_000;

const ADVICE: &str = "Roll back or fix the release or configuration change made when the conflicts began (look for new uniqueness or version checks, idempotency store, ETag/compression or gateway plugin changes): conflicts started at one moment for many clients while traffic stayed flat; if it was a deliberate status remap, update client retry rules and dashboards.";

/// Binomial log-likelihood ratio for "rate before ≠ rate after".
fn g_statistic(c1: f64, n1: f64, c2: f64, n2: f64) -> f64 {
    let ll = |c: f64, n: f64, p: f64| {
        let p = p.clamp(1e-12, 1.0 - 1e-12);
        c * p.ln() + (n - c) * (1.0 - p).ln()
    };
    if n1 <= 0.0 || n2 <= 0.0 {
        return 0.0;
    }
    let pooled = (c1 + c2) / (n1 + n2);
    2.0 * (ll(c1, n1, c1 / n1) + ll(c2, n2, c2 / n2) - ll(c1, n1, pooled) - ll(c2, n2, pooled))
}

/// A candidate change point.
struct Change {
    tau: i64,
    g: f64,
    rate_before: f64,
    rate_after: f64,
    writes_before: u64,
    writes_after: u64,
    buckets_before: usize,
    buckets_after: usize,
}

impl Detector for DeployRegression {
    fn cause(&self) -> &'static str {
        "deploy_regression"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Finding> {
        let grid = Grid::of(cx);
        let by_template = cx.timelines.by_template();
        let mut templates: Vec<&String> = cx.routes.keys().collect();
        templates.sort();
        let mut out = Vec::new();
        for template in templates {
            let buckets = &cx.routes[template];
            if buckets.values().all(|c| c.conflicts == 0)
                || grid.n < grid.min_before + grid.min_after
            {
                continue;
            }
            let Some(change) = self.best_change(cx, &grid, buckets) else {
                continue;
            };
            let ids: &[InstanceId] = by_template
                .get(template.as_str())
                .map_or(&[], |v| v.as_slice());
            out.extend(finding(cx, template, &change, ids, grid.bucket));
        }
        out
    }
}

/// The buckets a route's counts are laid out in: the pass's, merged `merge` at a time, from
/// `lo` for `n`; and how many a change point needs before and after it.
struct Grid {
    merge: i64,
    bucket: i64,
    lo: i64,
    n: usize,
    min_before: usize,
    min_after: usize,
}

impl Grid {
    fn of(cx: &Context<'_>) -> Grid {
        let th = cx.thresholds;
        // The pass's buckets are sized from the ends of the input; a line dated far away (a
        // clock reset to 1970 in the middle of a log) stretches the period, so buckets are
        // merged `merge` at a time to keep the dense row per route bounded.
        let merge = ((cx.period.1 - cx.period.0) / cx.bucket_us.max(1) / MAX_BUCKETS + 1).max(1);
        let bucket = cx.bucket_us.max(1) * merge;
        let (lo, hi) = (
            cx.period.0.div_euclid(bucket),
            cx.period.1.div_euclid(bucket),
        );
        let n = (hi - lo + 1) as usize;
        Grid {
            merge,
            bucket,
            lo,
            n,
            min_before: ((th.get("deploy_min_baseline_share") * n as f64).ceil() as usize).max(1),
            min_after: ((th.get("deploy_min_after_share") * n as f64).ceil() as usize).max(1),
        }
    }
}

/// The finding of a route's `change`, when its conflicts since are spread over many
/// clients and instances (`ids`, the route's), none dominating.
fn finding(
    cx: &Context<'_>,
    template: &str,
    change: &Change,
    ids: &[InstanceId],
    bucket: i64,
) -> Option<Finding> {
    let (tl, th) = (cx.timelines, cx.thresholds);
    let claims: Vec<EventRef> = ids
        .iter()
        .flat_map(|&i| signals::refs_where(tl, i, |e| e.conflict() && e.end >= change.tau))
        .collect::<Vec<_>>();
    let clients: BTreeSet<u32> = claims
        .iter()
        .map(|r| signals::event(tl, *r).client)
        .collect();
    let mut per_instance: BTreeMap<InstanceId, usize> = BTreeMap::new();
    for r in &claims {
        *per_instance.entry(r.instance).or_insert(0) += 1;
    }
    let top = per_instance.values().copied().max().unwrap_or(0);
    if clients.len() < th.get("deploy_min_clients") as usize
        || per_instance.len() < th.get("deploy_min_instances") as usize
        || top as f64 > th.get("deploy_max_instance_share") * claims.len() as f64
    {
        return None;
    }
    let mut sorted = claims.clone();
    sorted.sort_by_key(|r| signals::event(tl, *r).start);
    let mut evidence = Vec::new();
    let mut seen = BTreeSet::new();
    for r in &sorted {
        if seen.insert(signals::event(tl, *r).client) {
            evidence.push(*r);
        }
        if evidence.len() == 4 {
            break;
        }
    }
    evidence.extend(sorted.last());
    let mut confidence = 0.6;
    if change.g >= 27.6 {
        // p < 1e-6
        confidence += 0.2;
    }
    if clients.len() >= 5 {
        confidence += 0.1;
    }
    let per_bucket = |w: u64, b: usize| w as f64 / b as f64;
    let summary = format!(
        "The conflict rate on {template} rose from {} to {} of writes from {} on ({} conflicts since, across {} clients and {} instances) while write volume stayed flat ({:.1} vs {:.1} writes per {}).",
        percent((change.rate_before * 1000.0).round() as usize, 1000),
        percent((change.rate_after * 1000.0).round() as usize, 1000),
        signals::moment(signals::event(tl, *sorted.first()?).start, cx.period),
        claims.len(),
        clients.len(),
        per_instance.len(),
        per_bucket(change.writes_before, change.buckets_before),
        per_bucket(change.writes_after, change.buckets_after),
        crate::timestamp::human_span(bucket),
    );
    Some(
        Draft {
            cause: "deploy_regression",
            severity: Severity::Incident,
            scope: Scope::Template,
            template: template.to_string(),
            instance: None,
            extra_instances: Vec::new(),
            claims,
            evidence,
            other_clients: Vec::new(),
            confidence,
            summary,
            advice: ADVICE.into(),
        }
        .build(cx),
    )
}

impl DeployRegression {
    /// The change point of a route's counts (`buckets`, by the pass's bucket) that passes
    /// every criterion with the largest G statistic, if one does.
    fn best_change(
        &self,
        cx: &Context<'_>,
        grid: &Grid,
        buckets: &BTreeMap<i64, Counts>,
    ) -> Option<Change> {
        let n = grid.n;
        let mut dense = vec![Counts::default(); n];
        for (b, c) in buckets {
            if let Some(slot) = dense.get_mut((b.div_euclid(grid.merge) - grid.lo) as usize) {
                slot.add(c);
            }
        }
        let total: Counts = dense.iter().fold(Counts::default(), |mut a, c| {
            a.add(c);
            a
        });
        let mut best: Option<Change> = None;
        let mut before = Counts::default();
        for (k, slot) in dense.iter().enumerate() {
            let after = Counts {
                requests: total.requests - before.requests,
                writes: total.writes - before.writes,
                conflicts: total.conflicts - before.conflicts,
            };
            if k >= grid.min_before
                && n - k >= grid.min_after
                && let Some(c) = self.evaluate(
                    cx,
                    &before,
                    &after,
                    k,
                    n - k,
                    (grid.lo + k as i64) * grid.bucket,
                )
                && best.as_ref().is_none_or(|b| c.g > b.g)
            {
                best = Some(c);
            }
            before.add(slot);
        }
        best
    }

    /// Tests one change point; `None` when it fails a criterion.
    fn evaluate(
        &self,
        cx: &Context<'_>,
        before: &Counts,
        after: &Counts,
        nb: usize,
        na: usize,
        tau: i64,
    ) -> Option<Change> {
        let th = cx.thresholds;
        if (after.conflicts as f64) < th.get("deploy_min_conflicts")
            || before.writes == 0
            || after.writes == 0
        {
            return None;
        }
        let rate_before = before.conflicts as f64 / before.writes as f64;
        let rate_after = after.conflicts as f64 / after.writes as f64;
        if rate_after
            < th.get("deploy_min_rate_ratio") * rate_before.max(th.get("deploy_rate_floor"))
        {
            return None;
        }
        let volume = (after.writes as f64 / na as f64) / (before.writes as f64 / nb as f64);
        let max_change = th.get("deploy_max_volume_change");
        if volume > max_change || volume < 1.0 / max_change {
            return None;
        }
        let g = g_statistic(
            before.conflicts as f64,
            before.writes as f64,
            after.conflicts as f64,
            after.writes as f64,
        );
        if g < th.get("deploy_min_g") {
            return None;
        }
        Some(Change {
            tau,
            g,
            rate_before,
            rate_after,
            writes_before: before.writes,
            writes_after: after.writes,
            buckets_before: nb,
            buckets_after: na,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// 40 carts patched every 30 s by 8 clients for an hour; from `tau` on, one in `every`
    /// PATCHes gets 409.
    fn carts(tau: f64, every: usize, rate_scale: f64) -> Log {
        let mut log = Log::new();
        let mut k = 0usize;
        let mut t = 0.0;
        while t < 3600.0 {
            let client = format!("c{}", k % 8);
            let path = format!("/carts/{}", k % 40);
            let status = if t >= tau && k.is_multiple_of(every) {
                409
            } else {
                200
            };
            log.at(t).req(&client, "PATCH", &path, status);
            k += 1;
            t += 30.0 / rate_scale;
        }
        log
    }

    #[test]
    fn a_jump_across_clients_is_a_regression() {
        let f = carts(2100.0, 3, 2.0).run_one(&DeployRegression);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].template, "/carts/{id}");
        assert_eq!(f[0].scope, Scope::Template);
    }

    #[test]
    fn constant_ratio_is_not_a_regression() {
        assert!(carts(0.0, 3, 2.0).run_one(&DeployRegression).is_empty());
    }

    #[test]
    fn g_is_zero_for_equal_rates() {
        assert!(g_statistic(10.0, 100.0, 20.0, 200.0).abs() < 1e-9);
        assert!(g_statistic(0.0, 100.0, 30.0, 100.0) > 10.83);
    }
}
