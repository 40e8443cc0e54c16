//! Azure Front Door (classic and Standard/Premium) and Application Gateway access logs,
//! as diagnostic-settings JSON records.
//!
//! ```text
//! {"category":"FrontdoorAccessLog","operationName":"Microsoft.Network/FrontDoor/AccessLog/Write","properties":{"clientIp":"89.160.20.128","clientPort":"50382","httpMethod":"POST","httpStatusCode":"200","requestUri":"https://erp.testcloud.com:443/StockSetup/GetStockListByCir","timeTaken":"0.384","trackingReference":"0k1y5YQAAAAA","userAgent":"Mozilla/5.0"},"resourceId":"/SUBSCRIPTIONS/49D1B571/RESOURCEGROUPS/WAF-RG/PROVIDERS/MICROSOFT.NETWORK/FRONTDOORS/TESTCLOUD","time":"2021-12-15T03:10:11.6479719Z"}
//! ```
//!
//! Quirks handled:
//! - `time` has 7 fractional digits (truncated to µs), UTC; taken as the log time (End);
//! - Front Door writes almost every number as a string (`"httpStatusCode":"200"`,
//!   `"timeTaken":"0.384"` in s); `requestUri` is absolute with a port; `trackingReference`
//!   is the request id; `socketIp` is the TCP peer when `clientIp` is missing;
//! - Application Gateway v2: `clientIP`, `httpStatus` (int), `serverStatus` (upstream,
//!   string), `timeTaken` in **s**; v1 wrote `timeTaken` in **ms** as an integer and routing
//!   data in `requestQuery` (`SERVER-ROUTED=...`): an integer `timeTaken` with a
//!   `requestQuery` key is read as ms; `transactionId` is the request id;
//! - records are one per line (`{"records":[...]}` batches must be split first).

use super::fields::{self, Unit};
use super::{Format, LineContext, alb, json};
use crate::record::{Method, Request, Skip, TimeAnchor};

pub struct Azure;

impl Format for Azure {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn about(&self) -> &'static str {
        "Azure Front Door / Application Gateway access log JSON records (time, category, properties{...})"
    }

    fn sample(&self) -> &'static str {
        r#"{"category":"FrontDoorAccessLog","operationName":"Microsoft.Cdn/Profiles/AccessLog/Write","properties":{"trackingReference":"0k1y5YQAAAAAWd0Uc6UcnR7WN8uo","httpMethod":"PUT","httpVersion":"2.0.0.0","requestUri":"https://api.example.com:443/api/v1/orders/1042","hostName":"api.example.com","requestBytes":"2545","responseBytes":"287","userAgent":"okhttp/4.9.3","clientIp":"203.0.113.7","clientPort":"50382","socketIp":"203.0.113.7","timeToFirstByte":"0.041","timeTaken":"0.042","httpStatusCode":"409","httpStatusDetails":"409"},"resourceId":"/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CDN/PROFILES/P","time":"2026-03-02T09:14:05.1234567Z"}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "category")
            && json::has_key(line, "properties")
            && (json::has_key(line, "resourceId") || json::has_key(line, "time"))
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let obj = json::object(line).ok_or(Skip::MALFORMED)?;
        let (mut ts, mut status, mut props) = (None, None, false);
        for (k, v) in obj.members() {
            match k {
                b"time" => ts = Some(v.raw()),
                b"properties" => {
                    let Some(p) = v.obj() else { continue };
                    props = true;
                    let mut taken: Option<json::Val<'a>> = None;
                    let mut v1 = false;
                    let mut socket = None;
                    for (pk, pv) in p.members() {
                        match pk {
                            b"httpMethod" => out.method = Method::parse(pv.raw()),
                            b"requestUri" | b"originalRequestUriWithArgs"
                                if (out.target.is_empty()
                                    || pk == b"originalRequestUriWithArgs") =>
                            {
                                let (host, path) = alb::split_absolute(pv.raw());
                                if out.host.is_none() {
                                    out.host = host.map(super::text::text);
                                }
                                out.target = json::unescape(path);
                            }
                            b"hostName" | b"host" | b"originalHost" => {
                                out.host = pv.text().or(out.host.take())
                            }
                            b"httpStatusCode" | b"httpStatus" => status = pv.status(),
                            b"serverStatus" => out.upstream_status = pv.status(),
                            b"clientIp" | b"clientIP" => {
                                if let Some(c) = pv.text() {
                                    fields::set_remote(c, out);
                                }
                            }
                            b"socketIp" => socket = pv.text(),
                            b"userAgent" => out.user_agent = pv.text(),
                            b"trackingReference" | b"transactionId" => out.request_id = pv.text(),
                            b"responseBytes" | b"sentBytes" => out.bytes_sent = pv.uint(),
                            b"timeTaken" => taken = Some(pv),
                            b"requestQuery" => v1 = true,
                            _ => {}
                        }
                    }
                    if let Some(t) = taken {
                        let raw = t.raw();
                        let ms = v1 && memchr::memchr(b'.', raw).is_none();
                        out.duration_us =
                            fields::duration(raw, if ms { Unit::Ms } else { Unit::S });
                    }
                    if out.remote.is_empty()
                        && let Some(s) = socket
                    {
                        fields::set_remote(s, out);
                    }
                }
                _ => {}
            }
        }
        if !props {
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
        crate::format::testing::parse(&Azure, line)
    }

    #[test]
    fn front_door() {
        let r = parse(Azure.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(
            (r.remote.as_ref(), r.host.as_deref()),
            ("203.0.113.7", Some("api.example.com"))
        );
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123456Z");
        assert!(Azure.detect(Azure.sample().as_bytes()));
    }

    #[test]
    fn application_gateway_v2_and_v1() {
        let v2 = r#"{"time":"2026-03-02T09:14:05Z","resourceId":"/SUBSCRIPTIONS/X/PROVIDERS/MICROSOFT.NETWORK/APPLICATIONGATEWAYS/GW","operationName":"ApplicationGatewayAccess","category":"ApplicationGatewayAccessLog","properties":{"instanceId":"appgw_1","clientIP":"2001:db8::4","clientPort":50000,"httpMethod":"PATCH","requestUri":"/docs/9","originalRequestUriWithArgs":"/docs/9?rev=3","userAgent":"curl/8","httpStatus":412,"serverStatus":"412","timeTaken":0.125,"transactionId":"tx1","host":"docs.example.com"}}"#;
        let r = parse(v2).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status, r.upstream_status),
            (Method::Patch, "/docs/9?rev=3", 412, Some(412))
        );
        assert_eq!(
            (r.remote.as_ref(), r.duration_us, r.request_id.as_deref()),
            ("2001:db8::4", Some(125_000), Some("tx1"))
        );
        let v1 = r#"{"time":"2026-03-02T09:14:05Z","resourceId":"/X","category":"ApplicationGatewayAccessLog","properties":{"clientIP":"10.0.0.1","httpMethod":"PUT","requestUri":"/a","requestQuery":"SERVER-ROUTED=10.0.0.9&SERVER-STATUS=409","httpStatus":409,"timeTaken":109}}"#;
        assert_eq!(parse(v1).unwrap().duration_us, Some(109_000));
        assert_eq!(
            parse(r#"{"time":"2026-03-02T09:14:05Z","category":"x"}"#).unwrap_err(),
            Skip("not_access_log")
        );
    }
}
