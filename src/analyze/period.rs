//! When the log's requests are: the period estimated from each input's first and last
//! lines before the pass (route buckets need a resolution), `--last` resolved to a start,
//! the part of each time-ordered input a range needs (`seek`), the timeline's window, and
//! the requests dated far from the rest.

use super::line_reader::LineReader;
use super::{Settings, Window, directive_at};
use crate::aggregate::Accounting;
use crate::format::Format;
use crate::input::{self, Input};
use crate::per_second::PerSecond;
use crate::record::{Micros, Request, Skip};
use crate::seek::{self, Seek};
use crate::timestamp::{self, MICROS_PER_SEC};
use anyhow::{Result, bail};
use rayon::prelude::*;

/// Says how many requests are dated far from the rest (a clock reset to 1970, a year typed
/// wrong): they are counted, and they stretch the period and the timeline, which a reader
/// should know. "Far" is beyond the span of the middle 99.8 % of requests (at least a day) on
/// either side of it; logs under a thousand requests are too small to tell. `ends` says
/// where the earliest and the latest request are (`a.log line 7`), for a reader to look.
pub(super) fn far_from_the_rest(
    seconds: &PerSecond,
    ends: (Option<String>, Option<String>),
) -> Option<String> {
    // In time order, one entry a second; walked a few times rather than copied (a month of
    // logs has millions of seconds).
    let by_time = || seconds.iter().map(|(s, r, _)| (s, r));
    let total: u64 = by_time().map(|(_, r)| r).sum();
    if total < 1000 {
        return None;
    }
    // The second at which the `n`-th request (0-based) falls.
    let at = |n: u64| {
        let mut seen = 0;
        by_time()
            .find(|&(_, r)| {
                seen += r;
                seen > n
            })
            .map_or(0, |(s, _)| s)
    };
    let (lo, hi) = (at(total / 1000), at(total - 1 - total / 1000));
    let margin = (hi - lo).max(86_400);
    // Requests and the first second (last, after) dated that far before and after.
    let (mut before, mut after) = ((0u64, None), (0u64, None));
    for (s, r) in by_time() {
        if s < lo - margin {
            before = (before.0 + r, before.1.or(Some(s)));
        } else if s > hi + margin {
            after = (after.0 + r, Some(s));
        }
    }
    let (n_before, n_after) = (before.0, after.0);
    if n_before + n_after == 0 {
        return None;
    }
    let t = |s: i64| timestamp::rfc3339(s * MICROS_PER_SEC);
    let mut far = Vec::new();
    if let Some(s) = before.1 {
        let at = ends.0.map(|a| format!(" at {a}")).unwrap_or_default();
        far.push(format!("{n_before} dated from {}{at}", t(s)));
    }
    if let Some(s) = after.1 {
        let at = ends.1.map(|a| format!(" at {a}")).unwrap_or_default();
        far.push(format!("{n_after} dated up to {}{at}", t(s)));
    }
    let n = n_before + n_after;
    let (are, they, them) = if n == 1 {
        ("request is", "it is", "it")
    } else {
        ("requests are", "they are", "them")
    };
    Some(format!(
        "{n} {are} dated far from the rest of the log, which lies within {} to {} ({}); {they} counted, and the period and the timeline stretch to include {them}",
        t(lo),
        t(hi),
        far.join(", "),
    ))
}

/// The routes' bucket, which the pass needs before any line is read: a round window over
/// the period estimated from the ends of each input (`estimate_period`), within
/// --since/--until (the last hour of a day's log is analysed as that hour cut out would be,
/// not in the day's five-minute buckets); a minute when nothing dates the inputs.
pub(super) fn route_bucket(estimate: Option<(Micros, Micros)>, settings: &Settings) -> Micros {
    let within = estimate.and_then(|(a, b)| {
        let a = settings.since.map_or(a, |s| a.max(s));
        let b = settings.until.map_or(b, |u| b.min(u));
        (a <= b).then_some((a, b))
    });
    within.map_or(60 * MICROS_PER_SEC, |(a, b)| round_window(b - a, 600))
}

