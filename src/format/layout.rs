//! A line laid out by a user-supplied format string: fields between literal text, in any
//! order. `--log-format` compiles an nginx `log_format` (`nginx_custom.rs`) or an Apache
//! `LogFormat` (`apache_custom.rs`) into one; this file reads lines by it.
//!
//! ```text
//! $remote_addr - $remote_user [$time_local] "$request" $status rt=$request_time
//! %h %l %u %t "%r" %>s %b %D
//! ```
//!
//! Quirks handled:
//! - a field's value runs up to the next literal text of the format (so a quoted field runs
//!   to its closing quote), the last field to the end of the line; a field whose value
//!   holds that text itself a known number of times (an Apache time written
//!   `%{%Y-%m-%d %H:%M:%S}t`, then a space) runs past them;
//! - fields with no text between them are read as one value, under the one with a meaning
//!   (`$uri$is_args$args` is the target with its query), when that meaning is text that
//!   may take a suffix (a path, a name); a host right before a path (`$host$request_uri`)
//!   ends at the path's `/`; other touching fields are refused, naming them;
//! - `$upstream_*` lists (`502, 200`, `504 : 200`) keep their inner spaces;
//! - a quote escaped inside a quoted value (Apache writes `\"`) does not end it; nginx
//!   never writes one (`\x22`, or the value as it stands with `escape=none`, where a
//!   value may end in a backslash);
//! - values are unescaped (`\xHH`, `\"`); `-` is missing;
//! - a format that starts as the combined format does (`$remote_addr - $remote_user
//!   [$time_local] "$request" $status `, `%h %l %u %t "%r" %>s `, as nearly every
//!   `log_format` does) has the start of its usual lines read as the combined reader reads
//!   it (`clf::usual`, a few hundred instructions where the walk took three times that),
//!   the rest walked: the same fields, as the tests compare;
//! - a line cut off (or otherwise unlike the format) after the last field a lite read needs
//!   (time, request, status, remote address, host) still counts as the request it logged,
//!   with the fields read up to there, as the combined reader counts a line cut inside its
//!   user agent: so a lite read can stop there and still agree with a full one.

use super::fields::{self, Role, Seen};
use super::{Format, LineContext};
use super::{clf, text};
use crate::record::{Request, Skip, Text};
use crate::timestamp::TimeCache;

/// A piece of a format string.
#[derive(Debug)]
pub(super) enum Elem {
    /// Text written as it stands.
    Lit(Vec<u8>),
    /// A field.
    Var(Field),
}

/// A field of a format string.
#[derive(Debug)]
pub(super) struct Field {
    /// Its name as `--client header:NAME` looks it up (`http_x_api_key`).
    pub key: String,
    /// As the format wrote it (`$request_time`, `%D`), for messages.
    pub written: String,
    /// What it means, if anything to why409.
    pub role: Option<Role>,
    /// How many times the literal text after it occurs inside its value.
    pub inner: usize,
}

/// How a format's writer escapes a quote inside a quoted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quotes {
    /// Apache: `\"` (a backslash as `\\`), so a quote after an odd run of backslashes is
    /// inside the value.
    Backslashed,
    /// nginx: as `\x22` (a backslash as `\x5C`), or not at all (`escape=none`): a quote
    /// followed by the format's next text always ends the value.
    Hex,
}

/// What a format string is and how its writer writes it, for `Layout::new`.
pub(super) struct Dialect {
    pub name: &'static str,
    pub about: &'static str,
    pub quotes: Quotes,
    /// How to write the status and a time in the format's own syntax, for messages.
    pub needs: (&'static str, &'static str),
}

/// A compiled format string.
pub struct Layout {
    elems: Vec<Elem>,
    quotes: Quotes,
    name: &'static str,
    about: &'static str,
    sample: &'static str,
    /// How many elements a lite read walks: up to the last field it needs.
    lite_len: usize,
    /// Where the combined start ends, if the format starts as the combined format does.
    combined: Option<CombinedStart>,
}

/// The combined format's start at the start of a layout (`combined_start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CombinedStart {
    /// The element after it: the literal after the status.
    after: usize,
    /// What its time means (nginx logs the end of a request, Apache its start).
    time: Role,
}

