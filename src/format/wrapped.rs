//! Wrappers around access-log lines: container runtimes, syslog and docker-compose add a
//! prefix or an envelope; a `Wrapped` format unwraps the line and hands it to an inner
//! format. Detection tries every wrapper × format pair when no plain format fits; the name
//! is `wrapper+inner` (`cri+nginx-json`, `docker+envoy`), also accepted by `--format`.
//!
//! ```text
//! {"log":"10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] \"PUT /a/1 HTTP/1.1\" 409 87 \"-\" \"curl/8\"\n","stream":"stdout","time":"2026-03-02T09:14:05.123456789Z"}
//! 2026-03-02T09:14:05.123456789Z stdout F 10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "PUT /a/1 HTTP/1.1" 409 87 "-" "curl/8"
//! Mar  2 09:14:05 web1 nginx: 10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "PUT /a/1 HTTP/1.1" 409 87 "-" "curl/8"
//! caddy  | {"level":"info","ts":1772442845.1,"logger":"http.log.access","msg":"handled request",...}
//! ```
//!
//! Quirks handled:
//! - Docker `json-file` (`log`, or `message` as Filebeat/Kubernetes exports write it)
//!   escapes the inner line (`\"`), so unwrapping allocates and the request is made owned;
//!   a line without escapes stays borrowed; the trailing `\n` is dropped;
//! - CRI (`kubectl logs` of containerd/CRI-O nodes): `<RFC3339Nano> <stream> <P|F> <line>`,
//!   borrowed; partial (`P`) lines are parsed as they are;
//! - syslog: optional `<PRI>`, then `Mmm dd HH:MM:SS` (no year, no zone) or RFC 3339, host,
//!   and `tag[pid]:`; the inner line's own timestamp is used;
//! - docker-compose: `service  | ` prefix;
//! - the wrapper's own timestamp is ignored: the inner format knows what its time means.

use super::json;
use super::{Format, LineContext};
use crate::record::{Request, Skip, Text};
use std::borrow::Cow;
#[cfg(target_arch = "x86_64")]
use std::ops::ControlFlow;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Docker,
    Cri,
    Syslog,
    Compose,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Docker, Kind::Cri, Kind::Syslog, Kind::Compose];

    /// Whether a reading through this wrapper wins a tie with a plain format in detection:
    /// no plain format knows a container runtime's prefix, though a lenient one may take it
    /// for fields (CLF read a CRI line's timestamp and tag as vhost and address list), while
    /// HAProxy reads syslog prefixes itself.
    pub fn wins_ties(self) -> bool {
        matches!(self, Kind::Docker | Kind::Cri)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Docker => "docker",
            Kind::Cri => "cri",
            Kind::Syslog => "syslog",
            Kind::Compose => "compose",
        }
    }
}

