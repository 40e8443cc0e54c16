//! A small borrowed JSON scanner for the JSON log formats: walks one object's members
//! without building a tree and without allocating (strings are unescaped only when read and
//! only when they contain escapes).
//!
//! ```text
//! {"time_local":"02/Mar/2026:09:14:05 +0000","status":409,"request_time":0.042,"upstream_response_time":0.040, 0.002,"http_user_agent":""}
//! ```
//!
//! Quirks handled (gateways write JSON from text templates, so it is not always valid):
//! - numbers and strings are interchangeable for every reader (`"status":"409"` and
//!   `"status":409` both give 409) — API Gateway, Azure Front Door, Envoy `json_format` and
//!   Istio write numbers as strings;
//! - an nginx template such as `"urt":$upstream_response_time` yields `"urt":0.040, 0.002`
//!   or `"urt":,` — the stray list element is skipped and an empty value reads as missing;
//! - bytes ≥ 0x80 may be raw invalid UTF-8 (nginx `escape=json`): decoded lossily;
//! - `\uXXXX` escapes, including surrogate pairs, are decoded.

use super::text::{quote_end, string_end};
use crate::record::Text;
use std::borrow::Cow;

/// One JSON value, as borrowed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val<'a> {
    /// The raw inside of a string (escapes not undone).
    Str(&'a [u8]),
    /// The inside of a string found plain while scanning it (ASCII, no escapes): its text
    /// as it stands, with no second look.
    Plain(&'a str),
    /// A number (or, leniently, any bare token that is not a literal).
    Num(&'a [u8]),
    True,
    False,
    Null,
    /// An object, braces included.
    Obj(&'a [u8]),
    /// An array, brackets included.
    Arr(&'a [u8]),
}

impl<'a> Val<'a> {
    /// The value's raw bytes: a string's inside, a number's digits; empty for the rest.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        match *self {
            Val::Str(s) | Val::Num(s) => s,
            Val::Plain(s) => s.as_bytes(),
            Val::True => b"true",
            Val::False => b"false",
            _ => b"",
        }
    }

    /// The raw inside of a string; `None` for other values.
    #[inline]
    pub fn string_body(&self) -> Option<&'a [u8]> {
        match *self {
            Val::Str(s) => Some(s),
            Val::Plain(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// Text of a string or number; `None` for null, objects, arrays and the missing
    /// markers `""` and `"-"`.
    #[inline]
    pub fn text(&self) -> Option<Text<'a>> {
        match *self {
            Val::Str(s) if s.is_empty() || s == b"-" => None,
            Val::Plain(s) if s.is_empty() || s == "-" => None,
            Val::Plain(s) => Some(Cow::Borrowed(s)),
            Val::Str(s) => Some(match super::text::plain_ascii_str(s) {
                Some(t) => Cow::Borrowed(t),
                None => unescape(s),
            }),
            Val::Num(n) if n.is_empty() || n == b"-" => None,
            Val::Num(n) => Some(super::text::text(n)),
            Val::True => Some(Cow::Borrowed("true")),
            Val::False => Some(Cow::Borrowed("false")),
            _ => None,
        }
    }

    /// Would `text()` be `Some`? (Without unescaping or validating anything.)
    #[inline]
    pub fn present(&self) -> bool {
        match *self {
            Val::Str(s) | Val::Num(s) => !(s.is_empty() || s == b"-"),
            Val::Plain(s) => !(s.is_empty() || s == "-"),
            Val::True | Val::False => true,
            _ => false,
        }
    }

    /// An unsigned integer from a number or a numeric string (`"577"`); a fraction is
    /// dropped (`12.0` → 12).
    #[inline]
    pub fn uint(&self) -> Option<u64> {
        let r = self.raw();
        let r = &r[..crate::bytes::find(r, b'.').unwrap_or(r.len())];
        super::text::uint(r)
    }

    /// A 3-digit status from a number or string; `0`/`000`/`-` give `None`.
    #[inline]
    pub fn status(&self) -> Option<u16> {
        super::text::status(self.raw())
    }

    /// The value as an object.
    #[inline]
    pub fn obj(&self) -> Option<Obj<'a>> {
        match *self {
            Val::Obj(o) => Some(Obj(o)),
            _ => None,
        }
    }

    /// The first element of an array of strings (Caddy headers: `["curl/8"]`), or the value
    /// itself when it is not an array.
    pub fn first(&self) -> Val<'a> {
        match *self {
            Val::Arr(a) => {
                let b = &a[1..];
                let i = skip_ws(b, 0);
                if i < b.len() && b[i] != b']' {
                    scan_value(b, i).map_or(Val::Null, |(v, _)| v)
                } else {
                    Val::Null
                }
            }
            v => v,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
}

/// A JSON object (braces included).
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a>(pub &'a [u8]);

/// Parses the line as an object (leading/trailing whitespace and a BOM allowed).
#[inline]
pub fn object(line: &[u8]) -> Option<Obj<'_>> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let i = skip_ws(line, 0);
    (line.get(i) == Some(&b'{')).then(|| Obj(&line[i..]))
}

/// Whether `line` may hold a member whose key names header `name` as the JSON formats
/// spell it (`Idempotency-Key`, `http_idempotency_key`, `IDEMPOTENCY_KEY`): every such raw
/// key holds the longest `-`/`_`-separated part of `name` in some letter case. A cheap test
/// before walking the object: most lines log no such header, and walking a line for the
/// idempotency headers was a seventh of a JSON log's pass.
pub fn may_name(line: &[u8], name: &str) -> bool {
    let part = (name.as_bytes().split(|&b| b == b'-' || b == b'_'))
        .max_by_key(|p| p.len())
        .unwrap_or_default();
    crate::bytes::contains_ignore_ascii_case(line, part)
}

/// Does the raw key `key` name the request header `name` (lower case, `-` between words) as
/// a JSON log may spell it: as sent (`Idempotency-Key`), with `_` for `-` (`idempotency_key`,
/// `IDEMPOTENCY_KEY`), or as nginx names it (`http_idempotency_key`)? (`may_name` is the
/// cheap test of the whole line before.)
pub fn names_header(key: &[u8], name: &str) -> bool {
    let k = match key.get(..5) {
        Some(p) if p.eq_ignore_ascii_case(b"http_") => &key[5..],
        _ => key,
    };
    k.len() == name.len()
        && k.iter()
            .zip(name.bytes())
            .all(|(&a, b)| a.eq_ignore_ascii_case(&b) || (a == b'_' && b == b'-'))
}

/// Cheap check used by detection: the line is an object containing `"key"`. (Looked for
/// at each quote: a substring search built its searcher, and the pattern, on every call.
/// The closing quote is looked at first: one byte, where the key's compare is a call.)
pub fn has_key(line: &[u8], key: &str) -> bool {
    let l = super::text::trim(line);
    if l.first() != Some(&b'{') {
        return false;
    }
    let key = key.as_bytes();
    memchr::memchr_iter(b'"', l).any(|at| {
        let rest = &l[at + 1..];
        rest.get(key.len()) == Some(&b'"') && rest.starts_with(key)
    })
}

impl<'a> Obj<'a> {
    /// The members in order, as (raw key, value).
    #[inline]
    pub fn members(&self) -> Members<'a> {
        Members { b: self.0, i: 1 }
    }

    /// The value of the first member named `key`.
    pub fn get(&self, key: &str) -> Option<Val<'a>> {
        self.members()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// The value at a dotted path (`request.headers.User-Agent`); each part names a member
    /// of the object before it.
    pub fn path(&self, path: &str) -> Option<Val<'a>> {
        let mut cur = *self;
        let mut parts = path.split('.').peekable();
        while let Some(p) = parts.next() {
            let v = cur.get(p)?;
            if parts.peek().is_none() {
                return Some(v);
            }
            cur = v.obj()?;
        }
        None
    }

    /// The first member whose key equals `key` ignoring ASCII case (HTTP header maps).
    pub fn get_ignore_case(&self, key: &str) -> Option<Val<'a>> {
        self.members()
            .find(|(k, _)| k.eq_ignore_ascii_case(key.as_bytes()))
            .map(|(_, v)| v)
    }
}

