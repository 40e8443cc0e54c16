//! Timestamps: the hot-path parsers for the shapes gateways write, and RFC 3339 output.
//!
//! Parsing is hand-rolled because it runs once per line; a `TimeCache` remembers the last
//! timestamp text so consecutive lines from the same second cost one comparison.
//! Formatting and user-facing parsing (`--since`) use `jiff`.

use crate::record::Micros;

pub const MICROS_PER_SEC: i64 = 1_000_000;

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    if b.is_empty() {
        return None;
    }
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u32;
    }
    Some(v)
}

fn month_abbrev(b: &[u8]) -> Option<u32> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn civil_micros(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<Micros> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + (h * 3600 + mi * 60 + s) as i64) * MICROS_PER_SEC)
}

/// Parses a `±hhmm` or `±hh:mm` offset (or `Z`) into seconds east of UTC.
pub fn parse_offset(b: &[u8]) -> Option<i64> {
    if b == b"Z" || b == b"z" {
        return Some(0);
    }
    let (sign, rest) = match b.first()? {
        b'+' => (1, &b[1..]),
        b'-' => (-1, &b[1..]),
        _ => return None,
    };
    let (hh, mm) = match rest.len() {
        4 => (&rest[..2], &rest[2..]),
        5 if rest[2] == b':' => (&rest[..2], &rest[3..]),
        2 => (rest, &b"00"[..]),
        _ => return None,
    };
    let (hh, mm) = (digits(hh)?, digits(mm)?);
    if hh > 23 || mm > 59 {
        return None;
    }
    Some(sign * (hh as i64 * 3600 + mm as i64 * 60))
}

/// Parses a fraction of a second written after the dot (`186641`, `5`, `123456789`).
fn fraction_micros(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v: i64 = 0;
    for (i, &c) in b.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        if i < 6 {
            v = v * 10 + d as i64;
        }
    }
    for _ in b.len()..6 {
        v *= 10;
    }
    Some(v)
}

/// Parses the CLF timestamp `10/Oct/2000:13:55:36 -0700` (without brackets). An optional
/// fraction after the seconds (`:36.123`) is accepted, as HAProxy and some Apache formats
/// write it. A missing offset means UTC.
pub fn parse_clf(b: &[u8]) -> Option<Micros> {
    if b.len() < 20
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
    {
        return None;
    }
    let d = digits(&b[0..2])?;
    let mo = month_abbrev(&b[3..6])?;
    let y = digits(&b[7..11])? as i64;
    let h = digits(&b[12..14])?;
    let mi = digits(&b[15..17])?;
    let s = digits(&b[18..20])?;
    let mut t = civil_micros(y, mo, d, h, mi, s)?;
    let mut rest = &b[20..];
    if rest.first() == Some(&b'.') {
        let end = rest[1..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(rest.len(), |p| p + 1);
        t += fraction_micros(&rest[1..end])?;
        rest = &rest[end..];
    }
    if rest.is_empty() {
        return Some(t);
    }
    if rest[0] != b' ' {
        return None;
    }
    let off = parse_offset(&rest[1..])?;
    Some(t - off * MICROS_PER_SEC)
}

/// Where the seconds are in a CLF time (`10/Oct/2000:13:55:36 -0700`), for `TimeCache`.
pub const CLF_SECONDS_AT: usize = 18;
/// Where the seconds are in an ISO 8601 time (`2026-03-02T09:14:05.186641Z`).
pub const ISO_SECONDS_AT: usize = 17;

/// Parses RFC 3339 / ISO 8601 with `T` or space: `2026-03-02T09:00:00.123+01:00`,
/// `2018-07-02T22:23:00.186641Z`. A missing offset means UTC.
pub fn parse_iso8601(b: &[u8]) -> Option<Micros> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let y = digits(&b[0..4])? as i64;
    let mo = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let s = digits(&b[17..19])?;
    let mut t = civil_micros(y, mo, d, h, mi, s)?;
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') || rest.first() == Some(&b',') {
        let end = rest[1..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(rest.len(), |p| p + 1);
        t += fraction_micros(&rest[1..end])?;
        rest = &rest[end..];
    }
    if rest.is_empty() {
        return Some(t);
    }
    let off = parse_offset(rest)?;
    Some(t - off * MICROS_PER_SEC)
}

