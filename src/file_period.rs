//! The period of time a log file can hold, told before it is opened: with `--since`/`--until`
//! (or `--last`), a month of S3-delivered logs is read for the hour asked, not decoded whole
//! (a day of one load balancer is 288 `.gz` files a node), and a directory of rotated logs
//! for the last two hours, not its fourteen days of `.gz` files.
//!
//! By the file name, for the delivery schemes that name files by time:
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
//!
//! And by the name with the directories above it, for the cloud exports that date their
//! folders and name the file by hour (a relative path is made absolute, without resolving
//! links, to see them):
//!
//! * **Cloud Logging** routed to Cloud Storage (Google Cloud load balancer logs),
//!   `…/LOG_ID/YYYY/MM/DD/HH:MM:SS_HH:MM:SS_Sn.json`:
//!   `my-bucket/requests/2026/03/02/09:00:00_09:59:59_S0.json`. The entries stamped in that
//!   hour, in shards `S0`, `S1`, … and, for entries that came late, `A0`, `A1`, … (Google
//!   says the file name gives the period of its entries' timestamps, in UTC).
//! * **Azure Monitor** diagnostic logs archived to a storage account (Front Door, Application
//!   Gateway), `…/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`: the events *received* during that
//!   hour. They are stamped when they occurred, at most that hour's end and a few minutes
//!   before its start; the period starts an hour early to be safe.
//!
//! A name is only read when it has its scheme's whole shape (a name that merely holds a date,
//! like logrotate's `access.log-20260302.gz`, says nothing reliable of its lines). A file
//! compressed by gzip after it was delivered (`….json.gz`) keeps its scheme's name.
//!
//! Any other file holds nothing written after it was last modified: a rotated log's
//! modification time is its last line's (gzip, zstd, bzip2, xz and lz4 keep the original's), and a
//! copy's is later. It bounds the file's lines from above only (a rotated log's first line
//! can be of any time before). A time within a day of the epoch is taken as wiped, not as
//! a time (Nix's store sets every file's to 1).
//!
//! A file inside a tar or zip archive is dated the same way (`of_member`): by its path in the
//! archive, or by the modification time the archive keeps for it (a tar's header, a zip's
//! extended timestamp or NTFS times, or else its DOS time, which is local: its period ends a
//! day after it, and `--last` counts back from 14 hours before it).
//!
//! Lines may still lie a little outside their file's period (a request logged when it
//! completes, stamped with its start); the caller allows `seek::LEEWAY` around it, as the
//! search inside a file does.

use crate::record::Micros;
use crate::timestamp::{MICROS_PER_SEC, days_from_civil};
use std::path::Path;
use std::time::UNIX_EPOCH;

const HOUR: Micros = 3600 * MICROS_PER_SEC;
const DAY: Micros = 24 * HOUR;

/// What dated a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dating {
    LoadBalancer,
    CloudFront,
    StartEnd,
    CloudLogging,
    AzureMonitor,
    /// Its last modification: the end of its period, which has no start.
    Modified,
    /// Its last modification in the local time of whoever archived it (a zip's DOS time):
    /// its period ends a day after that time read as UTC, as no zone is a day behind UTC.
    ModifiedLocal,
}

/// A file's last modification as an archive keeps it, in microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastModified {
    Utc(Micros),
    /// In the archiver's local time, read as if it were UTC.
    Local(Micros),
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
            // The time itself may be 14 hours ahead of UTC (Kiribati's zone).
            Dating::ModifiedLocal => self.end - DAY - 14 * HOUR,
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
        modified(Micros::try_from(since_epoch.as_micros()).ok()?)
    })
}

/// The period a file inside an archive can hold: by its path there (the directories above
/// it in the archive are the scheme's folders), or else bounded by `last_modified`, the time
/// the archive keeps as its last modification, if it keeps one.
pub fn of_member(path: &str, last_modified: Option<LastModified>) -> Option<FilePeriod> {
    let path = Path::new(path);
    of_name_in(path, || path.parent().map(Path::to_path_buf)).or_else(|| match last_modified? {
        LastModified::Utc(at) => modified(at),
        LastModified::Local(at) => Some(FilePeriod {
            end: at.checked_add(DAY)?,
            by: Dating::ModifiedLocal,
            ..modified(at)?
        }),
    })
}

/// The period `path`'s name (with the directories above it, for the schemes that date
/// those) says the file holds, if it follows a known scheme.
pub fn of_name(path: &Path) -> Option<FilePeriod> {
    of_name_in(path, || {
        std::path::absolute(path)
            .ok()?
            .parent()
            .map(Path::to_path_buf)
    })
}