/// Iterator over an object's members.
pub struct Members<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a [u8], Val<'a>);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        loop {
            let mut i = skip_ws(b, self.i);
            match b.get(i)? {
                b'}' => {
                    self.i = b.len();
                    return None;
                }
                b',' => {
                    self.i = i + 1;
                    continue;
                }
                b'"' => {}
                _ => {
                    // Not a key: the tail of an unquoted list value (`0.040, 0.002`). Skip
                    // to the next member.
                    let p = memchr::memchr2(b',', b'}', &b[i..])?;
                    self.i = i + p + usize::from(b[i + p] == b',');
                    if b[i + p] == b'}' {
                        self.i = b.len();
                        return None;
                    }
                    continue;
                }
            }
            let kend = quote_end(b, i + 1)?;
            let key = &b[i + 1..kend];
            i = skip_ws(b, kend + 1);
            if b.get(i) != Some(&b':') {
                self.i = b.len();
                return None;
            }
            i = skip_ws(b, i + 1);
            let (v, end) = scan_value(b, i)?;
            self.i = end;
            return Some((key, v));
        }
    }
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The bytes that end a bare token (a number, a literal).
static ENDS_TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let ends = b",}] \t\r\n";
    let mut k = 0;
    while k < ends.len() {
        t[ends[k] as usize] = true;
        k += 1;
    }
    t
};

/// A string's inside as a value: `Plain` when the scan found it plain.
#[inline(always)]
fn string(body: &[u8], plain: bool) -> Val<'_> {
    if plain {
        // SAFETY: `string_end` says plain only for an all-ASCII body, which is valid UTF-8.
        Val::Plain(unsafe { std::str::from_utf8_unchecked(body) })
    } else {
        Val::Str(body)
    }
}

/// Scans the value starting at `i`; returns it and the index after it.
#[inline(always)]
fn scan_value(b: &[u8], i: usize) -> Option<(Val<'_>, usize)> {
    match *b.get(i)? {
        b'"' => {
            let (e, plain) = string_end(b, i + 1)?;
            Some((string(&b[i + 1..e], plain), e + 1))
        }
        b'{' | b'[' => scan_nested(b, i),
        _ => {
            let mut j = i;
            while j < b.len() && !ENDS_TOKEN[b[j] as usize] {
                j += 1;
            }
            let tok = &b[i..j];
            let v = match tok {
                b"null" => Val::Null,
                b"true" => Val::True,
                b"false" => Val::False,
                _ => Val::Num(tok),
            };
            Some((v, j))
        }
    }
}