/// What docker-compose writes between a service's name and its line.
static COMPOSE_BAR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" | "));

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The end of the space-delimited token at `from` (the end of `b` when there is no other
/// space, or when `from` is past it: a line that stops after its timestamp).
fn token_end(b: &[u8], from: usize) -> usize {
    let Some(rest) = b.get(from..) else {
        return b.len();
    };
    memchr::memchr(b' ', rest).map_or(b.len(), |p| from + p)
}

/// The inner line, or `None` when `line` does not have this wrapper.
pub fn unwrap(kind: Kind, line: &[u8]) -> Option<Cow<'_, [u8]>> {
    match kind {
        Kind::Docker => {
            // Docker writes `log` first: its string is read in one look, as the walk below
            // would read it (the walk stops at the same quote when the string is not closed).
            let text = match line.strip_prefix(br#"{"log":""#) {
                Some(_) => json::unescape_string(line, 8)?.0,
                None => {
                    let obj = json::object(line)?;
                    let v = obj.get("log").or_else(|| obj.get("message"))?;
                    json::unescape(v.string_body()?)
                }
            };
            Some(match text {
                Cow::Borrowed(s) => Cow::Borrowed(docker_line(s.as_bytes(), false)),
                Cow::Owned(s) => {
                    let mut v = s.into_bytes();
                    v.truncate(docker_line(&v, true).len());
                    Cow::Owned(v)
                }
            })
        }
        Kind::Cri => {
            // A space-separated timestamp (35 bytes at most: `is_iso8601`), stream and tag.
            let e = memchr::memchr(b' ', &line[..line.len().min(36)])?;
            if !crate::timestamp::is_iso8601(&line[..e]) {
                return None;
            }
            let rest = &line[e + 1..];
            if !matches!(
                rest.get(..9)?,
                b"stdout F " | b"stdout P " | b"stderr F " | b"stderr P "
            ) {
                return None;
            }
            Some(Cow::Borrowed(&rest[9..]))
        }
        Kind::Syslog => {
            let mut i = 0;
            if line.first() == Some(&b'<') {
                i = memchr::memchr(b'>', &line[..line.len().min(6)])? + 1;
            }
            let b = &line[i..];
            if b.len() > 16
                && MONTHS.iter().any(|m| b.starts_with(&m[..]))
                && b[3] == b' '
                && b[9] == b':'
                && b[15] == b' '
            {
                i += 16;
            } else {
                let e = token_end(line, i);
                if !crate::timestamp::is_iso8601(&line[i..e]) {
                    return None;
                }
                i = e + 1;
            }
            let host_end = token_end(line, i);
            let tag_end = token_end(line, host_end + 1);
            let tag = line.get(host_end + 1..tag_end)?;
            if !tag.ends_with(b":") || tag.len() < 2 {
                return None;
            }
            Some(Cow::Borrowed(line.get(tag_end + 1..)?))
        }
        Kind::Compose => {
            let p = COMPOSE_BAR.find(&line[..line.len().min(80)])?;
            let name = &line[..p];
            let name = super::text::trim(name);
            if name.is_empty() || name.contains(&b' ') {
                return None;
            }
            Some(Cow::Borrowed(&line[p + 3..]))
        }
    }
}

/// A Docker `log` string without the line end the container wrote: one `\n` cut from the
/// string as logged, every trailing `\n` and `\r` from one that was unescaped or made
/// valid UTF-8 (`made`).
fn docker_line(text: &[u8], made: bool) -> &[u8] {
    if !made {
        return text.strip_suffix(b"\n").unwrap_or(text);
    }
    let mut text = text;
    while let [rest @ .., b'\n' | b'\r'] = text {
        text = rest;
    }
    text
}

thread_local! {
    /// Where a Docker line's `log` string is unescaped before it is copied into the chunk's
    /// arena: one buffer a thread rather than an allocation a line.
    static UNESCAPED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The inner line of a Docker line that writes `log` first, as `unwrap` gives it, kept in
/// `arena` where it had to be unescaped (or made valid UTF-8): what `unwrap` does, without
/// an allocation and a full UTF-8 check a line. `None` where `unwrap` takes another way or
/// finds no inner line.
fn docker_log_in<'a>(line: &'a [u8], arena: &'a bumpalo::Bump) -> Option<&'a [u8]> {
    if !line.starts_with(br#"{"log":""#) {
        return None;
    }
    UNESCAPED.with_borrow_mut(|v| {
        v.clear();
        let (escaped, end) = json::unescape_string_into(line, 8, v)?;
        let raw: &[u8] = if escaped { v } else { &line[8..end] };
        let valid = crate::bytes::is_ascii(raw) || std::str::from_utf8(raw).is_ok();
        if !escaped && valid {
            return Some(docker_line(&line[8..end], false));
        }
        let lossy;
        let text = if valid {
            raw
        } else {
            lossy = String::from_utf8_lossy(raw).into_owned();
            lossy.as_bytes()
        };
        Some(&*arena.alloc_slice_copy(docker_line(text, true)))
    })
}

/// A request with every field owned, for requests parsed from an unwrapped copy.
pub fn into_owned(r: Request<'_>) -> Request<'static> {
    fn o(t: Text<'_>) -> Text<'static> {
        Cow::Owned(t.into_owned())
    }
    Request {
        time: r.time,
        anchor: r.anchor,
        duration_us: r.duration_us,
        method: r.method,
        target: o(r.target),
        status: r.status,
        upstream_status: r.upstream_status,
        remote: o(r.remote),
        xff: r.xff.map(o),
        user: r.user.map(o),
        api_key: r.api_key.map(o),
        consumer: r.consumer.map(o),
        request_id: r.request_id.map(o),
        host: r.host.map(o),
        user_agent: r.user_agent.map(o),
        bytes_sent: r.bytes_sent,
        unread: &[],
    }
}

pub struct Wrapped {
    kind: Kind,
    inner: Box<dyn Format>,
    name: &'static str,
}

impl Wrapped {
    pub fn new(kind: Kind, inner: Box<dyn Format>, name: &'static str) -> Wrapped {
        Wrapped { kind, inner, name }
    }
}

/// Every wrapper × built-in format, built once (names are `wrapper+inner`), wrapper by
/// wrapper, each with every format of the registry in its order.
pub fn all() -> &'static [Box<dyn Format>] {
    static ALL: OnceLock<Vec<Box<dyn Format>>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<Box<dyn Format>> = Vec::new();
        for kind in Kind::ALL {
            for inner in super::registry() {
                let name: &'static str =
                    Box::leak(format!("{}+{}", kind.name(), inner.name()).into_boxed_str());
                v.push(Box::new(Wrapped { kind, inner, name }));
            }
        }
        v
    })
}

