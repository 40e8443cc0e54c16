//! Log formats: one file per format, each behind the small `Format` trait.
//!
//! Adding a format is adding a file: implement `Format` (its doc comment shows a real line and
//! lists the format's quirks, its tests are those lines) and list it in `registry()`.
//! Detection (`detection.rs`) sniffs the first non-blank lines of each input and picks the
//! format that accepts the most of them; `--format NAME` skips detection.

pub mod alb;
pub mod apache_custom;
pub mod apigw;
pub mod azure;
pub mod caddy;
pub mod clf;
pub mod cloudflare;
mod detection;
pub mod envoy;
pub mod envoy_json;
pub mod fields;
pub mod gcp;
pub mod haproxy;
pub mod json;
pub mod json_fields;
pub mod kong;
pub mod layout;
pub mod nginx_custom;
pub mod nginx_json;
pub mod text;

/// Helpers for the format tests: parse one line.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Format, LineContext};
    use crate::record::{Request, Skip};

    pub fn parse<'a>(f: &dyn Format, line: &'a str) -> Result<Request<'a>, Skip> {
        let mut cx = LineContext::default();
        let mut r = Request::default();
        f.parse(line.as_bytes(), &mut cx, &mut r)?;
        Ok(r)
    }

    /// Parses `lines` one after another through one context, as the pass does (a parser may
    /// carry state from line to line: the JSON layouts), and asserts that each line gives
    /// what it gives alone, in full and in lite parsing; and that its lite read agrees with
    /// its full read (`assert_lite_agrees`).
    pub fn assert_same_in_turn(f: &dyn Format, lines: &[String]) {
        for line in lines {
            assert_lite_agrees(f, line.as_bytes());
        }
        for lite in [false, true] {
            let mut cx = LineContext {
                lite,
                ..Default::default()
            };
            for line in lines {
                let mut r = Request::default();
                let in_turn = f
                    .parse(line.as_bytes(), &mut cx, &mut r)
                    .map(|_| format!("{r:?}"));
                let mut own = LineContext {
                    lite,
                    ..Default::default()
                };
                let mut a = Request::default();
                let alone = f
                    .parse(line.as_bytes(), &mut own, &mut a)
                    .map(|_| format!("{a:?}"));
                assert_eq!(in_turn, alone, "lite {lite}: {line}");
            }
        }
    }

    /// What a lite read must give exactly as a full read gives it (`LineContext::lite`),
    /// the user too where `f` says its lite read fills it.
    fn lite_fields(f: &dyn Format, r: &Request<'_>) -> String {
        let user = f.lite_reads_user().then_some(&r.user);
        format!(
            "{} {:?} {} {} {} {:?} {user:?}",
            r.time, r.method, r.target, r.status, r.remote, r.host
        )
    }

    /// Asserts that `f` reads `line` the same in lite and in full parsing, as far as a lite
    /// read goes: accepted or skipped alike, with the same time, method, target, status,
    /// remote address and vhost (and user, `Format::lite_reads_user`); and that a lite read
    /// completed is the full read.
    pub fn assert_lite_agrees(f: &dyn Format, line: &[u8]) {
        let read = |lite| {
            let mut cx = LineContext {
                lite,
                ..Default::default()
            };
            let mut r = Request::default();
            f.parse(line, &mut cx, &mut r).map(|_| lite_fields(f, &r))
        };
        assert_eq!(
            read(true),
            read(false),
            "{}: {}",
            f.name(),
            String::from_utf8_lossy(line)
        );
        // And a lite read completed (`Format::complete`) is the full read, field for field.
        let full = |complete: bool| {
            let mut cx = LineContext {
                lite: complete,
                ..Default::default()
            };
            let mut r = Request::default();
            f.parse(line, &mut cx, &mut r)?;
            if complete {
                // A full read's own context, as the pass keeps one (a lite read's JSON shape
                // knows only the members a lite read needs).
                f.complete(line, &mut LineContext::default(), &mut r)?;
            }
            Ok::<_, Skip>(format!("{r:?}"))
        };
        assert_eq!(
            full(true),
            full(false),
            "completed: {}: {}",
            f.name(),
            String::from_utf8_lossy(line)
        );
    }

    /// Each fixture log with the format detection picks for it: real-shaped inputs of
    /// several formats for tests that compare two ways of reading them.
    pub fn fixtures() -> Vec<(&'static str, Vec<u8>, Box<dyn Format>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let formats = super::registry();
        [
            "demo/access.log",
            "basic/access.log",
            "formats/scenario.caddy.json",
            "formats/scenario.combined.log",
            "formats/scenario.haproxy.log",
            "formats/scenario.nginx.json",
        ]
        .into_iter()
        .map(|file| {
            let data = std::fs::read(root.join(file)).unwrap();
            let head = crate::input::head_lines(&data, super::DETECT_SAMPLE_LINES);
            let name = super::detect(&formats, &head, &Default::default())
                .unwrap()
                .name();
            (file, data, super::by_name(name).unwrap())
        })
        .collect()
    }

    /// Combined lines of every shape the combined reader meets: the usual one, IPv6, ports,
    /// address lists, vhosts, escapes, junk requests, bad statuses and times, extras, text
    /// that is not ASCII. (Indexes are used by the tests: add at the end.)
    pub const COMBINED_SHAPES: &[&str] = &[
        r#"203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 87 "-" "okhttp/4.9.3" 0.042 "5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7" "key_live_7Hq2""#,
        r#"2001:db8::1 - alice [02/Mar/2026:09:14:05 -0700] "GET /a?x=1 HTTP/2.0" 200 - "-" "a "q" b""#,
        r#"10.0.0.1:5000 - - [02/Mar/2026:09:14:05 +0000] "GET / HTTP/1.0" 200 1"#,
        r#"::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        r#"10.0.0.2, 10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
        r#"example.com:80 10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a"b HTTP/1.1" 200 1 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "get /a HTTP/1.1" 200 1 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a b HTTP/1.1" 200 1 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "-" 408 0 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 2000 1 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" - 1 "-" "-""#,
        r#"1.2.3.4 - - [32/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 200 1 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 200  1 "-" "-""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 200"#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 409 12 "-" "x" rt=0.5 key=abc"#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "DELETE http://h/a/1 HTTP/1.1" 409 12"#,
        r#"1.2.3.4 - "" [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 200 1"#,
        r#"1.2.3.4 ] "" [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 200 1"#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a\x22b HTTP/1.1" 409 1 "-" "a \"q\" b""#,
        r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "PUT /a\\b HTTP/1.1" 409 1 "-" "x""#,
        "1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] \"GET /caf\u{e9}/r\u{e9}sum\u{e9}s/a-longer-path HTTP/1.1\" 200 1",
        "1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] \"GET /caf\u{e9}\"x HTTP/1.1\" 200 1",
    ];

    /// The bytes a mutation test puts into lines: the ones their fields turn on, or any.
    pub fn mutation_byte() -> impl proptest::strategy::Strategy<Value = u8> {
        proptest::prop_oneof![
            proptest::sample::select(b" \"-[]:.,\\/0123456789aAzZ\t\x80".to_vec()),
            proptest::num::u8::ANY,
        ]
    }

    /// `line` with `byte` written over the byte at `at` (`op` 0), put in before it (1), or
    /// the line cut there (2); `at` past the end is the end.
    pub fn mutated(line: &str, at: usize, byte: u8, op: u8) -> Vec<u8> {
        let mut line = line.as_bytes().to_vec();
        let at = at.min(line.len());
        match op {
            0 if at < line.len() => line[at] = byte,
            1 => line.insert(at, byte),
            _ => line.truncate(at),
        }
        line
    }

    /// A run of lines shaped like `sample` (numbers changed), then its variants, each
    /// between copies of the sample: what a parser that remembers layouts must get right.
    pub fn layout_runs(sample: &str, variants: &[(&str, &str)]) -> Vec<String> {
        let mut lines: Vec<String> = (0..20)
            .map(|k| sample.replacen("409", &format!("{}", 200 + k), 1))
            .collect();
        for (from, to) in variants {
            lines.push(sample.replacen(from, to, 1));
            lines.push(sample.to_string());
        }
        lines
    }
}
pub mod traefik;
pub mod w3c;
pub mod wrapped;