/// Scans an object or array starting at `i` (kept out of line: log lines are mostly flat).
#[inline(never)]
fn scan_nested(b: &[u8], i: usize) -> Option<(Val<'_>, usize)> {
    let j = nested_end(b, i)?;
    let v = &b[i..=j];
    Some((
        if b[i] == b'{' {
            Val::Obj(v)
        } else {
            Val::Arr(v)
        },
        j + 1,
    ))
}

/// The depth of brackets in a nested value, as the scan of one counts them: any opening
/// bracket goes one deeper, a closing one of the outer kind one up (the value ends when that
/// reaches zero), one of the other kind one up but never below zero. Malformed values
/// (`{]}`) end nowhere or somewhere odd; the count wraps (as release builds always did)
/// instead of panicking in a debug build.
struct Depth {
    close: u8,
    depth: usize,
}

impl Depth {
    /// Takes the bracket `c`; true when it closes the value.
    #[inline(always)]
    fn closes(&mut self, c: u8) -> bool {
        match c {
            c if c == self.close => {
                self.depth = self.depth.wrapping_sub(1);
                self.depth == 0
            }
            b'{' | b'[' => {
                self.depth = self.depth.wrapping_add(1);
                false
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                false
            }
            _ => false,
        }
    }
}

/// Where the object or array opening at `i` closes (strings skipped whole). A SIMD scan
/// of 64-byte blocks (brackets outside strings found from bit masks, escapes as simdjson
/// finds them) was tried: 1 % on Caddy lines, whose header maps leave short tails.
fn nested_end(b: &[u8], i: usize) -> Option<usize> {
    let mut d = Depth {
        close: if *b.get(i)? == b'{' { b'}' } else { b']' },
        depth: 0,
    };
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'"' => j = quote_end(b, j + 1)?,
            c => {
                if d.closes(c) {
                    return Some(j);
                }
            }
        }
        j += 1;
    }
    None
}

/// Most members a `Shape` reads (meaningful ones; any number of others may sit between).
const SHAPE_MEANINGFUL: usize = 32;

/// The member layout of an earlier line: the bytes before each value (separator, quoted
/// key, colon, a string's opening quote) and what each key means to the format. Lines
/// written from one template (nginx `escape=json`, a logging library's encoder) share it,
/// so a line is read by comparing those bytes and scanning the values: no key is matched.
///
/// A line read through the shape yields exactly the members, in order, that `members()`
/// would: its bytes before each value are those of the line the shape was learned from, on
/// which `members()` found that key there, and values are scanned by the same code.
#[derive(Debug, Clone)]
pub struct Shape<T> {
    /// Every prefix, then the tail (the bytes after the last value).
    bytes: Vec<u8>,
    /// Per member: where its prefix ends in `bytes`, and what its key means.
    slots: Vec<(u32, Option<T>)>,
    /// Lines offered to `read`, and lines it took, since the shape was learnt.
    offered: u32,
    taken: u32,
}

impl<T> Default for Shape<T> {
    fn default() -> Self {
        Shape {
            bytes: Vec::new(),
            slots: Vec::new(),
            offered: 0,
            taken: 0,
        }
    }
}

impl<T: Copy> Shape<T> {
    /// Reads `line` if it has this shape, calling `each` for every member whose key has a
    /// meaning, in order, and returning its result (`each` stops at the first error).
    /// `None` when the line is shaped otherwise (or nothing was learned): read it with
    /// `members()`, then `learn` it.
    #[inline]
    pub fn read<'a, E>(
        &mut self,
        line: &'a [u8],
        mut each: impl FnMut(T, Val<'a>) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        self.offered = self.offered.saturating_add(1);
        // Positions are kept as u32: a line of 4 GiB or more is left to `members()`.
        if self.slots.is_empty() || u32::try_from(line.len()).is_err() {
            return None;
        }
        // First the whole line is matched, then values are handed out: a line that leaves
        // the shape half-way must not have been half-applied.
        let mut found = [(0u32, 0u32, false); SHAPE_MEANINGFUL];
        let mut n = 0;
        let mut p = 0usize;
        let mut from = 0usize;
        for &(to, meaning) in &self.slots {
            let prefix = &self.bytes[from..to as usize];
            from = to as usize;
            if !starts_with_at(line, p, prefix) {
                return None;
            }
            p += prefix.len();
            let start = p;
            let mut plain = false;
            p = if prefix.last() == Some(&b'"') {
                let (e, is_plain) = string_end(line, p)?;
                plain = is_plain;
                e + 1
            } else {
                scan_value(line, p)?.1
            };
            if meaning.is_some() {
                found[n] = (start as u32, p as u32, plain);
                n += 1;
            }
        }
        let tail = &self.bytes[from..];
        if line.len() - p != tail.len() || !starts_with_at(line, p, tail) {
            return None;
        }
        let mut k = 0;
        for &(to, meaning) in &self.slots {
            let Some(m) = meaning else { continue };
            let (s, e, plain) = (found[k].0 as usize, found[k].1 as usize, found[k].2);
            k += 1;
            let v = if self.bytes[to as usize - 1] == b'"' {
                string(&line[s..e - 1], plain)
            } else {
                scan_value(line, s).map_or(Val::Null, |(v, _)| v)
            };
            if let Err(e) = each(m, v) {
                return Some(Err(e));
            }
        }
        self.taken = self.taken.saturating_add(1);
        Some(Ok(()))
    }

