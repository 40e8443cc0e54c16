//! Kong logging plugins (file-log, http-log, tcp-log, udp-log, syslog) JSON, one object per
//! line.
//!
//! ```text
//! {"request":{"method":"PUT","uri":"/orders/1042","url":"https://api.example.com:8443/orders/1042","headers":{"host":"api.example.com","user-agent":"okhttp/4.9.3","apikey":"key_live_7Hq2"},"id":"e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7"},"upstream_status":"409","source":"upstream","response":{"status":409,"size":287},"latencies":{"request":42,"kong":1,"proxy":40},"client_ip":"203.0.113.7","started_at":1772442845123,"consumer":{"id":"a1b2","username":"mobile-app"},"authenticated_entity":{"id":"c3d4","consumer_id":"a1b2"}}
//! ```
//!
//! Quirks handled:
//! - `started_at` is epoch **ms** at the request start (anchor Start); `latencies.request`
//!   is ms; `latencies.proxy` is `-1` when Kong answered itself (not used as duration);
//! - `response.status` is the client-facing status; `upstream_status` (3.6+) is a **string**
//!   and may be absent;
//! - `consumer.username` (else `custom_id`, else `id`) is the consumer; the credential
//!   (`authenticated_entity.id`) is the API key id; `request.headers` are lower-case, arrays
//!   when repeated, and answer `--client header:NAME`;
//! - `request.id` (3.5+, `X-Kong-Request-Id`) is the request id;
//! - `balancer_start_ns` uses exponent notation: never read.

use super::fields::{self, Unit};
use super::json::{self, Obj};
use super::{Format, LineContext};
use crate::record::{Method, Request, Skip, Text, TimeAnchor};

pub struct Kong;

impl Format for Kong {
    fn name(&self) -> &'static str {
        "kong"
    }

    fn about(&self) -> &'static str {
        "Kong logging-plugin JSON (started_at ms, latencies ms, response.status, upstream_status, consumer)"
    }

    fn sample(&self) -> &'static str {
        r#"{"request":{"method":"PUT","uri":"/orders/1042","url":"https://api.example.com:8443/orders/1042","headers":{"host":"api.example.com","user-agent":"okhttp/4.9.3","apikey":"key_live_7Hq2"},"id":"e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7"},"upstream_status":"409","source":"upstream","response":{"status":409,"size":287},"latencies":{"request":42,"kong":1,"proxy":40},"client_ip":"203.0.113.7","started_at":1772442845123,"consumer":{"id":"a1b2","username":"mobile-app"},"authenticated_entity":{"id":"c3d4","consumer_id":"a1b2"}}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "latencies") && json::has_key(line, "started_at")
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let obj = json::object(line).ok_or(Skip::MALFORMED)?;
        let mut started = None;
        let mut status = None;
        let mut gateway = false;
        for (k, v) in obj.members() {
            match k {
                b"started_at" => started = Some(v.raw()),
                b"client_ip" => {
                    if let Some(c) = v.text() {
                        fields::set_remote(c, out);
                    }
                }
                b"upstream_status" if !gateway => {
                    out.upstream_status = fields::upstream_status(v.raw())
                }
                // The response came from Kong itself or from a plugin's `kong.response.exit`.
                b"source" if matches!(v.raw(), b"kong" | b"exit") => {
                    gateway = true;
                    out.upstream_status = Some(0);
                }
                b"request" => {
                    if let Some(r) = v.obj() {
                        request(r, out);
                    }
                }
                b"response" => {
                    if let Some(r) = v.obj() {
                        status = response(r, out);
                    }
                }
                b"latencies" => {
                    if let Some(l) = v.obj().and_then(|l| l.get("request")) {
                        out.duration_us = fields::duration(l.raw(), Unit::Ms);
                    }
                }
                b"consumer" => {
                    if let Some(c) = v.obj() {
                        out.consumer = c
                            .get("username")
                            .and_then(|x| x.text())
                            .or_else(|| c.get("custom_id").and_then(|x| x.text()))
                            .or_else(|| c.get("id").and_then(|x| x.text()));
                    }
                }
                b"authenticated_entity" => {
                    out.api_key = v.obj().and_then(|a| a.get("id")).and_then(|x| x.text())
                }
                _ => {}
            }
        }
        out.status = status.ok_or(Skip::BAD_STATUS)?;
        out.time = fields::cached_time(cx, started)?;
        out.anchor = TimeAnchor::Start;
        Ok(())
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        if !json::may_name(line, name) {
            return None;
        }
        let h = json::object(line)?.path("request.headers")?.obj()?;
        h.get_ignore_case(name)?.first().text()
    }
}