/// The earliest and the latest request, and where each is: its input's name and line (the
/// first input's on ties).
pub(super) struct Ends<'a> {
    earliest: Option<(Micros, u64, &'a str)>,
    latest: Option<(Micros, u64, &'a str)>,
}

impl<'a> Ends<'a> {
    pub(super) fn of(opened: &'a [(Input, &dyn Format)], accounts: &[Accounting]) -> Ends<'a> {
        let end = |time: fn(&Accounting) -> Option<(Micros, u64)>, later: bool| {
            let mut best: Option<(Micros, u64, &str)> = None;
            for ((inp, _), acct) in opened.iter().zip(accounts) {
                if let Some((t, line)) = time(acct)
                    && best.is_none_or(|(b, ..)| if later { t > b } else { t < b })
                {
                    best = Some((t, line, &inp.name));
                }
            }
            best
        };
        Ends {
            earliest: end(|a| a.earliest, false),
            latest: end(|a| a.latest, true),
        }
    }

    /// The times of the earliest and the latest request, if any request was dated.
    pub(super) fn period(&self) -> Option<(Micros, Micros)> {
        (self.earliest.zip(self.latest)).map(|(e, l)| (e.0, l.0))
    }

    /// Where the earliest and the latest request are, as a reader would look (`a.log line 7`).
    pub(super) fn places(&self) -> (Option<String>, Option<String>) {
        let at =
            |e: Option<(Micros, u64, &str)>| e.map(|(_, line, name)| format!("{name} line {line}"));
        (at(self.earliest), at(self.latest))
    }
}

/// Round window sizes, smallest first (the last two, 30 and 365 days, only for periods
/// stretched over years, such as by a line dated 1970).
const ROUND_WINDOWS: &[i64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172800, 604800, 2_592_000, 31_536_000,
];

/// A fixed `--window` giving more windows than this over the period is widened.
const MAX_WINDOWS: i64 = 100_000;

/// The smallest round window that cuts `span` into at most `max` windows.
pub fn round_window(span: Micros, max: i64) -> Micros {
    let span_s = (span + MICROS_PER_SEC - 1) / MICROS_PER_SEC;
    for &w in ROUND_WINDOWS {
        if (span_s + w - 1) / w <= max {
            return w * MICROS_PER_SEC;
        }
    }
    *ROUND_WINDOWS.last().unwrap() * MICROS_PER_SEC
}

/// The timeline's window over `period`: fixed, or chosen (`auto`). A fixed window over a
/// period stretched by a line dated far away (a clock reset to 1970) would be millions of
/// rows: widened, and said.
pub(super) fn timeline_window(
    window: Window,
    period: (Micros, Micros),
    warnings: &mut Vec<String>,
) -> Micros {
    let span = period.1 - period.0;
    match window {
        Window::Fixed(w) if span / w >= MAX_WINDOWS => {
            let wider = round_window(span, MAX_WINDOWS).max(w);
            warnings.push(format!(
                "--window {}: the period {} to {} would make {} windows; windows of {} are used instead",
                timestamp::human_span(w),
                timestamp::rfc3339(period.0),
                timestamp::rfc3339(period.1),
                span / w + 1,
                timestamp::human_span(wider),
            ));
            wider
        }
        Window::Fixed(w) => w,
        Window::Auto => round_window(span, 120),
    }
}

/// First and last timestamp among the first and last lines of each input (its first and
/// last 64 KiB, one part when it is no longer), the inputs side by side: a day of small
/// files was read twice over, on one thread (4,103 files of 64 KiB: 0.17 s).
pub(super) fn estimate_period(
    opened: &[(Input, &dyn Format)],
    directives: &[Vec<(usize, &[u8])>],
    settings: &Settings,
) -> Option<(Micros, Micros)> {
    (opened.par_iter().zip(directives))
        .filter_map(|((inp, fmt), directives)| input_period(inp, *fmt, directives, settings))
        .reduce_with(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// `estimate_period` of one input.
fn input_period(
    inp: &Input,
    fmt: &dyn Format,
    directives: &[(usize, &[u8])],
    settings: &Settings,
) -> Option<(Micros, Micros)> {
    const END: usize = 64 * 1024;
    let data = inp.bytes();
    let tail_start = match data.len().saturating_sub(END) {
        0 => 0,
        t => memchr::memchr(b'\n', &data[t..]).map_or(data.len(), |p| t + p + 1),
    };
    let head = &data[..data.len().min(END)];
    let tail = (tail_start > 0).then(|| (tail_start, &data[tail_start..]));
    let mut period: Option<(Micros, Micros)> = None;
    for (at, part) in std::iter::once((0, head)).chain(tail) {
        let mut cx = settings.line_context(directive_at(directives, at), true);
        let reader = LineReader::new(fmt, settings);
        for line in input::lines(part) {
            let mut r = Request::default();
            if let Some(s) = reader.skip(line) {
                if s == Skip::DIRECTIVE {
                    cx.directive = Some(line);
                }
            } else if fmt.parse(line, &mut cx, &mut r).is_ok() {
                period = Some(period.map_or((r.time, r.time), |(lo, hi)| {
                    (lo.min(r.time), hi.max(r.time))
                }));
            }
        }
    }
    period
}

/// The settings `--last` makes: `since` the span before `period`'s end. `None` without
/// `--last`.
pub(super) fn resolve_last(
    settings: &Settings,
    period: Option<(Micros, Micros)>,
    opened: &[(Input, &dyn Format)],
) -> Result<Option<Settings>> {
    let Some(span) = settings.last else {
        return Ok(None);
    };
    match period {
        Some((_, end)) => Ok(Some(Settings {
            since: Some(end.saturating_sub(span)),
            ..settings.clone()
        })),
        None if opened.is_empty() => Ok(None),
        None => {
            let names: Vec<&str> = opened.iter().map(|(i, _)| i.name.as_str()).collect();
            bail!(
                "--last: no line at the ends of {} has a time to count back from",
                names.join(", ")
            )
        }
    }
}

/// With --since/--until, the part of each time-ordered input that can hold the range
/// (`seek`); `None` for an input read whole. Inputs with directives are read whole: a probe
/// would need the directive before it.
pub(super) fn seek_ranges(
    opened: &[(Input, &dyn Format)],
    directives: &[Vec<(usize, &[u8])>],
    settings: &Settings,
) -> Vec<Option<Seek>> {
    let ranged = settings.since.is_some() || settings.until.is_some();
    opened
        .par_iter()
        .zip(directives)
        .map(|((inp, fmt), directives)| {
            if !settings.seek || !ranged || !directives.is_empty() {
                return None;
            }
            seek::range(inp.bytes(), settings.since, settings.until, |line| {
                line_time(*fmt, line, settings)
            })
        })
        .collect()
}

/// A line's time as the pass would read it, for `seek`: none for lines it skips.
fn line_time(fmt: &dyn Format, line: &[u8], settings: &Settings) -> Option<Micros> {
    if LineReader::new(fmt, settings).skip(line).is_some() {
        return None;
    }
    let mut cx = settings.line_context(None, true);
    let mut r = Request::default();
    fmt.parse(line, &mut cx, &mut r).ok().map(|()| r.time)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests dated far from the rest are told apart only when they are few among many
    /// and far beyond the span of the others (at least a day).
    #[test]
    fn requests_far_from_the_rest() {
        let seconds = |spread: &[(i64, u64)]| -> PerSecond {
            let mut p = PerSecond::default();
            spread.iter().for_each(|&(s, r)| p.add(s, r, 0));
            p.seal();
            p
        };
        let day = 86_400;
        let t0 = 1_772_442_000;
        // An hour of traffic, two requests from a clock reset and one from a typo'd year.
        let mut hour: Vec<(i64, u64)> = (0..3600).map(|s| (t0 + s, 2)).collect();
        let no_ends = || (None, None);
        assert_eq!(far_from_the_rest(&seconds(&hour), no_ends()), None);
        hour.extend([(0, 2), (4_102_444_800, 1)]);
        assert_eq!(
            far_from_the_rest(&seconds(&hour), no_ends()).unwrap(),
            "3 requests are dated far from the rest of the log, which lies within \
             2026-03-02T09:00:02Z to 2026-03-02T09:59:56Z (2 dated from 1970-01-01T00:00:00Z, 1 \
             dated up to 2100-01-01T00:00:00Z); they are counted, and the period and the \
             timeline stretch to include them"
        );
        let ends = (Some("a.log line 9".into()), Some("b.log line 2".into()));
        assert_eq!(
            far_from_the_rest(&seconds(&hour), ends).unwrap(),
            "3 requests are dated far from the rest of the log, which lies within \
             2026-03-02T09:00:02Z to 2026-03-02T09:59:56Z (2 dated from 1970-01-01T00:00:00Z at \
             a.log line 9, 1 dated up to 2100-01-01T00:00:00Z at b.log line 2); they are \
             counted, and the period and the timeline stretch to include them"
        );
        // Three evenly busy days, or a sparse log spread over years: nothing stands out.
        let days: Vec<(i64, u64)> = (0..3 * 24).map(|h| (t0 + h * 3600, 30)).collect();
        assert_eq!(far_from_the_rest(&seconds(&days), no_ends()), None);
        let years: Vec<(i64, u64)> = (0..1000).map(|k| (t0 - k * 40 * day, 1)).collect();
        assert_eq!(far_from_the_rest(&seconds(&years), no_ends()), None);
        // Too few requests to tell.
        let small: Vec<(i64, u64)> = (0..500).map(|s| (t0 + s, 1)).chain([(0, 1)]).collect();
        assert_eq!(far_from_the_rest(&seconds(&small), no_ends()), None);
    }

    #[test]
    fn auto_windows_are_round() {
        assert_eq!(round_window(50 * MICROS_PER_SEC, 120), MICROS_PER_SEC);
        assert_eq!(
            round_window(86_400 * MICROS_PER_SEC, 120),
            900 * MICROS_PER_SEC
        );
        assert_eq!(
            round_window(3600 * MICROS_PER_SEC, 120),
            30 * MICROS_PER_SEC
        );
        assert_eq!(round_window(0, 120), MICROS_PER_SEC);
    }
}
