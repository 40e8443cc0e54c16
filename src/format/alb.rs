//! AWS Application Load Balancer access logs (`alb`) and Classic ELB access logs (`elb`).
//!
//! ```text
//! https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-"
//! 2015-04-10T08:11:09.865823Z us-west-1-production-media 49.150.87.133:55128 - -1 -1 -1 408 - 1294336 0 "PUT https://media.xxxyyyzzz.com:443/videos/F4_M-T4X0MM6Hvy1PFHesw HTTP/1.1"
//! ```
//!
//! Quirks handled:
//! - `time` is when the response was sent (anchor End), UTC with µs;
//! - the duration is request + target + response processing time (s, ms precision); when
//!   a phase is `-1` (not dispatched, 460/504) it is `time - request_creation_time` (ALB) or
//!   unknown (ELB);
//! - `elb_status_code` is the client-facing status, `target_status_code` the upstream one
//!   (`-` when no target answered);
//! - the request is `METHOD scheme://host:port/path?query HTTP/x`: the host goes to `host`,
//!   the path and query to the target; malformed requests (`"- - -"`,
//!   `"- http://host:80- -"`) give method OTHER and no target;
//! - `client:port` is split on the last `:` (dual-stack IPv6 is not bracketed);
//! - the trace id (`Root=1-...`) is the request id; fields are appended over time and a real
//!   file lacks a space between two quoted fields (`"-" "-"1 2018-...`): trailing fields are
//!   read leniently; ELB lines may end right after the request.

use super::fields;
use super::text::{self, optional, quoted, skip_spaces, token};
use super::{Format, LineContext};
use crate::record::{Request, Skip, Text, TimeAnchor};
use crate::timestamp::{ISO_SECONDS_AT, parse_iso8601};

pub struct Alb;
pub struct Elb;

const ALB_TYPES: [&[u8]; 6] = [b"http", b"https", b"h2", b"grpcs", b"ws", b"wss"];

/// Splits `scheme://host:port/path` into host and path; other targets are returned as is.
pub(crate) fn split_absolute(t: &[u8]) -> (Option<&[u8]>, &[u8]) {
    // A scheme is at most 8 bytes (`https`, `wss`): only the target's start is looked at.
    let head = &t[..t.len().min(11)];
    let at = |k: usize| head[k] == b':' && head[k + 1] == b'/' && head[k + 2] == b'/';
    let Some(p) = (0..head.len().saturating_sub(2)).find(|&k| at(k)) else {
        return (None, t);
    };
    if t.first() == Some(&b'/') {
        return (None, t);
    }
    let after = &t[p + 3..];
    let end = after
        .iter()
        .position(|&c| c == b'/' || c == b'?')
        .unwrap_or(after.len());
    let host = text::strip_last_port(&after[..end]);
    let path = &after[end..];
    (Some(host), if path.is_empty() { b"/" } else { path })
}

fn seconds(b: &[u8]) -> Option<u64> {
    if b.starts_with(b"-") {
        None
    } else {
        text::seconds_to_micros(b)
    }
}

/// Parses the shared middle: `client:port target:port t1 t2 t3 status upstream rx tx "request"`.
fn common<'a>(rest: &'a [u8], out: &mut Request<'a>) -> Result<(&'a [u8], Option<u64>), Skip> {
    let (client, rest) = token(rest);
    let (_target, rest) = token(rest);
    let (t1, rest) = token(rest);
    let (t2, rest) = token(rest);
    let (t3, rest) = token(rest);
    let (st, rest) = token(rest);
    let (ust, rest) = token(rest);
    let (_rx, rest) = token(rest);
    let (tx, rest) = token(rest);
    out.status = text::status(st).ok_or(Skip::BAD_STATUS)?;
    // `-`: the load balancer answered itself (no target response).
    out.upstream_status = fields::upstream_status(ust);
    out.bytes_sent = text::uint(tx);
    out.remote = text::text(text::strip_last_port(client));
    let sum = match (seconds(t1), seconds(t2), seconds(t3)) {
        (Some(a), Some(b), Some(c)) => Some(a + b + c),
        _ => None,
    };
    let (req, rest) = quoted(skip_spaces(rest)).ok_or(Skip::MALFORMED)?;
    let (m, t) = text::request_line(req);
    out.method = m;
    let (host, path) = split_absolute(t);
    out.target = text::text(path);
    out.host = host.and_then(optional);
    Ok((rest, sum))
}

