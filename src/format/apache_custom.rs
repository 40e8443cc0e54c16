//! `--log-format` with an Apache `LogFormat` string (mod_log_config's `%` directives), or the
//! whole `LogFormat "..." nickname` line pasted from the configuration, compiled into a
//! `Layout`.
//!
//! ```text
//! --log-format '%v %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{X-Request-ID}i"'
//! api.example.com 203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 157 "-" "okhttp/4.12.0" 42000 "5f2b8c0e9a1d"
//! ```
//!
//! Quirks handled:
//! - `%t` writes its own brackets and is the time the request was received (the request's
//!   start); `%{end:…}t` the end; `%{sec}t` `%{msec}t` `%{usec}t` are epoch times; a
//!   strftime pattern (`%{%Y-%m-%d %H:%M:%S}t`) is taken when it writes a time why409
//!   reads (checked on a sample when the format is compiled), spaces inside it included;
//! - modifiers: `%>s` `%<s` (final or original), `%400,501{User-Agent}i` and `%!200i`
//!   (the value only for some statuses, `-` otherwise);
//! - `%D` is µs, `%T` whole seconds, `%{ms}T` `%{us}T` `%{s}T` as named;
//! - `%U%q` (path, then `?query` or nothing) make the target together (fields that touch
//!   are one value, see `layout.rs`);
//! - `%{Name}i` request headers: User-Agent, Host, X-Forwarded-For, X-Request-ID, X-API-Key
//!   have a meaning, and any answers `--client header:name`; `%{UNIQUE_ID}e` and `%L` are
//!   request ids;
//! - Apache escapes `"` in values as `\"` (read as such, see `layout.rs`); `%%` is a `%`.

use super::Format;
use super::fields::{Role, Unit};
use super::layout::{Dialect, Elem, Field, Layout, Quotes};
use super::nginx_custom;
use crate::timestamp::rfc3339;

/// Whether `spec` is written in Apache's syntax (`%h %t "%r" %>s`) rather than nginx's
/// (`$remote_addr [$time_local] "$request" $status`).
pub fn is_apache(spec: &str) -> bool {
    let spec = spec.trim_start();
    if spec.starts_with("LogFormat") || spec.starts_with("CustomLog") {
        return true;
    }
    let b = spec.as_bytes();
    let follows = |c: u8, any: &dyn Fn(u8) -> bool| b.windows(2).any(|w| w[0] == c && any(w[1]));
    let nginx = follows(b'$', &|n| n.is_ascii_alphabetic() || n == b'{' || n == b'_');
    let apache = follows(b'%', &|n| n.is_ascii_alphabetic() || b"<>{!".contains(&n));
    apache && !nginx
}

/// The time samples are written at: 2026-03-02T09:14:05Z.
const SAMPLE_TIME: i64 = 1_772_442_845;

/// Compiles an Apache `LogFormat` string.
pub fn compile(spec: &str) -> Result<Box<dyn Format>, String> {
    Ok(Box::new(layout(spec)?))
}

