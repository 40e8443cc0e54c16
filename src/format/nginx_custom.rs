//! `--log-format`: compiles the user's nginx `log_format` into a parser (any `$variable`
//! order, literal separators, quoted fields). A JSON template (`escape=json '{...}'`) is
//! compiled into a JSON field map instead.
//!
//! ```text
//! --log-format '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time uid="$http_x_api_key" $request_id'
//! 203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 87 "-" "okhttp/4.9.3" rt=0.042 uid="key_live_7Hq2" 5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7
//! ```
//!
//! Quirks handled:
//! - the whole directive may be pasted (`log_format main escape=default '...' '...';`):
//!   the name, `escape=`, the quotes around each piece and the `;` are dropped, pieces
//!   joined;
//! - `$var` and `${var}` both work; a variable's value runs up to the next literal text of
//!   the format (so a quoted variable runs to its closing quote — nginx escapes `"` inside
//!   values as `\x22`), the last variable to the end of the line; `$upstream_*` lists
//!   (`502, 200`, `504 : 200`) keep their inner spaces;
//! - values are unescaped (`\xHH`); `-` is missing;
//! - variables with a meaning: `$time_local` `$time_iso8601` `$msec` (time, End),
//!   `$remote_addr` `$realip_remote_addr`, `$http_x_forwarded_for`, `$remote_user`,
//!   `$request` or `$request_method` + `$request_uri`/`$uri`, `$status`, `$upstream_status`
//!   (list: the last), `$request_time` (s), `$request_id`, `$host` `$http_host`,
//!   `$http_user_agent`, `$body_bytes_sent`, `$http_x_api_key` (API key); any
//!   `$http_<name>` answers `--client header:<name>`;
//! - the format must log a time and `$status`.

use super::fields::{Role, Unit};
use super::json_fields::JsonFields;
use super::layout::{Dialect, Elem, Field, Layout, Quotes};
use super::{Format, json};

pub(super) fn role(var: &str) -> Option<Role> {
    Some(match var {
        "time_local" | "time_iso8601" | "msec" => Role::TimeEnd,
        "remote_addr" | "realip_remote_addr" => Role::Remote,
        "http_x_forwarded_for" | "proxy_add_x_forwarded_for" => Role::Xff,
        "remote_user" => Role::User,
        "request" => Role::RequestLine,
        "request_method" => Role::Method,
        "request_uri" | "uri" => Role::Target,
        "status" => Role::Status,
        "upstream_status" => Role::UpstreamStatus,
        "request_time" => Role::Duration(Unit::S),
        "request_id" | "req_id" | "http_x_request_id" => Role::RequestId,
        "host" | "http_host" | "server_name" => Role::Host,
        "http_user_agent" => Role::UserAgent,
        "body_bytes_sent" | "bytes_sent" => Role::Bytes,
        "http_x_api_key" | "http_apikey" | "http_api_key" => Role::ApiKey,
        "http_x_consumer_username" | "http_x_consumer" => Role::Consumer,
        _ => return None,
    })
}

/// Strips `log_format name [escape=...]` and the quoting of the pieces.
fn strip_directive(spec: &str) -> (String, bool) {
    let mut s = spec.trim().trim_end_matches(';').trim();
    let mut json = false;
    if let Some(rest) = s.strip_prefix("log_format") {
        let rest = rest.trim_start();
        // the format name
        s = rest
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r)
            .trim_start();
    }
    if let Some(rest) = s.strip_prefix("escape=") {
        let (mode, r) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        json = mode == "json";
        s = r.trim_start();
    }
    if !(s.starts_with('\'') || s.starts_with('"')) {
        return (s.to_string(), json);
    }
    // Concatenate quoted pieces: 'a' 'b' or "a" "b", as pasted from nginx.conf. Text
    // outside the quotes means the quote was the format's own (`"$request" $status ...`),
    // which would otherwise be cut to `$request`.
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                out.push(d);
            }
        } else if !c.is_whitespace() {
            return (s.to_string(), json);
        }
    }
    (out, json)
}