pub use detection::{DETECT_SAMPLE_LINES, Guess, detect};

use crate::record::{Request, Skip, Text};
use crate::timestamp::TimeCache;

/// Per-chunk state a parser may use: the directive in force (W3C `#Fields:`), a timestamp
/// cache, and settings such as the time zone of zone-less formats.
#[derive(Debug, Default, Clone)]
pub struct LineContext<'h> {
    /// The last directive line seen before this line in the same input, for formats whose
    /// layout is declared in the file (W3C/IIS/CloudFront `#Fields:`).
    pub directive: Option<&'h [u8]>,
    pub time_cache: TimeCache,
    /// Seconds east of UTC for formats that log local time without an offset (`--tz`).
    pub local_offset_secs: i64,
    /// When set, the caller needs only time, method, target, status and remote address (and
    /// the vhost), so a parser may skip the user agent and appended fields. The scan sets
    /// it, and the pass when the client key is the remote address.
    pub lite: bool,
    /// The column mapping built from the W3C `#Fields:` directive in force.
    pub w3c: w3c::Columns,
    /// The member layout of the last JSON line read in full (see `json::Shape`).
    pub json_shape: json::Shape<fields::KeyMeaning>,
    /// Where a parser may keep text it made (a Docker envelope's unescaped line) for as
    /// long as the requests it fills borrow their fields: the pass gives one per chunk.
    /// Without it, such a request's fields are copied out one by one.
    pub arena: Option<&'h bumpalo::Bump>,
}

