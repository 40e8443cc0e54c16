//! Traefik access logs: the default CLF (`traefik`) and JSON (`traefik-json`).
//!
//! ```text
//! 192.168.33.1 - - [02/Oct/2017:20:22:07 +0000] "GET /ui/favicons/favicon-16x16.png HTTP/1.1" 304 0 "http://example.com/login" "Mozilla/5.0 (X11; Linux x86_64)" 262 "Host-host-1" "http://172.19.0.3:5601" 2ms
//! {"ClientAddr":"[::1]:56348","ClientHost":"::1","ClientUsername":"-","DownstreamStatus":409,"Duration":42000000,"OriginStatus":409,"RequestHost":"api.example.com","RequestMethod":"PUT","RequestPath":"/api/v1/orders/1042","StartUTC":"2026-03-02T09:14:05.123456789Z","level":"info","msg":"","time":"2026-03-02T09:14:05Z"}
//! ```
//!
//! CLF layout: `ClientHost - ClientUsername [StartUTC] "request" status size "referer"
//! "agent" RequestCount "router" "service_url" <n>ms`.
//!
//! Quirks handled:
//! - the CLF time is the request start (anchor Start); the duration is whole ms with an
//!   `ms` suffix; JSON `Duration` is **ns** and `StartUTC` has ns;
//! - status and size are `-` when Traefik answered itself in old versions: the request is
//!   kept with status 0 (unknown);
//! - no escaping: agents and referers may contain quotes, so the tail is read from the end;
//!   v1 wrote an unquoted `-` referer; a fixture lacks a closing quote on the router;
//!   a plain CLF line without the Traefik tail is accepted;
//! - JSON: `DownstreamStatus` is what the client got, `OriginStatus` the upstream's; keys are
//!   omitted when unknown; `ClientAddr` is `[v6]:port`; headers appear as
//!   `request_<Name>` (used for `--client header:NAME`, user agent, X-Forwarded-For,
//!   X-Request-Id); non-access lines (no `RequestMethod`) are skipped as `not_access_log`.

use super::fields::{self, KeyMeaning, Role, Seen, Unit};
use super::text::{self, optional, quoted, skip_spaces, token};
use super::{Format, LineContext, json};
use crate::bytes::{find, rfind};
use crate::record::{Method, Request, Skip, Text, TimeAnchor};
use crate::timestamp::{CLF_SECONDS_AT, parse_clf};

pub struct Traefik;
pub struct TraefikJson;

const NOT_ACCESS: Skip = Skip("not_access_log");

impl Format for Traefik {
    fn name(&self) -> &'static str {
        "traefik"
    }

    fn about(&self) -> &'static str {
        "Traefik CLF access log (combined + request count, \"router\", \"service\", <n>ms)"
    }

    fn sample(&self) -> &'static str {
        r#"203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 87 "-" "okhttp/4.9.3" 262 "orders@docker" "http://172.19.0.3:8080" 42ms"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        let l = text::trim(line);
        l.ends_with(b"ms")
            && l.len() > 3
            && l[l.len() - 3].is_ascii_digit()
            && memchr::memmem::find(l, b"] \"").is_some()
            && l.ends_with(b"ms")
            && memchr::memchr(b'[', l).is_some()
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let line = text::trim(line);
        // The searches here span a few dozen bytes each: `bytes::find` and `rfind`, whose
        // first step usually finds the byte, where memchr's setup costs more.
        let lb = find(line, b'[').ok_or(Skip::MALFORMED)?;
        let (host, rest) = token(&line[..lb]);
        let (_ident, rest) = token(rest);
        let (user, _) = token(rest);
        let after = &line[lb + 1..];
        let rb = find(after, b']').ok_or(Skip::MALFORMED)?;
        out.time = cx
            .time_cache
            .get_or_seconds(&after[..rb], CLF_SECONDS_AT, parse_clf)
            .ok_or(Skip::BAD_TIME)?;
        out.anchor = TimeAnchor::Start;
        let (req, rest) = quoted(skip_spaces(&after[rb + 1..])).ok_or(Skip::MALFORMED)?;
        let (m, t) = text::request_line(req);
        out.method = m;
        out.target = text::unescape(t);
        let (st, rest) = token(rest);
        out.status = if st == b"-" {
            0
        } else {
            text::status(st).ok_or(Skip::BAD_STATUS)?
        };
        let (size, rest) = token(rest);
        out.bytes_sent = text::uint(size);
        out.remote = text::text(host);
        out.user = optional(user);
        let mut tail = text::trim(rest);
        // `<n>ms` last.
        if let Some(sp) = rfind(tail, b' ') {
            let last = &tail[sp + 1..];
            if let Some(ms) = last.strip_suffix(b"ms") {
                out.duration_us = text::millis_to_micros(ms);
                tail = text::trim(&tail[..sp]);
            }
        }
        // referer: quoted or a bare `-` (v1).
        let tail = if tail.first() == Some(&b'"') {
            quoted(tail).map_or(&b""[..], |(_, r)| r)
        } else {
            token(tail).1
        };
        // `"agent" count "router" "service"`: the agent is what precedes ` <digits> "`.
        let tail = skip_spaces(tail);
        if let Some(inner) = tail.strip_prefix(b"\"") {
            let mut end = inner.len();
            let mut from = 0;
            // Each `" ` (a substring search would set up a searcher per call).
            while let Some(p) = find(&inner[from..], b'"') {
                let q = from + p;
                if inner.get(q + 1) == Some(&b' ') {
                    let (n, r) = token(&inner[q + 2..]);
                    if text::uint(n).is_some() && skip_spaces(r).first() == Some(&b'"') {
                        end = q;
                        break;
                    }
                }
                from = q + 1;
            }
            let ua = inner[..end].strip_suffix(b"\"").unwrap_or(&inner[..end]);
            out.user_agent = optional(ua);
        }
        Ok(())
    }
}

