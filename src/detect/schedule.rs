//! Schedule alignment (root-causes.md R15/D14): an overlay on findings, not a cause. When a
//! finding's conflicts bunch at the top of the minute or the hour, scheduled jobs (cron,
//! CronJobs, timers in many replicas) fire together and collide; the finding keeps its cause
//! and gains a note and the advice to add jitter.
//!
//! Rule: at least `schedule_min_conflicts` claimed conflicts, and either at least
//! `schedule_min_minute_share` of them starting in seconds 0–4 of a minute (5/60 ≈ 8 % expected
//! of requests spread evenly), or at least `schedule_min_hour_share` within 10 s of the hour
//! (20/3600 ≈ 0.6 % expected); each window reaches one clock resolution further back, since
//! a start computed from a truncated timestamp can be that much early (with whole-second
//! timestamps 6/60 = 10 % is expected in the minute's window). In both cases the binomial
//! tail probability of so many by chance must be below 1e-3, and the bunched conflicts must
//! fall at three boundaries or more (one burst that starts at second 2 is not a schedule).
//! The hour is named when both hold (it is the narrower window). A job that runs every
//! minute makes one finding of all its runs (`merge_recurring` in `detect`), so each
//! finding is tested on its own.
//!
//! The tail is bounded with the Chernoff bound exp(−n·KL(k/n ‖ p)), an upper bound of the
//! exact binomial tail: a finding that passes would pass the exact test too, in O(1) for a
//! finding with a million conflicts.

use super::Finding;
use super::signals::{event, percent};
use crate::record::Micros;
use crate::timeline::Timelines;
use crate::timestamp::MICROS_PER_SEC;
use serde::Serialize;

/// Which boundary the conflicts bunch at, and how strongly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Alignment {
    /// `minute` or `hour`.
    pub boundary: &'static str,
    /// Share of the finding's conflicts in the window at the boundary.
    pub share: f64,
    /// Share expected of requests spread evenly in time.
    pub expected: f64,
}

/// Distinct minutes (or hours) the bunched conflicts must fall at.
const MIN_BOUNDARIES: usize = 3;

/// Largest tail probability that counts as bunched.
const MAX_TAIL: f64 = 1e-3;

const JITTER: &str = " The conflicts bunch at the top of the {boundary}: scheduled jobs fire together; add random jitter (a few seconds to minutes) to their schedules, or spread them over the period.";

/// A boundary and the window around it: `before` and `after` it, within `period`.
struct Window {
    boundary: &'static str,
    period: Micros,
    before: Micros,
    after: Micros,
}

const MINUTE: Window = Window {
    boundary: "minute",
    period: 60 * MICROS_PER_SEC,
    before: 0,
    after: 5 * MICROS_PER_SEC,
};

const HOUR: Window = Window {
    boundary: "hour",
    period: 3600 * MICROS_PER_SEC,
    before: 10 * MICROS_PER_SEC,
    after: 10 * MICROS_PER_SEC,
};

impl Window {
    /// Whether a conflict starting at `t` falls in the window. A start is computed from a
    /// logged time truncated to the clock's resolution `r` (minus a duration), so it may lie
    /// up to `r` earlier than the request began: the window reaches `r` further back.
    fn holds(&self, t: Micros, r: Micros) -> bool {
        (t + self.before + r).rem_euclid(self.period) < self.before + self.after + r
    }

    /// The share of evenly spread starts that fall in it.
    fn expected(&self, r: Micros) -> f64 {
        (self.before + self.after + r) as f64 / self.period as f64
    }
}

/// Kullback–Leibler divergence of Bernoulli(q) from Bernoulli(p), for 0 < p < 1.
fn kl(q: f64, p: f64) -> f64 {
    let term = |a: f64, b: f64| if a == 0.0 { 0.0 } else { a * (a / b).ln() };
    term(q, p) + term(1.0 - q, 1.0 - p)
}

/// Upper bound of P(X ≥ k) for X ~ Binomial(n, p) (1 when k/n is not above p).
pub fn tail_bound(k: usize, n: usize, p: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let q = k as f64 / n as f64;
    if q <= p {
        return 1.0;
    }
    (-(n as f64) * kl(q, p)).exp()
}

/// The alignment of conflicts starting at `times`, if they bunch (see the module doc).
pub fn alignment(
    times: &[Micros],
    r: Micros,
    min_conflicts: usize,
    minute_share: f64,
    hour_share: f64,
) -> Option<Alignment> {
    let n = times.len();
    if n < min_conflicts.max(1) {
        return None;
    }
    let test = |w: &Window, min: f64| {
        // The boundary each hit falls at.
        let mut at: Vec<Micros> = times
            .iter()
            .filter(|&&t| w.holds(t, r))
            .map(|&t| (t + w.before + r).div_euclid(w.period))
            .collect();
        let k = at.len();
        let share = k as f64 / n as f64;
        let expected = w.expected(r);
        // One burst that happens to start at a boundary is not a schedule: the hits must
        // fall at several boundaries.
        at.sort_unstable();
        at.dedup();
        (share >= min && at.len() >= MIN_BOUNDARIES && tail_bound(k, n, expected) < MAX_TAIL)
            .then_some(Alignment {
                boundary: w.boundary,
                share,
                expected,
            })
    };
    test(&HOUR, hour_share).or_else(|| test(&MINUTE, minute_share))
}

