//! Field roles: what a named log field means for a `Request`, and how its value is read.
//! Shared by the key-table JSON formats (nginx JSON, Envoy/Istio JSON, API Gateway JSON),
//! the `--field` map and the `--log-format` compiler.
//!
//! ```text
//! status=response.code,path=req.uri,time=ts,duration_ms=latency.total,client=caller.ip
//! ```
//!
//! Quirks handled:
//! - timestamps are recognised by shape (CLF `02/Mar/2026:09:14:05 +0000`, ISO 8601 with or
//!   without offset, epoch seconds/milliseconds/microseconds/nanoseconds by digit count,
//!   numeric strings included);
//! - durations carry their unit in the role (`duration_ms`, `duration_ns`, ...); `duration`
//!   alone takes a unit suffix (`0.05s`, `12ms`) and otherwise means seconds;
//! - status lists (`502, 200`, `504 : 200`) keep the last status; `0`/`000`/`-` are missing;
//! - addresses lose their port (`[2001:db8::1]:443`, `10.0.0.1:5000`); an address list
//!   keeps its first entry as the remote and the whole list as X-Forwarded-For.

use super::json::Val;
use super::text::{self, optional};
use crate::bytes::find;
use crate::record::{Method, Micros, Request, Skip, Text};
use crate::timestamp::{
    CLF_SECONDS_AT, EpochUnit, ISO_SECONDS_AT, TimeCache, parse_clf, parse_epoch, parse_iso8601,
};

/// Units of a logged duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    S,
    Ms,
    Us,
    Ns,
    /// A unit suffix (`0.05s`) or, without one, seconds.
    Suffix,
}

/// What a JSON key means to a format, as `json::Shape` keeps it per member: a role the
/// fields share, or a meaning of the format's own, numbered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMeaning {
    Role(Role),
    Own(u8),
}

/// What a field means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The logged time marking the end of the request (log write time).
    TimeEnd,
    /// The logged time marking the start of the request.
    TimeStart,
    Remote,
    /// A full request line `METHOD target PROTO`.
    RequestLine,
    Method,
    Target,
    /// A target template (API Gateway `resourcePath`) or `METHOD /path` route key: used only
    /// when no real path is logged.
    Route,
    Status,
    UpstreamStatus,
    Duration(Unit),
    Xff,
    RequestId,
    Host,
    UserAgent,
    User,
    ApiKey,
    Consumer,
    Bytes,
}

impl Role {
    /// The role for a `--field` name (`status=...`).
    pub fn from_name(name: &str) -> Option<Role> {
        Some(match name {
            "time" | "time_end" | "timestamp" => Role::TimeEnd,
            "time_start" | "start_time" => Role::TimeStart,
            "remote" | "client" | "ip" | "client_ip" | "remote_addr" => Role::Remote,
            "request" | "request_line" => Role::RequestLine,
            "method" => Role::Method,
            "path" | "target" | "uri" | "url" => Role::Target,
            "route" => Role::Route,
            "status" => Role::Status,
            "upstream_status" => Role::UpstreamStatus,
            "duration" => Role::Duration(Unit::Suffix),
            "duration_s" => Role::Duration(Unit::S),
            "duration_ms" => Role::Duration(Unit::Ms),
            "duration_us" => Role::Duration(Unit::Us),
            "duration_ns" => Role::Duration(Unit::Ns),
            "xff" | "x_forwarded_for" => Role::Xff,
            "request_id" | "id" => Role::RequestId,
            "host" => Role::Host,
            "user_agent" | "agent" => Role::UserAgent,
            "user" => Role::User,
            "api_key" | "key" => Role::ApiKey,
            "consumer" => Role::Consumer,
            "bytes" | "bytes_sent" | "size" => Role::Bytes,
            _ => return None,
        })
    }

    /// Names accepted by `from_name`, for error messages.
    pub const NAMES: &'static str = "time, time_start, remote, request, method, path, route, status, upstream_status, duration, duration_s, duration_ms, duration_us, duration_ns, xff, request_id, host, user_agent, user, api_key, consumer, bytes";
}