fn compile_elems(fmt: &str) -> Result<Vec<Elem>, String> {
    let b = fmt.as_bytes();
    let mut elems = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$'
            && i + 1 < b.len()
            && (b[i + 1] == b'{' || b[i + 1].is_ascii_alphabetic() || b[i + 1] == b'_')
        {
            let (name, next) = if b[i + 1] == b'{' {
                let e = fmt[i + 2..]
                    .find('}')
                    .ok_or_else(|| format!("--log-format: unclosed ${{ at byte {i}"))?;
                (&fmt[i + 2..i + 2 + e], i + 3 + e)
            } else {
                let e = b[i + 1..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    .map_or(b.len(), |p| i + 1 + p);
                (&fmt[i + 1..e], e)
            };
            if !lit.is_empty() {
                elems.push(Elem::Lit(std::mem::take(&mut lit)));
            }
            elems.push(Elem::Var(Field {
                key: name.to_string(),
                written: format!("${name}"),
                role: role(name),
                inner: 0,
            }));
            i = next;
        } else {
            lit.push(b[i]);
            i += 1;
        }
    }
    if !lit.is_empty() {
        elems.push(Elem::Lit(lit));
    }
    Ok(elems)
}

/// Compiles a `log_format` string (or a whole `log_format` directive).
pub fn compile(spec: &str) -> Result<Box<dyn Format>, String> {
    let (fmt, json_escape) = strip_directive(spec);
    if json_escape || fmt.trim_start().starts_with('{') {
        // A JSON template: map each key to the role of the variable in its value.
        let obj = json::object(fmt.as_bytes())
            .ok_or("--log-format: the JSON template is not an object")?;
        let mut map = Vec::new();
        for (k, v) in obj.members() {
            let raw = String::from_utf8_lossy(v.raw()).into_owned();
            let var = raw
                .trim()
                .trim_start_matches('$')
                .trim_start_matches('{')
                .trim_end_matches('}');
            if let Some(r) = role(var) {
                let name = match r {
                    Role::TimeEnd | Role::TimeStart => "time",
                    Role::Remote => "remote",
                    Role::Xff => "xff",
                    Role::User => "user",
                    Role::RequestLine => "request",
                    Role::Method => "method",
                    Role::Target => "path",
                    Role::Status => "status",
                    Role::UpstreamStatus => "upstream_status",
                    Role::Duration(_) => "duration_s",
                    Role::RequestId => "request_id",
                    Role::Host => "host",
                    Role::UserAgent => "user_agent",
                    Role::Bytes => "bytes",
                    Role::ApiKey => "api_key",
                    Role::Consumer => "consumer",
                    Role::Route => "route",
                };
                map.push(format!("{name}={}", String::from_utf8_lossy(k)));
            }
            // A request header under a key of the template's own (`"idem":
            // "$http_idempotency_key"`): found there by its name, not by the key's spelling.
            if let Some(header) = var.strip_prefix("http_") {
                let header = header.replace('_', "-");
                map.push(format!("header:{header}={}", String::from_utf8_lossy(k)));
            }
        }
        return Ok(Box::new(JsonFields::parse(&map.join(","))?));
    }
    Ok(Box::new(text_layout(fmt)?))
}

