//! Envoy's default text access log, and Istio's (≥ 1.8) default text format, which inserts
//! three fields after the response flags and appends six.
//!
//! ```text
//! [2019-02-12T18:37:42.921Z] "GET /httpbin/ip HTTP/1.1" 200 - 0 43 217 216 "172.17.0.5" "curl/7.59.0" "c62ec130-6dee-4f3b-a52b-4f0d1312d89d" "httpbin.org" "52.87.35.92:80"
//! [2022-09-01T13:15:09.085Z] "GET /reviews/0 HTTP/1.1" 503 UF upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111} - "-" 0 145 0 - "-" "Mozilla/5.0" "56446678-64f3-9fbf-9c4a-eca01fafba4d" "reviews:9080" "10.124.2.14:9080" inbound|9080|| - 10.124.2.14:9080 10.124.1.6:48816 outbound_.9080_._.reviews.default.svc.cluster.local default
//! ```
//!
//! Layout: `[START_TIME] "METHOD PATH PROTO" CODE FLAGS [DETAILS TERMINATION "FAILURE"]
//! BYTES_RX BYTES_TX DURATION UPSTREAM_TIME "XFF" "UA" "REQUEST_ID" "AUTHORITY"
//! "UPSTREAM_HOST" [CLUSTER UP_LOCAL DOWN_LOCAL DOWN_REMOTE SNI ROUTE]`.
//!
//! Quirks handled:
//! - START_TIME is the request start in UTC (anchor Start); DURATION is ms;
//! - response code `0` (downstream disconnected before a response) is kept as status 0;
//!   TCP lines `"- - -" 0 UF,URX` too (method OTHER, no target);
//! - the text formatter does not escape quotes, so the user agent may contain `"`: the
//!   fields after it are taken from the end of the line;
//! - Istio's variant is recognised by a non-numeric field after the flags; its
//!   DOWNSTREAM_REMOTE_ADDRESS (`[2001:db8::1]:5000`, `10.124.1.6:48816`) is the remote; in
//!   Envoy's default format the first X-Forwarded-For address stands in for it;
//! - Ambassador's `ACCESS ` prefix is skipped; every missing value is `-`.

use super::text::{self, optional, quoted, skip_spaces, token};
use super::{Format, LineContext};
use crate::bytes::{find, rfind};
use crate::record::{Request, Skip, TimeAnchor};
use crate::timestamp::{ISO_SECONDS_AT, parse_iso8601};

pub struct Envoy;

/// Parses a status, keeping Envoy's `0` (no response).
pub(crate) fn status_or_zero(b: &[u8]) -> Option<u16> {
    if b == b"0" || b == b"000" {
        Some(0)
    } else {
        text::status(b)
    }
}

/// Where the last `" "` (between two quoted fields) starts in `b`: a search for its quotes
/// (a substring search sets up a searcher per call, three calls a line; so does memchr's,
/// more than the few dozen bytes it passes cost: `bytes::rfind`).
fn last_separator(b: &[u8]) -> Option<usize> {
    let mut end = b.len();
    while let Some(q) = rfind(&b[..end], b'"') {
        if q >= 2 && b[q - 1] == b' ' && b[q - 2] == b'"' {
            return Some(q - 2);
        }
        end = q;
    }
    None
}