/// `request`: the method, the target, the request id and the headers.
fn request<'a>(r: Obj<'a>, out: &mut Request<'a>) {
    for (k, v) in r.members() {
        match k {
            b"method" => out.method = Method::parse(v.raw()),
            b"uri" => out.target = v.text().unwrap_or_default(),
            b"id" => out.request_id = v.text(),
            b"headers" => {
                if let Some(h) = v.obj() {
                    headers(h, out);
                }
            }
            _ => {}
        }
    }
}

/// `request.headers`: lower-case names, an array where a header was repeated (the first
/// is taken).
fn headers<'a>(h: Obj<'a>, out: &mut Request<'a>) {
    for (k, v) in h.members() {
        match k {
            b"host" => out.host = v.first().text(),
            b"user-agent" => out.user_agent = v.first().text(),
            b"x-forwarded-for" => out.xff = v.first().text(),
            b"x-request-id" if out.request_id.is_none() => out.request_id = v.first().text(),
            _ => {}
        }
    }
}

/// `response`: the size, and the client-facing status it returns.
fn response<'a>(r: Obj<'a>, out: &mut Request<'a>) -> Option<u16> {
    let mut status = None;
    for (k, v) in r.members() {
        match k {
            b"status" => status = v.status(),
            b"size" => out.bytes_sent = v.uint(),
            _ => {}
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&Kong, line)
    }

    #[test]
    fn sample_line() {
        let r = parse(Kong.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status, r.upstream_status),
            (Method::Put, "/orders/1042", 409, Some(409))
        );
        assert_eq!(r.consumer.as_deref(), Some("mobile-app"));
        assert_eq!(r.api_key.as_deref(), Some("c3d4"));
        assert_eq!((r.duration_us, r.anchor), (Some(42_000), TimeAnchor::Start));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        assert_eq!(
            r.request_id.as_deref(),
            Some("e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7")
        );
        assert_eq!(
            Kong.field(Kong.sample().as_bytes(), "ApiKey").as_deref(),
            Some("key_live_7Hq2")
        );
        assert!(Kong.detect(Kong.sample().as_bytes()));
    }

    #[test]
    fn not_proxied_and_anonymous() {
        let r = parse(r#"{"request":{"method":"POST","uri":"/x?a=1","headers":{"x-forwarded-for":["198.51.100.1","10.0.0.1"]}},"response":{"status":401,"size":"120"},"latencies":{"request":3,"kong":3,"proxy":-1},"client_ip":"2001:db8::3","started_at":1772442845000,"tries":[{"balancer_start_ns":1.7267838395395e+18}]}"#).unwrap();
        assert_eq!(
            (r.status, r.upstream_status, r.consumer.clone()),
            (401, None, None)
        );
        assert_eq!(
            (r.remote.as_ref(), r.xff.as_deref()),
            ("2001:db8::3", Some("198.51.100.1"))
        );
        assert_eq!(r.bytes_sent, Some(120));
        assert_eq!(
            parse(r#"{"response":{},"latencies":{},"started_at":1}"#).unwrap_err(),
            Skip::BAD_STATUS
        );
    }

    /// `source`: `upstream` (the service answered), `kong` (Kong itself) or `exit` (a plugin's
    /// `kong.response.exit`), which wins over an `upstream_status` in either order.
    #[test]
    fn who_answered() {
        use crate::record::Origin;
        let line = |source: &str, upstream: &str| {
            format!(
                r#"{{"request":{{"method":"PUT","uri":"/p/1"}},{upstream}"source":"{source}","response":{{"status":409}},"client_ip":"10.0.0.1","started_at":1772442845000}}"#
            )
        };
        let origin = |l: String| parse(&l).unwrap().origin();
        assert_eq!(
            origin(line("upstream", r#""upstream_status":"409","#)),
            Origin::Upstream
        );
        assert_eq!(
            origin(line("exit", r#""upstream_status":"409","#)),
            Origin::Gateway
        );
        assert_eq!(origin(line("kong", "")), Origin::Gateway);
        assert_eq!(origin(line("upstream", "")), Origin::Unknown);
        assert_eq!(
            origin(r#"{"source":"exit","upstream_status":"409","request":{"method":"PUT","uri":"/p/1"},"response":{"status":409},"started_at":1772442845000}"#.to_string()),
            Origin::Gateway
        );
    }
}