/// Whether `parse_iso8601` reads `b`, without working out the time: a wrapper's timestamp
/// (CRI's, on every line of a node's container log) is checked and never used, and the
/// time's arithmetic was two thirds of the check (~490 instructions a line with it).
pub fn is_iso8601(b: &[u8]) -> bool {
    let Some(h) = b.get(..19) else {
        return false;
    };
    if h[4] != b'-'
        || h[7] != b'-'
        || !(h[10] == b'T' || h[10] == b' ')
        || h[13] != b':'
        || h[16] != b':'
    {
        return false;
    }
    let d = |i: usize| h[i].wrapping_sub(b'0');
    // One test for the fourteen digits, not a branch each.
    let mut bad = false;
    for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] {
        bad |= d(i) > 9;
    }
    let two = |i: usize| u32::from(d(i)) * 10 + u32::from(d(i + 1));
    let (mo, day) = (two(5), two(8));
    if bad || !(1..=12).contains(&mo) || day == 0 || two(11) > 23 || two(14) > 59 || two(17) > 60 {
        return false;
    }
    // The year matters only past the 28th.
    if day > 28 && day > days_in_month((two(0) * 100 + two(2)).into(), mo) {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(b'.' | b',') = rest.first() {
        // `fraction_micros` takes one to nine digits.
        let mut n = 1;
        while n <= 10 && rest.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
        if n == 1 || n > 10 {
            return false;
        }
        rest = &rest[n..];
    }
    rest.is_empty() || parse_offset(rest).is_some()
}

