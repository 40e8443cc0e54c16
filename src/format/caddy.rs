//! Caddy v2 JSON access log (zap encoder), possibly mixed with Caddy's other log lines.
//!
//! ```text
//! {"level":"info","ts":1716723772.6014807,"logger":"http.log.access.log17","msg":"handled request","request":{"remote_ip":"10.5.1.1","remote_port":"38574","client_ip":"10.10.10.117","proto":"HTTP/2.0","method":"GET","host":"mirrors.tnonline.net:400","uri":"/gentoo/distfiles/9b/tl.tar.xz","headers":{"User-Agent":["facebookexternalhit/1.1"],"X-Forwarded-For":["10.10.10.117"]}},"bytes_read":0,"user_id":"","duration":0.000786255,"size":0,"status":200,"resp_headers":{"Server":["Caddy"]}}
//! ```
//!
//! Quirks handled:
//! - `ts` is written when the request is done (anchor End): float epoch seconds by default,
//!   or ISO 8601 / epoch ms-ns with other `time_format` settings (recognised by shape);
//! - `duration` is float seconds by default, a string with a unit (`"1.2ms"`) with
//!   `duration_format: string`, or integer ns with `nanoseconds`;
//! - `request.client_ip` (v2.7+, honours `trusted_proxies`) is the remote when present,
//!   else `remote_ip`;
//! - headers are maps of arrays (`"User-Agent":["curl/8"]`), `REDACTED` for secrets;
//!   they answer `--client header:NAME`;
//! - `user_id` `""` is missing;
//! - lines from other loggers (`http.handlers...`, `tls`, startup) are skipped as
//!   `not_access_log`.

use super::fields::{self, Unit};
use super::{Format, LineContext, json};
use crate::record::{Method, Request, Skip, Text, TimeAnchor};

pub struct Caddy;

const NOT_ACCESS: Skip = Skip("not_access_log");

fn duration(v: json::Val<'_>) -> Option<u64> {
    match v {
        json::Val::Str(_) | json::Val::Plain(_) => fields::duration(v.raw(), Unit::Suffix),
        json::Val::Num(n) if memchr::memchr(b'.', n).is_none() && n.len() > 6 => {
            fields::duration(n, Unit::Ns)
        }
        json::Val::Num(n) => fields::duration(n, Unit::S),
        _ => None,
    }
}

/// Which members a walk has met (bits), to take the first of each and stop early.
#[derive(Clone, Copy)]
struct Met(u16);

impl Met {
    const TS: u16 = 1;
    const LOGGER: u16 = 1 << 1;
    const STATUS: u16 = 1 << 2;
    const REQUEST: u16 = 1 << 3;
    const DURATION: u16 = 1 << 4;
    const SIZE: u16 = 1 << 5;
    const USER: u16 = 1 << 6;
    /// Every top-level member a full read takes.
    const TOP: u16 = (1 << 7) - 1;
    const REMOTE_IP: u16 = 1 << 7;
    const CLIENT_IP: u16 = 1 << 8;
    const METHOD: u16 = 1 << 9;
    const HOST: u16 = 1 << 10;
    const URI: u16 = 1 << 11;
    const HEADERS: u16 = 1 << 12;

    /// Whether `bit` is met for the first time (and notes it).
    fn first(&mut self, bit: u16) -> bool {
        let new = self.0 & bit == 0;
        self.0 |= bit;
        new
    }
}

/// Reads the `request` object: address, method, vhost, URI and (in full) the headers.
fn request<'a>(r: json::Obj<'a>, lite: bool, out: &mut Request<'a>) {
    let mut met = Met(0);
    let wanted = Met::REMOTE_IP
        | Met::CLIENT_IP
        | Met::METHOD
        | Met::HOST
        | Met::URI
        | if lite { 0 } else { Met::HEADERS };
    let mut remote_ip = None;
    for (rk, rv) in r.members() {
        match rk {
            b"remote_ip" if met.first(Met::REMOTE_IP) => remote_ip = rv.text(),
            b"client_ip" if met.first(Met::CLIENT_IP) => {
                if let Some(c) = rv.text() {
                    fields::set_remote(c, out);
                }
            }
            b"method" if met.first(Met::METHOD) => out.method = Method::parse(rv.raw()),
            b"host" if met.first(Met::HOST) => out.host = rv.text(),
            b"uri" if met.first(Met::URI) => out.target = rv.text().unwrap_or_default(),
            // A lite read needs no header (the vhost is `host` above).
            b"headers" if !lite && met.first(Met::HEADERS) => {
                if let Some(h) = rv.obj() {
                    for (hk, hv) in h.members() {
                        if hk.eq_ignore_ascii_case(b"user-agent") {
                            out.user_agent = hv.first().text();
                        } else if hk.eq_ignore_ascii_case(b"x-forwarded-for") {
                            out.xff = hv.first().text();
                        } else if hk.eq_ignore_ascii_case(b"x-request-id") {
                            out.request_id = hv.first().text();
                        }
                    }
                }
            }
            _ => {}
        }
        if met.0 & wanted == wanted {
            break;
        }
    }
    if out.remote.is_empty()
        && let Some(r) = remote_ip
    {
        fields::set_remote(r, out);
    }
}

impl Format for Caddy {
    fn reads_lite(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "caddy"
    }