/// The layout of an Apache `LogFormat` string.
pub(super) fn layout(spec: &str) -> Result<Layout, String> {
    let fmt = strip_directive(spec);
    let mut elems = Vec::new();
    let mut samples: Vec<String> = Vec::new();
    let mut lit = Vec::new();
    let mut rest = fmt.as_str();
    while let Some(at) = rest.find('%') {
        lit.extend_from_slice(&rest.as_bytes()[..at]);
        let (directive, after) = directive(&rest[at..])?;
        rest = after;
        let Some(d) = directive else {
            lit.push(b'%');
            continue;
        };
        let meant = meaning(&d)?;
        if meant.bracketed {
            lit.push(b'[');
        }
        if !lit.is_empty() {
            elems.push(Elem::Lit(std::mem::take(&mut lit)));
        }
        samples.push(meant.sample);
        elems.push(Elem::Var(Field {
            key: meant.key,
            written: d.written.to_string(),
            role: meant.role,
            inner: 0,
        }));
        if meant.bracketed {
            lit.push(b']');
        }
    }
    lit.extend_from_slice(rest.as_bytes());
    if !lit.is_empty() {
        elems.push(Elem::Lit(lit));
    }
    // A value holding the text that ends it (a space in a strftime time) runs past it. Fields
    // that touch (`%U%q`) are one value (`layout.rs`): counted over the run, on its last.
    let mut sample = String::new();
    let mut run = String::new();
    let mut k = 0;
    for i in 0..elems.len() {
        let next = match elems.get(i + 1) {
            Some(Elem::Lit(l)) => Some(String::from_utf8_lossy(l).into_owned()),
            _ => None,
        };
        let touching = matches!(elems.get(i + 1), Some(Elem::Var(_)));
        match &mut elems[i] {
            Elem::Lit(l) => sample.push_str(&String::from_utf8_lossy(l)),
            Elem::Var(f) => {
                let value = &samples[k];
                k += 1;
                run.push_str(value);
                if let Some(next) = next.filter(|n| !n.is_empty()) {
                    f.inner = run.matches(next.as_str()).count();
                }
                if !touching {
                    run.clear();
                }
                sample.push_str(value);
            }
        }
    }
    let dialect = Dialect {
        name: "apache-custom",
        about: "a user-supplied Apache LogFormat (--log-format)",
        quotes: Quotes::Backslashed,
        needs: ("%>s", "%t, %{sec}t, %{msec}t or %{%Y-%m-%dT%H:%M:%S%z}t"),
    };
    let layout = Layout::new(elems, dialect, sample.clone())?;
    check_sample(&layout, &sample)?;
    Ok(layout)
}

/// The format read back from its own sample line: a strftime time why409 does not read
/// is refused here, with the time it writes.
fn check_sample(layout: &Layout, sample: &str) -> Result<(), String> {
    let mut cx = super::LineContext::default();
    let mut r = crate::record::Request::default();
    let read = layout.parse(sample.as_bytes(), &mut cx, &mut r);
    match read {
        Ok(()) if r.time == SAMPLE_TIME * 1_000_000 && r.status == 409 => Ok(()),
        Ok(()) => Err(format!(
            "--log-format: a time this format writes is read as {} where it means 2026-03-02T09:14:05Z; use %t, %{{sec}}t, %{{msec}}t or %{{%Y-%m-%dT%H:%M:%S%z}}t",
            rfc3339(r.time)
        )),
        Err(why) => Err(format!(
            "--log-format: a line this format writes is not read back ({}: \"{sample}\"); a strftime time why409 reads is ISO 8601 (%{{%Y-%m-%dT%H:%M:%S%z}}t) or CLF (%t)",
            why.0
        )),
    }
}

/// `LogFormat "..." nickname` or `CustomLog path "..."` as pasted from the configuration:
/// the quoted format, its `\"` unescaped; anything else as it stands.
fn strip_directive(spec: &str) -> String {
    let s = spec.trim();
    let quoted = match (s.strip_prefix("LogFormat"), s.strip_prefix("CustomLog")) {
        (Some(rest), _) => rest.trim_start(),
        (_, Some(rest)) => rest
            .trim_start()
            .split_once(char::is_whitespace)
            .map_or("", |r| r.1)
            .trim_start(),
        _ => return s.to_string(),
    };
    let Some(body) = quoted.strip_prefix('"') else {
        return quoted.split_whitespace().next().unwrap_or("").to_string();
    };
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

/// A `%` directive: its letter, its `{argument}`, and as written.
struct Directive<'s> {
    letter: char,
    arg: Option<&'s str>,
    written: &'s str,
}

/// The directive at the start of `s` (`%>s`, `%400,501{User-Agent}i`), `None` for `%%`,
/// and the text after it.
fn directive(s: &str) -> Result<(Option<Directive<'_>>, &str), String> {
    if let Some(after) = s.strip_prefix("%%") {
        return Ok((None, after));
    }
    let body = &s[1..];
    // Modifiers: `<` `>` (original or final request), `!` and status lists.
    let skip = body
        .find(|c: char| !(c == '<' || c == '>' || c == '!' || c == ',' || c.is_ascii_digit()))
        .unwrap_or(body.len());
    let mut rest = &body[skip..];
    let mut arg = None;
    if let Some(inner) = rest.strip_prefix('{') {
        let end = inner
            .find('}')
            .ok_or_else(|| format!("--log-format: unclosed {{ in '{s}'"))?;
        arg = Some(&inner[..end]);
        rest = &inner[end + 1..];
    }
    let letter = rest
        .chars()
        .next()
        .filter(char::is_ascii_alphabetic)
        .ok_or_else(|| {
            format!(
                "--log-format: '%' without a directive letter at '{}'",
                s.chars().take(12).collect::<String>()
            )
        })?;
    let len = s.len() - rest.len() + 1;
    Ok((
        Some(Directive {
            letter,
            arg,
            written: &s[..len],
        }),
        &s[len..],
    ))
}

