//! nginx `log_format ... escape=json '{...}'` JSON lines (also ingress-nginx `log-format-upstream`
//! JSON), recognised by the variable names operators use as keys.
//!
//! ```text
//! {"time_local":"02/Mar/2026:09:14:05 +0000","remote_addr":"203.0.113.7","request":"PUT /api/v1/orders/1042 HTTP/1.1","status":409,"body_bytes_sent":87,"request_time":0.042,"upstream_status":"409","http_x_forwarded_for":"","http_user_agent":"okhttp/4.9.3","request_id":"5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7","http_x_api_key":"key_live_7Hq2"}
//! ```
//!
//! Keys are the nginx variable names without `$` (`time_local`, `time_iso8601`, `msec`,
//! `remote_addr`, `request` or `request_method` + `request_uri`/`uri`, `status`,
//! `request_time`, `upstream_status`, `http_x_forwarded_for`, `request_id`, `host`/`http_host`,
//! `http_user_agent`, `remote_user`, `body_bytes_sent`) plus common short aliases (`time`,
//! `client`, `method`, `path`, `rt`, `xff`, `ua`).
//!
//! Quirks handled:
//! - `escape=json` writes a not-found variable as `""` (missing), never `-`, but `-` is
//!   accepted as missing too;
//! - numbers may be bare (`"status":409`) or strings (`"status":"409"`);
//!   `"upstream_response_time":$upstream_response_time` may produce `0.100, 0.004` (invalid
//!   JSON): tolerated;
//! - raw bytes ≥ 0x80 (invalid UTF-8) are decoded lossily;
//! - `upstream_status` lists (`502, 409`) keep the last status;
//! - `$time_local`/`$msec` are log-write times (anchor End);
//! - request headers logged as `http_<name>` answer `--client header:<name>`.

use super::fields::{self, KeyMeaning, Role, Seen, Unit};
use super::{Format, LineContext, json};
use crate::record::{Request, Skip, Text};

pub struct NginxJson;

fn role(key: &[u8]) -> Option<Role> {
    Some(match key {
        b"time_local" | b"time_iso8601" | b"msec" | b"time" | b"timestamp" | b"@timestamp" => {
            Role::TimeEnd
        }
        b"remote_addr" | b"client" | b"client_ip" | b"remote_ip" | b"realip_remote_addr" => {
            Role::Remote
        }
        b"request" => Role::RequestLine,
        b"request_method" | b"method" => Role::Method,
        b"request_uri" | b"uri" | b"path" => Role::Target,
        b"status" => Role::Status,
        b"upstream_status" => Role::UpstreamStatus,
        b"request_time" | b"rt" | b"duration" => Role::Duration(Unit::S),
        b"http_x_forwarded_for" | b"x_forwarded_for" | b"xff" => Role::Xff,
        b"request_id" | b"req_id" | b"http_x_request_id" => Role::RequestId,
        b"host" | b"http_host" | b"server_name" => Role::Host,
        b"http_user_agent" | b"user_agent" | b"ua" => Role::UserAgent,
        b"remote_user" | b"user" => Role::User,
        b"http_x_api_key" | b"api_key" | b"apikey" => Role::ApiKey,
        b"consumer" | b"http_x_consumer_username" => Role::Consumer,
        b"body_bytes_sent" | b"bytes_sent" => Role::Bytes,
        _ => return None,
    })
}

/// Is `key` the nginx variable for header `name` (`http_x_api_key` for `x-api-key`)?
pub fn is_header_key(key: &[u8], name: &str) -> bool {
    let Some(k) = key.strip_prefix(b"http_") else {
        return false;
    };
    k.len() == name.len()
        && k.iter()
            .zip(name.bytes())
            .all(|(&a, b)| a.eq_ignore_ascii_case(&if b == b'-' { b'_' } else { b }))
}

/// Reads into `out` the members whose role `wanted` accepts, through the layout of the lines
/// before (lines from one `log_format` share it); which essential fields it met.
#[inline]
fn read<'a>(
    line: &'a [u8],
    cx: &mut LineContext<'a>,
    out: &mut Request<'a>,
    wanted: impl Fn(Role) -> bool,
) -> Result<Seen, Skip> {
    let mut seen = Seen::default();
    fields::read_members(
        line,
        cx,
        |k| role(k).map(KeyMeaning::Role),
        |m| matches!(m, KeyMeaning::Role(r) if wanted(r)),
        |m, v, times| match m {
            KeyMeaning::Role(r) => fields::apply_json(r, v, times, out, &mut seen),
            KeyMeaning::Own(_) => Ok(()),
        },
    )?;
    Ok(seen)
}

impl Format for NginxJson {
    fn reads_lite(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "nginx-json"
    }