/// Parses a Unix epoch with an optional fraction, in the given unit: `1446249499.322` (s),
/// `1591214112712` (ms).
pub fn parse_epoch(b: &[u8], unit: EpochUnit) -> Option<Micros> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b""[..]),
    };
    if int.is_empty() || int.len() > 19 {
        return None;
    }
    // Digits only, no sign; past i64 is no time.
    let mut whole: i64 = 0;
    for &c in int {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        whole = whole.checked_mul(10)?.checked_add(d as i64)?;
    }
    let frac_us = if frac.is_empty() {
        0
    } else {
        fraction_micros(frac)?
    };
    Some(match unit {
        EpochUnit::Seconds => whole.checked_mul(MICROS_PER_SEC)? + frac_us,
        EpochUnit::Millis => whole.checked_mul(1000)? + frac_us / 1000,
        EpochUnit::Micros => whole,
        EpochUnit::Nanos => whole / 1000,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

/// Remembers the last timestamp text and its value: log lines arrive in time order, so most
/// lines repeat the previous line's second.
#[derive(Debug, Default, Clone)]
pub struct TimeCache {
    text: [u8; 32],
    len: usize,
    value: Micros,
}

impl TimeCache {
    /// Returns the cached value when `b` is the same text as last time, else parses with `f`.
    #[inline]
    pub fn get_or(&mut self, b: &[u8], f: impl FnOnce(&[u8]) -> Option<Micros>) -> Option<Micros> {
        if b.len() == self.len && b == &self.text[..self.len] {
            return Some(self.value);
        }
        let v = f(b)?;
        if b.len() <= self.text.len() {
            self.text[..b.len()].copy_from_slice(b);
            self.len = b.len();
            self.value = v;
        }
        Some(v)
    }

    /// `get_or` for texts whose two seconds digits stand at `at`, maybe followed by a
    /// fraction (`05.186641Z`, `05,5+01:00`), parsed by an `f` whose value moves by a second
    /// per second there and by a microsecond per microsecond of the fraction (nothing else in
    /// the text depending on them): a text that differs from the last only in its seconds
    /// (00–59) and its fraction's digits is the last value moved by the differences, not
    /// parsed again. A log with a line a second or fewer changes only its seconds from one
    /// line to the next; one with milliseconds (ALB, Envoy, JSON logs) changes its fraction
    /// on nearly every line.
    #[inline]
    pub fn get_or_seconds(
        &mut self,
        b: &[u8],
        at: usize,
        f: impl FnOnce(&[u8]) -> Option<Micros>,
    ) -> Option<Micros> {
        if b.len() == self.len && b == &self.text[..self.len] {
            return Some(self.value);
        }
        self.seconds_or(b, at, f)
    }

    /// `get_or_seconds` past a different text: out of line, so that the usual line (the
    /// same text as the last) costs what `get_or` costs.
    #[inline(never)]
    fn seconds_or(
        &mut self,
        b: &[u8],
        at: usize,
        f: impl FnOnce(&[u8]) -> Option<Micros>,
    ) -> Option<Micros> {
        if b.len() == self.len
            && let Some(v) = self.moved(b, at)
        {
            self.text[..b.len()].copy_from_slice(b);
            self.value = v;
            return Some(v);
        }
        self.get_or(b, f)
    }

    /// The value of `b` (as long as the cached text) when it differs from the cached text
    /// only in the seconds at `at` and the digits of a fraction after them: the fraction's
    /// separator and length are the same in both, so the parse that took the cached text
    /// takes `b` too (a fraction's first six digits are microseconds, the rest ignored).
    fn moved(&self, b: &[u8], at: usize) -> Option<Micros> {
        let cached = &self.text[..self.len];
        let sep = at + 2;
        let mut end = sep;
        // The fractions in microseconds.
        let (mut old_us, mut new_us) = (0i64, 0i64);
        if matches!(b.get(sep), Some(b'.' | b',')) && cached.get(sep) == b.get(sep) {
            end = sep + 1;
            while end < b.len() && b[end].is_ascii_digit() {
                if !cached[end].is_ascii_digit() {
                    return None;
                }
                if end - sep <= 6 {
                    old_us = old_us * 10 + i64::from(cached[end] - b'0');
                    new_us = new_us * 10 + i64::from(b[end] - b'0');
                }
                end += 1;
            }
            if cached.get(end).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            for _ in (end - sep)..=6 {
                (old_us, new_us) = (old_us * 10, new_us * 10);
            }
        }
        let seconds = |d: &[u8]| match *d {
            [t @ b'0'..=b'5', u @ b'0'..=b'9'] => {
                Some(i64::from(t - b'0') * 10 + i64::from(u - b'0'))
            }
            _ => None,
        };
        let (old_s, new_s) = (
            seconds(cached.get(at..at + 2)?)?,
            seconds(b.get(at..at + 2)?)?,
        );
        (b[..at] == cached[..at] && b[end..] == cached[end..])
            .then(|| self.value + (new_s - old_s) * MICROS_PER_SEC + (new_us - old_us))
    }
}

/// RFC 3339 in UTC; fractional seconds only when there are any, trailing zeros trimmed.
pub fn rfc3339(t: Micros) -> String {
    match jiff::Timestamp::from_microsecond(t) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        Err(_) => t.to_string(),
    }
}

/// Parses a user-supplied duration: `1s`, `30s`, `5m`, `1h`, `1d`, `250ms`.
pub fn parse_span(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    let mult = match unit {
        "ms" => 1_000,
        "s" => MICROS_PER_SEC,
        "m" | "min" => 60 * MICROS_PER_SEC,
        "h" => 3600 * MICROS_PER_SEC,
        "d" => 86_400 * MICROS_PER_SEC,
        _ => return None,
    };
    n.checked_mul(mult).filter(|v| *v > 0)
}

/// Formats a span for humans: `850ms`, `42s`, `5m`, `1h30m`, `2d`.
pub fn human_span(us: i64) -> String {
    let s = us / MICROS_PER_SEC;
    if us < MICROS_PER_SEC {
        format!("{}ms", us / 1000)
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        if s % 60 == 0 {
            format!("{}m", s / 60)
        } else {
            format!("{}m{}s", s / 60, s % 60)
        }
    } else if s < 86_400 {
        let m = (s % 3600) / 60;
        if m == 0 {
            format!("{}h", s / 3600)
        } else {
            format!("{}h{}m", s / 3600, m)
        }
    } else {
        let h = (s % 86_400) / 3600;
        if h == 0 {
            format!("{}d", s / 86_400)
        } else {
            format!("{}d{}h", s / 86_400, h)
        }
    }
}

/// Parses `--since`/`--until`: RFC 3339 (`2026-03-02T09:00:00Z`), with a space for the `T`,
/// the seconds or the zone left out (no zone is UTC); a date alone (its midnight, UTC); epoch
/// seconds or milliseconds (9–10 or 12–13 digits, as scripts write them); or a span back from
/// `now` (`2h`, `30m`, `2h ago`).
pub fn parse_user_time(s: &str, now: Micros) -> Option<Micros> {
    let s = s.trim();
    if let Some(span) = parse_span(s.strip_suffix("ago").unwrap_or(s)) {
        return now.checked_sub(span);
    }
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' {
        return instant(&format!("{s}T00:00:00Z"));
    }
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        let n: i64 = s.parse().ok()?;
        return match b.len() {
            9 | 10 => n.checked_mul(MICROS_PER_SEC),
            12 | 13 => n.checked_mul(1_000),
            _ => None,
        };
    }
    // Minutes without seconds: `2026-03-02 09:30`, `2026-03-02T09:30+01:00`.
    if b.len() >= 16 && b[13] == b':' && b.get(16) != Some(&b':') && s.is_char_boundary(16) {
        return instant(&format!("{}:00{}", &s[..16], &s[16..]));
    }
    instant(s)
}

