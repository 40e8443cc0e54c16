//! The period of time a log file can hold, told before it is opened: with `--since`/`--until`
//! (or `--last`), a month of S3-delivered logs is read for the hour asked, not decoded whole
//! (a day of one load balancer is 288 `.gz` files a node), and a directory of rotated logs
//! for the last two hours, not its fourteen days of `.gz` files.
//!
//! By the file name alone (the directories above it are not needed), for the delivery
//! schemes that name files by time:
//!
//! * **Elastic Load Balancing** (ALB, NLB, Classic ELB), `ACCOUNT_elasticloadbalancing_REGION_LB_END_IP_RANDOM.log[.gz]`:
//!   `123456789012_elasticloadbalancing_us-east-2_app.my-lb.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz`.
//!   `END` is when the file's interval ended: 5 minutes for an ALB or NLB (`app.`/`net.`
//!   names), 5 or 60 minutes for a Classic ELB, so the hour before `END` for those.
//! * **CloudFront** standard logs, `[PREFIX]DISTRIBUTION.YYYY-MM-DD-HH.UNIQUE.gz`:
//!   `E2EXAMPLE1ABCD.2019-12-04-21.3d8f7d32.gz`. The hour the requests occurred in (entries
//!   delivered up to a day late go to the file of their hour, AWS says).
//! * **A start and an end**, `…START_END…` in UTC basic form, as Cloudflare Logpush names its
//!   files: `20260302T090000Z_20260302T090500Z_a1b2c3d4.log.gz`.
//!
//! A name is only read when it has its scheme's whole shape (a name that merely holds a date,
//! like logrotate's `access.log-20260302.gz`, says nothing reliable of its lines).
//!
//! Any other file holds nothing written after it was last modified: a rotated log's
//! modification time is its last line's (gzip, zstd and bzip2 keep the original's), and a
//! copy's is later. It bounds the file's lines from above only (a rotated log's first line
//! can be of any time before). A time within a day of the epoch is taken as wiped, not as
//! a time (Nix's store sets every file's to 1).
//!
//! Lines may still lie a little outside their file's period (a request logged when it
//! completes, stamped with its start); the caller allows `seek::LEEWAY` around it, as the
//! search inside a file does.

use crate::record::Micros;
use crate::timestamp::{MICROS_PER_SEC, days_from_civil};
use std::path::Path;
use std::time::UNIX_EPOCH;

const HOUR: Micros = 3600 * MICROS_PER_SEC;

/// What dated a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dating {
    LoadBalancer,
    CloudFront,
    StartEnd,
    /// Its last modification: the end of its period, which has no start.
    Modified,
}

/// The time a file can hold: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePeriod {
    pub start: Micros,
    pub end: Micros,
    pub by: Dating,
}

impl FilePeriod {
    /// Whether the file can hold a line of `since..until`, allowing `leeway` around its
    /// period.
    pub fn may_hold(&self, since: Option<Micros>, until: Option<Micros>, leeway: Micros) -> bool {
        since.is_none_or(|s| self.end.saturating_add(leeway) >= s)
            && until.is_none_or(|u| self.start.saturating_sub(leeway) < u)
    }

    /// A time the file's last line is likely at or after (`--last` counts back from the
    /// latest line): its period's start when named (its lines, if any, are in the period),
    /// its end when dated by modification (a log is written until it is rotated).
    pub fn last_line_from(&self) -> Micros {
        match self.by {
            Dating::Modified => self.end,
            _ => self.start,
        }
    }
}

/// The period `path`'s name says the file holds, or else the one its modification time
/// bounds; `None` for what is not a regular file (stdin, a pipe) or cannot be stat'ed.
pub fn of(path: &Path) -> Option<FilePeriod> {
    of_name(path).or_else(|| {
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        let since_epoch = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        // A time at the epoch says the time was wiped (Nix's store, some archives).
        if since_epoch.as_secs() < 86_400 {
            return None;
        }
        Some(FilePeriod {
            start: Micros::MIN,
            end: Micros::try_from(since_epoch.as_micros()).ok()?,
            by: Dating::Modified,
        })
    })
}

/// The period `path`'s file name says the file holds, if it follows a known scheme.
pub fn of_name(path: &Path) -> Option<FilePeriod> {
    let name = path.file_name()?.to_str()?;
    load_balancer(name)
        .or_else(|| cloudfront(name))
        .or_else(|| start_end(name))
}