/// What a directive means: its field's key and role, a sample value, whether Apache
/// writes it in brackets (`%t`).
struct Meaning {
    key: String,
    role: Option<Role>,
    sample: String,
    bracketed: bool,
}

fn meaning(d: &Directive) -> Result<Meaning, String> {
    let plain = |key: &str, role: Option<Role>, sample: &str| Meaning {
        key: key.to_string(),
        role,
        sample: sample.to_string(),
        bracketed: false,
    };
    Ok(match (d.letter, d.arg) {
        ('h' | 'a', _) => plain("remote_addr", Some(Role::Remote), "203.0.113.7"),
        ('l', _) => plain("remote_ident", None, "-"),
        ('u', _) => plain("remote_user", Some(Role::User), "-"),
        ('t', arg) => return time(d, arg),
        ('r', _) => plain(
            "request",
            Some(Role::RequestLine),
            "PUT /api/v1/orders/1042 HTTP/1.1",
        ),
        ('s', _) => plain("status", Some(Role::Status), "409"),
        ('b' | 'B' | 'O', _) => plain("bytes_sent", Some(Role::Bytes), "157"),
        ('D', _) => plain("request_time_us", Some(Role::Duration(Unit::Us)), "42000"),
        ('T', None | Some("s")) => plain("request_time", Some(Role::Duration(Unit::S)), "0"),
        ('T', Some("ms")) => plain("request_time_ms", Some(Role::Duration(Unit::Ms)), "42"),
        ('T', Some("us")) => plain("request_time_us", Some(Role::Duration(Unit::Us)), "42000"),
        ('m', _) => plain("request_method", Some(Role::Method), "PUT"),
        ('U', _) => plain("uri", Some(Role::Target), "/api/v1/orders/1042"),
        // `?` and the query, or nothing: after `%U` (`%U%q`), one value with it, the target.
        ('q', _) => plain("query_string", None, "?expand=items"),
        ('v' | 'V', _) => plain("host", Some(Role::Host), "api.example.com"),
        ('L', _) => plain("request_id", Some(Role::RequestId), "-"),
        ('e', Some(var)) if var.eq_ignore_ascii_case("UNIQUE_ID") => {
            plain("request_id", Some(Role::RequestId), "aGVsbG8")
        }
        ('i', Some(header)) => {
            let key = format!("http_{}", header.to_ascii_lowercase().replace('-', "_"));
            let role = nginx_custom::role(&key);
            let sample = match role {
                Some(Role::UserAgent) => "okhttp/4.12.0",
                Some(Role::Host) => "api.example.com",
                Some(Role::Xff) => "198.51.100.7",
                _ => "-",
            };
            plain(&key, role, sample)
        }
        ('o', Some(header)) => plain(
            &format!(
                "sent_http_{}",
                header.to_ascii_lowercase().replace('-', "_")
            ),
            None,
            "-",
        ),
        ('H' | 'p' | 'P' | 'k' | 'X' | 'I' | 'S' | 'f' | 'A' | 'R' | 'e' | 'n' | 'C' | 'c', _) => {
            plain(d.written, None, "-")
        }
        _ => {
            return Err(format!(
                "--log-format: {} is not an Apache LogFormat directive why409 knows",
                d.written
            ));
        }
    })
}

