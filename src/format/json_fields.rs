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
//!   `--client header:NAME` and the idempotency key (arrays of values are read as their
//!   first element); without it, headers are looked for among the top-level members,
//!   spelt as sent (`Idempotency-Key`), with `_` (`idempotency_key`) or nginx's way
//!   (`http_idempotency_key`);
//! - `header:NAME=PATH` names where one header is logged under a key of the log's own
//!   (`header:x-api-key=auth.key`); `idempotency_key=PATH` is
//!   `header:idempotency-key=PATH`, for `idempotency_conflict`;
//! - a line needs a time and a status, else it is skipped (`bad_timestamp`/`bad_status`);
//! - a line's members are read once, in their order, through the layout learnt from the
//!   lines before: where two mapped members give one field (the method from `request` and
//!   from `method`; a key written twice), their order in the line decides which stands, as
//!   in the built-in JSON formats.

use super::fields::{self, KeyMeaning, Role, Seen};
use super::{Format, LineContext, json};
use crate::record::{Request, Skip, Text};

pub struct JsonFields {
    map: Vec<(String, Role)>,
    /// The map by the top-level member each path starts at.
    members: Vec<Member>,
    headers: Option<String>,
    /// Headers logged at paths of their own (`header:NAME=PATH`): the name in lower case,
    /// `-` between words, as headers are asked for.
    header_paths: Vec<(String, String)>,
    sample: &'static str,
}

/// A top-level member the map reads, and what is read from it: a line is read member by
/// member (`fields::read_members`, which learns the lines' layout), not searched from its
/// start for each path (three times the instructions a line).
struct Member {
    key: String,
    /// The rest of each path below the member (`None`: the member itself) and its role.
    reads: Vec<(Option<String>, Role)>,
    /// Does a lite read (`LineContext::lite`) need any of them?
    lite: bool,
}

/// Groups the map's paths by their first part (`req.verb`, `req.uri` → `req`).
fn members_of(map: &[(String, Role)]) -> Result<Vec<Member>, String> {
    let mut members: Vec<Member> = Vec::new();
    for (path, role) in map {
        let (key, rest) = match path.split_once('.') {
            Some((k, r)) => (k, Some(r.to_string())),
            None => (path.as_str(), None),
        };
        let at = match members.iter().position(|m| m.key == key) {
            Some(at) => at,
            None => {
                members.push(Member {
                    key: key.to_string(),
                    reads: Vec::new(),
                    lite: false,
                });
                members.len() - 1
            }
        };
        members[at].reads.push((rest, *role));
        members[at].lite |= fields::needed_in_lite(*role);
    }
    if members.len() > usize::from(u8::MAX) + 1 {
        return Err(format!(
            "--field: the map reads {} top-level members; at most 256",
            members.len()
        ));
    }
    Ok(members)
}

impl JsonFields {
    /// Parses `role=path,role=path,...`.
    pub fn parse(spec: &str) -> Result<JsonFields, String> {
        let mut map = Vec::new();
        let mut headers = None;
        let mut header_paths = Vec::new();
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
            let header = match role.strip_prefix("header:") {
                _ if role == "idempotency_key" => Some("idempotency-key"),
                Some(name) if !name.trim().is_empty() => Some(name.trim()),
                Some(_) => {
                    return Err(format!(
                        "--field '{part}': name the header (header:NAME=PATH)"
                    ));
                }
                None => None,
            };
            if let Some(name) = header {
                let name = name.to_ascii_lowercase().replace('_', "-");
                header_paths.push((name, path.to_string()));
                continue;
            }
            let r = Role::from_name(role).ok_or_else(|| {
                format!(
                    "--field '{part}': unknown role '{role}' (known: {}, idempotency_key, headers, header:NAME)",
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
            members: members_of(&map)?,
            map,
            headers,
            header_paths,
            sample,
        })
    }
}

impl Format for JsonFields {
    fn reads_lite(&self) -> bool {
        true
    }

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
        let mut seen = Seen::default();
        let lite = cx.lite;
        let members = &self.members;
        fields::read_members(
            line,
            cx,
            |k| {
                let at = members.iter().position(|m| m.key.as_bytes() == k)?;
                // `members_of` keeps them to 256.
                Some(KeyMeaning::Own(u8::try_from(at).ok()?))
            },
            |m| !lite || matches!(m, KeyMeaning::Own(at) if members[usize::from(at)].lite),
            |m, v, times| {
                let KeyMeaning::Own(at) = m else {
                    return Ok(());
                };
                for (rest, role) in &members[usize::from(at)].reads {
                    if lite && !fields::needed_in_lite(*role) {
                        continue;
                    }
                    let v = match rest {
                        None => Some(v),
                        Some(rest) => v.obj().and_then(|o| o.path(rest)),
                    };
                    if let Some(v) = v {
                        fields::apply_json(*role, v, times, out, &mut seen)?;
                    }
                }
                Ok(())
            },
        )?;
        seen.check()
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        // The name asked for may be spelt with `_` (`--client header:x_api_key`).
        let mut mapped = self.header_paths.iter();
        if let Some((_, path)) = mapped.find(|(h, _)| json::names_header(name.as_bytes(), h)) {
            return json::object(line)?.path(path)?.first().text();
        }
        if !json::may_name(line, name) {
            return None;
        }
        let obj = json::object(line)?;
        let holder = match &self.headers {
            Some(p) => obj.path(p)?.obj()?,
            None => obj,
        };
        holder
            .members()
            .find(|(k, _)| json::names_header(k, name))?
            .1
            .first()
            .text()
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