/// `of_name`, the directories above the file given by `parent` (asked only for the schemes
/// that date folders).
fn of_name_in(path: &Path, parent: impl Fn() -> Option<std::path::PathBuf>) -> Option<FilePeriod> {
    let name = path.file_name()?.to_str()?;
    load_balancer(name)
        .or_else(|| cloudfront(name))
        .or_else(|| start_end(name))
        .or_else(|| cloud_logging(name, || folders(&parent()?, 3)))
        .or_else(|| azure_monitor(name, || folders(&parent()?, 5)))
}

/// The period of a file last modified at `at` (microseconds since the epoch): it ends then.
fn modified(at: Micros) -> Option<FilePeriod> {
    // A time at the epoch says the time was wiped (Nix's store, some archives).
    if at < 86_400 * MICROS_PER_SEC {
        return None;
    }
    Some(FilePeriod {
        start: Micros::MIN,
        end: at,
        by: Dating::Modified,
    })
}

/// The names of the last `n` directories of `dir`, innermost last (a relative path is made
/// absolute by the caller where it should be; links are not resolved: a link named in the
/// scheme is dated by its name).
fn folders(dir: &Path, n: usize) -> Option<Vec<String>> {
    let mut dirs: Vec<String> = Vec::with_capacity(n);
    for c in dir.components().rev().take(n) {
        match c {
            std::path::Component::Normal(d) => dirs.push(d.to_str()?.to_string()),
            // `..`, `.` or the root among them: not the scheme's folders.
            _ => return None,
        }
    }
    dirs.reverse();
    (dirs.len() == n).then_some(dirs)
}

/// `…/YYYY/MM/DD/HH:MM:SS_HH:MM:SS_Sn.json` (or `_An`): from the first time to the second's
/// end, that day.
fn cloud_logging(name: &str, folders: impl FnOnce() -> Option<Vec<String>>) -> Option<FilePeriod> {
    let stem = without_gz(name).strip_suffix(".json")?;
    let mut parts = stem.split('_');
    let (from, to, shard) = (parts.next()?, parts.next()?, parts.next()?);
    let shard = shard.strip_prefix(['S', 'A'])?;
    if parts.next().is_some() || number(shard.as_bytes()).is_none() {
        return None;
    }
    let clock = |t: &str| {
        let b = t.as_bytes();
        (b.len() == 8 && b[2] == b':' && b[5] == b':').then_some(())?;
        Some((number(&b[0..2])?, number(&b[3..5])?, number(&b[6..8])?))
    };
    let (from, to) = (clock(from)?, clock(to)?);
    let dirs = folders()?;
    let [year, month, day] = [&dirs[0], &dirs[1], &dirs[2]].map(|d| d.as_bytes());
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    let start = civil(year, month, day, from.0, from.1, from.2)?;
    // The second time is the last second of the period (`08:59:59`).
    let end = civil(year, month, day, to.0, to.1, to.2)? + MICROS_PER_SEC;
    (start < end).then_some(FilePeriod {
        start,
        end,
        by: Dating::CloudLogging,
    })
}

/// `…/y=YYYY/m=MM/d=DD/h=HH/m=MM/PT1H.json`: received during that hour, so stamped before
/// its end, and (allowing for a delivery an hour late) after an hour before its start.
fn azure_monitor(name: &str, folders: impl FnOnce() -> Option<Vec<String>>) -> Option<FilePeriod> {
    if without_gz(name) != "PT1H.json" {
        return None;
    }
    let dirs = folders()?;
    let mut values = [0u32; 5];
    for ((dir, key), (value, len)) in dirs
        .iter()
        .zip(["y=", "m=", "d=", "h=", "m="])
        .zip(values.iter_mut().zip([4, 2, 2, 2, 2]))
    {
        let digits = dir.strip_prefix(key)?.as_bytes();
        if digits.len() != len {
            return None;
        }
        *value = number(digits)?;
    }
    let [year, month, day, hour, minute] = values;
    let start = civil(year, month, day, hour, minute, 0)?;
    Some(FilePeriod {
        start: start - HOUR,
        end: start + HOUR,
        by: Dating::AzureMonitor,
    })
}