/// The request time from a JSON format's timestamp value, through the chunk's time cache.
pub fn cached_time(cx: &mut super::LineContext<'_>, ts: Option<&[u8]>) -> Result<Micros, Skip> {
    cached(&mut cx.time_cache, ts.ok_or(Skip::BAD_TIME)?).ok_or(Skip::BAD_TIME)
}

/// `any_time` through the time cache. ISO 8601 and CLF times as written (nothing before
/// them), which `any_time` parses as such, are cached by second: milliseconds make most
/// lines' texts new, and a line a second changes its seconds.
fn cached(cache: &mut TimeCache, ts: &[u8]) -> Option<Micros> {
    if ts.len() > 19 && ts[4] == b'-' && ts[16] == b':' {
        cache.get_or_seconds(ts, ISO_SECONDS_AT, any_time)
    } else if ts.len() >= 20 && ts[2] == b'/' && ts[17] == b':' {
        cache.get_or_seconds(ts, CLF_SECONDS_AT, any_time)
    } else {
        cache.get_or(ts, any_time)
    }
}

/// Parses a timestamp of any common shape; see the module doc.
pub fn any_time(b: &[u8]) -> Option<Micros> {
    let b = text::trim(b);
    let b = b
        .strip_prefix(b"[")
        .and_then(|x| x.strip_suffix(b"]"))
        .unwrap_or(b);
    if b.len() > 4 && b[2] == b'/' {
        return parse_clf(b);
    }
    if b.len() > 10 && b[4] == b'-' {
        return parse_iso8601(b);
    }
    let int = find(b, b'.').unwrap_or(b.len());
    let unit = match int {
        0 => return None,
        1..=11 => EpochUnit::Seconds,
        12..=14 => EpochUnit::Millis,
        15..=17 => EpochUnit::Micros,
        _ => EpochUnit::Nanos,
    };
    parse_epoch(b, unit)
}

/// Reads a duration of the given unit.
pub fn duration(b: &[u8], unit: Unit) -> Option<u64> {
    let b = text::trim(b);
    if b.is_empty() || b == b"-" || b.starts_with(b"-") {
        return None;
    }
    // A list (`0.100, 0.004`): nginx upstream times; the total is what matters, take the sum.
    if find(b, b',').is_some() {
        let mut sum = 0u64;
        for part in b.split(|&c| c == b',' || c == b':') {
            sum += duration(part, unit).unwrap_or(0);
        }
        return Some(sum);
    }
    match unit {
        Unit::S => text::seconds_to_micros(b),
        Unit::Ms => text::millis_to_micros(b),
        Unit::Us => text::uint(&b[..find(b, b'.').unwrap_or(b.len())]),
        Unit::Ns => text::nanos_to_micros(b),
        Unit::Suffix => text::unit_duration(b).or_else(|| text::seconds_to_micros(b)),
    }
}

/// An upstream status field: the last status of a list, or 0 when the field says no upstream
/// answered (`-`, empty, `0`; see `Request::upstream_status`).
pub fn upstream_status(b: &[u8]) -> Option<u16> {
    match b {
        b"" | b"-" | b"0" => Some(0),
        _ => last_status(b),
    }
}

/// The last status of a list (`502, 200`, `504 : 200`), or the status itself.
#[inline]
pub fn last_status(b: &[u8]) -> Option<u16> {
    if b.len() == 3 {
        // No list fits in three bytes: a separator would leave a piece too short anyway.
        return text::status(b);
    }
    let last = b
        .rsplit(|&c| c == b' ' || c == b',' || c == b':')
        .find(|s| !s.is_empty())
        .unwrap_or(b"");
    text::status(last)
}

