//! Cloudflare Logpush `http_requests` NDJSON.
//!
//! ```text
//! {"ClientIP":"87.226.160.250","ClientRequestHost":"www.ripe.net","ClientRequestMethod":"HEAD","ClientRequestURI":"/","EdgeEndTimestamp":"2022-10-30T00:00:02Z","EdgeResponseBytes":570,"EdgeResponseStatus":301,"EdgeStartTimestamp":"2022-10-30T00:00:02Z","RayID":"761fde4e984e5ab2","OriginResponseStatus":0,"ClientRequestUserAgent":""}
//! ```
//!
//! Quirks handled:
//! - timestamps follow the job's option: `unixnano` (integer or numeric string), `unix`
//!   (seconds, maybe a string), `rfc3339` (+ms/ns variants) — recognised by shape;
//!   `EdgeStartTimestamp` is the start (anchor Start); the duration is End − Start;
//! - `EdgeResponseStatus` is the client-facing status, `OriginResponseStatus` the origin's
//!   (`0` when there was no origin fetch → missing);
//! - empty strings are missing values; `RayID` is the request id;
//! - `RequestHeaders` (custom header map) answers `--client header:NAME`.

use super::fields::{self, KeyMeaning};
use super::{Format, LineContext, json};
use crate::record::{Method, Micros, Request, Skip, Text, TimeAnchor};

pub struct Cloudflare;

// The keys read, as meanings of the format's own: a Logpush job writes every line with the
// same fields in the same order, so lines are read through the last one's layout.
const CLIENT_IP: KeyMeaning = KeyMeaning::Own(0);
const HOST: KeyMeaning = KeyMeaning::Own(1);
const METHOD: KeyMeaning = KeyMeaning::Own(2);
const URI: KeyMeaning = KeyMeaning::Own(3);
const USER_AGENT: KeyMeaning = KeyMeaning::Own(4);
const START: KeyMeaning = KeyMeaning::Own(5);
const END: KeyMeaning = KeyMeaning::Own(6);
const BYTES: KeyMeaning = KeyMeaning::Own(7);
const STATUS: KeyMeaning = KeyMeaning::Own(8);
const ORIGIN_STATUS: KeyMeaning = KeyMeaning::Own(9);
const RAY_ID: KeyMeaning = KeyMeaning::Own(10);

fn meaning(key: &[u8]) -> Option<KeyMeaning> {
    Some(match key {
        b"ClientIP" => CLIENT_IP,
        b"ClientRequestHost" => HOST,
        b"ClientRequestMethod" => METHOD,
        b"ClientRequestURI" => URI,
        b"ClientRequestUserAgent" => USER_AGENT,
        b"EdgeStartTimestamp" => START,
        b"EdgeEndTimestamp" => END,
        b"EdgeResponseBytes" => BYTES,
        b"EdgeResponseStatus" => STATUS,
        b"OriginResponseStatus" => ORIGIN_STATUS,
        b"RayID" => RAY_ID,
        _ => return None,
    })
}

/// Is the key read by a lite read? All but the user agent, the size, the origin's status
/// and the ray id (the end time too: it is the time when the start is missing).
fn in_lite(m: KeyMeaning) -> bool {
    !matches!(m, USER_AGENT | BYTES | ORIGIN_STATUS | RAY_ID)
}

/// What a line's members say of its times and status, for `parse` to settle.
#[derive(Default)]
struct Times {
    start: Option<Micros>,
    end: Option<Micros>,
    status: Option<u16>,
}

/// Reads into `out` the members whose meaning `wanted` accepts, through the layout of the
/// lines before; the times and the status they gave.
#[inline]
fn read<'a>(
    line: &'a [u8],
    cx: &mut LineContext<'a>,
    out: &mut Request<'a>,
    wanted: impl Fn(KeyMeaning) -> bool,
) -> Result<Times, Skip> {
    let mut t = Times::default();
    fields::read_members(line, cx, meaning, wanted, |m, v, times| {
        match m {
            CLIENT_IP => {
                if let Some(c) = v.text() {
                    fields::set_remote(c, out);
                }
            }
            HOST => out.host = v.text(),
            METHOD => out.method = Method::parse(v.raw()),
            URI => out.target = v.text().unwrap_or_default(),
            USER_AGENT => out.user_agent = v.text(),
            START => {
                t.start = Some(
                    times
                        .get_or(v.raw(), fields::any_time)
                        .ok_or(Skip::BAD_TIME)?,
                )
            }
            END => t.end = fields::any_time(v.raw()),
            BYTES => out.bytes_sent = v.uint(),
            STATUS => t.status = v.status(),
            ORIGIN_STATUS => out.upstream_status = v.status(),
            RAY_ID => out.request_id = v.text(),
            _ => {}
        }
        Ok(())
    })?;
    Ok(t)
}

impl Format for Cloudflare {
    fn reads_lite(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "cloudflare"
    }