/// The layout of a text (not JSON) `log_format` string.
pub(super) fn text_layout(fmt: String) -> Result<Layout, String> {
    let elems = compile_elems(&fmt)?;
    let dialect = Dialect {
        name: "nginx-custom",
        about: "a user-supplied nginx log_format (--log-format)",
        quotes: Quotes::Hex,
        needs: ("$status", "$time_local, $time_iso8601 or $msec"),
    };
    Layout::new(elems, dialect, fmt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::LineContext;
    use crate::record::Method;
    use crate::record::{Request, Skip};
    use crate::timestamp::rfc3339;

    const FMT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time uid="$http_x_api_key" $request_id"#;
    const LINE: &str = r#"203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 87 "-" "okhttp/4.9.3" rt=0.042 uid="key_live_7Hq2" 5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7"#;

    fn parse<'a>(f: &dyn Format, line: &'a str) -> Result<Request<'a>, Skip> {
        let mut cx = LineContext::default();
        let mut r = Request::default();
        f.parse(line.as_bytes(), &mut cx, &mut r)?;
        Ok(r)
    }

    #[test]
    fn compiled_text_format() {
        let f = compile(FMT).unwrap();
        let r = parse(f.as_ref(), LINE).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(
            (r.duration_us, r.api_key.as_deref()),
            (Some(42_000), Some("key_live_7Hq2"))
        );
        assert_eq!(
            r.request_id.as_deref(),
            Some("5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7")
        );
        assert_eq!(r.user, None);
        assert_eq!(
            f.field(LINE.as_bytes(), "x-api-key").as_deref(),
            Some("key_live_7Hq2")
        );
        assert_eq!(parse(f.as_ref(), "garbage").unwrap_err(), Skip::MALFORMED);
    }

    /// nginx's idiom for the path and its query, `$uri$is_args$args`: the three touch, so
    /// they are one value, the target; a host before the path (`$host$request_uri`) ends
    /// at its `/`. Other touching fields with meanings are refused, and so is a status or
    /// a time touching a field without one (its digits would run on into the other's).
    #[test]
    fn touching_fields_are_one_value() {
        let f =
            compile(r#"$remote_addr [$time_local] "$request_method $uri$is_args$args" $status"#)
                .unwrap();
        for (line, target) in [
            (
                r#"203.0.113.7 [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042?x=1" 409"#,
                "/api/v1/orders/1042?x=1",
            ),
            (
                r#"203.0.113.7 [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042" 409"#,
                "/api/v1/orders/1042",
            ),
        ] {
            let r = parse(f.as_ref(), line).unwrap();
            assert_eq!(
                (r.method, r.target.as_ref(), r.status),
                (Method::Put, target, 409)
            );
        }
        assert!(
            compile("$remote_addr [$time_local] $status$request_time")
                .err()
                .unwrap()
                .contains("$status and $request_time are not separated by any text")
        );
        for (fmt, refused) in [
            ("$status$connection", "$status and $connection"),
            ("$connection$status", "$connection and $status"),
            ("$msec$pid $status", "$msec and $pid"),
            (
                "$remote_addr$remote_port $status",
                "$remote_addr and $remote_port",
            ),
            ("$http_host$host $status", "$http_host and $host"),
            ("$request_uri$host $status", "$request_uri and $host"),
        ] {
            let err = compile(&format!("[$time_local] {fmt}")).err().unwrap();
            assert!(
                err.contains(&format!("{refused} are not separated by any text")),
                "{fmt}: {err}"
            );
        }
        let f = compile(
            r#"[$time_local] "$request_method $scheme://$host$uri$is_args$args" $status $http_user_agent$pid"#,
        )
        .unwrap();
        for (line, host, target) in [
            (
                r#"[02/Mar/2026:09:14:05 +0000] "PUT https://api.example.com/api/v1/orders/1042?x=1" 409 curl/8.5.0"#,
                "api.example.com",
                "/api/v1/orders/1042?x=1",
            ),
            (
                r#"[02/Mar/2026:09:14:05 +0000] "PUT http://[2001:db8::1]:8080/" 409 curl/8.5.0"#,
                "[2001:db8::1]:8080",
                "/",
            ),
        ] {
            let r = parse(f.as_ref(), line).unwrap();
            assert_eq!(
                (r.host.as_deref(), r.target.as_ref(), r.status),
                (Some(host), target, 409)
            );
        }
        for no_path in [
            r#"[02/Mar/2026:09:14:05 +0000] "PUT http://api.example.com" 409 curl"#,
            r#"[02/Mar/2026:09:14:05 +0000] "OPTIONS http://api.example.com*" 409 curl/8.5.0"#,
        ] {
            assert_eq!(parse(f.as_ref(), no_path).unwrap_err(), Skip::MALFORMED);
        }
    }

    /// nginx writes a quote inside a value as `\x22` (or, with `escape=none`, as it stands),
    /// never as `\"`: a value ending in a backslash ends at its closing quote, which for
    /// Apache's `\"` it would not.
    #[test]
    fn a_backslash_before_a_closing_quote_is_the_values_own() {
        let f = compile(
            r#"escape=none '[$time_local] "$request" $status "$http_user_agent" $request_time'"#,
        )
        .unwrap();
        let line = r#"[02/Mar/2026:09:14:05 +0000] "PUT /orders/1042 HTTP/1.1" 409 "tool\" 0.042"#;
        let r = parse(f.as_ref(), line).unwrap();
        assert_eq!(
            (r.user_agent.as_deref(), r.duration_us),
            (Some("tool\\"), Some(42_000))
        );
    }

    /// A line cut off after its status (a torn last write) counts as the request it logged,
    /// with the fields read up to the cut, as the combined reader counts one cut in its
    /// user agent; cut before the status, or unlike the format there, it is malformed.
    /// Lite and full reads agree at every cut, so a lite read may stop at the status.
    #[test]
    fn a_line_cut_after_its_status_still_counts() {
        let f = compile(FMT).unwrap();
        let cut = &LINE[..LINE.find("okhttp").unwrap() + 3];
        let r = parse(f.as_ref(), cut).unwrap();
        assert_eq!((r.target.as_ref(), r.status), ("/api/v1/orders/1042", 409));
        assert_eq!((r.user_agent, r.duration_us, r.api_key), (None, None, None));
        // Unlike the format after the status: read up to where it differs (a value ends
        // at the text after it, so the time before the missing ` uid="` is not read).
        let other_tail = LINE.replace("uid=", "key=");
        let r = parse(f.as_ref(), &other_tail).unwrap();
        assert_eq!(
            (r.user_agent.as_deref(), r.duration_us, r.api_key),
            (Some("okhttp/4.9.3"), None, None)
        );
        let before_status = &LINE[..LINE.find(" 409").unwrap() + 2];
        assert_eq!(
            parse(f.as_ref(), before_status).unwrap_err(),
            Skip::MALFORMED
        );
        for end in 1..=LINE.len() {
            crate::format::testing::assert_lite_agrees(f.as_ref(), &LINE.as_bytes()[..end]);
        }
        // Detection (does a sample line follow the format?) still wants the whole line.
        assert!(f.detect(LINE.as_bytes()));
        assert!(!f.detect(cut.as_bytes()));
    }

    /// Quoted pieces as pasted from nginx.conf are joined; a format that merely starts
    /// with a quote of its own is taken as it stands (it was cut to `$request`).
    #[test]
    fn quotes_of_a_directive_and_of_the_format() {
        assert_eq!(
            strip_directive("'$remote_addr [$time_local] '\n  '\"$request\" $status'").0,
            "$remote_addr [$time_local] \"$request\" $status"
        );
        let own = "\"$request\" $status [$time_local] $remote_addr";
        assert_eq!(strip_directive(own).0, own);
        let f = compile(own).unwrap();
        let r = parse(
            f.as_ref(),
            "\"PUT /orders/7 HTTP/1.1\" 409 [02/Mar/2026:10:14:05 +0000] 10.0.0.1",
        )
        .unwrap();
        assert_eq!(
            (r.method, r.status, r.remote.as_ref()),
            (Method::Put, 409, "10.0.0.1")
        );
    }

    #[test]
    fn pasted_directive_reordered_with_escapes() {
        let f = compile(r#"log_format apisix escape=default '$remote_addr - $remote_user [$time_local] $http_host "$request" $status $body_bytes_sent $request_time "$http_referer" "$http_user_agent" $upstream_addr $upstream_status $upstream_response_time';"#).unwrap();
        let r = parse(f.as_ref(), r#"2001:db8::4 - bob [02/Mar/2026:10:14:05 +0100] api.example.com "PATCH /d/\x22x\x22 HTTP/1.1" 412 0 0.005 "-" "curl \x22q\x22" 10.0.0.9:80 502, 412 0.001, 0.004"#).unwrap();
        assert_eq!(
            (r.method, r.status, r.upstream_status),
            (Method::Patch, 412, Some(412))
        );
        assert_eq!(r.target, "/d/\"x\"");
        assert_eq!(r.user_agent.as_deref(), Some("curl \"q\""));
        assert_eq!(
            (r.remote.as_ref(), r.user.as_deref(), r.host.as_deref()),
            ("2001:db8::4", Some("bob"), Some("api.example.com"))
        );
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z");
    }

    #[test]
    fn json_template_and_errors() {
        let f = compile(r#"log_format j escape=json '{"t":"$time_iso8601","ip":"$remote_addr",' '"req":"$request","st":$status,"rt":$request_time,"idem":"$http_idempotency_key","ua":"$http_user_agent"}';"#).unwrap();
        let line = r#"{"t":"2026-03-02T09:14:05+00:00","ip":"10.0.0.1","req":"DELETE /a/1 HTTP/1.1","st":409,"rt":0.010,"idem":"k-7","ua":"curl/8.5.0"}"#;
        let r = parse(f.as_ref(), line).unwrap();
        assert_eq!(
            (r.method, r.status, r.duration_us),
            (Method::Delete, 409, Some(10_000))
        );
        // Request headers are found under the template's keys, by their names.
        assert_eq!(
            f.field(line.as_bytes(), "idempotency-key").as_deref(),
            Some("k-7")
        );
        assert_eq!(r.user_agent.as_deref(), Some("curl/8.5.0"));
        assert_eq!(
            f.field(line.as_bytes(), "user-agent").as_deref(),
            Some("curl/8.5.0")
        );
        assert!(
            compile("$remote_addr [$time_local]")
                .err()
                .unwrap()
                .contains("$status")
        );
        assert!(
            compile("$status $request_time")
                .err()
                .unwrap()
                .contains("time")
        );
        assert!(
            compile("[$time_local] $status$request_time")
                .err()
                .unwrap()
                .contains("not separated")
        );
    }
}