    fn about(&self) -> &'static str {
        "nginx log_format escape=json lines keyed by variable names (time_local, remote_addr, request, status, request_time, ...)"
    }

    fn sample(&self) -> &'static str {
        r#"{"time_local":"02/Mar/2026:09:14:05 +0000","remote_addr":"203.0.113.7","request":"PUT /api/v1/orders/1042 HTTP/1.1","status":409,"body_bytes_sent":87,"request_time":0.042,"upstream_status":"409","http_x_forwarded_for":"","http_user_agent":"okhttp/4.9.3","request_id":"5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7","http_x_api_key":"key_live_7Hq2"}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "status")
            && [
                "remote_addr",
                "time_local",
                "time_iso8601",
                "request_time",
                "msec",
            ]
            .iter()
            .any(|k| json::has_key(line, k))
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        // A lite read gives meaning only to the keys it needs: the others are stepped over.
        let lite = cx.lite;
        read(line, cx, out, |r| !lite || fields::needed_in_lite(r))?.check()
    }

    /// The members a lite read stepped over, read into the request it filled: those never
    /// make a line fail (`fields::needed_in_lite`), so the lite read's verdict stands. (`cx`
    /// is kept for completing, so its shape knows these members only.)
    fn complete<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        read(line, cx, out, |r| !fields::needed_in_lite(r)).map(|_| ())
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        if !json::may_name(line, name) {
            return None;
        }
        json::object(line)?
            .members()
            .find(|(k, _)| is_header_key(k, name) || k.eq_ignore_ascii_case(name.as_bytes()))
            .and_then(|(_, v)| v.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Method, TimeAnchor};
    use crate::timestamp::rfc3339;

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&NginxJson, line)
    }

    #[test]
    fn lines_read_in_turn_are_read_as_alone() {
        let lines = crate::format::testing::layout_runs(
            NginxJson.sample(),
            &[
                ("\"status\":409", "\"status\":\"409\""),
                ("\"status\":409", "\"status\": 409"),
                ("\"status\":409", "\"status\":"),
                ("\"status\":409,", ""),
                ("\"remote_addr\"", "\"client\""),
                ("\"remote_addr\"", "\"remote_user\""),
                ("203.0.113.7", "2001:db8::1"),
                ("\"request_time\":0.042", "\"request_time\":0.040, 0.002"),
                ("okhttp", "ok\\\"http"),
                (
                    "\"key_live_7Hq2\"}",
                    "\"key_live_7Hq2\",\"extra\":{\"a\":[1]}}",
                ),
                ("\"key_live_7Hq2\"}", "\"key_li"),
            ],
        );
        crate::format::testing::assert_same_in_turn(&NginxJson, &lines);
    }

    #[test]
    fn sample_line() {
        let r = parse(NginxJson.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(r.remote, "203.0.113.7");
        assert_eq!(r.upstream_status, Some(409));
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.xff, None);
        assert_eq!(r.api_key.as_deref(), Some("key_live_7Hq2"));
        assert_eq!(r.anchor, TimeAnchor::End);
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z");
        assert_eq!(
            NginxJson
                .field(NginxJson.sample().as_bytes(), "x-api-key")
                .as_deref(),
            Some("key_live_7Hq2")
        );
        assert!(NginxJson.detect(NginxJson.sample().as_bytes()));
    }

    #[test]
    fn escapes_lists_and_split_request() {
        let line = r#"{"time_iso8601":"2026-03-02T10:14:05+01:00","remote_addr":"2001:db8::7","request_method":"PATCH","request_uri":"/docs/7?x=\"y\"","status":"412","request_time":"0.250","upstream_response_time":0.100, 0.150,"upstream_status":"502, 412","http_user_agent":"Mozilla \"quoted\" \u00e9","http_x_forwarded_for":"198.51.100.1, 10.0.0.2"}"#;
        let r = parse(line).unwrap();
        assert_eq!(
            (r.method, r.status, r.upstream_status),
            (Method::Patch, 412, Some(412))
        );
        assert_eq!(r.target, "/docs/7?x=\"y\"");
        assert_eq!(r.remote, "2001:db8::7");
        assert_eq!(r.user_agent.as_deref(), Some("Mozilla \"quoted\" é"));
        assert_eq!(r.xff.as_deref(), Some("198.51.100.1, 10.0.0.2"));
        assert_eq!(r.duration_us, Some(250_000));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z");
    }

    #[test]
    fn msec_epoch_and_missing() {
        let r = parse(r#"{"msec":"1772442845.123","remote_addr":"10.0.0.1","request":"DELETE /a/1 HTTP/2.0","status":409,"request_time":0.001,"remote_user":"","request_id":""}"#).unwrap();
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        assert_eq!((r.user, r.request_id), (None, None));
        assert_eq!(
            parse(r#"{"remote_addr":"10.0.0.1","status":409}"#).unwrap_err(),
            Skip::BAD_TIME
        );
        assert_eq!(
            parse(r#"{"time_local":"x","status":409}"#).unwrap_err(),
            Skip::BAD_TIME
        );
        assert_eq!(parse("not json").unwrap_err(), Skip::MALFORMED);
        // An empty request line (nginx 400) is still a request.
        let r = parse(r#"{"time_local":"02/Mar/2026:09:14:05 +0000","remote_addr":"10.0.0.1","request":"","status":400}"#).unwrap();
        assert_eq!((r.method, r.target.as_ref()), (Method::Other, ""));
    }

    /// `$upstream_status` is `-` (or empty) when nginx answered without proxying (`return`,
    /// `limit_req`, an auth subrequest's refusal): the gateway produced the response.
    #[test]
    fn no_upstream_answer() {
        use crate::record::Origin;
        let line = |u: &str| {
            format!(
                r#"{{"time_local":"02/Mar/2026:09:14:05 +0000","remote_addr":"10.0.0.1","request":"PUT /a/1 HTTP/1.1","status":409,"upstream_status":{u}}}"#
            )
        };
        for (u, status, origin) in [
            (r#""-""#, Some(0), Origin::Gateway),
            (r#""""#, Some(0), Origin::Gateway),
            (r#""409""#, Some(409), Origin::Upstream),
            (r#""502, 200""#, Some(200), Origin::Rewritten),
        ] {
            let text = line(u);
            let r = parse(&text).unwrap();
            assert_eq!((r.upstream_status, r.origin()), (status, origin), "{u}");
        }
        let r = parse(r#"{"time_local":"02/Mar/2026:09:14:05 +0000","remote_addr":"10.0.0.1","request":"PUT /a/1 HTTP/1.1","status":409}"#).unwrap();
        assert_eq!(r.origin(), Origin::Unknown);
    }
}