    /// Should a line `read` did not take be learnt? Yes when the shape served (a new layout
    /// takes over at once) or there is none; otherwise once in 16 lines, so that lines of
    /// alternating layouts do not each pay for a second walk.
    pub fn worth_learning(&self) -> bool {
        self.slots.is_empty() || self.taken >= 16 || self.offered >= 16
    }

    /// Learns the shape of `line` (a well-formed flat-or-nested object, as `members()`
    /// reads it to its closing brace); otherwise forgets the shape. Reuses its buffers.
    pub fn learn(&mut self, line: &[u8], meaning: impl Fn(&[u8]) -> Option<T>) {
        self.bytes.clear();
        self.slots.clear();
        self.offered = 0;
        self.taken = 0;
        if !self.learn_members(line, meaning) {
            self.bytes.clear();
            self.slots.clear();
        }
    }

    fn learn_members(&mut self, line: &[u8], meaning: impl Fn(&[u8]) -> Option<T>) -> bool {
        let Some(obj) = object(line).filter(|_| u32::try_from(line.len()).is_ok()) else {
            return false;
        };
        let b = line;
        let mut i = line.len() - obj.0.len() + 1;
        let mut from = 0;
        let mut meaningful = 0;
        loop {
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b'}') => break,
                Some(b',') if !self.slots.is_empty() => i = skip_ws(b, i + 1),
                Some(b'"') if self.slots.is_empty() => {}
                _ => return false,
            }
            if b.get(i) != Some(&b'"') {
                return false;
            }
            let Some(kend) = quote_end(b, i + 1) else {
                return false;
            };
            let key = &b[i + 1..kend];
            i = skip_ws(b, kend + 1);
            if b.get(i) != Some(&b':') {
                return false;
            }
            i = skip_ws(b, i + 1);
            let string = b.get(i) == Some(&b'"');
            let start = i + usize::from(string);
            let Some((_, end)) = scan_value(b, i) else {
                return false;
            };
            let m = meaning(key);
            if m.is_some() {
                if meaningful == SHAPE_MEANINGFUL {
                    return false;
                }
                meaningful += 1;
            }
            self.bytes.extend_from_slice(&b[from..start]);
            self.slots.push((self.bytes.len() as u32, m));
            from = end;
            i = end;
        }
        if self.slots.is_empty() {
            return false;
        }
        self.bytes.extend_from_slice(&b[from..]);
        true
    }
}

/// Reads the meaningful members of the object `line`, in order, through `shape` when the line
/// has the layout of the ones before (lines from one template), else member by member, then
/// learns its layout (now and then: see `Shape::worth_learning`). `None` when the line is
/// not an object; otherwise the first error `each` returned, if any.
#[inline]
pub fn read_members<'a, T: Copy, E>(
    shape: &mut Shape<T>,
    line: &'a [u8],
    meaning: impl Fn(&[u8]) -> Option<T>,
    mut each: impl FnMut(T, Val<'a>) -> Result<(), E>,
) -> Option<Result<(), E>> {
    if let Some(applied) = shape.read(line, &mut each) {
        return Some(applied);
    }
    for (k, v) in object(line)?.members() {
        if let Some(m) = meaning(k)
            && let Err(e) = each(m, v)
        {
            return Some(Err(e));
        }
    }
    if shape.worth_learning() {
        shape.learn(line, meaning);
    }
    Some(Ok(()))
}

/// `line[p..]` starts with `prefix`; word at a time (prefixes are a key and some quotes:
/// a library `memcmp` call costs more than the compare).
#[inline(always)]
fn starts_with_at(line: &[u8], p: usize, prefix: &[u8]) -> bool {
    let n = prefix.len();
    let Some(a) = line.get(p..p + n) else {
        return false;
    };
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    if n < 8 {
        return a == prefix;
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(prefix, i) {
            return false;
        }
        i += 8;
    }
    i == n || word(a, n - 8) == word(prefix, n - 8)
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..4] {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Undoes JSON string escapes; borrowed when there are none. Invalid UTF-8 is replaced.
/// The text between escapes is copied a run at a time (a Docker `log` string holds a whole
/// access-log line with a few `\"` in it: byte by byte, ~3,000 instructions a line).
pub fn unescape(s: &[u8]) -> Text<'_> {
    if memchr::memchr(b'\\', s).is_none() {
        return super::text::text(s);
    }
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    for p in crate::bytes::places(s, b'\\') {
        if p < i {
            // Taken by the escape before (`\\`, or a `\u` escape's digits).
            continue;
        }
        out.extend_from_slice(&s[i..p]);
        i = p;
        if p + 1 == s.len() {
            // A lone backslash at the end stands as it is.
            break;
        }
        i = escape_at(s, p, &mut out);
    }
    out.extend_from_slice(&s[i..]);
    owned(out)
}

