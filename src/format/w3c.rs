//! W3C extended log files driven by their `#Fields:` directive: IIS and other writers
//! (`w3c`), and CloudFront standard logs (`cloudfront`, tab-separated).
//!
//! ```text
//! #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken
//! 2015-01-13 00:32:17 100.79.192.81 GET /robots.txt - 80 - 157.55.39.146 Mozilla/5.0+(compatible;+bingbot/2.0;++http://www.bing.com/bingbot.htm) - 404 0 2 1405 242 283
//! 2019-12-04 ⇥ 21:02:31 ⇥ LAX1 ⇥ 392 ⇥ 2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6 ⇥ GET ⇥ d111111abcdef8.cloudfront.net ⇥ /index.html ⇥ 200 ⇥ - ⇥ Mozilla/5.0%20(Windows%20NT%2010.0) ⇥ - ⇥ - ⇥ Hit ⇥ k6WGMNkEzR5BEM_SaF47gjtX9zBDO2m349OY2an0QPEaUum1ZOLrow== ⇥ d111111abcdef8.cloudfront.net ⇥ https ⇥ 23 ⇥ 0.000 ⇥ - ⇥ TLSv1.2 ⇥ ECDHE-RSA-AES128-GCM-SHA256 ⇥ Hit ⇥ HTTP/2.0 ⇥ - ⇥ - ⇥ 11040 ⇥ 0.000 ⇥ Hit ⇥ text/html ⇥ 78 ⇥ - ⇥ -
//! (CloudFront: ⇥ stands for the TAB separator)
//! ```
//!
//! Quirks handled:
//! - the column mapping comes from the last `#Fields:` line before the data line (the
//!   pipeline passes it in `LineContext::directive`, so only `#Fields:` counts as a
//!   directive); IIS writes a new header block at every restart, possibly with other
//!   fields; `#Version`, `#Date` and other `#` lines are skipped as comments;
//! - without a header, CloudFront lines use the standard field order and IIS-like lines are
//!   read by shape (method, then stem, query, port, user, client; status followed by
//!   substatus, win32 status and the ms time);
//! - `date` `time` are UTC; `date-local` `time-local` (IIS Advanced Logging) are local
//!   time (`--tz`);
//! - `time-taken` is ms for IIS (recognised by `sc-substatus`/`sc-win32-status`/
//!   `s-sitename` columns, or a `TimeTakenMS` column) and seconds per the W3C spec and for
//!   CloudFront;
//! - separators: TAB (CloudFront), single spaces (IIS), runs of spaces (Oracle); quoted
//!   values with `""` doubling (IIS Advanced Logging, Incapsula);
//! - `-` is missing everywhere; CloudFront `sc-status` `000` (viewer gone) is status 0;
//!   IIS writes spaces in headers as `+`; CloudFront URL-encodes them (sometimes twice);
//! - `c-ip` may be IPv6 with a zone id (`::1%0`), kept as logged; `x-forwarded-for` /
//!   `X-Forwarded-For` / `OriginalIP` custom fields give the XFF chain;
//! - request headers logged as `cs(Name)` answer `--client header:name`.

use super::text::{self, logged, optional};
use super::{Format, LineContext};
use crate::bytes::find;
use crate::record::{Method, Request, Skip, Text, TimeAnchor};
use crate::timestamp::{MICROS_PER_SEC, days_from_civil};
use std::borrow::Cow;

/// The CloudFront standard log field order (33 fields).
const CLOUDFRONT_FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

const MAX_COLS: usize = 96;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Date,
    Time,
    DateLocal,
    TimeLocal,
    ClientIp,
    User,
    Method,
    UriStem,
    UriQuery,
    Uri,
    Status,
    TimeTakenS,
    TimeTakenMs,
    UserAgent,
    Host,
    XHost,
    Xff,
    RequestId,
    Bytes,
    Other,
}

/// The parsed `#Fields:` mapping, cached per directive line.
#[derive(Debug, Default, Clone)]
pub struct Columns {
    /// Address of the directive the mapping was built from (identity, never dereferenced).
    key: usize,
    cols: Vec<Col>,
}

