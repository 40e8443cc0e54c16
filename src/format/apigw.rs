//! AWS API Gateway access logs (REST v1 and HTTP API v2): the console's JSON preset and
//! its CLF preset.
//!
//! ```text
//! {"requestId":"48752d0f-c99d-4cfa-a5a7-f3c6834d19e5","ip":"1.128.0.0","caller":"-","user":"-","requestTime":"10/Jun/2023:15:36:28 +0000","httpMethod":"GET","resourcePath":"/pets","status":"200","protocol":"HTTP/1.1","responseLength":"184"}
//! 1.128.0.0 - - [10/Jun/2023:15:36:28 +0000]"GET /pets HTTP/1.1" 200 184 48752d0f-c99d-4cfa-a5a7-f3c6834d19e5 GQIVriFLIAMEMsA=
//! ```
//!
//! Quirks handled:
//! - every `$context` value is substituted as text: numbers are strings (`"status":"409"`),
//!   missing values are `-`;
//! - `requestTime` (CLF-style, UTC) is when the request arrived (anchor Start);
//!   `requestTimeEpoch` is epoch milliseconds;
//! - the path is the real `path` when logged, else the `resourcePath` template
//!   (`/pets/{petId}`), else HTTP API's `routeKey` (`GET /pets`, also giving the method);
//! - `responseLatency` is ms; `integrationStatus`/`integration.status` is the backend status;
//! - identity: `user` (IAM/Cognito), `apiKeyId`/`apiKey`, `principalId` (authorizer) as
//!   consumer;
//! - the CLF preset has no space between `]` and `"`.

use super::fields::{self, KeyMeaning, Role, Seen, Unit};
use super::text::{self, optional, quoted, skip_spaces, token};
use super::{Format, LineContext, json};
use crate::record::{Request, Skip, Text, TimeAnchor};
use crate::timestamp::parse_clf;

pub struct ApiGatewayJson;
pub struct ApiGatewayClf;

/// The CLF preset's time and request without a space between them: `...+0000]"PUT`.
static TIME_THEN_REQUEST: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"]\""));

fn role(key: &[u8]) -> Option<Role> {
    Some(match key {
        b"requestTime" | b"requestTimeEpoch" => Role::TimeStart,
        b"requestId" => Role::RequestId,
        b"ip" | b"sourceIp" => Role::Remote,
        b"user" => Role::User,
        b"httpMethod" => Role::Method,
        b"path" => Role::Target,
        b"resourcePath" | b"routeKey" => Role::Route,
        b"status" => Role::Status,
        b"integrationStatus" | b"integration.status" => Role::UpstreamStatus,
        b"responseLatency" => Role::Duration(Unit::Ms),
        b"responseLength" => Role::Bytes,
        b"apiKeyId" | b"apiKey" => Role::ApiKey,
        b"principalId" | b"consumer" => Role::Consumer,
        b"userAgent" => Role::UserAgent,
        b"domainName" => Role::Host,
        b"xForwardedFor" => Role::Xff,
        _ => return None,
    })
}

/// Reads into `out` the members whose role `wanted` accepts, through the layout of the lines
/// before (one `$context` template writes every line of a stage); which essential fields it
/// met.
#[inline]
fn read<'a>(
    line: &'a [u8],
    cx: &mut LineContext<'a>,
    out: &mut Request<'a>,
    wanted: impl Fn(Role) -> bool,
) -> Result<Seen, Skip> {
    let mut seen = Seen::default();
    // `path` wins over the templates whatever the key order: the last template logged is
    // applied after the members, when no path was.
    let mut route = None;
    fields::read_members(
        line,
        cx,
        |k| role(k).map(KeyMeaning::Role),
        |m| matches!(m, KeyMeaning::Role(r) if wanted(r)),
        |m, v, times| match m {
            KeyMeaning::Role(Role::Route) => {
                if v.present() {
                    route = Some(v);
                }
                Ok(())
            }
            KeyMeaning::Role(r) => fields::apply_json(r, v, times, out, &mut seen),
            KeyMeaning::Own(_) => Ok(()),
        },
    )?;
    if let Some(v) = route {
        fields::apply_json(Role::Route, v, &mut cx.time_cache, out, &mut seen)?;
    }
    Ok(seen)
}

impl Format for ApiGatewayJson {
    fn reads_lite(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "apigw-json"
    }

    fn about(&self) -> &'static str {
        "AWS API Gateway access log, JSON preset (requestId, ip, requestTime, httpMethod, resourcePath/routeKey, status)"
    }

    fn sample(&self) -> &'static str {
        r#"{"requestId":"48752d0f-c99d-4cfa-a5a7-f3c6834d19e5","ip":"203.0.113.7","caller":"-","user":"-","requestTime":"02/Mar/2026:09:14:05 +0000","httpMethod":"PUT","resourcePath":"/orders/{id}","path":"/prod/orders/1042","status":"409","protocol":"HTTP/1.1","responseLength":"87","responseLatency":"42","apiKeyId":"k7Hq2abc"}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "requestId")
            && json::has_key(line, "httpMethod")
            && (json::has_key(line, "requestTime") || json::has_key(line, "requestTimeEpoch"))
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
    /// make a line fail (`fields::needed_in_lite`), so the lite read's verdict stands.
    fn complete<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        read(line, cx, out, |r| !fields::needed_in_lite(r)).map(|_| ())
    }
}