/// `ACCOUNT_elasticloadbalancing_REGION_LB_END_…`: the interval before `END`.
fn load_balancer(name: &str) -> Option<FilePeriod> {
    let mut parts = name.split('_');
    let account = parts.next()?;
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if parts.next()? != "elasticloadbalancing" {
        return None;
    }
    // Region and load balancer, then the end time (a load balancer's name has no `_`).
    let _region = parts.next()?;
    let balancer = parts.next()?;
    let end = compact(parts.next()?.as_bytes(), false)?;
    let interval = if balancer.starts_with("app.") || balancer.starts_with("net.") {
        5 * 60 * MICROS_PER_SEC
    } else {
        HOUR
    };
    Some(FilePeriod {
        start: end - interval,
        end,
        by: Dating::LoadBalancer,
    })
}

/// `[PREFIX]DISTRIBUTION.YYYY-MM-DD-HH.UNIQUE[.gz]`: that hour.
fn cloudfront(name: &str) -> Option<FilePeriod> {
    let mut parts = name.split('.');
    let distribution = parts.next()?;
    let hour = parts.next()?;
    let unique = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    let alnum = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if !alnum(distribution) || !alnum(unique) || !matches!(rest[..], [] | ["gz"]) {
        return None;
    }
    let b = hour.as_bytes();
    if b.len() != 13 || b[4] != b'-' || b[7] != b'-' || b[10] != b'-' {
        return None;
    }
    let start = civil(
        number(&b[0..4])?,
        number(&b[5..7])?,
        number(&b[8..10])?,
        number(&b[11..13])?,
        0,
        0,
    )?;
    Some(FilePeriod {
        start,
        end: start + HOUR,
        by: Dating::CloudFront,
    })
}

/// `…YYYYMMDDTHHMMSSZ_YYYYMMDDTHHMMSSZ…`: from the first to the second.
fn start_end(name: &str) -> Option<FilePeriod> {
    const STAMP: usize = "20260302T090000Z".len();
    let b = name.as_bytes();
    // The two stamps around a `Z_`, if both are whole.
    let stamps = |z: usize| {
        let start = compact(b.get((z + 1).checked_sub(STAMP)?..=z)?, true)?;
        let end = compact(b.get(z + 2..z + 2 + STAMP)?, true)?;
        Some((start, end))
    };
    let (start, end) = memchr::memmem::find_iter(b, b"Z_").find_map(stamps)?;
    (start <= end).then_some(FilePeriod {
        start,
        end,
        by: Dating::StartEnd,
    })
}

/// `YYYYMMDDTHHMMZ`, or with `seconds` `YYYYMMDDTHHMMSSZ`, in UTC.
fn compact(b: &[u8], seconds: bool) -> Option<Micros> {
    let len = if seconds { 16 } else { 14 };
    if b.len() != len || b[8] != b'T' || b[len - 1] != b'Z' {
        return None;
    }
    let second = if seconds { number(&b[13..15])? } else { 0 };
    civil(
        number(&b[0..4])?,
        number(&b[4..6])?,
        number(&b[6..8])?,
        number(&b[9..11])?,
        number(&b[11..13])?,
        second,
    )
}

fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
}