impl Layout {
    /// The layout of `elems`; `Err` when fields that touch cannot be told apart (see
    /// `merge_touching`), or the status or a time is not among them.
    pub(super) fn new(
        elems: Vec<Elem>,
        dialect: Dialect,
        sample: String,
    ) -> Result<Layout, String> {
        let Dialect {
            name,
            about,
            quotes,
            needs,
        } = dialect;
        let roles = || elems.iter().filter_map(|e| field(e)?.role);
        if !roles().any(|r| r == Role::Status) {
            return Err(format!("--log-format: the format has no {}", needs.0));
        }
        if !roles().any(|r| matches!(r, Role::TimeEnd | Role::TimeStart)) {
            return Err(format!(
                "--log-format: the format has no time ({})",
                needs.1
            ));
        }
        let elems = merge_touching(elems)?;
        let lite_len = elems
            .iter()
            .rposition(|e| {
                field(e)
                    .and_then(|f| f.role)
                    .is_some_and(fields::needed_in_lite)
            })
            .map_or(0, |i| i + 1);
        Ok(Layout {
            combined: combined_start(&elems),
            elems,
            quotes,
            name,
            about,
            sample: Box::leak(sample.into_boxed_str()),
            lite_len,
        })
    }

    /// Reads the start of a line in the combined reader's usual shape (`clf::usual`) into
    /// `out`, as the walk would, and gives where the walk goes on (the literal after the
    /// status, element `after`); `None`, having read nothing, where the walk is to read it
    /// all: a line of another shape, or one whose status is not followed by the format's
    /// next text (the walk would read a longer status), or a bad time.
    #[inline]
    fn read_combined<'a>(
        &self,
        line: &'a [u8],
        CombinedStart { after, time }: CombinedStart,
        lite: bool,
        times: &mut TimeCache,
        out: &mut Request<'a>,
        seen: &mut Seen,
    ) -> Option<usize> {
        let h = clf::usual(line)?;
        let at = line.len() - h.sent.len() - 1;
        let Elem::Lit(next) = &self.elems[after] else {
            return None;
        };
        // The walk's time runs to the first `]`: in a usual time there is none.
        if !begins(&line[at..], next) || crate::bytes::find(h.time, b']').is_some() {
            return None;
        }
        fields::apply_logged(time, h.time, times, out, seen).ok()?;
        // As `fields::apply` sets them from the same values: an address without a port or
        // list is the remote as it stands, plain text is its own unescaping.
        out.remote = Text::Borrowed(h.remote);
        if !lite {
            out.user = h.user.map(text::text);
        }
        out.method = h.method;
        out.target = h.target;
        out.status = h.status;
        (seen.target, seen.status) = (true, true);
        Some(at)
    }

    /// Calls `f(field, value)` for each field of the line among elements `from..upto`,
    /// element `from` starting at byte `pos`; `Err` when a literal does not match before
    /// element `strict` (after it, the walk stops there and the line counts as read).
    fn walk<'a>(
        &self,
        line: &'a [u8],
        (from, mut pos): (usize, usize),
        upto: usize,
        strict: usize,
        mut f: impl FnMut(&Field, &'a [u8]) -> Result<(), Skip>,
    ) -> Result<(), Skip> {
        let unlike = |i: usize| match i < strict {
            true => Err(Skip::MALFORMED),
            false => Ok(()),
        };
        for (i, e) in self.elems.iter().enumerate().take(upto).skip(from) {
            match e {
                Elem::Lit(l) => {
                    if !begins(&line[pos..], l) {
                        return unlike(i);
                    }
                    pos += l.len();
                }
                Elem::Var(var) => {
                    let end = match self.elems.get(i + 1) {
                        Some(Elem::Lit(next)) => {
                            match value_end(line, pos, next, var, self.quotes) {
                                Some(end) => end,
                                None => return unlike(i),
                            }
                        }
                        // A host before a path (`merge_touching` leaves no other pair): a
                        // host has no space, a path starts with `/`.
                        Some(Elem::Var(_)) => match crate::bytes::find2(&line[pos..], b'/', b' ') {
                            Some(at) if line[pos + at] == b'/' => pos + at,
                            _ => return unlike(i),
                        },
                        None => line.len(),
                    };
                    f(var, &line[pos..end])?;
                    pos = end;
                }
            }
        }
        Ok(())
    }
}