impl Columns {
    /// Follows the `#Fields:` line in force: the mapping is built again only when another
    /// directive comes into force; CloudFront's standard fields serve a file without one.
    fn follow(&mut self, directive: Option<&[u8]>, cloudfront: bool) {
        if let Some(d) = directive.filter(|d| d.starts_with(b"#Fields:")) {
            let key = d.as_ptr() as usize;
            if self.key != key || self.cols.is_empty() {
                *self = Columns {
                    key,
                    cols: build_columns(&d[8..]),
                };
            }
        } else if self.cols.is_empty() && cloudfront {
            *self = Columns {
                key: 0,
                cols: build_columns(CLOUDFRONT_FIELDS.as_bytes()),
            };
        }
    }
}

fn column(name: &[u8], iis: bool) -> Col {
    match name.to_ascii_lowercase().as_slice() {
        b"date" => Col::Date,
        b"time" => Col::Time,
        b"date-local" => Col::DateLocal,
        b"time-local" => Col::TimeLocal,
        b"c-ip" => Col::ClientIp,
        b"cs-username" | b"c-auth-id" => Col::User,
        b"cs-method" => Col::Method,
        b"cs-uri-stem" => Col::UriStem,
        b"cs-uri-query" => Col::UriQuery,
        b"cs-uri" => Col::Uri,
        b"sc-status" => Col::Status,
        b"time-taken" if iis => Col::TimeTakenMs,
        b"time-taken" => Col::TimeTakenS,
        b"timetakenms" => Col::TimeTakenMs,
        b"cs(user-agent)" => Col::UserAgent,
        b"cs(host)" | b"cs-host" => Col::Host,
        b"x-host-header" => Col::XHost,
        b"x-forwarded-for" | b"cs(x-forwarded-for)" | b"originalip" | b"s-xff" => Col::Xff,
        b"x-edge-request-id" | b"cs(x-request-id)" => Col::RequestId,
        b"sc-bytes" => Col::Bytes,
        _ => Col::Other,
    }
}

fn build_columns(fields: &[u8]) -> Vec<Col> {
    let names: Vec<&[u8]> = fields
        .split(|&c| c == b' ' || c == b'\t')
        .filter(|s| !s.is_empty())
        .collect();
    let iis = names.iter().any(|n| {
        let n = n.to_ascii_lowercase();
        n == b"sc-substatus" || n == b"sc-win32-status" || n == b"s-sitename"
    });
    names.iter().map(|n| column(n, iis)).collect()
}

/// Splits a data line into columns: on TAB when the line has one, else on runs of spaces
/// with `"..."` values (inner `""` kept raw; see `unquote`).
fn split<'a>(line: &'a [u8], out: &mut [&'a [u8]; MAX_COLS]) -> usize {
    let mut n = 0;
    if memchr::memchr(b'\t', line).is_some() {
        let mut start = 0;
        for tab in crate::bytes::places(line, b'\t') {
            if n == MAX_COLS {
                return n;
            }
            out[n] = &line[start..tab];
            n += 1;
            start = tab + 1;
        }
        if n < MAX_COLS {
            out[n] = &line[start..];
            n += 1;
        }
        return n;
    }
    if memchr::memchr(b'"', line).is_none() {
        // No quoted value (IIS): the fields between spaces, runs of spaces as one.
        let mut start = 0;
        for space in crate::bytes::places(line, b' ') {
            if space > start {
                if n == MAX_COLS {
                    return n;
                }
                out[n] = &line[start..space];
                n += 1;
            }
            start = space + 1;
        }
        if start < line.len() && n < MAX_COLS {
            out[n] = &line[start..];
            n += 1;
        }
        return n;
    }
    let mut i = 0;
    while i < line.len() && n < MAX_COLS {
        while i < line.len() && line[i] == b' ' {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        if line[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            loop {
                match find(&line[j..], b'"') {
                    Some(p) if line.get(j + p + 1) == Some(&b'"') => j += p + 2,
                    Some(p) => {
                        j += p;
                        break;
                    }
                    None => {
                        j = line.len();
                        break;
                    }
                }
            }
            out[n] = &line[start..j];
            i = j + 1;
        } else {
            let e = find(&line[i..], b' ').map_or(line.len(), |p| i + p);
            out[n] = &line[i..e];
            i = e;
        }
        n += 1;
    }
    n
}

/// Undoes `""` doubling inside a quoted value.
fn unquote(b: &[u8]) -> Text<'_> {
    // Most values hold no quote at all: one byte search, not a substring search.
    if memchr::memchr(b'"', b).is_none() || memchr::memmem::find(b, b"\"\"").is_none() {
        return text::text(b);
    }
    Cow::Owned(String::from_utf8_lossy(b).replace("\"\"", "\""))
}

