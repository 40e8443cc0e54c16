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
//! - a line cut off (or otherwise unlike the format) after the last field a lite read needs
//!   (time, request, status, remote address, host) still counts as the request it logged,
//!   with the fields read up to there, as the combined reader counts a line cut inside its
//!   user agent: so a lite read can stop there and still agree with a full one.

use super::fields::{self, Role, Seen};
use super::text;
use super::{Format, LineContext};
use crate::record::{Request, Skip, Text};

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
            elems,
            quotes,
            name,
            about,
            sample: Box::leak(sample.into_boxed_str()),
            lite_len,
        })
    }

    /// Calls `f(field, value)` for each field of the line among the first `upto` elements;
    /// `Err` when a literal does not match before element `strict` (after it, the walk
    /// stops there and the line counts as read).
    fn walk<'a>(
        &self,
        line: &'a [u8],
        upto: usize,
        strict: usize,
        mut f: impl FnMut(&Field, &'a [u8]) -> Result<(), Skip>,
    ) -> Result<(), Skip> {
        let mut pos = 0;
        let unlike = |i: usize| match i < strict {
            true => Err(Skip::MALFORMED),
            false => Ok(()),
        };
        for (i, e) in self.elems[..upto].iter().enumerate() {
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
                        // A host before a path (`merge_touching` leaves no other pair).
                        Some(Elem::Var(_)) => match crate::bytes::find(&line[pos..], b'/') {
                            Some(at) => pos + at,
                            None => return unlike(i),
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
        self.walk(line, all, all, |_, _| Ok(())).is_ok()
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
        self.walk(line, upto, self.lite_len, |var, v| {
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
        let _ = self.walk(line, all, all, |var, v| {
            if super::nginx_json::is_header_key(var.key.as_bytes(), name) {
                found = text::logged(v).map(text::unescape);
            }
            Ok(())
        });
        found
    }
}