/// Sets the remote address (and X-Forwarded-For for lists) from an address field.
pub fn set_remote<'a>(v: Text<'a>, out: &mut Request<'a>) {
    let t: &str = &v;
    // One pass for the usual short address: a comma makes it a list, and exactly one colon
    // (outside brackets) a port, as `text::strip_port` reads it.
    let (mut comma, mut colons, mut colon) = (false, 0, 0);
    for (i, c) in t.bytes().enumerate() {
        if c == b',' {
            comma = true;
            break;
        }
        if c == b':' {
            colons += 1;
            colon = i;
        }
    }
    if !comma && !t.starts_with('[') {
        let end = if colons == 1 { colon } else { t.len() };
        out.remote = sub(&v, |s| &s[..end]);
        return;
    }
    if comma {
        let first = t.split(',').next().unwrap_or("").trim();
        let first = std::str::from_utf8(text::strip_port(first.as_bytes()))
            .unwrap_or(first)
            .to_string();
        if out.xff.is_none() {
            out.xff = Some(v.clone());
        }
        out.remote = Text::Owned(first);
        return;
    }
    out.remote = match v {
        Text::Borrowed(s) => {
            let p = text::strip_port(s.as_bytes());
            let start = p.as_ptr() as usize - s.as_ptr() as usize;
            Text::Borrowed(s.get(start..start + p.len()).unwrap_or(s))
        }
        Text::Owned(s) => {
            Text::Owned(String::from_utf8_lossy(text::strip_port(s.as_bytes())).into_owned())
        }
    };
}

/// Borrowed sub-slice of a text when it is borrowed.
fn sub<'a>(t: &Text<'a>, f: impl Fn(&str) -> &str) -> Text<'a> {
    match t {
        Text::Borrowed(s) => Text::Borrowed(f(s)),
        Text::Owned(s) => Text::Owned(f(s).to_string()),
    }
}

/// Applies one field: `raw` is the value's raw bytes (for numbers, times and statuses),
/// `value` its text (unescaped), `None` when missing.
pub fn apply<'a>(
    role: Role,
    raw: &'a [u8],
    value: Option<Text<'a>>,
    cx: &mut TimeCache,
    out: &mut Request<'a>,
    seen: &mut Seen,
) -> Result<(), Skip> {
    let Some(v) = value else {
        // An upstream status logged as missing (`-`, empty) says no upstream answered.
        if role == Role::UpstreamStatus {
            out.upstream_status = Some(0);
        }
        return Ok(());
    };
    match role {
        Role::TimeEnd
        | Role::TimeStart
        | Role::Status
        | Role::UpstreamStatus
        | Role::Duration(_)
        | Role::Bytes => apply_raw(role, raw, cx, out, seen)?,
        Role::Remote => set_remote(v, out),
        Role::RequestLine => {
            let (m, t) = text::request_line(v.as_bytes());
            out.method = m;
            if t.is_empty() {
                out.target = Text::Borrowed("");
            } else {
                let (start, len) = (t.as_ptr() as usize - v.as_ptr() as usize, t.len());
                out.target = sub(&v, |s| s.get(start..start + len).unwrap_or(""));
            }
            seen.target = true;
        }
        Role::Method => out.method = Method::parse(v.as_bytes()),
        Role::Target => {
            out.target = v;
            seen.target = true;
        }
        Role::Route => {
            if !seen.target {
                // `GET /pets/{id}` route keys carry the method too.
                let t = match v.split_once(' ') {
                    Some((m, p)) if p.starts_with('/') => {
                        if out.method == Method::Other {
                            out.method = Method::parse(m.as_bytes());
                        }
                        let off = m.len() + 1;
                        sub(&v, |s| &s[off..])
                    }
                    _ => v,
                };
                out.target = t;
            }
        }
        Role::Xff => out.xff = Some(v),
        Role::RequestId => out.request_id = Some(v),
        Role::Host => out.host = Some(v),
        Role::UserAgent => out.user_agent = Some(v),
        Role::User => out.user = Some(v),
        Role::ApiKey => out.api_key = Some(v),
        Role::Consumer => out.consumer = Some(v),
    }
    Ok(())
}

/// The roles read from the raw value alone (times, statuses, numbers).
#[inline(always)]
fn apply_raw(
    role: Role,
    raw: &[u8],
    cx: &mut TimeCache,
    out: &mut Request<'_>,
    seen: &mut Seen,
) -> Result<(), Skip> {
    match role {
        // The first time field wins (formats often log several).
        Role::TimeEnd | Role::TimeStart if !seen.time => {
            out.time = cached(cx, raw).ok_or(Skip::BAD_TIME)?;
            out.anchor = if role == Role::TimeStart {
                crate::record::TimeAnchor::Start
            } else {
                crate::record::TimeAnchor::End
            };
            seen.time = true;
        }
        Role::Status => {
            out.status = last_status(raw).ok_or(Skip::BAD_STATUS)?;
            seen.status = true;
        }
        Role::UpstreamStatus => out.upstream_status = upstream_status(raw),
        Role::Duration(u) if out.duration_us.is_none() => out.duration_us = duration(raw, u),
        Role::Bytes => out.bytes_sent = text::uint(&raw[..find(raw, b'.').unwrap_or(raw.len())]),
        _ => {}
    }
    Ok(())
}