/// Decodes `%XX` (repeatedly, for CloudFront's double encoding) and IIS's `+` for space.
fn decode_header(b: &[u8]) -> Text<'_> {
    if !b.iter().any(|&c| c == b'%' || c == b'+') {
        return unquote(b);
    }
    let mut cur: Vec<u8> = b
        .iter()
        .map(|&c| if c == b'+' { b' ' } else { c })
        .collect();
    for _ in 0..2 {
        if !cur.contains(&b'%') {
            break;
        }
        let mut out = Vec::with_capacity(cur.len());
        let mut i = 0;
        while i < cur.len() {
            if cur[i] == b'%'
                && i + 2 < cur.len()
                && let (Some(h), Some(l)) = (
                    (cur[i + 1] as char).to_digit(16),
                    (cur[i + 2] as char).to_digit(16),
                )
            {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            out.push(cur[i]);
            i += 1;
        }
        cur = out;
    }
    Cow::Owned(String::from_utf8_lossy(&cur).into_owned())
}

fn num2(b: &[u8]) -> Option<u32> {
    let v = text::uint(b)?;
    u32::try_from(v).ok()
}

/// `YYYY-MM-DD` to days since the epoch.
fn date_days(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (
        text::uint(&b[..4])? as i64,
        num2(&b[5..7])?,
        num2(&b[8..10])?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `HH:MM[:SS[.fff]]` to microseconds since midnight.
fn time_of_day(b: &[u8]) -> Option<i64> {
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let h = num2(&b[..2])? as i64;
    let mi = num2(&b[3..5])? as i64;
    let mut us = (h * 3600 + mi * 60) * MICROS_PER_SEC;
    if b.len() >= 8 && b[5] == b':' {
        us += num2(&b[6..8])? as i64 * MICROS_PER_SEC;
        if b.len() > 9 && b[8] == b'.' {
            let frac = &b[9..];
            let mut f = 0i64;
            for k in 0..6 {
                let d = frac
                    .get(k)
                    .map_or(Some(0), |c| c.is_ascii_digit().then(|| (c - b'0') as i64))?;
                f = f * 10 + d;
            }
            us += f;
        }
    }
    (h < 24 && mi < 60).then_some(us)
}

fn is_method(b: &[u8]) -> bool {
    Method::parse(b) != Method::Other
        || (b.len() >= 3
            && b.len() <= 12
            && b.iter().all(u8::is_ascii_uppercase)
            && matches!(
                b,
                b"PROPFIND" | b"MKCOL" | b"COPY" | b"MOVE" | b"TRACE" | b"CONNECT"
            ))
}

/// The field-driven W3C parser; `cloudfront` picks the detection rules and the default
/// field list.
pub struct W3c {
    cloudfront: bool,
}

impl W3c {
    pub fn generic() -> W3c {
        W3c { cloudfront: false }
    }
    pub fn cloudfront() -> W3c {
        W3c { cloudfront: true }
    }
}

/// Reads a line by shape when there is no usable `#Fields:` (IIS default-like layouts).
fn parse_by_shape<'a>(cols: &[&'a [u8]], out: &mut Request<'a>, time: i64) -> Result<(), Skip> {
    let m = cols
        .iter()
        .position(|c| is_method(c))
        .ok_or(Skip::MALFORMED)?;
    out.time = time;
    out.method = Method::parse(cols[m]);
    out.target = text::text(cols.get(m + 1).copied().unwrap_or(b""));
    // status substatus win32 [bytes..] time-taken: the first 3-digit status after the
    // method followed by two integers.
    let mut st = None;
    for i in m + 2..cols.len().saturating_sub(2) {
        if text::status(cols[i]).is_some()
            && text::uint(cols[i + 1]).is_some()
            && text::uint(cols[i + 2]).is_some()
        {
            st = Some(i);
            break;
        }
    }
    let st = st.ok_or(Skip::BAD_STATUS)?;
    out.status = text::status(cols[st]).ok_or(Skip::BAD_STATUS)?;
    if let Some(c) = cols
        .get(m + 5)
        .filter(|c| text::looks_like_ip(c) || c.contains(&b'%'))
    {
        out.remote = text::text(c);
    }
    out.user = cols.get(m + 4).and_then(|u| optional(u));
    if let Some(t) = cols.get(st + 3) {
        // With sc-bytes/cs-bytes logged, time-taken is the last of the integers.
        let last = cols[st + 3..]
            .iter()
            .rposition(|c| text::uint(c).is_some())
            .map_or(*t, |p| cols[st + 3 + p]);
        out.duration_us = text::millis_to_micros(last);
    }
    Ok(())
}