    /// Lines read one after another through the layout learnt from those before (members
    /// reordered, added, missing, nested ones changed) give what each gives alone, in full
    /// and lite reads, and a lite read agrees with a full one.
    #[test]
    fn lines_read_in_turn_are_read_as_alone() {
        let f = JsonFields::parse(SPEC).unwrap();
        let lines = crate::format::testing::layout_runs(
            LINE,
            &[
                (r#""latency":{"total":42},"#, ""),
                (
                    r#"{"ts":"2026-03-02T09:14:05.123Z","#,
                    r#"{"x":1,"ts":"2026-03-02T09:14:05.123Z","#,
                ),
                (r#""verb":"PUT","uri""#, r#""uri":"/a","verb":"PUT","uri""#),
                (r#""response":{"code":409}"#, r#""response":{"code":"-"}"#),
                (r#""response":{"code":409}"#, r#""response":409"#),
                (r#""caller":{"ip""#, r#""caller":{"app":"web","ip""#),
            ],
        );
        crate::format::testing::assert_same_in_turn(&f, &lines);
        for end in 1..=LINE.len() {
            crate::format::testing::assert_lite_agrees(&f, &LINE.as_bytes()[..end]);
        }
    }

    /// Without `headers=`, a header is found among the top-level members however the log
    /// spells it; with it, in that object.
    #[test]
    fn headers_are_found_as_logs_spell_them() {
        let f = JsonFields::parse("time=ts,status=code").unwrap();
        for key in [
            "Idempotency-Key",
            "idempotency_key",
            "IDEMPOTENCY_KEY",
            "http_idempotency_key",
        ] {
            let line = format!(r#"{{"ts":"2026-03-02T09:14:05Z","code":409,"{key}":"k-7"}}"#);
            assert_eq!(
                f.field(line.as_bytes(), "idempotency-key").as_deref(),
                Some("k-7"),
                "{key}"
            );
            assert_eq!(f.field(line.as_bytes(), "x-idempotency-key"), None, "{key}");
        }
        let line = r#"{"ts":"2026-03-02T09:14:05Z","code":409,"idempotency":"k-7"}"#;
        assert_eq!(f.field(line.as_bytes(), "idempotency-key"), None);
    }

    /// How lines were read before the members were read in order: each path looked up from
    /// the object's start, in the map's order.
    fn read_path_by_path<'a>(f: &JsonFields, line: &'a [u8]) -> Result<Request<'a>, Skip> {
        let obj = json::object(line).ok_or(Skip::MALFORMED)?;
        let (mut out, mut seen) = (Request::default(), Seen::default());
        let mut times = crate::timestamp::TimeCache::default();
        for (path, role) in &f.map {
            if let Some(v) = obj.path(path) {
                fields::apply(*role, v.raw(), v.text(), &mut times, &mut out, &mut seen)?;
            }
        }
        seen.check()?;
        Ok(out)
    }

    /// Values put in place of a member's (missing ones, other kinds, escapes).
    const ODD: [&str; 8] = [
        "null",
        r#""-""#,
        r#""""#,
        "200",
        r#""x\"y""#,
        r#"["a",1]"#,
        r#"{"code":412}"#,
        r#""2026-03-02T09:14:06Z""#,
    ];

    /// `LINE`'s members (and one more, `x`) in the order `order`, each kept, dropped or given
    /// an odd value by its `fate` (0 drops, 1 and 2 replace, the rest keep), the members of
    /// its objects too, some of them in reverse order.
    fn varied_line(order: &[usize], fate: &[u8], reversed: u8) -> String {
        let top: [(&str, &[(&str, &str)]); 6] = [
            ("ts", &[("", r#""2026-03-02T09:14:05.123Z""#)]),
            (
                "req",
                &[
                    ("verb", r#""PUT""#),
                    ("uri", r#""/api/v1/orders/1042""#),
                    ("headers", r#"{"X-Api-Key":["k"]}"#),
                ],
            ),
            ("response", &[("code", "409")]),
            ("latency", &[("total", "42")]),
            (
                "caller",
                &[("ip", r#""203.0.113.7""#), ("app", r#""mobile""#)],
            ),
            ("x", &[("", "1")]),
        ];
        let mut fates = fate.iter().copied().cycle();
        let mut value = |v: &str| match fates.next().unwrap_or(9) {
            0 => None,
            f @ (1 | 2) => Some(ODD[(f as usize * 3 + v.len()) % ODD.len()].to_string()),
            _ => Some(v.to_string()),
        };
        let mut members = Vec::new();
        for &k in order {
            let (key, inner) = top[k];
            let v = if inner[0].0.is_empty() {
                value(inner[0].1)
            } else {
                let mut body: Vec<String> = inner
                    .iter()
                    .filter_map(|(ik, iv)| Some(format!(r#""{ik}":{}"#, value(iv)?)))
                    .collect();
                if reversed >> k & 1 == 1 {
                    body.reverse();
                }
                value("{}").map(|_| format!("{{{}}}", body.join(",")))
            };
            if let Some(v) = v {
                members.push(format!(r#""{key}":{v}"#));
            }
        }
        format!("{{{}}}", members.join(","))
    }

    proptest::proptest! {
        /// `LINE` varied: members reordered, dropped, given odd values, nested ones too.
        /// Read member by member through one context (the layout learnt from one line serves
        /// the next, or not), each line gives what the path-by-path read gave (or, both
        /// skipped, a skip; with two bad fields the reason may differ, as the first bad one
        /// met decides), and its lite read agrees with its full read.
        #[test]
        fn members_in_order_read_as_paths_did(
            lines in proptest::collection::vec(
                (
                    proptest::strategy::Strategy::prop_shuffle(proptest::strategy::Just(
                        (0..6).collect::<Vec<usize>>(),
                    )),
                    proptest::collection::vec(0u8..12, 12),
                    proptest::num::u8::ANY,
                ),
                1..6,
            ),
        ) {
            let f = JsonFields::parse(SPEC).unwrap();
            let lines: Vec<String> = lines
                .iter()
                .map(|(order, fate, reversed)| varied_line(order, fate, *reversed))
                .collect();
            let mut cx = LineContext::default();
            for line in &lines {
                let mut r = Request::default();
                let read = f.parse(line.as_bytes(), &mut cx, &mut r).map(|_| format!("{r:?}"));
                let before = read_path_by_path(&f, line.as_bytes()).map(|r| format!("{r:?}"));
                proptest::prop_assert_eq!(read.is_ok(), before.is_ok(), "{}", line);
                if read.is_ok() {
                    proptest::prop_assert_eq!(read, before, "{}", line);
                }
                crate::format::testing::assert_lite_agrees(&f, line.as_bytes());
            }
        }
    }

    /// The generator keeps the whole line when every fate keeps, and varies it otherwise.
    #[test]
    fn varied_lines_vary() {
        let keep = [9; 12];
        let line = varied_line(&[0, 1, 2, 3, 4], &keep, 0);
        assert_eq!(
            line,
            LINE.replace(
                r#"{"X-Api-Key":["key_live_7Hq2"]}"#,
                r#"{"X-Api-Key":["k"]}"#
            )
        );
        assert_ne!(varied_line(&[4, 3, 2, 1, 0], &keep, 0xff), line);
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
        assert_eq!(
            JsonFields::parse("time=t,status=s,header: =h")
                .err()
                .unwrap(),
            "--field 'header: =h': name the header (header:NAME=PATH)"
        );
    }

    /// `header:NAME=PATH` and `idempotency_key=PATH` say where a header is logged; the
    /// name's case and `-`/`_` do not matter; other headers are still looked for as spelt.
    #[test]
    fn headers_at_paths_of_their_own() {
        let f = JsonFields::parse("time=t,status=s,idempotency_key=op.key,header:X_Tenant=who")
            .unwrap();
        let line = br#"{"t":"2026-03-02T09:14:05Z","s":409,"op":{"key":"k-1"},"who":"acme","X-Api-Key":"key_7"}"#;
        let field = |name: &str| f.field(line, name).map(|t| t.to_string());
        assert_eq!(field("idempotency-key").as_deref(), Some("k-1"));
        assert_eq!(field("x-tenant").as_deref(), Some("acme"));
        assert_eq!(field("x_tenant").as_deref(), Some("acme"));
        assert_eq!(field("x-api-key").as_deref(), Some("key_7"));
        assert_eq!(field("x-idempotency-key"), None);
        assert_eq!(
            f.field(br#"{"t":"x","s":1,"op":{}}"#, "idempotency-key"),
            None
        );
    }
}