/// Fields with no text between them (nginx's `$uri$is_args$args`) cannot be told apart: a
/// run of them is read as one value, under the one with a meaning (`$uri`: the target, its
/// query included), or the first; the literal after the run is counted inside it over the
/// whole run (`inner`, set on the run's last field). Only a meaning that is text, where
/// more text after it still names the same thing, takes the others' text: a status or a
/// time with digits after it would be misread on every line. A host right before a path
/// stays apart (`$host$request_uri`: the host ends at the path's `/`). `Err` for the rest.
fn merge_touching(elems: Vec<Elem>) -> Result<Vec<Elem>, String> {
    let mut out: Vec<Elem> = Vec::with_capacity(elems.len());
    for e in elems {
        let (Elem::Var(b), Some(Elem::Var(a))) = (&e, out.last_mut()) else {
            out.push(e);
            continue;
        };
        if a.role == Some(Role::Host) && b.role == Some(Role::Target) {
            out.push(e);
            continue;
        }
        let takes_text = |r: Option<Role>| r.is_none_or(takes_suffix);
        if (a.role.is_some() && b.role.is_some()) || !takes_text(a.role) || !takes_text(b.role) {
            return Err(format!(
                "--log-format: {} and {} are not separated by any text, so they cannot be told apart",
                a.written, b.written
            ));
        }
        let written = format!("{}{}", a.written, b.written);
        if b.role.is_some() {
            a.key.clone_from(&b.key);
            a.role = b.role;
        }
        a.inner += b.inner;
        a.written = written;
    }
    Ok(out)
}

