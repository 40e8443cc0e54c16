//! A JSON format with a user-given field map (`--field status=response.code,path=req.uri`),
//! for JSON access logs whose keys no built-in format knows.
//!
//! ```text
//! --field time=ts,status=response.code,method=req.verb,path=req.uri,duration_ms=latency.total,client=caller.ip,consumer=caller.app
//! {"ts":"2026-03-02T09:14:05.123Z","req":{"verb":"PUT","uri":"/api/v1/orders/1042"},"response":{"code":409},"latency":{"total":42},"caller":{"ip":"203.0.113.7","app":"mobile"}}
//! ```
//!
//! Quirks handled:
//! - a path is dotted (`response.code`) and walks nested objects;
//! - roles are the names in `fields::Role::from_name` (`time`, `time_start`, `status`,
//!   `upstream_status`, `method`, `path`, `request`, `duration`, `duration_ms`, ...); the
//!   duration's unit is part of the role name;
//! - values may be numbers or strings; `""`, `"-"` and `null` are missing;
//! - a `headers=PATH` entry names the object holding request headers, for
//!   `--client header:NAME` (arrays of values are read as their first element);
//! - a line needs a time and a status, else it is skipped (`bad_timestamp`/`bad_status`).

use super::fields::{self, Role, Seen};
use super::{Format, LineContext, json};
use crate::record::{Request, Skip, Text};

pub struct JsonFields {
    map: Vec<(String, Role)>,
    headers: Option<String>,
    sample: &'static str,
}

impl JsonFields {
    /// Parses `role=path,role=path,...`.
    pub fn parse(spec: &str) -> Result<JsonFields, String> {
        let mut map = Vec::new();
        let mut headers = None;
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (role, path) = part.split_once('=').ok_or_else(|| {
                format!("--field '{part}': use ROLE=PATH, e.g. status=response.code")
            })?;
            let (role, path) = (role.trim(), path.trim());
            if path.is_empty() {
                return Err(format!("--field '{part}': empty path"));
            }
            if role == "headers" {
                headers = Some(path.to_string());
                continue;
            }
            let r = Role::from_name(role).ok_or_else(|| {
                format!(
                    "--field '{part}': unknown role '{role}' (known: {}, headers)",
                    Role::NAMES
                )
            })?;
            map.push((path.to_string(), r));
        }
        if !map.iter().any(|(_, r)| *r == Role::Status) {
            return Err("--field: map the status (status=PATH)".into());
        }
        if !map
            .iter()
            .any(|(_, r)| matches!(r, Role::TimeEnd | Role::TimeStart))
        {
            return Err("--field: map a time (time=PATH or time_start=PATH)".into());
        }
        let sample: &'static str = Box::leak(format!("--field {spec}").into_boxed_str());
        Ok(JsonFields {
            map,
            headers,
            sample,
        })
    }
}

impl Format for JsonFields {
    fn name(&self) -> &'static str {
        "json-fields"
    }

    fn about(&self) -> &'static str {
        "JSON lines read through a --field ROLE=PATH map"
    }

    fn sample(&self) -> &'static str {
        self.sample
    }

    fn detect(&self, line: &[u8]) -> bool {
        json::object(line).is_some_and(|o| {
            self.map
                .iter()
                .any(|(p, r)| *r == Role::Status && o.path(p).is_some())
        })
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let obj = json::object(line).ok_or(Skip::MALFORMED)?;
        let mut seen = Seen::default();
        for (path, role) in &self.map {
            if let Some(v) = obj.path(path) {
                fields::apply(*role, v.raw(), v.text(), &mut cx.time_cache, out, &mut seen)?;
            }
        }
        seen.check()
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        if !json::may_name(line, name) {
            return None;
        }
        let obj = json::object(line)?;
        let holder = match &self.headers {
            Some(p) => obj.path(p)?.obj()?,
            None => obj,
        };
        holder.get_ignore_case(name)?.first().text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Method, TimeAnchor};
    use crate::timestamp::rfc3339;

    const SPEC: &str = "time=ts,status=response.code,method=req.verb,path=req.uri,duration_ms=latency.total,client=caller.ip,consumer=caller.app,headers=req.headers";
    const LINE: &str = r#"{"ts":"2026-03-02T09:14:05.123Z","req":{"verb":"PUT","uri":"/api/v1/orders/1042","headers":{"X-Api-Key":["key_live_7Hq2"]}},"response":{"code":409},"latency":{"total":42},"caller":{"ip":"203.0.113.7","app":"mobile"}}"#;

    #[test]
    fn mapped_fields() {
        let f = JsonFields::parse(SPEC).unwrap();
        let mut cx = LineContext::default();
        let mut r = Request::default();
        f.parse(LINE.as_bytes(), &mut cx, &mut r).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!((r.duration_us, r.anchor), (Some(42_000), TimeAnchor::End));
        assert_eq!(
            (r.remote.as_ref(), r.consumer.as_deref()),
            ("203.0.113.7", Some("mobile"))
        );
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05.123Z");
        assert_eq!(
            f.field(LINE.as_bytes(), "x-api-key").as_deref(),
            Some("key_live_7Hq2")
        );
        assert!(f.detect(LINE.as_bytes()));
        let mut r = Request::default();
        assert_eq!(
            f.parse(
                br#"{"ts":"2026-03-02T09:14:05Z","response":{}}"#,
                &mut cx,
                &mut r
            )
            .unwrap_err(),
            Skip::BAD_STATUS
        );
    }

    #[test]
    fn bad_specs() {
        assert!(
            JsonFields::parse("status=a")
                .err()
                .unwrap()
                .contains("time")
        );
        assert!(
            JsonFields::parse("time=t")
                .err()
                .unwrap()
                .contains("status")
        );
        assert!(
            JsonFields::parse("time=t,status=s,colour=c")
                .err()
                .unwrap()
                .contains("unknown role 'colour'")
        );
        assert!(JsonFields::parse("time=t,status").is_err());
    }
}