impl Format for Envoy {
    fn name(&self) -> &'static str {
        "envoy"
    }

    fn about(&self) -> &'static str {
        "Envoy default text access log and Istio's text format ([START_TIME] \"REQ\" CODE FLAGS ...)"
    }

    fn sample(&self) -> &'static str {
        r#"[2026-03-02T09:14:05.123Z] "PUT /api/v1/orders/1042 HTTP/1.1" 409 - 87 112 42 40 "203.0.113.7" "okhttp/4.9.3" "c62ec130-6dee-4f3b-a52b-4f0d1312d89d" "api.example.com" "10.0.3.7:8080""#
    }

    fn detect(&self, line: &[u8]) -> bool {
        let l = line.strip_prefix(b"ACCESS ").unwrap_or(line);
        l.len() > 30
            && l[0] == b'['
            && l.get(25) == Some(&b']')
            && l.get(27) == Some(&b'"')
            && parse_iso8601(&l[1..25]).is_some()
            || l.len() > 30
                && l[0] == b'['
                && memchr::memchr(b']', l).is_some_and(|p| {
                    p > 20 && l.get(p + 2) == Some(&b'"') && parse_iso8601(&l[1..p]).is_some()
                })
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let l = line.strip_prefix(b"ACCESS ").unwrap_or(line);
        let l = text::trim(l);
        if l.first() != Some(&b'[') {
            return Err(Skip::MALFORMED);
        }
        let rb = find(l, b']').ok_or(Skip::MALFORMED)?;
        out.time = cx
            .time_cache
            .get_or_seconds(&l[1..rb], ISO_SECONDS_AT, parse_iso8601)
            .ok_or(Skip::BAD_TIME)?;
        out.anchor = TimeAnchor::Start;
        let (req, rest) = quoted(skip_spaces(&l[rb + 1..])).ok_or(Skip::MALFORMED)?;
        let (m, t) = text::request_line(req);
        out.method = m;
        out.target = text::text(t);
        let (code, rest) = token(rest);
        out.status = status_or_zero(code).ok_or(Skip::BAD_STATUS)?;
        let (_flags, rest) = token(rest);
        let (mut t, mut rest) = token(rest);
        let istio = text::uint(t).is_none();
        if istio {
            let (_term, r) = token(rest);
            let (_failure, r) = quoted(skip_spaces(r)).ok_or(Skip::MALFORMED)?;
            (t, rest) = token(r);
        }
        let _bytes_rx = t;
        let (tx, rest) = token(rest);
        out.bytes_sent = text::uint(tx);
        let (dur, rest) = token(rest);
        out.duration_us = text::millis_to_micros(dur);
        let (_upstream_time, rest) = token(rest);
        let (xff, rest) = quoted(skip_spaces(rest)).ok_or(Skip::MALFORMED)?;
        out.xff = optional(xff);
        let mut tail = text::trim(rest);
        if istio {
            // Six bare fields after UPSTREAM_HOST; the fourth is DOWNSTREAM_REMOTE_ADDRESS.
            let mut bare: [&[u8]; 6] = [b""; 6];
            for slot in bare.iter_mut().rev() {
                let sp = rfind(tail, b' ').ok_or(Skip::MALFORMED)?;
                *slot = &tail[sp + 1..];
                tail = text::trim(&tail[..sp]);
            }
            if optional(bare[3]).is_some() {
                out.remote = text::text(text::strip_last_port(bare[3]));
            }
        }
        // `"UA" "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST"`, taken from the end.
        let tail = tail.strip_suffix(b"\"").ok_or(Skip::MALFORMED)?;
        let mut parts: [&[u8]; 3] = [b""; 3];
        let mut cur = tail;
        for slot in parts.iter_mut().rev() {
            let p = last_separator(cur).ok_or(Skip::MALFORMED)?;
            *slot = &cur[p + 3..];
            cur = &cur[..p];
        }
        let ua = cur.strip_prefix(b"\"").ok_or(Skip::MALFORMED)?;
        out.user_agent = optional(ua);
        out.request_id = optional(parts[0]);
        out.host = optional(parts[1]);
        if out.remote.is_empty() && out.xff.is_some() {
            let first = xff.split(|&c| c == b',').next().unwrap_or(b"");
            out.remote = text::text(text::strip_port(text::trim(first)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Method;
    use crate::timestamp::rfc3339;

    proptest::proptest! {
        /// The byte search finds the last separator the substring search finds.
        #[test]
        fn last_separator_is_the_last_one(b in proptest::collection::vec(proptest::sample::select(&b"\" a"[..]), 0..40)) {
            proptest::prop_assert_eq!(last_separator(&b), memchr::memmem::rfind(&b, b"\" \""));
        }
    }

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&Envoy, line)
    }

    #[test]
    fn default_format() {
        let r = parse(Envoy.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.anchor, TimeAnchor::Start);
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        assert_eq!(r.remote, "203.0.113.7");
        assert_eq!(
            r.request_id.as_deref(),
            Some("c62ec130-6dee-4f3b-a52b-4f0d1312d89d")
        );
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
        assert!(Envoy.detect(Envoy.sample().as_bytes()));
    }

    #[test]
    fn tcp_line_and_quotes_in_agent() {
        // From elastic/beats (realdata/envoy): a TCP proxy line.
        let r = parse(r#"[2019-04-06T06:20:05.972Z] "- - -" 0 UF,URX 0 0 0 - "-" "-" "-" "-" "127.0.0.1:9200""#).unwrap();
        assert_eq!(
            (r.method, r.status, r.target.as_ref()),
            (Method::Other, 0, "")
        );
        let r = parse(r#"ACCESS [2026-03-02T09:14:05.123Z] "PATCH /a/1 HTTP/2" 412 - 0 0 3 - "-" "evil "quoted" agent" "-" "h" "-""#).unwrap();
        assert_eq!(r.user_agent.as_deref(), Some(r#"evil "quoted" agent"#));
        assert_eq!(
            (r.method, r.status, r.request_id.clone()),
            (Method::Patch, 412, None)
        );
        assert_eq!(r.remote, "");
    }

    #[test]
    fn istio_variant_with_ipv6_remote() {
        let r = parse(r#"[2022-09-01T13:15:09.085Z] "PUT /reviews/0 HTTP/1.1" 409 - via_upstream - "-" 0 145 7 6 "198.51.100.9, 10.0.0.1" "Mozilla/5.0 (X11)" "56446678-64f3-9fbf-9c4a-eca01fafba4d" "reviews:9080" "10.124.2.14:9080" inbound|9080|| - 10.124.2.14:9080 [2001:db8::5]:48816 outbound_.9080_._.reviews.default.svc.cluster.local default"#).unwrap();
        assert_eq!((r.method, r.status), (Method::Put, 409));
        assert_eq!(r.remote, "2001:db8::5");
        assert_eq!(r.xff.as_deref(), Some("198.51.100.9, 10.0.0.1"));
        assert_eq!(r.duration_us, Some(7_000));
        assert_eq!(r.host.as_deref(), Some("reviews:9080"));
        assert_eq!(
            parse(r#"[2022-09-01T13:15:09.085Z] "GET / HTTP/1.1" 200"#).unwrap_err(),
            Skip::MALFORMED
        );
        assert_eq!(
            parse(r#"[yesterday] "GET / HTTP/1.1" 200"#).unwrap_err(),
            Skip::BAD_TIME
        );
    }
}