/// `%t` and `%{…}t`.
fn time(d: &Directive, arg: Option<&str>) -> Result<Meaning, String> {
    let Some(arg) = arg else {
        return Ok(Meaning {
            key: "time".into(),
            role: Some(Role::TimeStart),
            sample: "02/Mar/2026:09:14:05 +0000".into(),
            bracketed: true,
        });
    };
    let (role, pattern) = match (arg.strip_prefix("begin:"), arg.strip_prefix("end:")) {
        (Some(p), _) => (Role::TimeStart, p),
        (_, Some(p)) => (Role::TimeEnd, p),
        _ => (Role::TimeStart, arg),
    };
    let sample = match pattern {
        "sec" => SAMPLE_TIME.to_string(),
        "msec" => format!("{SAMPLE_TIME}000"),
        "usec" => format!("{SAMPLE_TIME}000000"),
        // A fraction of the second another `%{…}t` wrote: nothing to read alone.
        "msec_frac" | "usec_frac" => {
            return Ok(Meaning {
                key: "time_fraction".into(),
                role: None,
                sample: "000".into(),
                bracketed: false,
            });
        }
        p => strftime(p).map_err(|c| {
            format!(
                "--log-format: {}: %{c} is a strftime conversion why409 does not know",
                d.written
            )
        })?,
    };
    Ok(Meaning {
        key: "time".into(),
        role: Some(role),
        sample,
        bracketed: false,
    })
}

