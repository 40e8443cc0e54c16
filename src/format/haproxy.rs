//! HAProxy `option httplog`, raw or behind a syslog prefix (as rsyslog writes it).
//!
//! ```text
//! Feb 25 16:19:49 192.168.4.2 haproxy[7]: 92.193.212.151:59841 [25/Feb/2019:16:19:49.851] prod_http_in~ bk_ktest_kt/nginx_sonst 0/0/0/62/62 200 306 - - ---- 3/2/0/0/0 0/0 {Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6)} {} "POST /portal/?Script=934&anm=10347 HTTP/1.1"
//! ```
//!
//! Layout: `[syslog prefix] client:port [accept_date] frontend backend/server TR/Tw/Tc/Tr/Ta
//! status bytes cookie cookie termination actconn/.../retries srv_queue/backend_queue
//! [{request headers}] [{response headers}] "request"`.
//!
//! Quirks handled:
//! - the accept date (`%tr`, request start: anchor Start) is local time without an offset
//!   and with a year: `--tz` gives the offset (default UTC); the syslog prefix (which lacks
//!   the year, `Feb  6 12:14:14`, or is RFC 3339) is not needed and skipped;
//! - `Ta` (ms) is the duration; `-1` means the phase was not reached; `option logasap`
//!   prefixes `+` (`+99627`) on the time and the byte count;
//! - `client:port` is split on the last `:` (IPv6 is not bracketed); `-:port` (seen in some
//!   exports) gives remote `-`;
//! - a custom format may put a bare host between backend and timers
//!   (`www-https~ app/node2 site.domain.com 0/0/0/18/18`): taken as the host;
//! - header captures `{...}` appear only when configured and may contain spaces;
//! - the request line is last and may be `"<BADREQ>"` or truncated without its closing
//!   quote (1024-byte syslog limit); `CONNECT host:port` and absolute URIs are kept;
//! - `#XX` escapes (HAProxy's encoding of non-printable bytes, `"` and `#`) are undone;
//! - `option tcplog` lines (three timers, no request) and startup messages are not HTTP
//!   requests: skipped as `not_http_request`.

use super::text::{self, skip_spaces, token};
use super::{Format, LineContext};
use crate::bytes::{find, rfind};
use crate::record::{Request, Skip, Text, TimeAnchor};
use crate::timestamp::{CLF_SECONDS_AT, MICROS_PER_SEC, parse_clf};
use std::borrow::Cow;

pub struct Haproxy;

const NOT_HTTP: Skip = Skip("not_http_request");

/// Finds `[dd/Mon/yyyy:HH:MM:SS.mmm]`; returns the index of `[`. (The searches in a line
/// are short, a few dozen bytes each: `bytes::find` and `rfind`, not memchr, whose setup
/// cost more than the search, ~900 instructions a line in all.)
fn accept_date(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = find(&line[from..], b'[') {
        let p = from + p;
        let t = &line[p + 1..];
        if t.len() > 24
            && t[2] == b'/'
            && t[6] == b'/'
            && t[11] == b':'
            && t[20] == b'.'
            && t[0].is_ascii_digit()
        {
            return Some(p);
        }
        from = p + 1;
    }
    None
}

/// The last space-separated token before the accept date: `client:port`.
fn client_before(before: &[u8]) -> &[u8] {
    let before = text::trim(before);
    rfind(before, b' ').map_or(before, |p| &before[p + 1..])
}

/// `TR/Tw/Tc/Tr/Ta`: five signed integers separated by `/`, the last maybe `+`-prefixed.
fn timers(tok: &[u8]) -> Option<[i64; 5]> {
    let mut v = [0i64; 5];
    let mut n = 0;
    for part in tok.split(|&c| c == b'/') {
        if n == 5 {
            return None;
        }
        let p = part.strip_prefix(b"+").unwrap_or(part);
        v[n] = match p.strip_prefix(b"-") {
            Some(d) => -(text::uint(d)? as i64),
            None => text::uint(p)? as i64,
        };
        n += 1;
    }
    (n == 5).then_some(v)
}