/// `name` without a `.gz` a user's gzip added to it.
fn without_gz(name: &str) -> &str {
    name.strip_suffix(".gz").unwrap_or(name)
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

    /// Google's example, its late-entries shard, a gzipped copy, and the day's folders found
    /// from a relative path's absolute form.
    #[test]
    fn cloud_logging_names() {
        let hour = expect(
            "2015-01-13T08:00:00Z",
            "2015-01-13T09:00:00Z",
            Dating::CloudLogging,
        );
        for path in [
            "my-gcs-bucket/syslog/2015/01/13/08:00:00_08:59:59_S0.json",
            "/srv/export/requests/2015/01/13/08:00:00_08:59:59_S1.json",
            "requests/2015/01/13/08:00:00_08:59:59_A0.json",
            "requests/2015/01/13/08:00:00_08:59:59_S12.json.gz",
        ] {
            assert_eq!(period(path), hour, "{path}");
        }
        let day = || Some(["2015", "01", "13"].map(String::from).to_vec());
        let named =
            |name: &str| cloud_logging(name, day).map(|p| (rfc3339(p.start), rfc3339(p.end)));
        assert_eq!(
            named("23:00:00_23:59:59_S0.json"),
            Some(("2015-01-13T23:00:00Z".into(), "2015-01-14T00:00:00Z".into()))
        );
        for name in [
            "08:00:00_08:59:59.json",
            "08:00:00_08:59:59_B0.json",
            "08:00:00_08:59:59_S.json",
            "08:00:00_08:59:59_S0.log",
            "08:00:00_08:59:59_S0_x.json",
            "08:00:00_07:59:59_S0.json",
            "08-00-00_08-59-59_S0.json",
            "24:00:00_24:59:59_S0.json",
        ] {
            assert_eq!(named(name), None, "{name}");
        }
        for dirs in [
            ["2015", "13", "13"],
            ["15", "01", "13"],
            ["2015", "1", "13"],
        ] {
            let folders = || Some(dirs.map(String::from).to_vec());
            assert_eq!(
                cloud_logging("08:00:00_08:59:59_S0.json", folders),
                None,
                "{dirs:?}"
            );
        }
    }

    /// Microsoft's layout, with and without the resource path above it; the period starts an
    /// hour before the hour the events were received in.
    #[test]
    fn azure_monitor_names() {
        let hour = expect(
            "2026-03-02T08:00:00Z",
            "2026-03-02T10:00:00Z",
            Dating::AzureMonitor,
        );
        for path in [
            "insights-logs-frontdooraccesslog/resourceId=/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CDN/PROFILES/SHOP/y=2026/m=03/d=02/h=09/m=00/PT1H.json",
            "y=2026/m=03/d=02/h=09/m=00/PT1H.json",
            "archive/y=2026/m=03/d=02/h=09/m=00/PT1H.json.gz",
        ] {
            assert_eq!(period(path), hour, "{path}");
        }
        for path in [
            "y=2026/m=03/d=02/h=09/m=00/PT1M.json",
            "y=2026/m=03/d=02/h=09/PT1H.json",
            "y=2026/m=03/d=02/h=24/m=00/PT1H.json",
            "y=2026/m=3/d=02/h=09/m=00/PT1H.json",
            "y=2026/d=03/m=02/h=09/m=00/PT1H.json",
            "y=2026/m=03/d=02/h=09/../m=00/PT1H.json",
        ] {
            assert_eq!(period(path), None, "{path}");
        }
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

    #[test]
    fn files_in_archives_are_dated_by_their_paths_or_kept_times() {
        let at = 1_772_496_000 * MICROS_PER_SEC; // 2026-03-03T00:00:00Z
        let utc = of_member("logs/access.log.1", Some(LastModified::Utc(at))).unwrap();
        assert_eq!(
            (utc.start, utc.end, utc.by),
            (Micros::MIN, at, Dating::Modified)
        );
        assert_eq!(utc.last_line_from(), at);
        // A local time: UTC may be up to a day later, or 14 hours earlier.
        let local = of_member("access.log", Some(LastModified::Local(at))).unwrap();
        assert_eq!(rfc3339(local.end), "2026-03-04T00:00:00Z");
        assert_eq!(local.by, Dating::ModifiedLocal);
        assert_eq!(rfc3339(local.last_line_from()), "2026-03-02T10:00:00Z");
        // The folders are the archive's own, not made absolute; a `..` among them is none.
        let shard = "requests/2026/03/02/09:00:00_09:59:59_S0.json";
        assert_eq!(of_member(shard, None).unwrap().by, Dating::CloudLogging);
        let outside = "2026/03/../02/09:00:00_09:59:59_S0.json";
        assert_eq!(of_member(outside, None), None);
        assert_eq!(
            of_member("2026/03/02/09:00:00_09:59:59_S0.json", None)
                .unwrap()
                .by,
            Dating::CloudLogging
        );
        assert_eq!(of_member("03/02/09:00:00_09:59:59_S0.json", None), None);
        // Wiped times date nothing.
        assert_eq!(of_member("access.log", Some(LastModified::Utc(0))), None);
        assert_eq!(
            of_member("access.log", Some(LastModified::Local(MICROS_PER_SEC))),
            None
        );
        assert_eq!(of_member("access.log", None), None);
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
