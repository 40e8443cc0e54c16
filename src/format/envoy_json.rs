//! Envoy JSON access logs (`json_format` / `typed_json_format`) with the operator names as
//! keys, which is what Istio's `accessLogEncoding: JSON` writes.
//!
//! ```text
//! {"authority":"reviews:9080","bytes_received":0,"bytes_sent":358,"downstream_remote_address":"[2a02:cf40::4e36]:5000","duration":15,"method":"GET","path":"/reviews/0","protocol":"HTTP/1.1","request_id":"9fcc7101-13bd-9753-98d6-820806088d9d","response_code":200,"response_flags":"-","start_time":"2022-09-08T12:51:05.656Z","upstream_cluster":"inbound|9080||","upstream_host":"10.124.1.5:9080","upstream_service_time":"14","user_agent":"curl/7.79.1","x_forwarded_for":null}
//! ```
//!
//! Quirks handled:
//! - `start_time` is the request start (anchor Start), `duration` is ms;
//! - `json_format` writes every value as a string and unset values as `"-"`;
//!   `typed_json_format` writes numbers and `null` — both read the same;
//! - `response_code` `0` (no response sent) is kept as status 0;
//! - `downstream_remote_address` is `ip:port` with IPv6 in brackets: the port is dropped;
//!   without it, the first `x_forwarded_for` address is the remote;
//! - hyphenated header-style keys (`x-request-id`, `user-agent`, `x-forwarded-for`,
//!   `:authority`) are accepted as aliases.

use super::fields::{self, KeyMeaning, Role, Seen, Unit};
use super::{Format, LineContext, envoy, json};
use crate::record::{Request, Skip, Text};

pub struct EnvoyJson;

fn role(key: &[u8]) -> Option<Role> {
    Some(match key {
        b"start_time" | b"START_TIME" => Role::TimeStart,
        b"method" | b":method" => Role::Method,
        b"path" | b":path" | b"x-envoy-original-path" => Role::Target,
        b"duration" | b"DURATION" => Role::Duration(Unit::Ms),
        b"x_forwarded_for" | b"x-forwarded-for" => Role::Xff,
        b"user_agent" | b"user-agent" => Role::UserAgent,
        b"request_id" | b"x_request_id" | b"x-request-id" => Role::RequestId,
        b"authority" | b":authority" => Role::Host,
        b"downstream_remote_address" | b"client_ip" => Role::Remote,
        b"bytes_sent" => Role::Bytes,
        _ => return None,
    })
}

/// The status, read Envoy's way (`0`, no response, is a status of its own).
const RESPONSE_CODE: KeyMeaning = KeyMeaning::Own(0);

fn meaning(key: &[u8]) -> Option<KeyMeaning> {
    match key {
        b"response_code" | b"RESPONSE_CODE" => Some(RESPONSE_CODE),
        _ => role(key).map(KeyMeaning::Role),
    }
}

/// Is the key read by a lite read? The status, the roles `fields::needed_in_lite` names, and
/// the forwarded addresses, which name the remote when the downstream address is missing.
fn in_lite(m: KeyMeaning) -> bool {
    match m {
        KeyMeaning::Role(r) => fields::needed_in_lite(r) || r == Role::Xff,
        KeyMeaning::Own(_) => true,
    }
}

/// Reads into `out` the members whose meaning `wanted` accepts, through the layout of the
/// lines before (one `json_format` writes every line); which essential fields it met.
#[inline]
fn read<'a>(
    line: &'a [u8],
    cx: &mut LineContext<'a>,
    out: &mut Request<'a>,
    wanted: impl Fn(KeyMeaning) -> bool,
) -> Result<Seen, Skip> {
    let mut seen = Seen::default();
    fields::read_members(line, cx, meaning, wanted, |m, v, times| match m {
        RESPONSE_CODE => {
            out.status = envoy::status_or_zero(v.raw()).ok_or(Skip::BAD_STATUS)?;
            seen.status = true;
            Ok(())
        }
        KeyMeaning::Role(r) => fields::apply_json(r, v, times, out, &mut seen),
        KeyMeaning::Own(_) => Ok(()),
    })?;
    Ok(seen)
}

impl Format for EnvoyJson {
    fn reads_lite(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "envoy-json"
    }