/// Reads a line through its `#Fields:` mapping: each column into the request, or into the
/// `Parts` put together once every column is read.
fn parse_by_header<'a>(
    line: &'a [u8],
    cols: &[&'a [u8]],
    mapping: &[Col],
    cx: &LineContext<'a>,
    out: &mut Request<'a>,
) -> Result<(), Skip> {
    let mut p = Parts::default();
    let lite = cx.lite;
    // Only a line with a quote can hold a doubled one.
    let quoted = memchr::memchr(b'"', line).is_some();
    let unquote = |v: &'a [u8]| if quoted { unquote(v) } else { text::text(v) };
    for (c, v) in mapping.iter().zip(cols.iter()) {
        let v: &'a [u8] = v;
        match c {
            // What only events and other client keys read (`LineContext::lite`): the
            // agent is URL-decoded, twice for CloudFront.
            Col::User
            | Col::UserAgent
            | Col::Xff
            | Col::RequestId
            | Col::Bytes
            | Col::TimeTakenS
            | Col::TimeTakenMs
                if lite => {}
            Col::Date => p.day = date_days(v),
            Col::Time => p.tod = time_of_day(v),
            Col::DateLocal => {
                p.day = date_days(v);
                p.local = true;
            }
            Col::TimeLocal => {
                p.tod = time_of_day(v);
                p.local = true;
            }
            Col::ClientIp => out.remote = unquote(v),
            Col::User => out.user = logged(v).map(unquote),
            Col::Method => out.method = Method::parse(v),
            Col::UriStem => p.stem = v,
            Col::UriQuery => p.query = v,
            Col::Uri => {
                let (m, t) = if memchr::memchr(b' ', v).is_some() {
                    text::request_line(v)
                } else {
                    (out.method, v)
                };
                if out.method == Method::Other {
                    out.method = m;
                }
                p.stem = t;
            }
            Col::Status => {
                p.status = if v == b"000" || v == b"0" {
                    Some(0)
                } else {
                    text::status(v)
                };
            }
            Col::TimeTakenS => out.duration_us = text::seconds_to_micros(v),
            Col::TimeTakenMs => out.duration_us = text::millis_to_micros(v),
            Col::UserAgent => out.user_agent = logged(v).map(decode_header),
            Col::Host => {
                if p.host.is_none() {
                    p.host = logged(v);
                }
            }
            Col::XHost => p.host = logged(v).or(p.host),
            Col::Xff => out.xff = logged(v).map(unquote),
            Col::RequestId => out.request_id = logged(v).map(unquote),
            Col::Bytes => out.bytes_sent = text::uint(v),
            Col::Other => {}
        }
    }
    p.finish(cx.local_offset_secs, unquote, out)
}

/// What several columns make together: the time (a date and a time of day, UTC or local),
/// the target (stem and query), the status, the host (the `cs(Host)` column, else
/// `x-host-header`, else an absolute URI's).
#[derive(Default)]
struct Parts<'a> {
    day: Option<i64>,
    tod: Option<i64>,
    local: bool,
    stem: &'a [u8],
    query: &'a [u8],
    status: Option<u16>,
    host: Option<&'a [u8]>,
}

impl<'a> Parts<'a> {
    fn finish(
        self,
        local_offset_secs: i64,
        unquote: impl Fn(&'a [u8]) -> Text<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        out.status = self.status.ok_or(Skip::BAD_STATUS)?;
        let day = self.day.ok_or(Skip::BAD_TIME)?;
        let tod = self.tod.ok_or(Skip::BAD_TIME)?;
        let offset = if self.local { local_offset_secs } else { 0 };
        out.time = day * 86_400 * MICROS_PER_SEC + tod - offset * MICROS_PER_SEC;
        out.anchor = TimeAnchor::End;
        let (h, path) = super::alb::split_absolute(self.stem);
        out.host = self.host.or(h).map(text::text);
        out.target = match self.query {
            b"" | b"-" => unquote(path),
            query => Cow::Owned(format!(
                "{}?{}",
                String::from_utf8_lossy(path),
                String::from_utf8_lossy(query)
            )),
        };
        Ok(())
    }
}

impl Format for W3c {
    fn name(&self) -> &'static str {
        if self.cloudfront { "cloudfront" } else { "w3c" }
    }