    fn about(&self) -> &'static str {
        "Cloudflare Logpush http_requests JSON (EdgeStartTimestamp, EdgeResponseStatus, OriginResponseStatus, RayID)"
    }

    fn sample(&self) -> &'static str {
        r#"{"ClientIP":"203.0.113.7","ClientRequestHost":"api.example.com","ClientRequestMethod":"PUT","ClientRequestURI":"/api/v1/orders/1042","ClientRequestUserAgent":"okhttp/4.9.3","EdgeStartTimestamp":1772442845123000000,"EdgeEndTimestamp":1772442845165000000,"EdgeResponseBytes":287,"EdgeResponseStatus":409,"OriginResponseStatus":409,"RayID":"761fde4e984e5ab2","RequestHeaders":{"x-api-key":"key_live_7Hq2"}}"#
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::has_key(line, "EdgeResponseStatus")
            || (json::has_key(line, "RayID") && json::has_key(line, "ClientRequestURI"))
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        // A lite read gives meaning only to the keys it needs: the others are stepped over.
        let lite = cx.lite;
        let Times { start, end, status } = read(line, cx, out, |m| !lite || in_lite(m))?;
        out.status = status.ok_or(Skip::BAD_STATUS)?;
        match (start, end) {
            (Some(s), e) => {
                out.time = s;
                out.anchor = TimeAnchor::Start;
                out.duration_us = e.and_then(|e| u64::try_from(e - s).ok());
            }
            (None, Some(e)) => {
                out.time = e;
                out.anchor = TimeAnchor::End;
            }
            (None, None) => return Err(Skip::BAD_TIME),
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
        read(line, cx, out, |m| !in_lite(m)).map(|_| ())
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        if !json::may_name(line, name) {
            return None;
        }
        let h = json::object(line)?.get("RequestHeaders")?.obj()?;
        h.get_ignore_case(name)?.first().text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&Cloudflare, line)
    }

    #[test]
    fn lines_read_in_turn_are_read_as_alone() {
        let lines = crate::format::testing::layout_runs(
            Cloudflare.sample(),
            &[
                (
                    "\"EdgeResponseStatus\":409",
                    "\"EdgeResponseStatus\":\"409\"",
                ),
                ("\"EdgeResponseStatus\":409,", ""),
                ("\"EdgeResponseStatus\"", "\"EdgeResponseStatuz\""),
                ("\"ClientIP\":\"203.0.113.7\"", "\"ClientIP\":\"\""),
                ("okhttp", "ok\\\"http"),
                ("\"RayID\"", "\"RayId\""),
                ("1772442845123000000", "\"2026-03-02T09:14:05Z\""),
                ("\"OriginResponseStatus\":409", "\"OriginResponseStatus\":0"),
                ("{\"x-api-key\":\"key_live_7Hq2\"}}", "{\"x-api-key\":\"k"),
                ("\"EdgeStartTimestamp\":1772442845123000000,", ""),
            ],
        );
        crate::format::testing::assert_same_in_turn(&Cloudflare, &lines);
    }

    #[test]
    fn unixnano_sample() {
        let r = parse(Cloudflare.sample()).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status, r.upstream_status),
            (Method::Put, "/api/v1/orders/1042", 409, Some(409))
        );
        assert_eq!((r.duration_us, r.anchor), (Some(42_000), TimeAnchor::Start));
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        assert_eq!(
            Cloudflare
                .field(Cloudflare.sample().as_bytes(), "X-API-Key")
                .as_deref(),
            Some("key_live_7Hq2")
        );
        assert!(Cloudflare.detect(Cloudflare.sample().as_bytes()));
    }

    #[test]
    fn string_timestamps_and_no_origin() {
        let r = parse(r#"{"ClientIP":"2001:db8::2","ClientRequestMethod":"HEAD","ClientRequestURI":"/","EdgeEndTimestamp":"1653485132","EdgeResponseStatus":301,"EdgeStartTimestamp":"1653485131","OriginResponseStatus":0,"ClientRequestUserAgent":"","RayID":"761fde4e984e5ab2"}"#).unwrap();
        assert_eq!(
            (r.upstream_status, r.user_agent.clone(), r.duration_us),
            (None, None, Some(1_000_000))
        );
        assert_eq!(rfc3339(r.time), "2022-05-25T13:25:31Z");
        let r = parse(r#"{"EdgeStartTimestamp":"1653485132000000000","EdgeResponseStatus":"409","ClientRequestURI":"/x","RayID":"r"}"#).unwrap();
        assert_eq!(
            (r.status, rfc3339(r.time)),
            (409, "2022-05-25T13:25:32Z".to_string())
        );
        assert_eq!(
            parse(r#"{"EdgeResponseStatus":200,"RayID":"r"}"#).unwrap_err(),
            Skip::BAD_TIME
        );
    }
}
