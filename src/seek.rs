//! Seek: where in a time-ordered input the lines of a `--since`/`--until` range can be,
//! found by a binary search on the lines' own times, so the last hour of a day's log costs
//! reading that hour, not the day.
//!
//! A gateway writes a line when its request completes, so a log is in time order only
//! roughly: a line stamped with its request's start (Envoy, ALB) follows lines of shorter
//! requests that started after it. The search therefore reads `LEEWAY` beyond each bound,
//! and takes a position's time from several lines (the latest of them for the start, the
//! earliest for the end), so one long request does not move a bound. An input whose times,
//! probed at points spread evenly over it, go back by more than the leeway (logs
//! concatenated out of order) is not sought in: every line is read and filtered, as without
//! a range.
//!
//! The lines outside the range are counted (a SIMD newline count, which line numbers need
//! anyway) but not parsed; the report says how many were not read, so its totals add up.
//!
//! The search knows nothing of formats: it is given a function from a line to its time.

use crate::record::Micros;
use crate::timestamp::MICROS_PER_SEC;
use rayon::prelude::*;
use std::ops::Range;

/// How far out of time order a line may be and still be read: each bound is searched for
/// this much beyond it. An hour covers gateways' request timeouts; a request that ran longer
/// and is stamped with its start can be missed.
pub const LEEWAY: Micros = 3600 * MICROS_PER_SEC;
/// Points, spread evenly over an input, whose times must be in order (within `LEEWAY`).
const ORDER_PROBES: usize = 64;
/// Dated lines a probe takes its time from.
const PROBE_LINES: usize = 8;
/// Lines a probe reads at most to find them (a run of junk is not searched to its end).
const PROBE_READ: usize = 64;
/// The search stops when the part left to decide is this small: reading it costs less than
/// probing it.
const CLOSE_ENOUGH: usize = 64 << 10;

/// The part of an input to read, and how many lines lie before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seek {
    /// From a line's start to a line's start (or the end).
    pub range: Range<usize>,
    pub lines_before: u64,
    pub lines_after: u64,
}

/// The byte range of `data` that holds every line timed in `since..until`, if `data` is in
/// time order within `LEEWAY`; `None` when it is not, when too few of its lines have a time
/// to tell, or when the range is the whole input. `time_of` gives a line's time (`None` for
/// lines without one: junk, blanks).
pub fn range(
    data: &[u8],
    since: Option<Micros>,
    until: Option<Micros>,
    time_of: impl Fn(&[u8]) -> Option<Micros>,
) -> Option<Seek> {
    if since.is_none() && until.is_none() || !in_order(data, &time_of) {
        return None;
    }
    let mut start = 0;
    if let Some(s) = since {
        // Every line before `lo`'s line start is earlier than `since`: it comes before
        // lines all earlier than `since - LEEWAY`.
        let target = s.saturating_sub(LEEWAY);
        let (mut lo, mut hi) = (0, data.len());
        while hi - lo > CLOSE_ENOUGH {
            let mid = lo + (hi - lo) / 2;
            match probe(data, mid, &time_of) {
                Some((_, latest)) if latest < target => lo = mid,
                _ => hi = mid,
            }
        }
        start = line_start(data, lo);
    }
    let mut end = data.len();
    if let Some(u) = until {
        // Every line from `hi`'s line start on is at or after `until`, or has no time.
        let target = u.saturating_add(LEEWAY);
        let (mut lo, mut hi) = (start, data.len());
        while hi - lo > CLOSE_ENOUGH {
            let mid = lo + (hi - lo) / 2;
            match probe(data, mid, &time_of) {
                Some((earliest, _)) if earliest >= target => hi = mid,
                _ => lo = mid,
            }
        }
        end = line_start(data, hi).max(start);
    }
    if start == 0 && end == data.len() {
        return None;
    }
    let tail = &data[end..];
    Some(Seek {
        range: start..end,
        lines_before: newlines(&data[..start]),
        lines_after: newlines(tail) + u64::from(tail.last().is_some_and(|&b| b != b'\n')),
    })
}