impl Format for Alb {
    fn name(&self) -> &'static str {
        "alb"
    }

    fn reads_lite(&self) -> bool {
        true
    }

    fn about(&self) -> &'static str {
        "AWS Application Load Balancer access log (type time elb client:port target:port ... \"request\" ...)"
    }

    fn sample(&self) -> &'static str {
        r#"https 2026-03-02T09:14:05.186641Z app/my-loadbalancer/50dc6c495c0c9188 203.0.113.7:2817 10.0.0.1:80 0.001 0.040 0.001 409 409 112 287 "PUT https://api.example.com:443/api/v1/orders/1042 HTTP/1.1" "okhttp/4.9.3" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "api.example.com" "-" 0 2026-03-02T09:14:05.144000Z "forward" "-" "-" "10.0.0.1:80" "409" "-" "-""#
    }

    fn detect(&self, line: &[u8]) -> bool {
        let (ty, rest) = token(line);
        let (time, rest) = token(rest);
        let (elb, _) = token(rest);
        ALB_TYPES.contains(&ty)
            && parse_iso8601(time).is_some()
            && memchr::memchr(b'/', elb).is_some()
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let (ty, rest) = token(line);
        if !ALB_TYPES.contains(&ty) {
            return Err(Skip::MALFORMED);
        }
        let (time, rest) = token(rest);
        out.time = cx
            .time_cache
            .get_or_seconds(time, ISO_SECONDS_AT, parse_iso8601)
            .ok_or(Skip::BAD_TIME)?;
        out.anchor = TimeAnchor::End;
        let (_elb, rest) = token(rest);
        let (rest, sum) = common(rest, out)?;
        out.duration_us = sum;
        // What follows (agent, trace id, creation time) is read for events and other client
        // keys only (`LineContext::lite`), and makes no line a skip.
        if cx.lite {
            return Ok(());
        }
        // "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain" "cert"
        // priority request_creation_time ...
        let Some((ua, rest)) = quoted(skip_spaces(rest)) else {
            return Ok(());
        };
        out.user_agent = optional(ua);
        let (_cipher, rest) = token(rest);
        let (_proto, rest) = token(rest);
        let (_tg, rest) = token(rest);
        let Some((trace, rest)) = quoted(skip_spaces(rest)) else {
            return Ok(());
        };
        out.request_id = optional(trace);
        let Some((_domain, rest)) = quoted(skip_spaces(rest)) else {
            return Ok(());
        };
        let Some((_cert, rest)) = quoted(skip_spaces(rest)) else {
            return Ok(());
        };
        let (_prio, rest) = token(rest);
        let (created, _) = token(rest);
        if out.duration_us.is_none()
            && let Some(c) = parse_iso8601(created)
        {
            out.duration_us = u64::try_from(out.time - c).ok();
        }
        Ok(())
    }

    fn field<'a>(&self, _line: &'a [u8], _name: &str) -> Option<Text<'a>> {
        None
    }
}