/// Where the combined format's start ends in `elems` (the literal after the status, which
/// must begin with a space), if they start with it as nginx (`$remote_addr - $remote_user
/// [$time_local] "$request" $status `) or Apache (`%h %l %u %t "%r" %>s `) writes it.
fn combined_start(elems: &[Elem]) -> Option<CombinedStart> {
    use Role::*;
    enum Is {
        Var(Option<Role>),
        Time,
        Lit(&'static [u8]),
    }
    let tail = [
        Is::Var(Some(User)),
        Is::Lit(b" ["),
        Is::Time,
        Is::Lit(b"] \""),
        Is::Var(Some(RequestLine)),
        Is::Lit(b"\" "),
        Is::Var(Some(Status)),
    ];
    let nginx = [Is::Var(Some(Remote)), Is::Lit(b" - ")];
    let apache = [
        Is::Var(Some(Remote)),
        Is::Lit(b" "),
        Is::Var(None),
        Is::Lit(b" "),
    ];
    let starts = |head: &[Is]| {
        let shape = head.iter().chain(&tail);
        elems.len() > head.len() + tail.len()
            && shape.zip(elems).all(|(is, e)| match (is, e) {
                (Is::Var(role), Elem::Var(f)) => f.role == *role && f.inner == 0,
                (Is::Time, Elem::Var(f)) => {
                    matches!(f.role, Some(TimeEnd | TimeStart)) && f.inner == 0
                }
                (Is::Lit(l), Elem::Lit(m)) => l == m,
                _ => false,
            })
    };
    let after = [&nginx[..], &apache[..]]
        .into_iter()
        .find(|head| starts(head))
        .map(|head| head.len() + tail.len())?;
    let time = (elems.iter().filter_map(field))
        .find_map(|f| f.role.filter(|r| matches!(r, TimeEnd | TimeStart)))?;
    match &elems[after] {
        Elem::Lit(l) if l.first() == Some(&b' ') => Some(CombinedStart { after, time }),
        _ => None,
    }
}

/// Whether a field with `role` still means the same with more text after it: a path (a
/// query after it), a name or an id; not a status, a time, a number, an address or a
/// request line, which are parsed.
fn takes_suffix(role: Role) -> bool {
    matches!(
        role,
        Role::Target
            | Role::Route
            | Role::Host
            | Role::UserAgent
            | Role::User
            | Role::RequestId
            | Role::ApiKey
            | Role::Consumer
    )
}

/// Does `hay` begin with `lit`? Literals are a few bytes: a loop costs less than the call
/// to `memcmp` that `starts_with` makes.
#[inline(always)]
fn begins(hay: &[u8], lit: &[u8]) -> bool {
    hay.len() >= lit.len() && hay.iter().zip(lit).all(|(a, b)| a == b)
}

/// Where the value of `var` starting at `pos` ends: at the literal `next` after it.
// Inlined into the walk, as is the search: calls per value cost more than the short values.
#[inline(always)]
fn value_end(line: &[u8], pos: usize, next: &[u8], var: &Field, quotes: Quotes) -> Option<usize> {
    let find = |from: usize| literal_at(line, pos, from, next, quotes);
    let mut end = find(pos)?;
    for _ in 0..var.inner {
        end = find(end + 1)?;
    }
    // `$upstream_*` values are lists (`502, 200`, `504 : 200`): a space inside the list is
    // not the separator.
    if var.key.starts_with("upstream_") && next.first() == Some(&b' ') {
        while end > pos
            && (line[end - 1] == b','
                || line[end - 1] == b':'
                || line[end + 1..].starts_with(b": "))
        {
            match find(end + 1) {
                Some(p) => end = p,
                None => break,
            }
        }
    }
    Some(end)
}

/// The first place from `from` on where the literal `next` stands, in the value that began
/// at `pos`. The literal's first byte is searched, then the rest compared: a substring
/// searcher set up for each value was a third of a line's time, and a memchr call per value
/// costs more than the short values it looks over (`bytes::find` is inlined, 16 bytes a
/// step).
#[inline(always)]
fn literal_at(
    line: &[u8],
    pos: usize,
    mut from: usize,
    next: &[u8],
    quotes: Quotes,
) -> Option<usize> {
    loop {
        let at = from + crate::bytes::find(&line[from..], next[0])?;
        if begins(&line[at + 1..], &next[1..])
            && !(quotes == Quotes::Backslashed && escaped_quote(line, pos, at, next))
        {
            return Some(at);
        }
        from = at + 1;
    }
}

/// A quote escaped inside a quoted value (Apache's `\"`) does not close it: is the quote
/// at `at` preceded, within the value, by an odd run of backslashes?
#[inline(always)]
fn escaped_quote(line: &[u8], pos: usize, at: usize, next: &[u8]) -> bool {
    next[0] == b'"'
        && line[pos..at]
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count()
            % 2
            == 1
}

fn field(e: &Elem) -> Option<&Field> {
    match e {
        Elem::Var(f) => Some(f),
        Elem::Lit(_) => None,
    }
}

impl Format for Layout {
    fn reads_lite(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        self.about
    }

    fn sample(&self) -> &'static str {
        self.sample
    }

    fn detect(&self, line: &[u8]) -> bool {
        let all = self.elems.len();
        self.walk(line, (0, 0), all, all, |_, _| Ok(())).is_ok()
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        let mut seen = Seen::default();
        let lite = cx.lite;
        let upto = match lite {
            true => self.lite_len,
            false => self.elems.len(),
        };
        let start = (self.combined)
            .and_then(|c| {
                let at = self.read_combined(line, c, lite, &mut cx.time_cache, out, &mut seen);
                Some((c.after, at?))
            })
            .unwrap_or((0, 0));
        self.walk(line, start, upto, self.lite_len, |var, v| {
            let Some(r) = var.role.filter(|&r| !lite || fields::needed_in_lite(r)) else {
                return Ok(());
            };
            fields::apply_logged(r, v, &mut cx.time_cache, out, &mut seen)
        })?;
        seen.check()
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        let mut found = None;
        let all = self.elems.len();
        let _ = self.walk(line, (0, 0), all, all, |var, v| {
            if super::nginx_json::is_header_key(var.key.as_bytes(), name) {
                found = text::logged(v).map(text::unescape);
            }
            Ok(())
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::{COMBINED_SHAPES, assert_lite_agrees};
    use crate::format::{apache_custom, nginx_custom};

    /// Formats that start as the combined format does: nginx's and Apache's, with fields
    /// after it, one of them (the host) read by a lite read too.
    const NGINX: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$request_id" "$http_x_api_key""#;
    const APACHE: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D"#;
    const WITH_HOST: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$host" "$http_user_agent""#;
    /// No bytes sent: on a combined line, the status runs on to ` "` (read as a bad status).
    const NO_BYTES: &str =
        r#"$remote_addr - $remote_user [$time_local] "$request" $status "$http_referer""#;

    /// The layout of `spec` as compiled, and the same walking every line from its start.
    fn fast_and_walked(spec: &str) -> (Layout, Layout) {
        let compile = |s: &str| match s.contains('%') {
            true => apache_custom::layout(s),
            false => nginx_custom::text_layout(s.to_string()),
        };
        let fast = compile(spec).unwrap();
        let mut walked = compile(spec).unwrap();
        walked.combined = None;
        (fast, walked)
    }

    /// Both read `line` alike, in full and lite reads; and the fast one's lite read agrees
    /// with its full read.
    fn assert_read_alike(fast: &Layout, walked: &Layout, line: &[u8]) {
        for lite in [false, true] {
            let read = |f: &Layout| {
                let mut cx = LineContext {
                    lite,
                    ..Default::default()
                };
                let mut r = Request::default();
                f.parse(line, &mut cx, &mut r).map(|_| format!("{r:?}"))
            };
            assert_eq!(
                read(fast),
                read(walked),
                "lite {lite}: {}",
                String::from_utf8_lossy(line)
            );
        }
        assert_lite_agrees(fast, line);
    }

    /// The combined start is told in nginx's and Apache's spelling, and only where the
    /// fields and the text between them are the combined format's, with more after the
    /// status; the usual line is then read through it.
    #[test]
    fn combined_starts_are_told() {
        for spec in [NGINX, APACHE, WITH_HOST] {
            let (fast, _) = fast_and_walked(spec);
            let (after, time) = match spec == APACHE {
                true => (11, Role::TimeStart),
                false => (9, Role::TimeEnd),
            };
            assert_eq!(fast.combined, Some(CombinedStart { after, time }), "{spec}");
            let mut out = Request::default();
            let line = COMBINED_SHAPES[0].as_bytes();
            let at = fast.read_combined(
                line,
                fast.combined.unwrap(),
                true,
                &mut TimeCache::default(),
                &mut out,
                &mut Seen::default(),
            );
            let status_end = COMBINED_SHAPES[0].find(" 409 ").unwrap() + 4;
            assert_eq!(at, Some(status_end));
            assert_eq!(
                (out.target.as_ref(), out.status),
                ("/api/v1/orders/1042", 409)
            );
        }
        for spec in [
            r#"$remote_addr - $remote_user [$time_local] "$request" $status"#,
            r#"$remote_addr - $remote_user [$time_local] "$request" $status,$body_bytes_sent"#,
            r#"$remote_addr $remote_user [$time_local] "$request" $status $body_bytes_sent"#,
            r#"$http_x_forwarded_for - $remote_user [$time_local] "$request" $status $bytes_sent"#,
            r#"$remote_addr - $remote_user [$time_local] "$request_method $request_uri" $status $bytes_sent"#,
            r#"%h %l %u %{%d/%b/%Y:%H:%M:%S %z}t "%r" %>s %b"#,
        ] {
            assert_eq!(fast_and_walked(spec).0.combined, None, "{spec}");
        }
    }

    /// Every shape of combined line the combined reader meets reads the same through the
    /// combined start as through the walk alone.
    #[test]
    fn the_combined_start_reads_as_the_walk_does() {
        for spec in [NGINX, APACHE, WITH_HOST, NO_BYTES] {
            let (fast, walked) = fast_and_walked(spec);
            for line in COMBINED_SHAPES {
                assert_read_alike(&fast, &walked, line.as_bytes());
            }
        }
    }

    proptest::proptest! {
        /// Any byte changed, inserted or cut anywhere in real-shaped lines: read alike.
        #[test]
        fn the_combined_start_reads_mutations_as_the_walk_does(
            spec in proptest::sample::select(vec![NGINX, APACHE, WITH_HOST, NO_BYTES]),
            k in 0usize..COMBINED_SHAPES.len(),
            at in 0usize..200,
            byte in crate::format::testing::mutation_byte(),
            op in 0u8..3,
        ) {
            let line = crate::format::testing::mutated(COMBINED_SHAPES[k], at, byte, op);
            let (fast, walked) = fast_and_walked(spec);
            assert_read_alike(&fast, &walked, &line);
        }
    }
}