/// `apply` for a JSON value: text is made (unescaped, validated) only for the roles that
/// keep text, so times, statuses, numbers and the method are read from the raw bytes.
#[inline]
pub fn apply_json<'a>(
    role: Role,
    v: Val<'a>,
    cx: &mut TimeCache,
    out: &mut Request<'a>,
    seen: &mut Seen,
) -> Result<(), Skip> {
    if !v.present() {
        // An upstream status logged as missing (`-`, empty, null) says no upstream answered.
        if role == Role::UpstreamStatus {
            out.upstream_status = Some(0);
        }
        return Ok(());
    }
    let raw = v.raw();
    match role {
        Role::TimeEnd
        | Role::TimeStart
        | Role::Status
        | Role::UpstreamStatus
        | Role::Duration(_)
        | Role::Bytes => apply_raw(role, raw, cx, out, seen),
        Role::Method if text::plain_ascii_str(raw).is_some() => {
            out.method = Method::parse(raw);
            Ok(())
        }
        _ => apply(role, raw, v.text(), cx, out, seen),
    }
}

/// `apply` for a field of a text line as logged (`-` or nothing is missing): text is made
/// (unescaped, validated) only for the roles that keep text; times, statuses and numbers
/// are read from the bytes.
#[inline]
pub fn apply_logged<'a>(
    role: Role,
    v: &'a [u8],
    cx: &mut TimeCache,
    out: &mut Request<'a>,
    seen: &mut Seen,
) -> Result<(), Skip> {
    match (role, text::logged(v)) {
        (
            Role::TimeEnd
            | Role::TimeStart
            | Role::Status
            | Role::UpstreamStatus
            | Role::Duration(_)
            | Role::Bytes,
            Some(raw),
        ) => apply_raw(role, raw, cx, out, seen),
        (_, logged) => apply(role, v, logged.map(text::unescape), cx, out, seen),
    }
}

/// Reads the members of the JSON object `line` whose meaning `wanted` accepts, in order,
/// through the layout of the lines before it (`json::read_members` with `cx`'s shape: the
/// lines one template writes share it), handing each to `each` with the chunk's time cache.
/// A line that is not an object is malformed.
#[inline]
pub fn read_members<'a>(
    line: &'a [u8],
    cx: &mut super::LineContext<'a>,
    meaning: impl Fn(&[u8]) -> Option<KeyMeaning>,
    wanted: impl Fn(KeyMeaning) -> bool,
    mut each: impl FnMut(KeyMeaning, Val<'a>, &mut TimeCache) -> Result<(), Skip>,
) -> Result<(), Skip> {
    let time_cache = &mut cx.time_cache;
    super::json::read_members(
        &mut cx.json_shape,
        line,
        |k| meaning(k).filter(|&m| wanted(m)),
        |m, v| each(m, v, time_cache),
    )
    .ok_or(Skip::MALFORMED)?
}

/// Is the role needed by a lite parse (`LineContext::lite`: time, method, target, status,
/// remote address, vhost)? The others never make a line fail, so skipping them changes no
/// accounting.
#[inline]
pub fn needed_in_lite(role: Role) -> bool {
    matches!(
        role,
        Role::TimeEnd
            | Role::TimeStart
            | Role::Remote
            | Role::RequestLine
            | Role::Method
            | Role::Target
            | Role::Route
            | Role::Status
            | Role::Host
    )
}

/// Which essential fields a line had.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    pub time: bool,
    pub status: bool,
    pub target: bool,
}

impl Seen {
    /// A request needs a time and a status.
    pub fn check(&self) -> Result<(), Skip> {
        if !self.status {
            return Err(Skip::BAD_STATUS);
        }
        if !self.time {
            return Err(Skip::BAD_TIME);
        }
        Ok(())
    }
}