/// The formats of `all()` that `kind` wraps, each with its inner format.
pub fn of_kind(kind: Kind) -> impl Iterator<Item = (&'static dyn Format, &'static dyn Format)> {
    static INNERS: OnceLock<Vec<Box<dyn Format>>> = OnceLock::new();
    let inners = INNERS.get_or_init(super::registry);
    let at = Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0) * inners.len();
    (all()[at..at + inners.len()].iter())
        .zip(inners)
        .map(|(f, inner)| (f.as_ref(), inner.as_ref()))
}

/// The lines of `lines` that `kind` unwraps, unwrapped, when at least `at_least` of them
/// are (fewer, and none of its formats can win a detection: the rest are left). Each line
/// is unwrapped once per wrapper and then asked of each inner format (`of_kind`), not once
/// per wrapper and inner format: a JSON envelope's unwrap walks the object, and per format,
/// detection of one JSON input took 14M instructions.
pub fn unwrap_lines<'l>(
    kind: Kind,
    lines: &[&'l [u8]],
    at_least: usize,
) -> Option<Vec<Cow<'l, [u8]>>> {
    let mut out = Vec::with_capacity(lines.len());
    for (k, l) in lines.iter().enumerate() {
        if out.len() + (lines.len() - k) < at_least {
            return None;
        }
        out.extend(unwrap(kind, l));
    }
    (out.len() >= at_least).then_some(out)
}

/// Whether `f`, one of `all()`, wins a detection tie with a plain format (`Kind::wins_ties`).
#[cfg(test)]
pub fn wins_ties(f: &dyn Format) -> bool {
    Kind::ALL.into_iter().any(|k| {
        k.wins_ties()
            && f.name()
                .strip_prefix(k.name())
                .is_some_and(|inner| inner.starts_with('+'))
    })
}

/// A wrapped format by its `wrapper+inner` name.
pub fn by_name(name: &str) -> Option<Box<dyn Format>> {
    let (k, inner) = name.split_once('+')?;
    let kind = Kind::ALL.into_iter().find(|x| x.name() == k)?;
    let inner = super::by_name(inner)?;
    let full = all()
        .iter()
        .find(|f| f.name() == format!("{}+{}", kind.name(), inner.name()))?
        .name();
    Some(Box::new(Wrapped {
        kind,
        inner,
        name: full,
    }))
}

/// Most bytes of unwrapped lines a chunk's arena takes (`LineContext::arena`): a chunk
/// of the default 4 MiB stays well under it; past it (a `--chunk-size` of gigabytes),
/// requests are made owned instead.
const ARENA_MAX: usize = 16 << 20;

/// The arena of `cx`, while what it holds stays under `ARENA_MAX`. (What it holds, not
/// what it reserved: an arena emptied for the next chunk keeps its largest block.)
fn arena_with_room<'a>(cx: &LineContext<'a>) -> Option<&'a bumpalo::Bump> {
    cx.arena
        .filter(|a| a.allocated_bytes().saturating_sub(a.chunk_capacity()) < ARENA_MAX)
}