impl Format for Elb {
    fn name(&self) -> &'static str {
        "elb"
    }

    fn about(&self) -> &'static str {
        "AWS Classic Load Balancer access log (time elb client:port backend:port ... \"request\" [\"agent\" cipher protocol])"
    }

    fn sample(&self) -> &'static str {
        r#"2026-03-02T09:14:05.945958Z my-loadbalancer 203.0.113.7:2817 10.0.0.1:80 0.000086 0.041048 0.000057 409 409 112 87 "PUT https://api.example.com:443/api/v1/orders/1042 HTTP/1.1" "okhttp/4.9.3" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        let (time, rest) = token(line);
        let (_elb, rest) = token(rest);
        let (client, _) = token(rest);
        parse_iso8601(time).is_some()
            && client.iter().filter(|&&c| c == b':').count() >= 1
            && text::looks_like_ip(text::strip_last_port(client))
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let (time, rest) = token(line);
        out.time = cx
            .time_cache
            .get_or_seconds(time, ISO_SECONDS_AT, parse_iso8601)
            .ok_or(Skip::BAD_TIME)?;
        out.anchor = TimeAnchor::End;
        let (_elb, rest) = token(rest);
        let (rest, sum) = common(rest, out)?;
        out.duration_us = sum;
        if let Some((ua, _)) = quoted(skip_spaces(rest)) {
            out.user_agent = optional(ua);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Method;
    use crate::timestamp::rfc3339;

    fn parse<'a>(f: &dyn Format, line: &'a str) -> Result<Request<'a>, Skip> {
        let mut cx = LineContext::default();
        let mut r = Request::default();
        f.parse(line.as_bytes(), &mut cx, &mut r)?;
        Ok(r)
    }

    #[test]
    fn alb_sample() {
        let r = parse(&Alb, Alb.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status, r.upstream_status),
            (Method::Put, "/api/v1/orders/1042", 409, Some(409))
        );
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
        assert_eq!(r.remote, "203.0.113.7");
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(
            r.request_id.as_deref(),
            Some("Root=1-58337281-1d84f3d73c47ec4e58577259")
        );
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.186641Z");
        assert!(Alb.detect(Alb.sample().as_bytes()) && !Elb.detect(Alb.sample().as_bytes()));
    }

    #[test]
    fn alb_not_dispatched_ipv6_and_missing_space() {
        let r = parse(&Alb, r#"http 2019-10-11T15:01:12.376735Z app/t/c86a326e7dc14222 2001:db8::7:56398 - -1 -1 -1 460 - 125 0 "GET http://t.eu-central-1.elb.amazonaws.com:80/ HTTP/1.1" "curl/7.58.0" - - - "Root=1-5da09932-2c342a443bfb96249aa50ed7" "-" "-"0 2019-10-11T15:01:06.657000Z "forward" "-" "-""#).unwrap();
        // No target answered: the load balancer did (upstream status 0, `Origin::Gateway`).
        assert_eq!((r.status, r.upstream_status), (460, Some(0)));
        assert_eq!(r.origin(), crate::record::Origin::Gateway);
        assert_eq!(r.remote, "2001:db8::7");
        assert_eq!(r.duration_us, Some(5_719_735));
        assert_eq!(r.target, "/");
        let r = parse(&Alb, r#"http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 400 - 34 366 "- http://www.example.com:80- -" "-" - - - "-" "-" "-" - 2018-11-30T22:22:48.364000Z "-" "-" "-""#).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Other, "", 400)
        );
    }

    #[test]
    fn classic_elb() {
        let r = parse(&Elb, Elb.sample()).unwrap();
        assert_eq!((r.method, r.status), (Method::Put, 409));
        assert_eq!(r.duration_us, Some(41_191));
        assert_eq!(r.user_agent.as_deref(), Some("okhttp/4.9.3"));
        // Real line (realdata/aws-alb): 408 with -1 timings, no backend, line ends after the request.
        let r = parse(&Elb, r#"2015-04-10T08:11:09.865823Z us-west-1-production-media 49.150.87.133:55128 - -1 -1 -1 408 - 1294336 0 "PUT https://media.xxxyyyzzz.com:443/videos/F4_M-T4X0MM6Hvy1PFHesw HTTP/1.1""#).unwrap();
        assert_eq!(
            (r.status, r.upstream_status, r.duration_us),
            (408, Some(0), None)
        );
        assert_eq!(r.target, "/videos/F4_M-T4X0MM6Hvy1PFHesw");
        assert!(Elb.detect(Elb.sample().as_bytes()) && !Alb.detect(Elb.sample().as_bytes()));
    }
}