impl Format for ApiGatewayClf {
    fn name(&self) -> &'static str {
        "apigw-clf"
    }

    fn about(&self) -> &'static str {
        "AWS API Gateway access log, CLF preset (ip caller user [time]\"method path protocol\" status length requestId extendedRequestId)"
    }

    fn sample(&self) -> &'static str {
        r#"203.0.113.7 - - [02/Mar/2026:09:14:05 +0000]"PUT /orders/{id} HTTP/1.1" 409 87 48752d0f-c99d-4cfa-a5a7-f3c6834d19e5 GQIVriFLIAMEMsA="#
    }

    fn detect(&self, line: &[u8]) -> bool {
        let mut cx = LineContext::default();
        let mut r = Request::default();
        TIME_THEN_REQUEST.find(line).is_some()
            && self.parse(line, &mut cx, &mut r).is_ok()
            && r.request_id.is_some()
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let (ip, rest) = token(line);
        let (_caller, rest) = token(rest);
        let (user, rest) = token(rest);
        let rest = skip_spaces(rest);
        let rest = rest.strip_prefix(b"[").ok_or(Skip::MALFORMED)?;
        let rb = crate::bytes::find(rest, b']').ok_or(Skip::MALFORMED)?;
        out.time = cx
            .time_cache
            .get_or(&rest[..rb], parse_clf)
            .ok_or(Skip::BAD_TIME)?;
        out.anchor = TimeAnchor::Start;
        let (req, rest) = quoted(skip_spaces(&rest[rb + 1..])).ok_or(Skip::MALFORMED)?;
        let (m, t) = text::request_line(req);
        out.method = m;
        out.target = text::text(t);
        let (st, rest) = token(rest);
        out.status = text::status(st).ok_or(Skip::BAD_STATUS)?;
        let (len, rest) = token(rest);
        out.bytes_sent = text::uint(len);
        let (id, _) = token(rest);
        out.request_id = optional(id);
        out.remote = text::text(ip);
        out.user = optional(user);
        Ok(())
    }

    fn field<'a>(&self, _line: &'a [u8], _name: &str) -> Option<Text<'a>> {
        None
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
    fn json_preset_prefers_real_path() {
        let r = parse(&ApiGatewayJson, ApiGatewayJson.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/prod/orders/1042", 409)
        );
        assert_eq!(r.api_key.as_deref(), Some("k7Hq2abc"));
        assert_eq!(r.user, None);
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.anchor, TimeAnchor::Start);
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z");
    }

    #[test]
    fn lines_read_in_turn_are_read_as_alone() {
        // The JSON preset's lines are read through the layout of the lines before: each
        // variant, between lines of the sample's layout, must read as it reads alone.
        let lines = crate::format::testing::layout_runs(
            ApiGatewayJson.sample(),
            &[
                ("\"status\":\"409\"", "\"status\":409"),
                ("\"status\":\"409\"", "\"status\": \"409\""),
                ("\"status\":\"409\",", ""),
                ("\"path\":\"/prod/orders/1042\"", "\"path\":\"-\""),
                ("\"path\":\"/prod/orders/1042\",", ""),
                (
                    "\"resourcePath\":\"/orders/{id}\"",
                    "\"routeKey\":\"PATCH /o/{id}\"",
                ),
                ("\"httpMethod\":\"PUT\"", "\"httpMethod\":\"-\""),
                ("\"requestTime\"", "\"requestTimeEpoch\""),
                (
                    "\"responseLatency\":\"42\"",
                    "\"responseLatency\":\"4\\u0032\"",
                ),
                ("\"apiKeyId\":\"k7Hq2abc\"}", "\"apiKeyId\":\"k7H"),
            ],
        );
        crate::format::testing::assert_same_in_turn(&ApiGatewayJson, &lines);
    }

    #[test]
    fn a_template_gives_way_to_the_path_in_any_order() {
        // `path` after the template, before it, or missing (`-`): the template only then.
        let after = ApiGatewayJson.sample();
        let before = after.replace(
            r#""resourcePath":"/orders/{id}","path":"/prod/orders/1042""#,
            r#""path":"/prod/orders/1042","resourcePath":"/orders/{id}""#,
        );
        assert_ne!(before, after);
        for line in [after, before.as_str()] {
            assert_eq!(
                parse(&ApiGatewayJson, line).unwrap().target,
                "/prod/orders/1042"
            );
        }
        let dashed = after.replace("/prod/orders/1042", "-");
        assert_eq!(
            parse(&ApiGatewayJson, &dashed).unwrap().target,
            "/orders/{id}"
        );
    }

    #[test]
    fn http_api_route_key_and_epoch() {
        // HTTP API default JSON shape (realdata/aws-apigateway), with an epoch instead.
        let line = r#"{"requestId": "IWeTChtboAMEVUQ=","ip": "1.128.0.0","requestTimeEpoch": "1772442845123","httpMethod": "PATCH","routeKey": "PATCH /docs/{id}","status": "412","protocol": "HTTP/1.1","responseLength": "-"}"#;
        let r = parse(&ApiGatewayJson, line).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Patch, "/docs/{id}", 412)
        );
        assert_eq!(r.bytes_sent, None);
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        assert!(ApiGatewayJson.detect(line.as_bytes()));
    }

    #[test]
    fn clf_preset() {
        let r = parse(&ApiGatewayClf, ApiGatewayClf.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/orders/{id}", 409)
        );
        assert_eq!(
            r.request_id.as_deref(),
            Some("48752d0f-c99d-4cfa-a5a7-f3c6834d19e5")
        );
        assert_eq!(r.remote, "203.0.113.7");
        assert!(ApiGatewayClf.detect(ApiGatewayClf.sample().as_bytes()));
        assert!(
            !ApiGatewayClf.detect(
                br#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#
            )
        );
        assert_eq!(
            parse(
                &ApiGatewayClf,
                r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000]"GET / HTTP/1.1" - 1 x y"#
            )
            .unwrap_err(),
            Skip::BAD_STATUS
        );
    }
}