/// Notes the alignment on each finding whose conflicts bunch: a sentence in the summary, the
/// jitter advice, and +0.05 confidence for the causes schedules make worse (races, retry
/// loops, locks).
pub fn annotate(
    findings: &mut [Finding],
    tl: &Timelines,
    min_conflicts: usize,
    minute_share: f64,
    hour_share: f64,
) {
    let r = super::signals::clock_resolution(tl);
    for f in findings {
        let times: Vec<Micros> = f.claims.iter().map(|c| event(tl, *c).start).collect();
        let Some(a) = alignment(&times, r, min_conflicts, minute_share, hour_share) else {
            continue;
        };
        let hits = (a.share * times.len() as f64).round() as usize;
        let window = match a.boundary {
            "hour" => "within 10 seconds of the hour",
            _ => "in the first 5 seconds of a minute",
        };
        f.summary.push_str(&format!(
            " {} of these {} conflicts started {window} ({} expected by chance).",
            percent(hits, times.len()),
            times.len(),
            percent((a.expected * 1000.0).round() as usize, 1000),
        ));
        (f.advice.to_mut()).push_str(&JITTER.replace("{boundary}", a.boundary));
        if matches!(f.cause, "hot_spot_edit" | "retry_storm" | "lock_contention") {
            f.confidence = (f.confidence + 0.05).min(0.95);
        }
        f.schedule = Some(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = MICROS_PER_SEC;
    /// Millisecond timestamps.
    const MS: Micros = 1_000;
    /// 2026-03-02T09:00:00Z.
    const T0: Micros = 1_772_442_000 * S;

    #[test]
    fn the_bound_is_above_the_exact_tail() {
        // Exact tails by summing the binomial terms.
        let exact = |k: usize, n: usize, p: f64| -> f64 {
            let mut sum = 0.0;
            for i in k..=n {
                let ln_c: f64 = (1..=n).map(|x| (x as f64).ln()).sum::<f64>()
                    - (1..=i).map(|x| (x as f64).ln()).sum::<f64>()
                    - (1..=n - i).map(|x| (x as f64).ln()).sum::<f64>();
                sum += (ln_c + i as f64 * p.ln() + (n - i) as f64 * (1.0 - p).ln()).exp();
            }
            sum
        };
        for (k, n) in [(8, 20), (10, 20), (20, 50), (40, 100), (3, 20)] {
            let p = 5.0 / 60.0;
            assert!(tail_bound(k, n, p) >= exact(k, n, p), "k={k} n={n}");
        }
        assert_eq!(tail_bound(1, 20, 0.1), 1.0);
        assert!(tail_bound(8, 20, 5.0 / 60.0) < 1e-3);
        assert!(tail_bound(4, 20, 5.0 / 60.0) > 1e-3);
    }

    #[test]
    fn conflicts_at_the_top_of_each_minute() {
        // 24 conflicts: 12 at second 1 of successive minutes, 12 spread over the others.
        let mut times: Vec<Micros> = (0..12).map(|m| T0 + m * 60 * S + S).collect();
        times.extend((0..12).map(|m| T0 + m * 60 * S + (10 + 4 * m) * S));
        let a = alignment(&times, MS, 20, 0.4, 0.3).unwrap();
        assert_eq!(a.boundary, "minute");
        assert!((a.share - 0.5).abs() < 1e-9);
    }

    #[test]
    fn conflicts_at_the_top_of_each_hour() {
        let times: Vec<Micros> = (0..25).map(|h| T0 + h * 3600 * S + 2 * S).collect();
        assert_eq!(
            alignment(&times, MS, 20, 0.4, 0.3).unwrap().boundary,
            "hour"
        );
    }

    #[test]
    fn evenly_spread_or_few_conflicts_are_not_aligned() {
        // One every 7 s: 5 of 60 seconds of each minute get their share, no more.
        let even: Vec<Micros> = (0..200).map(|k| T0 + k * 7 * S).collect();
        assert_eq!(alignment(&even, MS, 20, 0.4, 0.3), None);
        // Aligned but too few.
        let few: Vec<Micros> = (0..10).map(|m| T0 + m * 60 * S).collect();
        assert_eq!(alignment(&few, MS, 20, 0.4, 0.3), None);
        // One burst of 25 conflicts in seconds 1-3 of one minute: the share and the tail
        // would pass, but it is one minute, not a schedule.
        let burst: Vec<Micros> = (0..25).map(|k| T0 + 60 * S + S + k * 80_000).collect();
        assert_eq!(alignment(&burst, MS, 20, 0.4, 0.3), None);
        // The same burst at two more minutes is.
        let mut thrice = burst.clone();
        thrice.extend(burst.iter().map(|t| t + 600 * S));
        thrice.extend(burst.iter().map(|t| t + 1200 * S));
        assert_eq!(
            alignment(&thrice, MS, 20, 0.4, 0.3).unwrap().boundary,
            "minute"
        );
    }
}