    fn about(&self) -> &'static str {
        "Envoy json_format/typed_json_format and Istio JSON access logs (start_time, response_code, duration ms, ...)"
    }

    fn sample(&self) -> &'static str {
        r#"{"authority":"api.example.com","bytes_received":112,"bytes_sent":87,"downstream_remote_address":"[2001:db8::7]:51544","duration":42,"method":"PUT","path":"/api/v1/orders/1042","protocol":"HTTP/1.1","request_id":"c62ec130-6dee-4f3b-a52b-4f0d1312d89d","response_code":409,"response_flags":"-","start_time":"2026-03-02T09:14:05.123Z","upstream_cluster":"outbound|8080||orders.default.svc.cluster.local","upstream_service_time":"40","user_agent":"okhttp/4.9.3","x_forwarded_for":null}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "response_code")
            && (json::has_key(line, "start_time") || json::has_key(line, "upstream_cluster"))
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        // A lite read gives meaning only to the keys it needs: the others are stepped over.
        let lite = cx.lite;
        let seen = read(line, cx, out, |r| !lite || in_lite(r))?;
        seen.check()?;
        if out.remote.is_empty()
            && let Some(x) = out.xff.clone()
        {
            fields::set_remote(x, out);
        }
        Ok(())
    }

    /// The members a lite read stepped over, read into the request it filled: those never
    /// make a line fail, so the lite read's verdict stands.
    fn complete<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        read(line, cx, out, |r| !in_lite(r)).map(|_| ())
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        if !json::may_name(line, name) {
            return None;
        }
        let alt = name.replace('-', "_");
        json::object(line)?
            .members()
            .find(|(k, _)| {
                k.eq_ignore_ascii_case(name.as_bytes()) || k.eq_ignore_ascii_case(alt.as_bytes())
            })
            .and_then(|(_, v)| v.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Method, TimeAnchor};
    use crate::timestamp::rfc3339;

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&EnvoyJson, line)
    }

    #[test]
    fn lines_read_in_turn_are_read_as_alone() {
        let lines = crate::format::testing::layout_runs(
            EnvoyJson.sample(),
            &[
                ("\"response_code\":409", "\"response_code\":0"),
                ("\"response_code\":409", "\"response_code\":\"409\""),
                ("\"response_code\":409", "\"RESPONSE_CODE\":409"),
                ("\"response_code\"", "\"response_cod_\""),
                ("\"response_code\":409,", ""),
                ("[2001:db8::7]:51544", ""),
                (
                    "\"x_forwarded_for\":null",
                    "\"x_forwarded_for\":\"198.51.100.4\"",
                ),
                ("okhttp", "ok\\\"http"),
                ("\"x_forwarded_for\":null}", "\"x_forwarded_for\":nu"),
            ],
        );
        crate::format::testing::assert_same_in_turn(&EnvoyJson, &lines);
        // Without a downstream address the forwarded one is the remote, in a lite read too.
        let forwarded = EnvoyJson
            .sample()
            .replace("[2001:db8::7]:51544", "-")
            .replace(
                "\"x_forwarded_for\":null",
                "\"x_forwarded_for\":\"198.51.100.4\"",
            );
        crate::format::testing::assert_lite_agrees(&EnvoyJson, forwarded.as_bytes());
        assert_eq!(parse(&forwarded).unwrap().remote, "198.51.100.4");
    }

    #[test]
    fn typed_json() {
        let r = parse(EnvoyJson.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(r.remote, "2001:db8::7");
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.anchor, TimeAnchor::Start);
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        assert_eq!(r.xff, None);
        assert!(EnvoyJson.detect(EnvoyJson.sample().as_bytes()));
    }

    #[test]
    fn string_json_format_with_dashes() {
        let line = r#"{"start_time":"2026-03-02T09:14:05.123Z","method":"DELETE","path":"/a/7","response_code":"0","duration":"5","x-forwarded-for":"198.51.100.4","user-agent":"-","x-request-id":"-","upstream_cluster":"-"}"#;
        let r = parse(line).unwrap();
        assert_eq!((r.status, r.method), (0, Method::Delete));
        assert_eq!(r.remote, "198.51.100.4");
        assert_eq!((r.user_agent, r.request_id), (None, None));
        assert_eq!(r.duration_us, Some(5_000));
        assert_eq!(
            EnvoyJson
                .field(line.as_bytes(), "X-Forwarded-For")
                .as_deref(),
            Some("198.51.100.4")
        );
        assert_eq!(
            parse(r#"{"start_time":"2026-03-02T09:14:05Z","response_code":"x"}"#).unwrap_err(),
            Skip::BAD_STATUS
        );
    }
}