/// Whether `text` holds a JSON escape that `json::unescape` turns into a digit: `\u0030`
/// to `\u0039`, or an unknown escape's character (`\4`). A backslash that is itself
/// escaped (`\\4`) counts too: the answer may only err on the side of parsing. Sixteen
/// backslashes at a time: one is looked at only when a digit or a `u` follows it (a Docker
/// log nesting a JSON line has a `\"` every few bytes).
fn has_digit_escape(text: &[u8]) -> bool {
    use crate::bytes::{classes, mask};
    let escapes_digit = |p: usize| match text.get(p + 1) {
        Some(c) if c.is_ascii_digit() => true,
        Some(b'u') => text.get(p + 2..p + 5) == Some(&b"003"[..]),
        _ => false,
    };
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is there, as just asked.
        match unsafe { digit_escape_avx2(text, escapes_digit) } {
            ControlFlow::Break(()) => return true,
            ControlFlow::Continue(looked) => i = looked,
        }
    }
    while i + 17 <= text.len() {
        let slashes = mask(text, i, b'\\', b'\\');
        if slashes != 0 {
            let mut hits = slashes & (classes(text, i + 1).digit | mask(text, i + 1, b'u', b'u'));
            while hits != 0 {
                if escapes_digit(i + hits.trailing_zeros() as usize) {
                    return true;
                }
                hits &= hits - 1;
            }
        }
        i += 16;
    }
    (i..text.len()).any(|p| text[p] == b'\\' && escapes_digit(p))
}

/// `has_digit_escape`'s look 32 bytes a step: `Break` when `escapes_digit` says yes of a
/// backslash, else `Continue` with how far it looked (the rest is left to the 16-byte steps).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn digit_escape_avx2(
    text: &[u8],
    escapes_digit: impl Fn(usize) -> bool,
) -> ControlFlow<(), usize> {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
    };
    let slash = _mm256_set1_epi8(b'\\' as i8);
    let (below_0, above_9) = (
        _mm256_set1_epi8(b'0' as i8 - 1),
        _mm256_set1_epi8(b'9' as i8 + 1),
    );
    let u = _mm256_set1_epi8(b'u' as i8);
    let mut i = 0;
    while i + 33 <= text.len() {
        // SAFETY: `i + 33 <= text.len()` bounds both loads (at `i` and at `i + 1`), and an
        // unaligned load has no alignment requirement.
        let (w, next) = unsafe {
            (
                _mm256_loadu_si256(text.as_ptr().add(i).cast::<__m256i>()),
                _mm256_loadu_si256(text.as_ptr().add(i + 1).cast::<__m256i>()),
            )
        };
        let slashes = _mm256_movemask_epi8(_mm256_cmpeq_epi8(w, slash)) as u32;
        if slashes != 0 {
            // Signed compares: bytes from 0x80 are negative, so never digits.
            let digit = _mm256_and_si256(
                _mm256_cmpgt_epi8(next, below_0),
                _mm256_cmpgt_epi8(above_9, next),
            );
            let wanted = _mm256_or_si256(digit, _mm256_cmpeq_epi8(next, u));
            let mut hits = slashes & _mm256_movemask_epi8(wanted) as u32;
            while hits != 0 {
                if escapes_digit(i + hits.trailing_zeros() as usize) {
                    return ControlFlow::Break(());
                }
                hits &= hits - 1;
            }
        }
        i += 32;
    }
    ControlFlow::Continue(i)
}

impl Format for Wrapped {
    fn reads_lite(&self) -> bool {
        self.inner.reads_lite()
    }

    fn lite_reads_user(&self) -> bool {
        self.inner.lite_reads_user()
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        "a wrapped line (docker/cri/syslog/compose) holding another format"
    }