    fn about(&self) -> &'static str {
        "Caddy v2 JSON access log (ts epoch s, duration s, request{...}, status)"
    }

    fn sample(&self) -> &'static str {
        r#"{"level":"info","ts":1772442845.123456,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"10.0.0.2","remote_port":"41234","client_ip":"203.0.113.7","proto":"HTTP/2.0","method":"PUT","host":"api.example.com","uri":"/api/v1/orders/1042","headers":{"User-Agent":["okhttp/4.9.3"],"X-Api-Key":["key_live_7Hq2"],"Authorization":["REDACTED"]}},"bytes_read":112,"user_id":"","duration":0.042,"size":87,"status":409,"resp_headers":{"Server":["Caddy"]}}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        // Caddy's other zap lines count too (they are skipped as `not_access_log`), so a
        // stream that is mostly startup messages is still recognised.
        json::has_key(line, "logger") && memchr::memmem::find(line, b"\"http.log.access").is_some()
            || json::has_key(line, "level")
                && json::has_key(line, "ts")
                && json::has_key(line, "msg")
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let obj = json::object(line).ok_or(Skip::MALFORMED)?;
        let (mut ts, mut status, mut access) = (None, None, false);
        // The first of a repeated member counts (as `json::Obj::get` reads), so the walk
        // stops once every member the read needs is seen: what follows (`resp_headers`,
        // and in a request the headers a lite read does not need) cannot change it, and
        // is not skipped over byte by byte. A lite read needs no duration, size or user.
        let mut met = Met(0);
        let wanted = if cx.lite {
            Met::TS | Met::LOGGER | Met::STATUS | Met::REQUEST
        } else {
            Met::TOP
        };
        for (k, v) in obj.members() {
            match k {
                b"ts" if met.first(Met::TS) => ts = Some(v.raw()),
                b"logger" if met.first(Met::LOGGER) => {
                    access = v.raw().starts_with(b"http.log.access")
                }
                b"status" if met.first(Met::STATUS) => status = Some(v),
                b"duration" if met.first(Met::DURATION) => out.duration_us = duration(v),
                b"size" if met.first(Met::SIZE) => out.bytes_sent = v.uint(),
                b"user_id" if met.first(Met::USER) => out.user = v.text(),
                b"request" if met.first(Met::REQUEST) => {
                    let Some(r) = v.obj() else { continue };
                    request(r, cx.lite, out);
                }
                _ => {}
            }
            if met.0 & wanted == wanted {
                break;
            }
        }
        if !access {
            return Err(NOT_ACCESS);
        }
        out.status = status.and_then(|s| s.status()).ok_or(Skip::BAD_STATUS)?;
        out.time = fields::cached_time(cx, ts)?;
        out.anchor = TimeAnchor::End;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&Caddy, line)
    }

    #[test]
    fn sample_line() {
        let r = parse(Caddy.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(r.remote, "203.0.113.7");
        assert_eq!((r.duration_us, r.user.clone()), (Some(42_000), None));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123456Z");
        assert_eq!(
            Caddy
                .field(Caddy.sample().as_bytes(), "x-api-key")
                .as_deref(),
            Some("key_live_7Hq2")
        );
        assert_eq!(
            Caddy
                .field(Caddy.sample().as_bytes(), "authorization")
                .as_deref(),
            Some("REDACTED")
        );
        assert!(Caddy.detect(Caddy.sample().as_bytes()));
    }

    #[test]
    fn ipv6_string_duration_and_other_loggers() {
        let r = parse(r#"{"level":"info","ts":"2026-03-02T09:14:05.5Z","logger":"http.log.access","msg":"handled request","request":{"remote_ip":"2001:db8::9","remote_port":"5000","method":"DELETE","uri":"/a/1?x=\"y\"","headers":{}},"user_id":"bob","duration":"1.5ms","status":412}"#).unwrap();
        assert_eq!(
            (r.remote.as_ref(), r.duration_us, r.user.as_deref()),
            ("2001:db8::9", Some(1_500), Some("bob"))
        );
        assert_eq!(r.target, "/a/1?x=\"y\"");
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.5Z");
        assert_eq!(parse(r#"{"level":"info","ts":1716723772.6,"logger":"tls.cache.maintenance","msg":"started background certificate maintenance"}"#).unwrap_err(), NOT_ACCESS);
    }

    /// The first of a repeated member counts, lite or full, so the read can stop once it has
    /// what it needs; a line cut in the members it does not need reads the same.
    #[test]
    fn first_member_counts_and_the_tail_is_not_read() {
        let head = r#"{"level":"info","ts":1772442845.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.2","client_ip":"203.0.113.7","method":"PUT","host":"api.example.com","uri":"/o/1","uri":"/o/2","headers":{"User-Agent":["curl/8"]}},"bytes_read":1,"user_id":"","duration":0.042,"size":87,"status":409,"#;
        for tail in [
            r#""status":200,"resp_headers":{"Server":["Caddy"]}}"#,
            r#""resp_headers":{"Server":["Cad"#,
        ] {
            let line = format!("{head}{tail}");
            crate::format::testing::assert_lite_agrees(&Caddy, line.as_bytes());
            let r = parse(&line).unwrap();
            assert_eq!((r.status, r.target.as_ref()), (409, "/o/1"));
            assert_eq!(
                (r.duration_us, r.user_agent.as_deref()),
                (Some(42_000), Some("curl/8"))
            );
        }
    }
}