/// The sample time written by a strftime pattern; `Err` with a conversion not known.
fn strftime(pattern: &str) -> Result<String, char> {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let conv = chars.next().unwrap_or('%');
        out.push_str(match conv {
            'Y' => "2026",
            'y' => "26",
            'm' => "03",
            'd' => "02",
            'e' => " 2",
            'H' => "09",
            'M' => "14",
            'S' => "05",
            'T' => "09:14:05",
            'F' => "2026-03-02",
            'R' => "09:14",
            'D' => "03/02/26",
            'z' => "+0000",
            'Z' => "UTC",
            'b' | 'h' => "Mar",
            'B' => "March",
            'a' => "Mon",
            'A' => "Monday",
            'j' => "061",
            'p' => "AM",
            's' => "1772442845",
            '%' => "%",
            other => return Err(other),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::parse;
    use crate::record::Method;

    const FMT: &str =
        r#"%v %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{X-Request-ID}i""#;
    const LINE: &str = r#"api.example.com 203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 157 "-" "okhttp/4.12.0" 42000 "5f2b8c0e9a1d""#;

    #[test]
    fn the_documented_line_is_read() {
        let f = compile(FMT).unwrap();
        assert_eq!(f.name(), "apache-custom");
        let r = parse(f.as_ref(), LINE).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/api/v1/orders/1042", 409)
        );
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z");
        assert_eq!(r.anchor, crate::record::TimeAnchor::Start);
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(r.remote.as_ref(), "203.0.113.7");
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
        assert_eq!(r.user_agent.as_deref(), Some("okhttp/4.12.0"));
        assert_eq!(r.request_id.as_deref(), Some("5f2b8c0e9a1d"));
        assert_eq!(
            f.field(LINE.as_bytes(), "x-request-id").as_deref(),
            Some("5f2b8c0e9a1d")
        );
        assert_eq!(
            parse(f.as_ref(), "garbage").unwrap_err(),
            crate::record::Skip::MALFORMED
        );
        // A lite read (the fields every line needs) agrees with the full one, line after
        // line.
        let other = LINE
            .replace("okhttp/4.12.0", "curl/8 \\\"q\\\"")
            .replace(" 409 ", " 200 ");
        crate::format::testing::assert_same_in_turn(f.as_ref(), &[LINE.to_string(), other]);
    }

    /// Apache's escapes in a quoted value (`\"`) do not end it; IPv6 and `-` read as such.
    #[test]
    fn escaped_quotes_ipv6_and_missing_values() {
        let f = compile(r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#).unwrap();
        let line = r#"2001:db8::7 - alice [02/Mar/2026:10:14:05 +0100] "PATCH /d/7 HTTP/1.1" 412 - "-" "say \"hi\" \\ ok""#;
        let r = parse(f.as_ref(), line).unwrap();
        assert_eq!(r.user_agent.as_deref(), Some(r#"say "hi" \ ok"#));
        assert_eq!(
            (r.remote.as_ref(), r.user.as_deref(), r.status),
            ("2001:db8::7", Some("alice"), 412)
        );
        assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z");
        assert_eq!(r.bytes_sent, None);
    }

    /// The `LogFormat` line as pasted from httpd.conf, its quotes escaped.
    #[test]
    fn a_pasted_logformat_line() {
        let pasted =
            r#"LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined"#;
        assert!(is_apache(pasted));
        assert_eq!(
            strip_directive(pasted),
            r#"%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i""#
        );
        let custom = r#"CustomLog ${APACHE_LOG_DIR}/api.log "%a %t %>s \"%r\"""#;
        assert_eq!(strip_directive(custom), r#"%a %t %>s "%r""#);
        assert!(!is_apache(
            r#"$remote_addr [$time_local] "$request" $status"#
        ));
        assert!(!is_apache(
            r#"$remote_addr [$time_local] "$request" $status 100%"#
        ));
        assert!(is_apache(r#"%h %t "%r" %>s"#));
    }

    /// Times: epoch directives, strftime patterns with spaces inside (`inner`), CLF
    /// without brackets, `end:`; `%U%q` as the target, `%{ms}T`.
    #[test]
    fn times_targets_and_durations() {
        let cases = [
            ("%{sec}t %>s %U%q", "1772442845 409 /a/1?x=2", "/a/1?x=2"),
            ("%{msec}t %>s %U", "1772442845000 409 /a/1", "/a/1"),
            ("%{end:usec}t %>s %U", "1772442845000000 409 /a/1", "/a/1"),
            (
                "%{%Y-%m-%d %H:%M:%S}t %>s %U",
                "2026-03-02 09:14:05 409 /a/1",
                "/a/1",
            ),
            (
                "[%{%d/%b/%Y:%H:%M:%S %z}t] %>s %U",
                "[02/Mar/2026:09:14:05 +0000] 409 /a/1",
                "/a/1",
            ),
            (
                "%{%Y-%m-%dT%H:%M:%S%z}t %m %U%q %>s %{ms}T",
                "2026-03-02T09:14:05+0000 PUT /a/1 409 42",
                "/a/1",
            ),
        ];
        for (fmt, line, target) in cases {
            let f = compile(fmt).unwrap_or_else(|e| panic!("{fmt}: {e}"));
            let r = parse(f.as_ref(), line).unwrap_or_else(|e| panic!("{fmt}: {e:?}"));
            assert_eq!(rfc3339(r.time), "2026-03-02T09:14:05Z", "{fmt}");
            assert_eq!((r.status, r.target.as_ref()), (409, target), "{fmt}");
        }
        let f = compile("%{end:sec}t %>s %U %{ms}T").unwrap();
        let r = parse(f.as_ref(), "1772442845 409 /a 42").unwrap();
        assert_eq!(
            (r.anchor, r.duration_us),
            (crate::record::TimeAnchor::End, Some(42_000))
        );
        // A percent sign written as `%%`; modifiers before a directive.
        let f = compile(r#"%t 100%% %400,409{User-Agent}i %<s %!200>s"#).unwrap();
        let r = parse(
            f.as_ref(),
            "[02/Mar/2026:09:14:05 +0000] 100% curl/8 409 409",
        )
        .unwrap();
        assert_eq!((r.status, r.user_agent.as_deref()), (409, Some("curl/8")));
    }

    #[test]
    fn formats_that_cannot_be_read_are_refused_with_why() {
        let refused = |fmt: &str| compile(fmt).err().unwrap_or_default();
        assert_eq!(
            refused("%{%d/%m/%Y %H:%M:%S}t %h %>s"),
            r#"--log-format: a line this format writes is not read back (bad_timestamp: "02/03/2026 09:14:05 203.0.113.7 409"); a strftime time why409 reads is ISO 8601 (%{%Y-%m-%dT%H:%M:%S%z}t) or CLF (%t)"#
        );
        assert_eq!(
            refused("%t %Z %>s"),
            "--log-format: %Z is not an Apache LogFormat directive why409 knows"
        );
        assert_eq!(refused(r#"%t "%r""#), "--log-format: the format has no %>s");
        assert!(refused("%h %>s").starts_with("--log-format: the format has no time (%t"));
        assert_eq!(
            refused("%t %>s%D"),
            "--log-format: %>s and %D are not separated by any text, so they cannot be told apart"
        );
        assert_eq!(
            refused("%{%Q}t %>s"),
            "--log-format: %{%Q}t: %Q is a strftime conversion why409 does not know"
        );
        assert_eq!(
            refused("%t %>s %{Referer"),
            "--log-format: unclosed { in '%{Referer'"
        );
        assert!(refused("%t %>s %").contains("without a directive letter"));
    }
}