    fn sample(&self) -> &'static str {
        self.inner.sample()
    }

    fn detect(&self, line: &[u8]) -> bool {
        unwrap(self.kind, line).is_some_and(|b| self.inner.detect(&b))
    }

    /// Docker's envelope is unescaped: `\u0034` (and, read leniently, `\4`) is a `4`. Its
    /// encoder writes digits as they are, so a chunk without such an escape has its
    /// statuses in its raw bytes; the other wrappers only cut a prefix.
    fn status_in_raw_line(&self, text: &[u8]) -> bool {
        (self.kind != Kind::Docker || !has_digit_escape(text))
            && self.inner.status_in_raw_line(text)
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        if self.kind == Kind::Docker
            && let Some(arena) = arena_with_room(cx)
            && let Some(inner) = docker_log_in(line, arena)
        {
            return self.inner.parse(inner, cx, out);
        }
        match unwrap(self.kind, line).ok_or(Skip("not_wrapped"))? {
            Cow::Borrowed(b) => self.inner.parse(b, cx, out),
            // Kept in the chunk's arena, the unwrapped line is read as a borrowed one is.
            Cow::Owned(v) if let Some(arena) = arena_with_room(cx) => {
                let kept: &'a [u8] = arena.alloc_slice_copy(&v);
                self.inner.parse(kept, cx, out)
            }
            Cow::Owned(v) => {
                let mut cx2 = LineContext {
                    directive: cx.directive,
                    time_cache: cx.time_cache.clone(),
                    local_offset_secs: cx.local_offset_secs,
                    lite: cx.lite,
                    w3c: std::mem::take(&mut cx.w3c),
                    json_shape: std::mem::take(&mut cx.json_shape),
                    arena: None,
                };
                let mut r = Request::default();
                let res = self.inner.parse(&v, &mut cx2, &mut r);
                cx.time_cache = cx2.time_cache;
                cx.w3c = cx2.w3c;
                cx.json_shape = cx2.json_shape;
                res?;
                *out = into_owned(r);
                Ok(())
            }
        }
    }

    fn field<'a>(&self, line: &'a [u8], name: &str) -> Option<Text<'a>> {
        match unwrap(self.kind, line)? {
            Cow::Borrowed(b) => self.inner.field(b, name),
            Cow::Owned(v) => self
                .inner
                .field(&v, name)
                .map(|t| Cow::Owned(t.into_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Method;

    fn parse<'a>(name: &str, line: &'a str) -> Result<Request<'a>, Skip> {
        let f = by_name(name).unwrap();
        let mut cx = LineContext::default();
        let mut r = Request::default();
        f.parse(line.as_bytes(), &mut cx, &mut r)?;
        Ok(r)
    }

    #[test]
    fn an_emptied_arena_has_room_again() {
        // The pass empties a worker's arena for each chunk, which keeps its largest block:
        // room is what the arena holds, not what it reserved.
        let mut arena = bumpalo::Bump::with_capacity(2 * ARENA_MAX);
        let room = |a: &bumpalo::Bump| {
            let cx = LineContext {
                arena: Some(a),
                ..Default::default()
            };
            arena_with_room(&cx).is_some()
        };
        assert!(room(&arena));
        for _ in 0..ARENA_MAX / 4096 {
            arena.alloc_slice_fill_copy(4096, 0u8);
        }
        assert!(!room(&arena));
        arena.reset();
        assert!(arena.allocated_bytes() >= 2 * ARENA_MAX);
        assert!(room(&arena));
        // And a Docker line is read through it again.
        let line = br#"{"log":"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] \"PUT /a/1 HTTP/1.1\" 409 5 \"-\" \"-\"\n","stream":"stdout"}"#;
        let cx = LineContext {
            arena: Some(&arena),
            ..Default::default()
        };
        let kept = docker_log_in(line, arena_with_room(&cx).unwrap()).unwrap();
        assert!(kept.starts_with(b"1.2.3.4 - - ["));
    }

    proptest::proptest! {
        /// A Docker line's inner line unescaped into the arena is `unwrap`'s, byte for byte:
        /// plain and escaped strings, `\n`/`\r` escapes at the end, `\u` escapes and
        /// surrogates, invalid UTF-8, strings left open.
        #[test]
        fn docker_log_in_the_arena_is_unwraps(
            parts in proptest::collection::vec(
                proptest::sample::select(&[
                    "a", "GET /a/1", " ", r#"\""#, r"\\", r"\n", r"\r", r"\t", r"\u00e9",
                    r"\ud83d\ude00", r"\ud83d", r"\u12", "\u{e9}", "\u{fffd}", r"\4", "\"",
                ][..]),
                0..24,
            ),
            junk in proptest::option::of(proptest::num::u8::ANY),
            at in 0usize..64,
            close in proptest::bool::ANY,
        ) {
            let mut line = br#"{"log":""#.to_vec();
            let mut body = parts.concat().into_bytes();
            if let Some(j) = junk {
                let at = at.min(body.len());
                body.insert(at, j);
            }
            line.extend_from_slice(&body);
            if close {
                line.extend_from_slice(br#"\n","stream":"stdout"}"#);
            }
            let arena = bumpalo::Bump::new();
            let fast = docker_log_in(&line, &arena);
            let slow = unwrap(Kind::Docker, &line);
            proptest::prop_assert_eq!(fast, slow.as_deref());
        }
    }

    /// CRI's unwrap as it was written first, token by token: the reference for the one that
    /// compares fixed places.
    fn cri_by_tokens(line: &[u8]) -> Option<&[u8]> {
        let e1 = token_end(line, 0);
        crate::timestamp::parse_iso8601(&line[..e1])?;
        let e2 = token_end(line, e1 + 1);
        let stream = line.get(e1 + 1..e2)?;
        if stream != b"stdout" && stream != b"stderr" {
            return None;
        }
        let e3 = token_end(line, e2 + 1);
        let tag = line.get(e2 + 1..e3)?;
        if tag != b"F" && tag != b"P" {
            return None;
        }
        line.get(e3 + 1..)
    }

    proptest::proptest! {
        /// A CRI line is unwrapped where the token-by-token reading unwraps it, to the same
        /// inner line: timestamps of every length and zone, both streams and tags, cut
        /// short anywhere, with any byte changed.
        #[test]
        fn cri_unwraps_as_token_by_token(
            ts in "2026-03-02T09:14:05(\\.[0-9]{1,10})?(Z|[+-]05:30|)",
            stream in "std(out|err|in)",
            tag in "[FPX]{1,2}",
            inner in "[ a-z\"]{0,12}",
            sep in "[ ]{1,2}",
            cut in 0usize..80,
            at in 0usize..80,
            byte in proptest::num::u8::ANY,
        ) {
            let mut b = format!("{ts}{sep}{stream} {tag} {inner}").into_bytes();
            if at < b.len() {
                b[at] = byte;
            }
            b.truncate(cut.max(20));
            let got = match unwrap(Kind::Cri, &b) {
                Some(Cow::Borrowed(v)) => Some(v),
                Some(Cow::Owned(_)) => panic!("CRI lines are borrowed"),
                None => None,
            };
            proptest::prop_assert_eq!(got, cri_by_tokens(&b));
        }
    }

    proptest::proptest! {
        /// The sixteen-at-a-time look finds a digit escape exactly where a look at every
        /// backslash does.
        #[test]
        fn digit_escapes_are_found_wherever_they_stand(
            parts in proptest::collection::vec(
                proptest::sample::select(&[r"\", "u", "0", "3", "a", "\"", "9", r"\u003", r"\u00"][..]),
                0..40,
            )
        ) {
            let b = parts.concat().into_bytes();
            let every = (0..b.len()).any(|p| {
                b[p] == b'\\'
                    && match b.get(p + 1) {
                        Some(c) if c.is_ascii_digit() => true,
                        Some(b'u') => b.get(p + 2..p + 5) == Some(&b"003"[..]),
                        _ => false,
                    }
            });
            proptest::prop_assert_eq!(has_digit_escape(&b), every);
        }
    }

    /// The lines unwrapped once per wrapper, asked of each inner format, give each wrapped
    /// format's own `detect` count, for lines of every wrapper around several formats and
    /// plain lines.
    #[test]
    fn unwrapped_lines_give_each_formats_detect_count() {
        let mut lines: Vec<String> = vec![
            r#"{"log":"10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] \"PUT /a/1 HTTP/1.1\" 409 87 \"-\" \"curl/8\"\n","stream":"stdout"}"#.into(),
            "10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] \"PUT /a/1 HTTP/1.1\" 409 87 \"-\" \"curl/8\"".into(),
            "not a log line".into(),
            String::new(),
        ];
        for f in super::super::registry() {
            let sample = f.sample();
            lines.push(format!("2026-03-02T09:14:05.123456789Z stdout F {sample}"));
            lines.push(format!("Mar  2 09:14:05 web1 proxy[12]: {sample}"));
            lines.push(format!("gateway  | {sample}"));
            let escaped = sample.replace('\\', "\\\\").replace('"', "\\\"");
            lines.push(format!(r#"{{"log":"{escaped}\n","stream":"stdout"}}"#));
        }
        let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        let want: Vec<usize> = (all().iter())
            .map(|f| lines.iter().filter(|l| f.detect(l)).count())
            .collect();
        let mut got = Vec::new();
        for kind in Kind::ALL {
            let unwrapped = unwrap_lines(kind, &lines, 0).unwrap();
            for (f, inner) in of_kind(kind) {
                assert!(f.name().starts_with(kind.name()));
                assert!(f.name().ends_with(&format!("+{}", inner.name())));
                got.push(unwrapped.iter().filter(|b| inner.detect(b)).count());
            }
        }
        assert_eq!(got, want);
        assert!(want.iter().filter(|&&n| n > 0).count() > all().len() / 4);
        // Asked for more than unwrap, no lines; for as many, all of them.
        for kind in Kind::ALL {
            let n = unwrap_lines(kind, &lines, 0).unwrap().len();
            assert!(unwrap_lines(kind, &lines, n + 1).is_none());
            assert_eq!(unwrap_lines(kind, &lines, n).map(|v| v.len()), Some(n));
        }
    }

    #[test]
    fn docker_json_unescapes() {
        let line = r#"{"log":"10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] \"PUT /a/1 HTTP/1.1\" 409 87 \"-\" \"curl/8\"\n","stream":"stdout","time":"2026-03-02T09:14:05.123456789Z"}"#;
        let r = parse("docker+combined", line).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Put, "/a/1", 409)
        );
        assert!(by_name("docker+combined").unwrap().detect(line.as_bytes()));
        // Filebeat's k8s export with `message` and Ambassador's ACCESS prefix (realdata/envoy).
        let line = r#"{"message":"ACCESS [2019-02-12T18:37:42.921Z] \"GET /httpbin/ip HTTP/1.1\" 200 - 0 43 217 216 \"172.17.0.5\" \"curl/7.59.0\" \"c62ec130-6dee-4f3b-a52b-4f0d1312d89d\" \"httpbin.org\" \"52.87.35.92:80\"\n","stream":"stdout","time":"2019-02-12T18:37:43.139620629Z"}"#;
        let r = parse("docker+envoy", line).unwrap();
        assert_eq!(
            (r.status, r.duration_us, r.remote.as_ref()),
            (200, Some(217_000), "172.17.0.5")
        );
    }

    #[test]
    fn cri_syslog_and_compose_borrow() {
        let r = parse("cri+combined", r#"2026-03-02T09:14:05.123456789Z stdout F 2001:db8::1 - - [02/Mar/2026:09:14:05 +0000] "DELETE /a/1 HTTP/1.1" 412 0 "-" "curl/8""#).unwrap();
        assert!(matches!(r.target, Cow::Borrowed("/a/1")));
        assert_eq!((r.status, r.remote.as_ref()), (412, "2001:db8::1"));
        let r = parse("syslog+combined", r#"<190>Mar  2 09:14:05 web1 nginx: 10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "PUT /a/1 HTTP/1.1" 409 87 "-" "curl/8""#).unwrap();
        assert_eq!((r.remote.as_ref(), r.status), ("10.0.0.1", 409));
        let r = parse("compose+caddy", r#"caddy  | {"level":"info","ts":1772442845.1,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.9","method":"PUT","uri":"/a/1","headers":{}},"duration":0.01,"status":409}"#).unwrap();
        assert_eq!((r.remote.as_ref(), r.status), ("10.0.0.9", 409));
        assert_eq!(
            parse("cri+combined", "not a cri line").unwrap_err(),
            Skip("not_wrapped")
        );
        assert!(unwrap(Kind::Syslog, b"2026-03-02 no").is_none());
    }
}