/// One access-log format.
pub trait Format: Send + Sync {
    /// The name used by `--format` and in the report (`combined`, `envoy-json`, ...).
    fn name(&self) -> &'static str;
    /// One line for `why409 formats`.
    fn about(&self) -> &'static str;
    /// A real-shaped example line.
    fn sample(&self) -> &'static str;
    /// Does this line look like this format? Used for detection only; it may be loose, since
    /// the format accepting the most sampled lines wins.
    fn detect(&self, line: &[u8]) -> bool;
    /// A line that declares layout (`#Fields: ...`) rather than a request. Directive lines
    /// are counted as skipped (`header_or_comment`) and passed to later lines as context.
    fn is_directive(&self, _line: &[u8]) -> bool {
        false
    }
    /// Whether some lines may be directives (`is_directive`): an input's directives are then
    /// all found before it is read, and each line is read under the one in force at its
    /// offset, whichever chunk it falls in and whether or not the lines between were read.
    fn has_directives(&self) -> bool {
        false
    }
    /// Is the status of every line of `text` (a chunk of lines) read from three digits
    /// exactly as they stand in it? Then the conflict scan (`scan.rs`) finds conflict lines
    /// by their status digits (a layout directive in force is looked up by offset, see
    /// `has_directives`). Where a format unescapes the whole line and `text` holds an
    /// escape that could make a digit, it says no, and the chunk's lines are all parsed.
    fn status_in_raw_line(&self, text: &[u8]) -> bool {
        let _ = text;
        true
    }
    /// Parse one line (without its line terminator) into `out`.
    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip>;
    /// Whether a lite read (`LineContext::lite`) leaves fields out, for `complete` to read.
    /// A format that reads every field alike says no: its lite read is complete as it is.
    fn reads_lite(&self) -> bool {
        false
    }
    /// Whether a lite read fills `Request::user` as a full read does, so that a client
    /// named by its user (`--client user`) needs no full read of every line.
    fn lite_reads_user(&self) -> bool {
        false
    }
    /// Reads into `out`, which a lite read of `line` filled, what that read left out, so
    /// that `out` is what a full read gives; `cx` is a full read's context. By default the
    /// line is read again in full (nothing, for a format that does not `reads_lite`); a
    /// format whose lite read notes where it stopped (`Request::unread`) goes on from there.
    fn complete<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        if !self.reads_lite() {
            return Ok(());
        }
        let mut full = Request::default();
        self.parse(line, cx, &mut full)?;
        *out = full;
        Ok(())
    }
    /// A named extra field from the line (a request header logged by the format), for
    /// `--client header:NAME`. Formats that log no headers return `None`.
    fn field<'a>(&self, _line: &'a [u8], _name: &str) -> Option<Text<'a>> {
        None
    }
}

/// Every built-in format, in detection priority order (more specific formats first, so a
/// tie goes to the one that knows more fields).
pub fn registry() -> Vec<Box<dyn Format>> {
    vec![
        Box::new(caddy::Caddy),
        Box::new(kong::Kong),
        Box::new(traefik::TraefikJson),
        Box::new(gcp::Gcp),
        Box::new(azure::Azure),
        Box::new(cloudflare::Cloudflare),
        Box::new(nginx_json::NginxJson),
        Box::new(envoy_json::EnvoyJson),
        Box::new(apigw::ApiGatewayJson),
        Box::new(alb::Alb),
        Box::new(alb::Elb),
        Box::new(w3c::W3c::generic()),
        Box::new(w3c::W3c::cloudfront()),
        Box::new(envoy::Envoy),
        Box::new(haproxy::Haproxy),
        Box::new(apigw::ApiGatewayClf),
        Box::new(traefik::Traefik),
        Box::new(clf::Clf::combined()),
        Box::new(clf::Clf::common()),
    ]
}

/// Looks a format up by name (`--format`). Accepts a few aliases users type.
pub fn by_name(name: &str) -> Option<Box<dyn Format>> {
    let wanted = match name.to_ascii_lowercase().as_str() {
        "nginx" | "apache" | "clf-combined" | "combined" => "combined".to_string(),
        "clf" | "common" => "common".to_string(),
        other => other.to_string(),
    };
    if wanted.contains('+') {
        return wrapped::by_name(&wanted);
    }
    registry().into_iter().find(|f| f.name() == wanted)
}

/// The names of every built-in format, for error messages.
pub fn names() -> Vec<&'static str> {
    registry().iter().map(|f| f.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format's sample, whole and cut short anywhere, and every line of the fixtures:
    /// a lite read agrees with a full one on everything it reads, so counting (lite) and
    /// context (full) never see a line differently.
    #[test]
    fn lite_reads_agree_with_full_reads() {
        for f in registry().iter().chain(wrapped::all()) {
            let sample = f.sample().as_bytes();
            for cut in (1..=sample.len()).rev() {
                testing::assert_lite_agrees(f.as_ref(), &sample[..cut]);
            }
        }
        for (_, data, f) in testing::fixtures() {
            for line in crate::input::lines(&data) {
                testing::assert_lite_agrees(f.as_ref(), line);
            }
        }
    }
}