/// `optional()` re-exported for formats using roles on text fields.
pub fn opt(b: &[u8]) -> Option<Text<'_>> {
    optional(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    proptest::proptest! {
        /// Times read through the cache, line after line, are the times `any_time` reads:
        /// ISO 8601 and CLF (with fractions of any length, zones, trailing spaces), epochs and
        /// bracketed times, seconds and fractions changing alone or with the rest.
        #[test]
        fn cached_times_are_parsed_times(
            steps in proptest::collection::vec((0usize..10, 0usize..6, 0usize..7), 1..80),
        ) {
            let heads = [
                "2026-03-02T09:14:", "2026-03-02 09:59:", "02/Mar/2026:09:14:", "02/Mar/2026:23:59:",
                "1772442", "[02/Mar/2026:09:14:", "2026-02-30T09:14:", "02/Foo/2026:09:14:",
                "2026-03-02T09:14:", "02/Mar/2026:09:14:",
            ];
            let seconds = ["05", "00", "59", "60", "x1", "17"];
            let tails = ["", ".123Z", ".5 +0100", " -0700", ".123456789+01:00", ".12", "]"];
            let mut cache = TimeCache::default();
            for (h, sec, t) in steps {
                let text = format!("{}{}{}", heads[h], seconds[sec], tails[t]);
                proptest::prop_assert_eq!(
                    cached(&mut cache, text.as_bytes()),
                    any_time(text.as_bytes()),
                    "{}", text
                );
            }
        }
    }

    #[test]
    fn times_by_shape() {
        let t = |s: &str| rfc3339(any_time(s.as_bytes()).unwrap());
        assert_eq!(t("02/Mar/2026:09:14:05 +0100"), "2026-03-02T08:14:05Z");
        assert_eq!(t("[02/Mar/2026:09:14:05 +0000]"), "2026-03-02T09:14:05Z");
        assert_eq!(
            t("2026-03-02T09:14:05.250+00:00"),
            "2026-03-02T09:14:05.25Z"
        );
        assert_eq!(t("1772442845.250"), "2026-03-02T09:14:05.25Z");
        assert_eq!(t("1772442845250"), "2026-03-02T09:14:05.25Z");
        assert_eq!(t("1772442845250000000"), "2026-03-02T09:14:05.25Z");
        assert!(any_time(b"yesterday").is_none());
    }

    #[test]
    fn durations_and_statuses() {
        assert_eq!(duration(b"0.042", Unit::S), Some(42_000));
        assert_eq!(duration(b"0.100, 0.004", Unit::S), Some(104_000));
        assert_eq!(duration(b"-1", Unit::Ms), None);
        assert_eq!(duration(b"0.05s", Unit::Suffix), Some(50_000));
        assert_eq!(duration(b"2155389", Unit::Ns), Some(2155));
        assert_eq!(last_status(b"504 : 409"), Some(409));
        assert_eq!(last_status(b"-"), None);
        assert_eq!(last_status(b"000"), None);
    }

    #[test]
    fn remote_lists() {
        let mut r = Request::default();
        set_remote(Text::Borrowed("203.0.113.9, 10.0.0.1"), &mut r);
        assert_eq!(r.remote, "203.0.113.9");
        assert_eq!(r.xff.as_deref(), Some("203.0.113.9, 10.0.0.1"));
        set_remote(Text::Borrowed("[2001:db8::1]:443"), &mut r);
        assert_eq!(r.remote, "2001:db8::1");
    }

    #[test]
    fn a_single_address_loses_its_port_as_strip_port_says() {
        for a in [
            "10.0.0.1",
            "10.0.0.1:5000",
            "2001:db8::1",
            "::1",
            "[::1]:56348",
            "[2001:db8::1]",
            "host.example:8080",
            "unix:",
            ":",
            "",
            "caf\u{e9}:1",
        ] {
            for owned in [false, true] {
                let mut r = Request::default();
                let v = if owned {
                    Text::Owned(a.to_string())
                } else {
                    Text::Borrowed(a)
                };
                set_remote(v, &mut r);
                let want = std::str::from_utf8(text::strip_port(a.as_bytes())).unwrap();
                assert_eq!(r.remote, want, "{a}");
                assert!(r.xff.is_none());
            }
        }
    }
}
