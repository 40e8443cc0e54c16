//! Google Cloud HTTP(S) load balancer logs as Cloud Logging exports them (LogEntry JSON
//! with `httpRequest`).
//!
//! ```text
//! {"insertId":"1oek5rg3l3fxj7","jsonPayload":{"@type":"type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry","statusDetails":"response_sent_by_backend"},"httpRequest":{"requestMethod":"PUT","requestUrl":"https://api.example.com/api/v1/orders/1042","requestSize":"577","status":409,"responseSize":"157","userAgent":"okhttp/4.9.3","remoteIp":"203.0.113.7:51000","latency":"0.042s"},"resource":{"type":"http_load_balancer"},"timestamp":"2026-03-02T09:14:05.078651Z","severity":"WARNING","trace":"projects/p/traces/241d69833e64b3bf83fabac8c873d992"}
//! ```
//!
//! Quirks handled:
//! - `timestamp` is RFC 3339 with up to ns in UTC (taken as the log time, anchor End);
//! - `latency` is a protobuf Duration string (`"0.052817s"`); sizes are strings;
//! - `requestUrl` is absolute: the host goes to `host`, path and query to the target;
//! - `remoteIp` may carry a port (IPv6 in brackets or not);
//! - `trace` (`projects/P/traces/ID`) is the request id; no identity field exists;
//! - entries without `httpRequest` are skipped as `not_access_log`.

use super::fields::{self, Unit};
use super::{Format, LineContext, alb, json};
use crate::record::{Method, Request, Skip, Text, TimeAnchor};

pub struct Gcp;

impl Format for Gcp {
    fn name(&self) -> &'static str {
        "gcp-lb"
    }

    fn about(&self) -> &'static str {
        "Google Cloud load balancer LogEntry JSON (httpRequest{requestMethod, requestUrl, status, latency \"0.05s\"})"
    }

    fn sample(&self) -> &'static str {
        r#"{"insertId":"1oek5rg3l3fxj7","jsonPayload":{"@type":"type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry","statusDetails":"response_sent_by_backend"},"httpRequest":{"requestMethod":"PUT","requestUrl":"https://api.example.com/api/v1/orders/1042","requestSize":"577","status":409,"responseSize":"157","userAgent":"okhttp/4.9.3","remoteIp":"203.0.113.7:51000","latency":"0.042s"},"resource":{"type":"http_load_balancer"},"timestamp":"2026-03-02T09:14:05.078651Z","severity":"WARNING","trace":"projects/p/traces/241d69833e64b3bf83fabac8c873d992"}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "httpRequest")
            && (json::has_key(line, "resource") || json::has_key(line, "timestamp"))
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let obj = json::object(line).ok_or(Skip::MALFORMED)?;
        let (mut ts, mut http, mut status) = (None, false, None);
        for (k, v) in obj.members() {
            match k {
                b"timestamp" => ts = Some(v.raw()),
                b"trace" => out.request_id = v.text(),
                b"httpRequest" => {
                    let Some(h) = v.obj() else { continue };
                    http = true;
                    for (hk, hv) in h.members() {
                        match hk {
                            b"requestMethod" => out.method = Method::parse(hv.raw()),
                            b"requestUrl" => {
                                let (host, path) = alb::split_absolute(hv.raw());
                                out.host = host.map(super::text::text);
                                out.target = json::unescape(path);
                            }
                            b"status" => status = hv.status(),
                            b"responseSize" => out.bytes_sent = hv.uint(),
                            b"userAgent" => out.user_agent = hv.text(),
                            b"remoteIp" => {
                                if let Some(ip) = hv.text() {
                                    out.remote = match ip {
                                        Text::Borrowed(s) => Text::Borrowed(
                                            std::str::from_utf8(super::text::strip_last_port(
                                                s.as_bytes(),
                                            ))
                                            .unwrap_or(s),
                                        ),
                                        Text::Owned(s) => Text::Owned(
                                            String::from_utf8_lossy(super::text::strip_last_port(
                                                s.as_bytes(),
                                            ))
                                            .into_owned(),
                                        ),
                                    };
                                }
                            }
                            b"latency" => {
                                out.duration_us = fields::duration(hv.raw(), Unit::Suffix)
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if !http {
            return Err(Skip("not_access_log"));
        }
        out.status = status.ok_or(Skip::BAD_STATUS)?;
        out.time = fields::cached_time(cx, ts)?;
        out.anchor = TimeAnchor::End;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&Gcp, line)
    }

    #[test]
    fn sample_line() {
        let r = parse(Gcp.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(
            (r.remote.as_ref(), r.host.as_deref()),
            ("203.0.113.7", Some("api.example.com"))
        );
        assert_eq!((r.duration_us, r.bytes_sent), (Some(42_000), Some(157)));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.078651Z");
        assert!(Gcp.detect(Gcp.sample().as_bytes()));
    }

    #[test]
    fn ipv6_port_and_non_http_entries() {
        let r = parse(r#"{"httpRequest":{"requestMethod":"DELETE","requestUrl":"http://[2001:db8::1]:8080/a?b=1","status":"412","remoteIp":"2001:db8::7:443","latency":"1.5s"},"timestamp":"2026-03-02T09:14:05.123456789Z"}"#).unwrap();
        assert_eq!(
            (r.status, r.remote.as_ref(), r.target.as_ref()),
            (412, "2001:db8::7", "/a?b=1")
        );
        assert_eq!(r.host.as_deref(), Some("2001:db8::1"));
        assert_eq!(r.duration_us, Some(1_500_000));
        assert_eq!(
            parse(r#"{"textPayload":"hello","timestamp":"2026-03-02T09:14:05Z"}"#).unwrap_err(),
            Skip("not_access_log")
        );
    }
}
