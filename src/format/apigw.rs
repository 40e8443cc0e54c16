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

use super::fields::{self, Role, Seen, Unit};
use super::text::{self, optional, quoted, skip_spaces, token};
use super::{Format, LineContext, json};
use crate::record::{Request, Skip, Text, TimeAnchor};
use crate::timestamp::parse_clf;

pub struct ApiGatewayJson;
pub struct ApiGatewayClf;

/// The `path` key as it stands in a line (keys are compared as written, see `json::Obj::get`).
static PATH_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"path\""));

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

impl Format for ApiGatewayJson {
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
        let obj = json::object(line).ok_or(Skip::MALFORMED)?;
        let mut seen = Seen::default();
        // `path` must win over the templates whatever the key order: read it first. Only a
        // line holding the bytes `"path"` can have that key; the presets do not log it.
        let may_have_path = PATH_KEY.find(line).is_some();
        let path = if may_have_path { obj.get("path") } else { None };
        if let Some(p) = path.and_then(|v| v.text()) {
            out.target = p;
            seen.target = true;
        }
        for (k, v) in obj.members() {
            match role(k) {
                Some(Role::Target) | None => {}
                Some(r) => fields::apply(r, v.raw(), v.text(), &mut cx.time_cache, out, &mut seen)?,
            }
        }
        seen.check()
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