/// Microseconds since the epoch of a UTC date and time, if each part is in range.
fn civil(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<Micros> {
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(seconds * MICROS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    fn period(name: &str) -> Option<(String, String, Dating)> {
        of_name(Path::new(name)).map(|p| (rfc3339(p.start), rfc3339(p.end), p.by))
    }

    fn expect(start: &str, end: &str, by: Dating) -> Option<(String, String, Dating)> {
        Some((start.to_string(), end.to_string(), by))
    }

    /// The names AWS's documentation gives, with and without the S3 path above them.
    #[test]
    fn load_balancer_names() {
        assert_eq!(
            period(
                "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2014/02/15/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz"
            ),
            expect(
                "2014-02-15T23:35:00Z",
                "2014-02-15T23:40:00Z",
                Dating::LoadBalancer
            )
        );
        // Classic ELB (not compressed; every 5 or 60 minutes) and NLB.
        assert_eq!(
            period(
                "123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_172.160.001.192_20sg8hgm.log"
            ),
            expect(
                "2014-02-15T22:40:00Z",
                "2014-02-15T23:40:00Z",
                Dating::LoadBalancer
            )
        );
        assert_eq!(
            period(
                "123456789012_elasticloadbalancing_us-east-2_net.my-loadbalancer.1234567890abcdef_20200101T0005Z_8d2a6a4f.log.gz"
            ),
            expect(
                "2020-01-01T00:00:00Z",
                "2020-01-01T00:05:00Z",
                Dating::LoadBalancer
            )
        );
    }

    #[test]
    fn cloudfront_names() {
        assert_eq!(
            period("E2EXAMPLE1ABCD.2019-12-04-21.3d8f7d32.gz"),
            expect(
                "2019-12-04T21:00:00Z",
                "2019-12-04T22:00:00Z",
                Dating::CloudFront
            )
        );
        assert_eq!(
            period("myprefixEMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9"),
            expect(
                "2019-11-14T20:00:00Z",
                "2019-11-14T21:00:00Z",
                Dating::CloudFront
            )
        );
    }

    #[test]
    fn start_end_names() {
        assert_eq!(
            period("20260302/20260302T090000Z_20260302T090500Z_a1b2c3d4.log.gz"),
            expect(
                "2026-03-02T09:00:00Z",
                "2026-03-02T09:05:00Z",
                Dating::StartEnd
            )
        );
        assert_eq!(
            period("edge_20260302T235900Z_20260303T000400Z.log"),
            expect(
                "2026-03-02T23:59:00Z",
                "2026-03-03T00:04:00Z",
                Dating::StartEnd
            )
        );
    }

    /// Names that hold a date but not a period, or a scheme's shape but not its values.
    #[test]
    fn names_without_a_period() {
        for name in [
            "access.log",
            "access.log-20260302.gz",
            "access.log.2026-03-02-09",
            "2026-03-02-09.log",
            "E2EXAMPLE1ABCD.2019-12-04-21.3d8f7d32.log.zst",
            "E2EXAMPLE1ABCD.2019-13-04-21.3d8f7d32.gz",
            "E2EXAMPLE1ABCD.2019-12-04-24.3d8f7d32.gz",
            "E2EX-AMPLE.2019-12-04-21.3d8f7d32.gz",
            "ELBAccessLogTestFile",
            "123456789012_elasticloadbalancing_us-east-2_app.lb.1_20140215T2360Z_ip_r.log",
            "12a_elasticloadbalancing_us-east-2_app.lb.1_20140215T2340Z_ip_r.log",
            "123456789012_elasticloadbalancing_us-east-2_app.lb.1_20140215T2340_ip_r.log",
            "20260302T090500Z_20260302T090000Z_backwards.log",
            "20260302T090000Z_2026030T090500Z.log",
            "x20260302T0900Z_20260302T0905Z.log",
        ] {
            assert_eq!(period(name), None, "{name}");
        }
    }

    /// A file is dated by its name before its modification time, which bounds it from above;
    /// what is not a regular file is not dated.
    #[test]
    fn modification_time_bounds_the_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let at = |s: u64| UNIX_EPOCH + std::time::Duration::from_secs(s);
        let write = |name: &str, modified: u64| {
            let path = dir.path().join(name);
            let f = std::fs::File::create(&path).unwrap();
            f.set_modified(at(modified)).unwrap();
            path
        };
        let rotated = of(&write("access.log.2.gz", 1_772_496_000)).unwrap();
        assert_eq!(rotated.by, Dating::Modified);
        assert_eq!(rfc3339(rotated.end), "2026-03-03T00:00:00Z");
        assert_eq!(rotated.last_line_from(), rotated.end);
        assert!(rotated.may_hold(None, Some(0), HOUR));
        assert!(!rotated.may_hold(Some(rotated.end + HOUR + 1), None, HOUR));
        let named = of(&write(
            "E2EXAMPLE1ABCD.2019-12-04-21.3d8f7d32.gz",
            1_772_496_000,
        ));
        let named = named.unwrap();
        assert_eq!(named.by, Dating::CloudFront);
        assert_eq!(named.last_line_from(), named.start);
        assert_eq!(of(dir.path()), None);
        assert_eq!(of(&write("access.log.3.gz", 1)), None);
        assert_eq!(of(&dir.path().join("missing.log")), None);
    }

    /// A file may hold a line of the range when its period, widened by the leeway, meets it;
    /// `until` is exclusive.
    #[test]
    fn may_hold_allows_the_leeway() {
        let p = FilePeriod {
            start: 10 * HOUR,
            end: 11 * HOUR,
            by: Dating::LoadBalancer,
        };
        let l = HOUR / 2;
        assert!(p.may_hold(None, None, l));
        assert!(p.may_hold(Some(11 * HOUR + l), None, l));
        assert!(!p.may_hold(Some(11 * HOUR + l + 1), None, l));
        assert!(p.may_hold(None, Some(10 * HOUR - l + 1), l));
        assert!(!p.may_hold(None, Some(10 * HOUR - l), l));
        assert!(p.may_hold(Some(0), Some(100 * HOUR), 0));
        assert!(!p.may_hold(Some(12 * HOUR), Some(13 * HOUR), 0));
    }
}