    fn about(&self) -> &'static str {
        if self.cloudfront {
            "AWS CloudFront standard log (#Fields header, tab-separated; time-taken in s)"
        } else {
            "W3C extended / IIS log driven by #Fields (time-taken ms for IIS, s otherwise)"
        }
    }

    fn sample(&self) -> &'static str {
        if self.cloudfront {
            "2026-03-02\t09:14:05\tLAX1\t392\t203.0.113.7\tPUT\td111111abcdef8.cloudfront.net\t/api/v1/orders/1042\t409\t-\tokhttp/4.9.3\t-\t-\tError\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\tapi.example.com\thttps\t112\t0.042\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tError\tHTTP/2.0\t-\t-\t11040\t0.041\tError\tapplication/json\t87\t-\t-"
        } else {
            "2026-03-02 09:14:05 10.0.0.5 PUT /api/v1/orders/1042 - 443 alice 203.0.113.7 okhttp/4.9.3 - 409 0 0 42"
        }
    }

    fn detect(&self, line: &[u8]) -> bool {
        let tabbed = memchr::memchr(b'\t', line).is_some();
        if line.starts_with(b"#Fields:") {
            return memchr::memmem::find(line, b"x-edge-").is_some() == self.cloudfront;
        }
        if line.first() == Some(&b'#') {
            return [
                &b"#Version:"[..],
                b"#Software:",
                b"#Date:",
                b"#Start-Date:",
                b"#End-Date:",
                b"#Remark:",
                b"#GMT-Offset:",
            ]
            .iter()
            .any(|d| line.starts_with(d));
        }
        let l = line.strip_prefix(b"\"").unwrap_or(line);
        if l.len() < 20 || date_days(&l[..10]).is_none() {
            return false;
        }
        // The date is a field of its own (`2026-03-02 09:14:05`, tab-separated in
        // CloudFront): a line opening with an ISO 8601 timestamp (`2026-03-02T09:14:05Z`) is a
        // container runtime's or syslog's wrapper around another format.
        if !matches!(l[10], b' ' | b'\t' | b'"') {
            return false;
        }
        tabbed == self.cloudfront
    }

    /// Only `#Fields:` is a directive for the pipeline (it must reach later lines as
    /// context); the other `#` lines are skipped by `parse` as comments.
    fn is_directive(&self, line: &[u8]) -> bool {
        line.starts_with(b"#Fields:")
    }

    fn has_directives(&self) -> bool {
        true
    }

    /// A lite read leaves out the agent, user, forwarded chain, request id, bytes and time
    /// taken; `complete` reads the line again in full.
    fn reads_lite(&self) -> bool {
        true
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        if line.first() == Some(&b'#') {
            return Err(Skip::DIRECTIVE);
        }
        cx.w3c.follow(cx.directive, self.cloudfront);
        let mut cols: [&[u8]; MAX_COLS] = [b""; MAX_COLS];
        let n = split(line, &mut cols);
        let cols = &cols[..n];
        let mapping = &cx.w3c.cols;
        if mapping.is_empty() || (!self.cloudfront && n > mapping.len() + 1) {
            // No header, or data wider than the header: read by shape.
            let (d, t) = (
                date_days(cols.first().ok_or(Skip::MALFORMED)?).ok_or(Skip::BAD_TIME)?,
                time_of_day(cols.get(1).ok_or(Skip::MALFORMED)?).ok_or(Skip::BAD_TIME)?,
            );
            out.anchor = TimeAnchor::End;
            return parse_by_shape(cols, out, d * 86_400 * MICROS_PER_SEC + t);
        }
        parse_by_header(line, cols, mapping, cx, out)
    }

    fn field<'a>(&self, _line: &'a [u8], _name: &str) -> Option<Text<'a>> {
        // Header columns need the #Fields mapping, which `field` does not receive.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    const IIS_FIELDS: &str = "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

    fn parse<'a>(f: &W3c, fields: Option<&'a str>, line: &'a str) -> Result<Request<'a>, Skip> {
        let mut cx = LineContext {
            directive: fields.map(str::as_bytes),
            ..Default::default()
        };
        let mut r = Request::default();
        f.parse(line.as_bytes(), &mut cx, &mut r)?;
        Ok(r)
    }

    #[test]
    fn iis_with_fields() {
        let r = parse(&W3c::generic(), Some(IIS_FIELDS), W3c::generic().sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(r.user.as_deref(), Some("alice"));
        assert_eq!(r.remote, "203.0.113.7");
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z");
        let r = parse(&W3c::generic(), Some(IIS_FIELDS), "2026-03-02 09:14:05 10.0.0.5 GET /a q=1&b=2 443 - ::1%0 Mozilla/5.0+(X11;+Linux) - 200 0 0 7").unwrap();
        assert_eq!(r.target, "/a?q=1&b=2");
        assert_eq!(r.remote, "::1%0");
        assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0 (X11; Linux)"));
    }

    #[test]
    fn no_header_by_shape() {
        // From elastic/integrations IIS fixtures (realdata/w3c-iis): three layouts.
        let r = parse(&W3c::generic(), None, "2018-01-01 09:10:11 W3SVC1 GET / - 80 - 127.0.0.1 Mozilla/5.0+(Windows+NT+6.1) - - example.com 200 0 0 123 456 789").unwrap();
        assert_eq!(
            (r.status, r.remote.as_ref(), r.duration_us),
            (200, "127.0.0.1", Some(789_000))
        );
        let r = parse(&W3c::generic(), None, "2018-12-31 12:52:33 10.44.0.136 GET /${#context['x']=!(#_m['a']=true)}.action - 443 - 10.50.6.188 Mozilla/4.0+(compatible) - 404 0 2 0").unwrap();
        assert_eq!((r.status, r.method), (404, Method::Get));
        assert!(r.target.starts_with("/${#context"));
    }

    #[test]
    fn quoted_local_time_and_mid_file_header() {
        let fields = "#Fields:   date-local time-local   s-ip   cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) cs(Host) sc-status sc-substatus sc-win32-status TimeTakenMS";
        let line = r#"2012-08-15 17:00:00.675 10.10.28.140 DELETE /hello/world/6,681965 - 80 - "173.5.0.0" "Mozilla ""quoted"" agent" - "hello.example.com" 409 " ""garbage"" w/ spaces " 0 359"#;
        let mut cx = LineContext {
            directive: Some(fields.as_bytes()),
            local_offset_secs: 3600,
            ..Default::default()
        };
        let mut r = Request::default();
        W3c::generic()
            .parse(line.as_bytes(), &mut cx, &mut r)
            .unwrap();
        assert_eq!((r.method, r.status), (Method::Delete, 409));
        assert_eq!(r.user_agent.as_deref(), Some(r#"Mozilla "quoted" agent"#));
        assert_eq!(r.host.as_deref(), Some("hello.example.com"));
        assert_eq!(r.duration_us, Some(359_000));
        assert_eq!(rfc3339(r.time), "2012-08-15T16:00:00.675Z");
        // A new header block with fewer fields replaces the mapping.
        let r = parse(
            &W3c::generic(),
            Some("#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken"),
            "2001-10-31 00:00:18 64.103.37.2 PATCH /x 412 0.5",
        )
        .unwrap();
        assert_eq!((r.status, r.duration_us), (412, Some(500_000)));
        assert_eq!(
            parse(
                &W3c::generic(),
                Some(IIS_FIELDS),
                "2026-13-02 09:14:05 10.0.0.5 GET / - 443 - 1.2.3.4 - - 200 0 0 1"
            )
            .unwrap_err(),
            Skip::BAD_TIME
        );
    }

    #[test]
    fn cloudfront() {
        let cf = W3c::cloudfront();
        let header = format!("#Fields: {CLOUDFRONT_FIELDS}");
        let r = parse(&cf, Some(&header), cf.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
        assert_eq!(
            r.request_id.as_deref(),
            Some("SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==")
        );
        // No header (2016 export, 23 columns), double-encoded agent, status 000.
        let line = "2016-06-10\t18:41:39\tIAD53\t224281\t2001:db8::1\tGET\td27enomp470abc.cloudfront.net\t/c/thing.pdf\t000\thttps://example.com/\tMozilla/5.0%2520(Windows%2520NT%25206.1)\t-\t-\tMiss\tUGsk==\thost.example.com\thttps\t883\t0.036\t198.51.100.1,%20203.0.113.9\tTLSv1.2\tECDHE\tRefreshHit";
        let r = parse(&cf, None, line).unwrap();
        assert_eq!((r.status, r.remote.as_ref()), (0, "2001:db8::1"));
        assert_eq!(
            r.user_agent.as_deref(),
            Some("Mozilla/5.0 (Windows NT 6.1)")
        );
        assert_eq!(r.duration_us, Some(36_000));
        assert!(cf.detect(line.as_bytes()) && !W3c::generic().detect(line.as_bytes()));
    }
}