/// Whether the times at `ORDER_PROBES` points spread over `data` never go back by more than
/// `LEEWAY`, and most points have a time.
fn in_order(data: &[u8], time_of: &impl Fn(&[u8]) -> Option<Micros>) -> bool {
    let mut latest = Micros::MIN;
    let mut dated = 0;
    for k in 0..ORDER_PROBES {
        let Some((_, t)) = probe(data, data.len() / ORDER_PROBES * k, time_of) else {
            continue;
        };
        if t < latest.saturating_sub(LEEWAY) {
            return false;
        }
        latest = latest.max(t);
        dated += 1;
    }
    dated > ORDER_PROBES / 2
}

/// The earliest and latest of the times of the first `PROBE_LINES` dated lines from the
/// line start at or after `at`.
fn probe(
    data: &[u8],
    at: usize,
    time_of: &impl Fn(&[u8]) -> Option<Micros>,
) -> Option<(Micros, Micros)> {
    let mut p = line_start(data, at);
    let (mut found, mut range) = (0, None::<(Micros, Micros)>);
    for _ in 0..PROBE_READ {
        if p >= data.len() || found == PROBE_LINES {
            break;
        }
        let end = memchr::memchr(b'\n', &data[p..]).map_or(data.len(), |e| p + e);
        let line = &data[p..end];
        if let Some(t) = time_of(line.strip_suffix(b"\r").unwrap_or(line)) {
            range = Some(range.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
            found += 1;
        }
        p = end + 1;
    }
    range
}

/// The start of the line that holds `at`'s byte, if `at` starts it, else of the next one
/// (`data.len()` past the last).
fn line_start(data: &[u8], at: usize) -> usize {
    if at == 0 || at >= data.len() {
        return at.min(data.len());
    }
    if data[at - 1] == b'\n' {
        return at;
    }
    memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |e| at + e + 1)
}