/// The string whose inside starts at `b[start]` (after its opening quote), unescaped, and
/// the index of its closing quote; `None` when it is not closed. What `quote_end` and then
/// `unescape` give, in one look at the bytes (a Docker `log` string nesting a JSON line has
/// an escape every few bytes, and each stopped both looks).
pub fn unescape_string(b: &[u8], start: usize) -> Option<(Text<'_>, usize)> {
    let mut out = Vec::new();
    let (escaped, end) = unescape_string_into(b, start, &mut out)?;
    let text = if escaped {
        owned(out)
    } else {
        super::text::text(&b[start..end])
    };
    Some((text, end))
}

/// `unescape_string` into `out`, for a caller that keeps one buffer for many strings: the
/// string's bytes, unescaped, are appended to `out` when it holds an escape
/// (`Some((true, end))`); when it holds none, `out` is left as it was and the string is
/// `b[start..end]` (`Some((false, end))`). The bytes are not checked as UTF-8.
pub fn unescape_string_into(b: &[u8], start: usize, out: &mut Vec<u8>) -> Option<(bool, usize)> {
    let s = b.get(start..)?;
    // Up to the first escape nothing is copied: a string without one stays where it is.
    let first = crate::bytes::find2(s, b'"', b'\\')?;
    if s[first] == b'"' {
        return Some((false, start + first));
    }
    let base = out.len();
    // Room for every byte of the string and one block past it: no escape's text is longer
    // than the escape (`\u00e9` is two bytes, a surrogate pair's twelve are four), so a
    // block stored whole past the unescaped text stays within the room (`copy_plain`).
    out.reserve(s.len() + 16);
    let mut i = first;
    out.extend_from_slice(&s[..first]);
    loop {
        // `s[i]` is a quote or a backslash, and `s[..i]` is copied (unescaped) to
        // `out[base..]`, which is no longer.
        debug_assert!(out.len() - base <= i);
        if s[i] == b'"' {
            return Some((true, start + i));
        }
        if i + 1 == s.len() {
            // An escape cut by the end: the string is not closed.
            return None;
        }
        // `\"`, nearly every escape of a Docker line that nests a log line with quotes.
        if s[i + 1] == b'"' {
            out.push(b'"');
            i += 2;
        } else {
            i = escape_at(s, i, out);
        }
        let k = copy_plain(&s[i..], out);
        i += k;
        if i == s.len() {
            return None;
        }
    }
}

/// Appends the bytes of `s` before its first quote or backslash to `out`, whose spare room
/// is at least `s.len() + 16` bytes (see `unescape_string_into`); returns how many (all of
/// `s` when it has neither). Sixteen bytes a step, each block stored whole and the length
/// set to the part before the stop: a Docker line's runs between escapes are short, where a
/// library copy a run cost more to call than it copied.
#[inline(always)]
fn copy_plain(s: &[u8], out: &mut Vec<u8>) -> usize {
    let len = out.len();
    assert!(out.capacity() - len >= s.len() + 16);
    let mut n = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8, _mm_storeu_si128,
        };
        while n + 16 <= s.len() {
            // SAFETY: SSE2 is part of x86-64; the load reads `s[n..n + 16]`, within `s`; the
            // store writes `out`'s spare room at `len + n .. len + n + 16`, within the
            // `s.len() + 16` bytes the assertion found; unaligned loads and stores have no
            // alignment requirement. The length set covers only bytes written.
            unsafe {
                let w = _mm_loadu_si128(s.as_ptr().add(n).cast::<__m128i>());
                _mm_storeu_si128(out.as_mut_ptr().add(len + n).cast::<__m128i>(), w);
                let m = _mm_movemask_epi8(_mm_or_si128(
                    _mm_cmpeq_epi8(w, _mm_set1_epi8(b'"' as i8)),
                    _mm_cmpeq_epi8(w, _mm_set1_epi8(b'\\' as i8)),
                ));
                if m != 0 {
                    n += m.trailing_zeros() as usize;
                    out.set_len(len + n);
                    return n;
                }
            }
            n += 16;
        }
        // SAFETY: the blocks before were stored whole.
        unsafe { out.set_len(len + n) };
    }
    let rest = &s[n..];
    let k = rest
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .unwrap_or(rest.len());
    out.extend_from_slice(&rest[..k]);
    n + k
}