fn json_role(key: &[u8]) -> Option<Role> {
    Some(match key {
        b"StartUTC" | b"StartLocal" => Role::TimeStart,
        b"Duration" => Role::Duration(Unit::Ns),
        b"ClientHost" => Role::Remote,
        b"ClientUsername" => Role::User,
        b"RequestMethod" => Role::Method,
        b"RequestPath" => Role::Target,
        b"RequestHost" => Role::Host,
        b"DownstreamStatus" => Role::Status,
        b"OriginStatus" => Role::UpstreamStatus,
        b"DownstreamContentSize" => Role::Bytes,
        _ => return None,
    })
}

fn header_key(key: &[u8]) -> Option<&[u8]> {
    key.strip_prefix(b"request_")
}

/// Request headers Traefik logs as `request_<Header>` that a request keeps.
const USER_AGENT: KeyMeaning = KeyMeaning::Own(0);
const XFF: KeyMeaning = KeyMeaning::Own(1);
const REQUEST_ID: KeyMeaning = KeyMeaning::Own(2);

fn json_meaning(key: &[u8]) -> Option<KeyMeaning> {
    if let Some(r) = json_role(key) {
        return Some(KeyMeaning::Role(r));
    }
    let h = header_key(key)?;
    if h.eq_ignore_ascii_case(b"User-Agent") {
        Some(USER_AGENT)
    } else if h.eq_ignore_ascii_case(b"X-Forwarded-For") {
        Some(XFF)
    } else if h.eq_ignore_ascii_case(b"X-Request-Id") {
        Some(REQUEST_ID)
    } else {
        None
    }
}

/// Is the key read by a lite read? The roles `fields::needed_in_lite` names, and the
/// origin's status, which is the status when a v1 line lacks `DownstreamStatus`.
fn json_in_lite(m: KeyMeaning) -> bool {
    match m {
        KeyMeaning::Role(r) => fields::needed_in_lite(r) || r == Role::UpstreamStatus,
        KeyMeaning::Own(_) => false,
    }
}

/// Reads into `out` the members whose meaning `wanted` accepts, through the layout of the
/// lines before (one Traefik writes every line with the same keys); which essential fields
/// it met, and the origin's status.
#[inline]
fn read_json<'a>(
    line: &'a [u8],
    cx: &mut LineContext<'a>,
    out: &mut Request<'a>,
    wanted: impl Fn(KeyMeaning) -> bool,
) -> Result<(Seen, Option<u16>), Skip> {
    let mut seen = Seen::default();
    let mut origin_status: Option<u16> = None;
    fields::read_members(line, cx, json_meaning, wanted, |m, v, times| {
        match m {
            KeyMeaning::Role(r) => {
                fields::apply_json(r, v, times, out, &mut seen)?;
                if r == Role::UpstreamStatus {
                    origin_status = out.upstream_status;
                }
            }
            USER_AGENT => out.user_agent = v.text(),
            XFF => out.xff = v.text(),
            REQUEST_ID => out.request_id = v.text(),
            KeyMeaning::Own(_) => {}
        }
        Ok(())
    })?;
    Ok((seen, origin_status))
}

impl Format for TraefikJson {
    fn reads_lite(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "traefik-json"
    }