/// Newlines in `data`, counted side by side in large pieces.
fn newlines(data: &[u8]) -> u64 {
    data.par_chunks(16 << 20)
        .map(|c| bytecount::count(c, b'\n') as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A line per `times` entry, each `T<seconds> pad`, padded so the log is long enough
    /// for the search to narrow.
    fn log(times: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        for t in times {
            out.extend_from_slice(format!("T{t} {}\n", "x".repeat(90)).as_bytes());
        }
        out
    }

    fn time_of(line: &[u8]) -> Option<Micros> {
        let s = std::str::from_utf8(line.strip_prefix(b"T")?).ok()?;
        let secs: i64 = s.split(' ').next()?.parse().ok()?;
        Some(secs * MICROS_PER_SEC)
    }

    fn secs(s: i64) -> Option<Micros> {
        Some(s * MICROS_PER_SEC)
    }

    /// The lines of `data[range]` and their count, by the same rule the pass counts.
    fn times_in(data: &[u8], r: Range<usize>) -> Vec<i64> {
        (data[r].split(|&b| b == b'\n'))
            .filter_map(time_of)
            .map(|t| t / MICROS_PER_SEC)
            .collect()
    }

    /// A day, a line a second.
    fn day() -> (Vec<i64>, Vec<u8>) {
        let times: Vec<i64> = (0..86_400).collect();
        let data = log(&times);
        (times, data)
    }

    #[test]
    fn the_range_holds_every_line_in_time_and_little_else() {
        let (times, data) = day();
        let s = range(&data, secs(50_000), secs(53_600), time_of).unwrap();
        let read = times_in(&data, s.range.clone());
        let wanted: Vec<i64> = (50_000..53_600).collect();
        assert!(wanted.iter().all(|t| read.contains(t)));
        // The leeway on each side and at most a search step beyond it.
        let step = (CLOSE_ENOUGH / 96) as i64 + 1;
        assert!(read.len() as i64 <= 3600 * 3 + 2 * step, "{}", read.len());
        assert_eq!(
            s.lines_before + read.len() as u64 + s.lines_after,
            times.len() as u64
        );
        assert_eq!(s.lines_before, *read.first().unwrap() as u64);
    }

    #[test]
    fn since_alone_reads_to_the_end_and_until_alone_from_the_start() {
        let (_, data) = day();
        let s = range(&data, secs(80_000), None, time_of).unwrap();
        assert_eq!(s.range.end, data.len());
        assert_eq!(s.lines_after, 0);
        let u = range(&data, None, secs(5_000), time_of).unwrap();
        assert_eq!(u.range.start, 0);
        assert_eq!(u.lines_before, 0);
        assert!(times_in(&data, u.range).contains(&4_999));
    }

    #[test]
    fn a_range_around_the_whole_log_is_no_seek() {
        let (_, data) = day();
        assert_eq!(range(&data, secs(-10), secs(90_000), time_of), None);
        assert_eq!(range(&data, None, None, time_of), None);
    }

    #[test]
    fn a_range_past_either_end_reads_almost_nothing() {
        let (times, data) = day();
        let after = range(&data, secs(200_000), None, time_of).unwrap();
        assert!(after.range.len() <= CLOSE_ENOUGH + 100);
        let before = range(&data, None, secs(-200_000), time_of).unwrap();
        assert!(before.range.len() <= CLOSE_ENOUGH + 100);
        for s in [after, before] {
            let read = times_in(&data, s.range.clone()).len() as u64;
            assert_eq!(s.lines_before + read + s.lines_after, times.len() as u64);
        }
    }

    #[test]
    fn logs_out_of_order_are_read_whole() {
        // Two days concatenated the wrong way round.
        let times: Vec<i64> = (86_400..172_800).chain(0..86_400).collect();
        assert_eq!(range(&log(&times), secs(100_000), None, time_of), None);
        // Lines with no time at all.
        let junk = "junk\n".repeat(100_000).into_bytes();
        assert_eq!(range(&junk, secs(1), secs(2), time_of), None);
    }

    #[test]
    fn a_last_line_without_a_newline_is_counted() {
        let (times, mut data) = day();
        data.pop();
        let s = range(&data, None, secs(1_000), time_of).unwrap();
        let read = times_in(&data, s.range.clone()).len() as u64;
        assert_eq!(s.lines_before + read + s.lines_after, times.len() as u64);
    }

    proptest! {
        /// Lines out of order by up to the leeway, junk lines among them, CRLF endings: the
        /// range holds every line in `since..until`, and the counts add up.
        #[test]
        fn every_line_in_range_is_read(
            jitter in proptest::collection::vec(0i64..3600, 20_000),
            junk_every in 5usize..200,
            crlf in any::<bool>(),
            since in -100i64..25_000,
            len in 0i64..30_000,
        ) {
            let mut data = Vec::new();
            let mut lines = 0u64;
            let mut wanted = 0;
            let until = since + len;
            for (k, j) in jitter.iter().enumerate() {
                let t = k as i64 - j;
                let eol = if crlf { "\r\n" } else { "\n" };
                data.extend_from_slice(format!("T{t} {}{eol}", "y".repeat(40)).as_bytes());
                lines += 1;
                wanted += usize::from((since..until).contains(&t));
                if k % junk_every == 0 {
                    data.extend_from_slice(format!("junk{eol}").as_bytes());
                    lines += 1;
                }
            }
            let (r, before, after) = match range(&data, secs(since), secs(until), time_of) {
                Some(s) => (s.range, s.lines_before, s.lines_after),
                None => (0..data.len(), 0, 0),
            };
            let part = &data[r];
            let read: Vec<&[u8]> = part.split(|&b| b == b'\n').collect();
            let read_lines = read.len() as u64 - u64::from(part.is_empty() || part.ends_with(b"\n"));
            prop_assert_eq!(before + read_lines + after, lines);
            let found = read
                .iter()
                .filter_map(|l| time_of(l.strip_suffix(b"\r").unwrap_or(l)))
                .filter(|t| (since..until).contains(&(t / MICROS_PER_SEC)))
                .count();
            prop_assert_eq!(found, wanted);
        }
    }
}