/// Undoes the escape whose backslash is `s[p]` (with a byte after it) into `out`; returns
/// the index after it. Lenient: an unknown escape gives its character, a `\u` without four
/// hex digits stays `\u`, a lone surrogate is U+FFFD.
#[inline]
fn escape_at(s: &[u8], p: usize, out: &mut Vec<u8>) -> usize {
    let mut i = p + 2;
    match s[p + 1] {
        b'n' => out.push(b'\n'),
        b't' => out.push(b'\t'),
        b'r' => out.push(b'\r'),
        b'b' => out.push(8),
        b'f' => out.push(12),
        b'u' => match hex4(&s[i..]) {
            None => out.extend_from_slice(b"\\u"),
            Some(mut cp) => {
                i += 4;
                if (0xD800..0xDC00).contains(&cp)
                    && s[i..].starts_with(b"\\u")
                    && let Some(lo) = hex4(&s[i + 2..]).filter(|lo| (0xDC00..0xE000).contains(lo))
                {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
                let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
        },
        other => out.push(other), // \" \\ \/ and anything unknown
    }
    i
}

/// Unescaped bytes as text, invalid UTF-8 replaced.
fn owned(out: Vec<u8>) -> Text<'static> {
    Cow::Owned(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `"key"` anywhere in an object (a value spelled like the key counts: detection is
    /// loose), whole: not a longer key, not a key's start, not outside an object.
    #[test]
    fn keys_are_found_quoted_whole() {
        let line = br#" {"level":"info","ts":1.5,"msg":"x\"logger\"","tsx":2}"#;
        assert!(has_key(line, "level"));
        assert!(has_key(line, "ts"));
        assert!(has_key(line, "tsx"));
        assert!(!has_key(line, "lev"));
        assert!(!has_key(line, "evel"));
        assert!(!has_key(line, "logger"));
        assert!(has_key(br#"{"msg":"level"}"#, "level"));
        assert!(!has_key(br#"{"msg":"x"}"#, ""));
        assert!(has_key(br#"{"":1}"#, ""));
        assert!(!has_key(br#"level "level""#, "level"));
        assert!(!has_key(br#"{"level"#, "level"));
    }

    #[test]
    fn header_names_are_found_as_formats_spell_them() {
        for line in [
            r#"{"http_idempotency_key":"k1"}"#,
            r#"{"headers":{"Idempotency-Key":["k1"]}}"#,
            r#"{"IDEMPOTENCY_KEY":"k1"}"#,
            r#"{"x_IdEmPoTeNcY_key":"k1"}"#,
        ] {
            assert!(may_name(line.as_bytes(), "idempotency-key"), "{line}");
            assert!(may_name(line.as_bytes(), "x-idempotency-key"), "{line}");
        }
        assert!(!may_name(
            br#"{"request_id":"idem-potency"}"#,
            "idempotency-key"
        ));
        assert!(may_name(br#"{"a":1}"#, ""));
    }

    #[test]
    fn members_and_paths() {
        let line = br#"{"a":1,"b":{"c":"x\"y","d":[1,{"e":2}]},"f":null,"g":true, "h" : "409" }"#;
        let o = object(line).unwrap();
        let keys: Vec<&[u8]> = o.members().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![&b"a"[..], b"b", b"f", b"g", b"h"]);
        assert_eq!(o.path("b.c").unwrap().text().unwrap(), "x\"y");
        assert_eq!(o.get("h").unwrap().status(), Some(409));
        assert_eq!(o.get("a").unwrap().uint(), Some(1));
        assert!(o.get("f").unwrap().is_null());
        assert!(o.get("zz").is_none());
    }

    #[test]
    fn lenient_nginx_templates() {
        // `"urt":$upstream_response_time` with two upstreams, and an empty variable.
        let line = br#"{"status":409,"urt":0.040, 0.002,"rt":,"id":"abc"}"#;
        let o = object(line).unwrap();
        assert_eq!(o.get("urt").unwrap().raw(), b"0.040");
        assert_eq!(o.get("rt").unwrap().text(), None);
        assert_eq!(o.get("id").unwrap().text().unwrap(), "abc");
    }

    #[test]
    fn escapes_and_raw_bytes() {
        assert_eq!(unescape(br"caf\u00e9 \ud83d\ude00 \\ \/"), "café 😀 \\ /");
        assert_eq!(unescape(b"raw \xff byte"), "raw \u{FFFD} byte");
        assert!(matches!(unescape(b"plain"), Cow::Borrowed(_)));
        let o = object(br#"{"ua":["curl/8.5"],"n":[]}"#).unwrap();
        assert_eq!(o.get("ua").unwrap().first().text().unwrap(), "curl/8.5");
        assert!(o.get("n").unwrap().first().is_null());
        // Lenient: a bad `\u`, an unknown escape and a lone backslash at the end stay read.
        assert_eq!(unescape(br"a\uZZ\q\"), "a\\uZZq\\");
        assert_eq!(unescape(br"\ud83d\u0041"), "\u{FFFD}A");
    }

    /// `unescape` as it was first written, a byte at a time: the run-copying one must read
    /// every string as it does.
    fn unescape_bytewise(s: &[u8]) -> String {
        let mut out: Vec<u8> = Vec::new();
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            if c != b'\\' || i + 1 >= s.len() {
                out.push(c);
                i += 1;
                continue;
            }
            let e = s[i + 1];
            i += 2;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'u' => {
                    let Some(mut cp) = hex4(&s[i..]) else {
                        out.extend_from_slice(b"\\u");
                        continue;
                    };
                    i += 4;
                    if (0xD800..0xDC00).contains(&cp)
                        && s[i..].starts_with(b"\\u")
                        && let Some(lo) =
                            hex4(&s[i + 2..]).filter(|lo| (0xDC00..0xE000).contains(lo))
                    {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                    let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                other => out.push(other),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    proptest::proptest! {
        #[test]
        fn unescape_reads_as_the_bytewise_loop(
            s in proptest::collection::vec(
                proptest::sample::select(&b"\\u03dD8Ce9nt\"/ a\x80\xff"[..]),
                0..40,
            )
        ) {
            proptest::prop_assert_eq!(unescape(&s).into_owned(), unescape_bytewise(&s));
        }

        /// One look reads a string as `quote_end` then `unescape` do, from any start, with
        /// runs between escapes around the sixteen-byte blocks; and into a buffer that
        /// already holds text, after it.
        #[test]
        fn unescape_string_is_quote_end_then_unescape(
            s in proptest::collection::vec(
                proptest::prop_oneof![
                    3 => proptest::sample::select(&b"\\u03dD8Ce9nt\"/ a\x80\xff"[..]),
                    2 => proptest::sample::select(&b"abc"[..]),
                ],
                0..100,
            ),
            start in 0usize..8,
        ) {
            let start = start.min(s.len());
            let want = quote_end(&s, start).map(|e| (unescape(&s[start..e]).into_owned(), e));
            let got = unescape_string(&s, start).map(|(t, e)| (t.into_owned(), e));
            proptest::prop_assert_eq!(&got, &want);
            let mut out = b"before".to_vec();
            if let Some((escaped, e)) = unescape_string_into(&s, start, &mut out) {
                let (text, _) = want.unwrap();
                let after = if escaped { &out[6..] } else { &s[start..e] };
                proptest::prop_assert_eq!(String::from_utf8_lossy(after), text);
                proptest::prop_assert_eq!(&out[..6], b"before");
                proptest::prop_assert!(escaped || out.len() == 6);
            }
        }
    }

    #[test]
    fn string_ends_at_every_offset() {
        // Quotes and escapes at every position relative to the 8-byte words.
        for pad in 0..40 {
            let body = format!("{}\\\"x\\\\", "a".repeat(pad));
            let line = format!(r#"{{"k{pad}":"{body}","n":1}}"#);
            let o = object(line.as_bytes()).unwrap();
            let v = o.get(&format!("k{pad}")).unwrap();
            assert_eq!(v.raw(), body.as_bytes());
            assert_eq!(v.text().unwrap(), format!("{}\"x\\", "a".repeat(pad)));
            assert_eq!(o.get("n").unwrap().uint(), Some(1));
        }
        assert!(object(br#"{"a":"x\"#).unwrap().members().next().is_none());
        assert!(Val::Str(b"x").present() && !Val::Str(b"-").present() && !Val::Null.present());
    }

    #[test]
    fn truncated_objects_end_quietly() {
        let o = object(br#"{"a":"x","b":"unterminated"#).unwrap();
        assert_eq!(o.members().count(), 1);
        assert!(object(b"not json").is_none());
    }

    /// Lines of one shape and of others: whitespace, a BOM, nested values, numbers as
    /// strings, escapes, an nginx stray list element, an empty value, a repeated key.
    const SHAPED: &[&str] = &[
        r#"{"time":"2026-03-02T09:00:00+00:00","remote_addr":"93.204.30.89","status":200,"request_uri":"/a/1","ua":"curl/8"}"#,
        r#"{"time":"2026-03-02T09:00:01+00:00","remote_addr":"2001:db8::1","status":409,"request_uri":"/a/\"q\"","ua":"x \u00e9"}"#,
        r#"{"time":"2026-03-02T09:00:01+00:00","remote_addr":"1.2.3.4","status":"409","request_uri":"/a/2","ua":""}"#,
        r#"{"time":"t","remote_addr":"1.2.3.4","status":409,"request_uri":"/a/2","ua":"u"} "#,
        r#" {"time" : "t", "remote_addr":"1.2.3.4","status":409,"request_uri":"/a/2","ua":"u"}"#,
        "\u{feff}{\"time\":\"t\",\"status\":409}",
        r#"{"time":"t","urt":0.040, 0.002,"status":409,"rt":,"ua":"u"}"#,
        r#"{"time":"t","req":{"status":1,"s":"}"},"status":409,"h":[1,"]"],"ua":null}"#,
        r#"{"time":"t","status":409,"status":412,"ua":true}"#,
        r#"{"time":"t","status":409,"ua":"unterminated}"#,
        r#"{"time":"t","status":409"#,
        r#"{"time":"t""status":409}"#,
        r#"{}"#,
        r#"{"time":"t","rt":,"status":409}"#,
    ];

    fn meaning(k: &[u8]) -> Option<usize> {
        ["time", "remote_addr", "status", "request_uri", "ua"]
            .iter()
            .position(|x| x.as_bytes() == k)
    }

    fn meaningful(line: &[u8]) -> Vec<(usize, Val<'_>)> {
        object(line).map_or(Vec::new(), |o| {
            o.members()
                .filter_map(|(k, v)| meaning(k).map(|m| (m, v)))
                .collect()
        })
    }

    fn through<'a>(shape: &mut Shape<usize>, line: &'a [u8]) -> Option<Vec<(usize, Val<'a>)>> {
        let mut got = Vec::new();
        shape
            .read(line, |m, v| {
                got.push((m, v));
                Ok::<(), ()>(())
            })
            .map(|_| got)
    }

    #[test]
    fn a_shape_reads_what_members_reads() {
        for a in SHAPED {
            let mut shape = Shape::default();
            shape.learn(a.as_bytes(), meaning);
            for b in SHAPED {
                if let Some(got) = through(&mut shape, b.as_bytes()) {
                    assert_eq!(got, meaningful(b.as_bytes()), "learned {a}, read {b}");
                }
            }
        }
        // Well-formed lines are read through their own shape and their kin's (a number
        // may turn string: it is read as one).
        let mut shape = Shape::default();
        shape.learn(SHAPED[0].as_bytes(), meaning);
        for b in &SHAPED[..3] {
            assert!(through(&mut shape, b.as_bytes()).is_some(), "{b}");
        }
        for b in &SHAPED[3..] {
            assert!(through(&mut shape, b.as_bytes()).is_none(), "{b}");
        }
        for own in [3, 4, 5, 7, 8, 13] {
            shape.learn(SHAPED[own].as_bytes(), meaning);
            assert!(
                through(&mut shape, SHAPED[own].as_bytes()).is_some(),
                "{own}"
            );
        }
        // Unfinished or empty objects, and stray list elements, teach nothing.
        for bad in [6, 9, 10, 11, 12] {
            shape.learn(SHAPED[bad].as_bytes(), meaning);
            assert!(
                through(&mut shape, SHAPED[bad].as_bytes()).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn alternating_layouts_are_learnt_now_and_then_a_new_one_at_once() {
        let mut shape = Shape::default();
        let (a, b) = (SHAPED[0].as_bytes(), SHAPED[8].as_bytes());
        // Whether the line was learnt.
        let offer = |shape: &mut Shape<usize>, line: &[u8]| {
            let learn = through(shape, line).is_none() && shape.worth_learning();
            if learn {
                shape.learn(line, meaning);
            }
            learn
        };
        let learnt = (0..64)
            .filter(|k| offer(&mut shape, if k % 2 == 0 { a } else { b }))
            .count();
        assert!(learnt <= 5, "{learnt} learnt");
        // After a run of one layout, the next layout is learnt on its first line.
        for _ in 0..20 {
            offer(&mut shape, a);
        }
        assert!(offer(&mut shape, b));
        assert!(through(&mut shape, b).is_some());
    }

    #[test]
    fn a_shape_stops_at_the_first_error_and_applies_nothing_of_a_stranger() {
        let mut shape = Shape::default();
        shape.learn(SHAPED[0].as_bytes(), meaning);
        let mut seen = Vec::new();
        let r = shape.read(SHAPED[1].as_bytes(), |m, _| {
            seen.push(m);
            if m == 2 { Err(m) } else { Ok(()) }
        });
        assert_eq!((r, seen), (Some(Err(2)), vec![0, 1, 2]));
        // The stranger differs only in its last member's key.
        let stranger = SHAPED[0].replace("\"ua\"", "\"UA\"");
        let mut called = false;
        let r = shape.read(stranger.as_bytes(), |_, _| {
            called = true;
            Ok::<(), ()>(())
        });
        assert!(r.is_none() && !called);
    }

    proptest::proptest! {
        /// A shaped line with any one byte changed or added is read exactly as `members()`
        /// reads it, or left to it.
        #[test]
        fn a_changed_line_is_read_as_members_reads_it(
            which in 0usize..9,
            at in 0usize..200,
            byte in proptest::sample::select(&b"\"\\:,{}[] 0a\x80\xff"[..]),
            insert in proptest::bool::ANY,
        ) {
            let line = SHAPED[which].as_bytes();
            let mut shape = Shape::default();
            shape.learn(line, meaning);
            let mut changed = line.to_vec();
            let at = at % (line.len() + 1);
            if insert || at == line.len() {
                changed.insert(at, byte);
            } else {
                changed[at] = byte;
            }
            if let Some(got) = through(&mut shape, &changed) {
                proptest::prop_assert_eq!(got, meaningful(&changed));
            }
        }
    }

    /// A Caddy request's header map with escaped quotes in its ETags and brackets in its
    /// strings ends at its own brace, and the member after it is read; mismatched brackets
    /// end nowhere, without overflowing the depth (a debug build panicked on `{]}`).
    #[test]
    fn header_maps_end_at_their_brace() {
        let headers = r#"{"Accept-Encoding":["gzip, deflate, br, zstd"],"If-Match":["\"v2\""],"User-Agent":["Mozilla/5.0 (X11; Linux x86_64; rv:124.0) {not a brace}"],"X-Ids":[[1,2],{"a":"]"}]}"#;
        let line = format!(r#"{{"request":{{"method":"PUT","headers":{headers}}},"status":409}}"#);
        let o = object(line.as_bytes()).unwrap();
        let req = o.get("request").unwrap();
        assert_eq!(o.get("status").unwrap().status(), Some(409));
        let Val::Obj(r) = req else { panic!("{req:?}") };
        let inner = object(r).unwrap();
        let h = inner.get("headers").unwrap();
        assert!(matches!(h, Val::Obj(h) if h == headers.as_bytes()), "{h:?}");
        for bad in [&b"{]}"[..], b"{]]}}", b"[}]", b"{\"a\":[}]"] {
            assert_eq!(nested_end(bad, 0), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(nested_end(b"{]{}}", 0), Some(3));
    }
}