/// An RFC 3339 or ISO 8601 instant, UTC where it gives no zone.
fn instant(s: &str) -> Option<Micros> {
    parse_iso8601(s.as_bytes())
        .or_else(|| (s.parse::<jiff::Timestamp>().ok()).map(|t| t.as_microsecond()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_times_take_the_forms_people_type() {
        // 2026-03-02T12:00:00Z.
        let now = 1_772_452_800 * MICROS_PER_SEC;
        let at = |s: &str| parse_user_time(s, now);
        let half_past_nine = Some(now - (2 * 3600 + 1800) * MICROS_PER_SEC);
        for s in [
            "2026-03-02T09:30:00Z",
            "2026-03-02 09:30:00",
            "2026-03-02T09:30",
            "2026-03-02 09:30",
            " 2026-03-02 09:30Z ",
            "2026-03-02T10:30+01:00",
            "2026-03-02T10:30:00+01:00",
            "1772443800",
            "1772443800000",
            "150m",
            "150m ago",
        ] {
            assert_eq!(at(s), half_past_nine, "{s}");
        }
        assert_eq!(at("2026-03-02"), Some(now - 12 * 3600 * MICROS_PER_SEC));
        assert_eq!(
            at("2026-03-02T09:30:00.5Z"),
            half_past_nine.map(|t| t + 500_000)
        );
        for bad in [
            "",
            "2h30m ago",
            "yesterday",
            "09:30",
            "2026-03-02T9:30",
            "12345",
            "2026-13-02",
            "ago",
            "now-1h",
            "2026-03-02T09:30é",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
    proptest::proptest! {
        /// The cache answers what parsing answers, line after line, whether the seconds
        /// change alone (most steps) or with the day, month, year, time, fraction or offset,
        /// valid or not.
        #[test]
        fn seconds_moved_in_the_cache_are_parsed_values(
            steps in proptest::collection::vec((0usize..7, 0usize..14, 0usize..6), 1..60),
        ) {
            let fields: [&[&str]; 6] = [
                &["02", "31", "29", "00", "32", "1x"],
                &["Mar", "Feb", "Dec", "Foo"],
                &["2026", "2024", "1969"],
                &["09:14", "23:59", "00:00", "24:00"],
                &["", ".5", ".123456"],
                &[" +0000", " -0700", " +0530", "", " +9999"],
            ];
            let seconds = ["00", "05", "59", "60", "61", "6x", "x5"];
            let mut at = [0usize; 6];
            let mut cache = TimeCache::default();
            for (s, field, value) in steps {
                if let Some(values) = fields.get(field) {
                    at[field] = value % values.len();
                }
                let f = |k: usize| fields[k][at[k]];
                let text = format!(
                    "{}/{}/{}:{}:{}{}{}",
                    f(0), f(1), f(2), f(3), seconds[s], f(4), f(5)
                );
                proptest::prop_assert_eq!(
                    cache.get_or_seconds(text.as_bytes(), CLF_SECONDS_AT, parse_clf),
                    parse_clf(text.as_bytes()),
                    "{}", text
                );
            }
        }
    }

    proptest::proptest! {
        /// The same for ISO 8601 texts whose fraction changes with the seconds (most steps)
        /// or alone, with fractions of other lengths and separators, other zones, valid or
        /// not.
        #[test]
        fn fractions_moved_in_the_cache_are_parsed_values(
            steps in proptest::collection::vec((0usize..7, 0usize..6, 0usize..8, 0usize..8), 1..60),
        ) {
            // A step changes the seconds and one of these (or, past them, the fraction's
            // last digits).
            let fields: [&[&str]; 3] = [
                &["2026-03-02T09:14:", "2026-03-02 09:14:", "2024-02-29T23:59:", "2026-02-30T00:00:"],
                &["", ".1", ".186641", ".123456789", ".1234567890", ",5", ".", ".12x"],
                &["Z", "", "+01:00", "-0700", "+99:00"],
            ];
            let seconds = ["00", "05", "59", "60", "6x", "x5", "17"];
            let digits = ["0", "1", "5", "9", "00", "99", "123", "900"];
            let mut at = [0usize; 3];
            let mut cache = TimeCache::default();
            for (s, field, value, d) in steps {
                if let Some(values) = fields.get(field) {
                    at[field] = value % values.len();
                }
                // A fraction whose digits change, keeping its length where it can.
                let frac = fields[1][at[1]];
                let frac = if field >= 3 && frac.len() > digits[d].len() {
                    format!("{}{}", &frac[..frac.len() - digits[d].len()], digits[d])
                } else {
                    frac.to_string()
                };
                let text = format!("{}{}{}{}", fields[0][at[0]], seconds[s], frac, fields[2][at[2]]);
                proptest::prop_assert_eq!(
                    cache.get_or_seconds(text.as_bytes(), ISO_SECONDS_AT, parse_iso8601),
                    parse_iso8601(text.as_bytes()),
                    "{}", text
                );
            }
        }
    }

    #[test]
    fn clf_with_offsets() {
        // 10/Oct/2000:13:55:36 -0700 == 20:55:36Z
        assert_eq!(
            rfc3339(parse_clf(b"10/Oct/2000:13:55:36 -0700").unwrap()),
            "2000-10-10T20:55:36Z"
        );
        assert_eq!(
            rfc3339(parse_clf(b"22/Jan/2019:03:56:14 +0330").unwrap()),
            "2019-01-22T00:26:14Z"
        );
        assert_eq!(
            rfc3339(parse_clf(b"01/Jan/2020:02:00:00 +0530").unwrap()),
            "2019-12-31T20:30:00Z"
        );
        assert_eq!(
            rfc3339(parse_clf(b"06/Feb/2009:12:14:14.655").unwrap()),
            "2009-02-06T12:14:14.655Z"
        );
        assert!(parse_clf(b"32/Oct/2000:13:55:36 -0700").is_none());
        assert!(parse_clf(b"31/Feb/2026:09:00:18 +0000").is_none());
        assert!(parse_clf(b"29/Feb/2024:09:00:18 +0000").is_some());
        assert!(parse_clf(b"10/Foo/2000:13:55:36 -0700").is_none());
        assert!(parse_clf(b"10/Oct/2000:13:55:36 X0700").is_none());
    }

    #[test]
    fn iso_and_epoch() {
        assert_eq!(
            rfc3339(parse_iso8601(b"2018-07-02T22:23:00.186641Z").unwrap()),
            "2018-07-02T22:23:00.186641Z"
        );
        assert_eq!(
            rfc3339(parse_iso8601(b"2016-12-07T11:05:07+01:00").unwrap()),
            "2016-12-07T10:05:07Z"
        );
        assert_eq!(
            rfc3339(parse_iso8601(b"2021-12-15T03:10:11.6479719Z").unwrap()),
            "2021-12-15T03:10:11.647971Z"
        );
        assert_eq!(
            rfc3339(parse_epoch(b"1446249499.322", EpochUnit::Seconds).unwrap()),
            "2015-10-30T23:58:19.322Z"
        );
        assert_eq!(
            rfc3339(parse_epoch(b"1591214112712", EpochUnit::Millis).unwrap()),
            "2020-06-03T19:55:12.712Z"
        );
        // What `str::parse` refused is still refused: signs, junk, past i64.
        for bad in [
            &b"+1591214112"[..],
            b"-1",
            b"15912x",
            b"",
            b".5",
            b"9999999999999999999",
        ] {
            assert_eq!(parse_epoch(bad, EpochUnit::Nanos), None, "{bad:?}");
        }
        assert_eq!(
            parse_epoch(b"9223372036854775807", EpochUnit::Nanos),
            Some(9_223_372_036_854_775)
        );
    }

    proptest::proptest! {
        /// Any run of up to 19 digits reads as `str::parse` reads it.
        #[test]
        fn epoch_digits_read_as_str_parse(s in "[0-9]{1,19}") {
            proptest::prop_assert_eq!(
                parse_epoch(s.as_bytes(), EpochUnit::Micros),
                s.parse::<i64>().ok()
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        /// `is_iso8601` accepts exactly what `parse_iso8601` reads: near-timestamps with
        /// every field in and out of range, fractions of every length, every kind of
        /// offset, and any byte changed.
        #[test]
        fn is_iso8601_is_what_parse_iso8601_reads(
            s in "[0-9]{4}-(0[0-9]|1[0-3])-([0-2][0-9]|3[0-2])[T t]([01][0-9]|2[0-5]):([0-5][0-9]|60):([0-5][0-9]|6[0-2])([.,][0-9]{0,11}x?)?(Z|z|[+-]([01][0-9]|2[0-5])(:?([0-5][0-9]|60))?|x)?",
            at in 0usize..40,
            byte in proptest::num::u8::ANY,
            change in proptest::bool::ANY,
        ) {
            let mut b = s.into_bytes();
            if change && at < b.len() {
                b[at] = byte;
            }
            proptest::prop_assert_eq!(is_iso8601(&b), parse_iso8601(&b).is_some());
        }
    }

    #[test]
    fn is_iso8601_of_edges() {
        for (t, ok) in [
            ("2024-02-29T23:59:60.123456789Z", true),
            ("2023-02-29T00:00:00Z", false),
            ("2026-03-02T09:14:05.1234567890Z", false),
            ("2026-03-02T09:14:05.Z", false),
            ("2026-03-02 09:14:05+05:30", true),
            ("2026-13-02T09:14:05", false),
        ] {
            assert_eq!(is_iso8601(t.as_bytes()), ok, "{t}");
            assert_eq!(parse_iso8601(t.as_bytes()).is_some(), ok, "{t}");
        }
    }

    #[test]
    fn spans() {
        assert_eq!(parse_span("30s"), Some(30 * MICROS_PER_SEC));
        assert_eq!(parse_span("5m"), Some(300 * MICROS_PER_SEC));
        assert_eq!(parse_span("0s"), None);
        assert_eq!(parse_span("5x"), None);
        assert_eq!(human_span(90 * MICROS_PER_SEC), "1m30s");
    }

    #[test]
    fn cache_returns_same_value() {
        let mut c = TimeCache::default();
        let a = c.get_or(b"10/Oct/2000:13:55:36 -0700", parse_clf);
        let b = c.get_or(b"10/Oct/2000:13:55:36 -0700", |_| None);
        assert_eq!(a, b);
    }
}