/// Undoes HAProxy's `#XX` encoding.
fn unhash(b: &[u8]) -> Text<'_> {
    if find(b, b'#').is_none() {
        return text::text(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'#'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (
                (b[i + 1] as char).to_digit(16),
                (b[i + 2] as char).to_digit(16),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

impl Format for Haproxy {
    fn name(&self) -> &'static str {
        "haproxy"
    }

    fn about(&self) -> &'static str {
        "HAProxy option httplog, raw or with a syslog prefix (local time: see --tz)"
    }

    fn sample(&self) -> &'static str {
        r#"Mar  2 09:14:05 lb1 haproxy[14389]: 203.0.113.7:33317 [02/Mar/2026:09:14:05.123] https-in~ api/srv1 0/0/1/40/42 409 287 - - ---- 1/1/1/1/0 0/0 {api.example.com|okhttp/4.9.3} {} "PUT /api/v1/orders/1042 HTTP/1.1""#
    }

    fn detect(&self, line: &[u8]) -> bool {
        let Some(lb) = accept_date(line) else {
            return false;
        };
        let client = client_before(&line[..lb]);
        memchr::memchr(b':', client).is_some() || client == b"unix"
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let lb = accept_date(line).ok_or(NOT_HTTP)?;
        let client = client_before(&line[..lb]);
        let after = &line[lb + 1..];
        let rb = find(after, b']').ok_or(Skip::MALFORMED)?;
        let local = cx
            .time_cache
            .get_or_seconds(&after[..rb], CLF_SECONDS_AT, parse_clf)
            .ok_or(Skip::BAD_TIME)?;
        out.time = local - cx.local_offset_secs * MICROS_PER_SEC;
        out.anchor = TimeAnchor::Start;
        let (_frontend, rest) = token(&after[rb + 1..]);
        let (_backend, mut rest) = token(rest);
        // Optional extra tokens (a logged host) before the timers.
        let mut t = [0i64; 5];
        let mut found = false;
        for _ in 0..3 {
            let (tok, r) = token(rest);
            rest = r;
            if let Some(v) = timers(tok) {
                t = v;
                found = true;
                break;
            }
            if tok.is_empty() || tok.contains(&b'/') {
                break;
            }
            out.host = Some(text::text(tok));
        }
        if !found {
            return Err(NOT_HTTP);
        }
        out.duration_us = (t[4] >= 0).then(|| t[4] as u64 * 1000);
        let (st, rest) = token(rest);
        out.status = text::status(st).ok_or(Skip::BAD_STATUS)?;
        let (bytes, rest) = token(rest);
        out.bytes_sent = text::uint(bytes.strip_prefix(b"+").unwrap_or(bytes));
        let q = find(rest, b'"').ok_or(Skip::MALFORMED)?;
        let req = &rest[q + 1..];
        let req = match rfind(req, b'"') {
            Some(e) => &req[..e],
            None => req, // truncated at the syslog size limit
        };
        let (m, target) = text::request_line(req);
        out.method = m;
        out.target = unhash(target);
        out.remote = text::text(text::strip_last_port(client));
        // Header captures: `{host|agent}` — the first value is often the host; keep the
        // group only when it looks like a host name.
        let caps = skip_spaces(&rest[..q]);
        if out.host.is_none()
            && let Some(open) = find(caps, b'{')
        {
            let inner = &caps[open + 1..];
            let end = inner
                .iter()
                .position(|&c| c == b'|' || c == b'}')
                .unwrap_or(inner.len());
            let first = &inner[..end];
            if !first.is_empty()
                && first
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':'))
                && first.contains(&b'.')
                && !text::looks_like_ip(first)
            {
                out.host = Some(text::text(text::strip_port(first)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Method;
    use crate::timestamp::rfc3339;

    fn parse_tz(line: &str, tz: i64) -> Result<Request<'_>, Skip> {
        let mut cx = LineContext {
            local_offset_secs: tz,
            ..Default::default()
        };
        let mut r = Request::default();
        Haproxy.parse(line.as_bytes(), &mut cx, &mut r)?;
        Ok(r)
    }

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        parse_tz(line, 0)
    }

    #[test]
    fn syslog_sample_and_tz() {
        let r = parse(Haproxy.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(r.remote, "203.0.113.7");
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.anchor, TimeAnchor::Start);
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        let r = parse_tz(Haproxy.sample(), 3600).unwrap();
        assert_eq!(rfc3339(r.time), "2026-03-02T08:14:05.123Z");
        assert!(Haproxy.detect(Haproxy.sample().as_bytes()));
    }

    #[test]
    fn raw_logasap_ipv6_and_badreq() {
        let r = parse(r#"2001:db8::7:39759 [09/Dec/2013:12:59:46.633] loadbalancer default/instance8 0/51536/1/48082/+99627 200 +83285 - - ---- 87/87/87/1/0 0/67 {77.24.148.74} "DELETE /a/1 HTTP/1.1""#).unwrap();
        assert_eq!(
            (r.remote.as_ref(), r.duration_us, r.bytes_sent),
            ("2001:db8::7", Some(99_627_000), Some(83_285))
        );
        assert_eq!(r.method, Method::Delete);
        let r = parse(r#"Jul 18 17:05:30 localhost haproxy[8247]: 188.223.50.7:51940 [18/Jul/2011:17:05:24.339] http_proxy_ads http_proxy_ads/<NOSRV> -1/-1/-1/-1/6001 408 212 - - cR-- 100/89/0/0/0 0/0 "<BADREQ>""#).unwrap();
        assert_eq!(
            (r.status, r.method, r.target.as_ref()),
            (408, Method::Other, "")
        );
    }

    #[test]
    fn custom_host_truncated_escaped_and_tcp() {
        let r = parse(r#"May 22 02:22:22 server1 haproxy[5089]: -:22222 [22/May/2021:02:22:22.222] www-https~ myapp/node2 site.domain.com 0/0/0/18/-1 200 200 - - ---- 222/222/2/0/0 0/0 "PATCH /api/v2/app/#22x#22 HTTP/1.1"#).unwrap();
        assert_eq!(
            (r.remote.as_ref(), r.host.as_deref(), r.duration_us),
            ("-", Some("site.domain.com"), None)
        );
        assert_eq!(r.target, "/api/v2/app/\"x\"");
        assert_eq!(parse("Sep 20 15:44:23 127.0.0.1 haproxy[25457]: 127.0.0.1:40962 [20/Sep/2018:15:44:23.285] main app/<NOSRV> -1/-1/1 212 SC 1/1/0/0/0 0/0").unwrap_err(), NOT_HTTP);
        assert_eq!(
            parse("Feb 25 16:19:38 192.168.4.2 haproxy[1]: Proxy prod_http_in started.")
                .unwrap_err(),
            NOT_HTTP
        );
    }
}