    fn about(&self) -> &'static str {
        "Traefik JSON access log (StartUTC, Duration ns, DownstreamStatus/OriginStatus, request_<Header>)"
    }

    fn sample(&self) -> &'static str {
        r#"{"ClientAddr":"[2001:db8::7]:56348","ClientHost":"2001:db8::7","ClientUsername":"-","DownstreamContentSize":87,"DownstreamStatus":409,"Duration":42000000,"OriginStatus":409,"RequestHost":"api.example.com","RequestMethod":"PUT","RequestPath":"/api/v1/orders/1042","RouterName":"orders@docker","StartUTC":"2026-03-02T09:14:05.123456789Z","level":"info","msg":"","request_User-Agent":"okhttp/4.9.3","request_X-Api-Key":"key_live_7Hq2","time":"2026-03-02T09:14:05Z"}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "DownstreamStatus") || json::has_key(line, "StartUTC")
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        // A lite read gives meaning only to the keys it needs: the others are stepped over.
        let lite = cx.lite;
        let (mut seen, origin_status) = read_json(line, cx, out, |m| !lite || json_in_lite(m))?;
        if out.method == Method::Other && out.target.is_empty() && !seen.status {
            return Err(NOT_ACCESS);
        }
        if !seen.status {
            // v1 lines may lack DownstreamStatus; the origin's is what the client got.
            // (0 says no origin answered: no status at all then.)
            out.status = origin_status.filter(|&s| s != 0).ok_or(Skip::BAD_STATUS)?;
            seen.status = true;
        }
        seen.check()
    }

    /// The members a lite read stepped over, read into the request it filled: those never
    /// make a line fail, so the lite read's verdict stands.
    fn complete<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        read_json(line, cx, out, |m| !json_in_lite(m)).map(|_| ())
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        json::object(line)?
            .members()
            .find(|(k, _)| header_key(k).is_some_and(|h| h.eq_ignore_ascii_case(name.as_bytes())))
            .and_then(|(_, v)| v.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    fn parse<'a>(f: &dyn Format, line: &'a str) -> Result<Request<'a>, Skip> {
        let mut cx = LineContext::default();
        let mut r = Request::default();
        f.parse(line.as_bytes(), &mut cx, &mut r)?;
        Ok(r)
    }

    #[test]
    fn clf_sample_and_v1_quirks() {
        let r = parse(&Traefik, Traefik.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!((r.duration_us, r.anchor), (Some(42_000), TimeAnchor::Start));
        assert_eq!(r.user_agent.as_deref(), Some("okhttp/4.9.3"));
        // Real v1 lines (realdata/traefik): unquoted referer, quote inside the agent, `- -`.
        let r = parse(&Traefik, r#"89.160.20.156 - - [19/Jan/2018:10:01:02 +0000] "GET /assets/x?oauth_token=ya29 HTTP/1.1" 200 85 - "Android "7" app" 623112 "Host-api-2" "http://172.25.0.9:4140" 13ms"#).unwrap();
        assert_eq!(r.user_agent.as_deref(), Some(r#"Android "7" app"#));
        assert_eq!(r.duration_us, Some(13_000));
        // A quote, a space and a number inside the agent end it only before a quote.
        let r = parse(&Traefik, r#"89.160.20.156 - - [19/Jan/2018:10:01:02 +0000] "GET / HTTP/1.1" 200 85 "-" "a "b" 12 c" 9 "r" "s" 1ms"#).unwrap();
        assert_eq!(r.user_agent.as_deref(), Some(r#"a "b" 12 c"#));
        let r = parse(
            &Traefik,
            r#"::1 - - [15/Apr/2024:13:04:10 +0000] "GET / HTTP/1.1" - - "-" "-" 27 "-" "-" 0ms"#,
        )
        .unwrap();
        assert_eq!(
            (r.status, r.remote.as_ref(), r.duration_us),
            (0, "::1", Some(0))
        );
        let r = parse(&Traefik, r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#).unwrap();
        assert_eq!((r.user.as_deref(), r.duration_us), (Some("frank"), None));
        assert!(Traefik.detect(Traefik.sample().as_bytes()));
    }

    #[test]
    fn json_lines_read_in_turn_are_read_as_alone() {
        let lines = crate::format::testing::layout_runs(
            TraefikJson.sample(),
            &[
                ("\"DownstreamStatus\":409", "\"DownstreamStatus\":\"409\""),
                ("\"DownstreamStatus\":409,", ""),
                ("\"DownstreamStatus\"", "\"DownstreamStatu_\""),
                ("\"request_User-Agent\"", "\"request_X-Request-Id\""),
                ("\"request_User-Agent\"", "\"request_user-agent\""),
                ("okhttp", "ok\\\"http"),
                ("\"StartUTC\":\"2026", "\"StartUTC\": \"2026"),
                ("\"time\":\"2026-03-02T09:14:05Z\"}", "\"time\":\"2026-03"),
                ("\"DownstreamStatus\":409,", "\"DownstreamStatu_\":409,"),
            ],
        );
        crate::format::testing::assert_same_in_turn(&TraefikJson, &lines);
    }

    #[test]
    fn json_v2_and_v1() {
        let r = parse(&TraefikJson, TraefikJson.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status, r.upstream_status),
            (Method::Put, "/api/v1/orders/1042", 409, Some(409))
        );
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.remote, "2001:db8::7");
        assert_eq!(r.user, None);
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123456Z");
        assert_eq!(
            TraefikJson
                .field(TraefikJson.sample().as_bytes(), "x-api-key")
                .as_deref(),
            Some("key_live_7Hq2")
        );
        let r = parse(&TraefikJson, r#"{"ClientHost":"10.10.10.20","OriginStatus":412,"Duration":100000,"RequestMethod":"PATCH","RequestPath":"/x","StartUTC":"2026-03-02T09:14:05Z"}"#).unwrap();
        assert_eq!((r.status, r.duration_us), (412, Some(100)));
        assert_eq!(
            parse(
                &TraefikJson,
                r#"{"level":"info","msg":"Configuration loaded","time":"2026-03-02T09:14:05Z"}"#
            )
            .unwrap_err(),
            NOT_ACCESS
        );
    }
}
