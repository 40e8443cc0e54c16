//! nginx / Apache `combined` and `common` (CLF), with the fields sites append.
//!
//! ```text
//! 203.0.113.7 - alice [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 87 "-" "okhttp/4.9.3" 0.042 "5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7" "key_live_7Hq2"
//! ```
//!
//! Layout: `[vhost] remote ident user [time] "request" status bytes ["referer" "agent" extras...]`
//! (`common` stops after `bytes`).
//!
//! Quirks handled:
//! - the time is the CLF timestamp with any offset (`+0530`, `-0700`); nginx writes it at the
//!   end of the request, Apache (`%t`) at its start — both are taken as logged, and a logged
//!   duration turns it into an interval;
//! - nginx escapes `"`, `\`, control and non-ASCII bytes as `\xHH`; Apache escapes `"` as `\"`;
//! - the request line can be `"-"` (Apache 408), `""` (nginx 400) or junk (`"hello"`, TLS bytes
//!   `\x16\x03...`): the line is still a request, with method `OTHER` and an empty target;
//! - the address position can hold an IPv6 address, a hostname, `unix:`, a comma-separated
//!   X-Forwarded-For list (`10.0.0.2, 10.0.0.1 - - [...]`), or be preceded by a virtual host
//!   (`example.com:80 10.0.0.1 - - [...]`, Debian `vhost_combined`) or a quoted XFF list;
//! - ident and user may be missing altogether (`192.168.0.1 [...]`), `-`, or `""`;
//! - status may be `-` (Apache, nothing sent): counted as skipped `bad_status`;
//! - a line cut off inside the referer or user agent still counts: everything the analysis
//!   needs comes before them;
//! - appended fields after the user agent are recognised by shape: a bare decimal with a dot
//!   is `$request_time` (seconds), a lone bare integer is Apache `%D` (µs), a quoted address
//!   list is X-Forwarded-For, 32 hex digits or a UUID is a request id, another quoted token is
//!   an API key, and `key=value` pairs (`rt=0.015 rid=... key=...`) by their key.

use super::text::{
    self, looks_like_ip, optional, quoted, quoted_plain, skip_spaces, strip_port, token, unescape,
};
use super::{Format, LineContext};
use crate::bytes::find;
use crate::record::{Method, Request, Skip, Text, TimeAnchor};
use crate::timestamp::{CLF_SECONDS_AT, parse_clf};
use std::borrow::Cow;

/// Which CLF family member this instance detects as. Both parse the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Combined,
    Common,
}

pub struct Clf {
    variant: Variant,
}

impl Clf {
    pub fn combined() -> Clf {
        Clf {
            variant: Variant::Combined,
        }
    }
    pub fn common() -> Clf {
        Clf {
            variant: Variant::Common,
        }
    }
}

/// Finds the `[` that opens the timestamp: the first `[` followed by two digits and `/`.
fn time_open(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = find(&line[from..], b'[') {
        let p = from + p;
        let t = &line[p + 1..];
        if t.len() > 3 && t[0].is_ascii_digit() && t[1].is_ascii_digit() && t[2] == b'/' {
            return Some(p);
        }
        from = p + 1;
    }
    None
}

/// The timestamp: where its `[` is, its text, and what follows its `]`.
fn bracketed_time(line: &[u8]) -> Option<(usize, &[u8], &[u8])> {
    let lb = time_open(line)?;
    let after = &line[lb + 1..];
    // `dd/Mon/yyyy:HH:MM:SS +zzzz` is 26 bytes; look there before searching.
    let rb = if after.get(26) == Some(&b']') {
        26
    } else {
        find(after, b']')?
    };
    Some((lb, &after[..rb], &after[rb + 1..]))
}

/// The address part before the timestamp: `[vhost] [ "xff" ] remote [ident user]`.
struct Prefix<'a> {
    remote: &'a [u8],
    xff: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    user: Option<&'a [u8]>,
}

/// Splits the prefix into groups: a quoted string is one group, and tokens ending in `,`
/// are joined with the next token (an unquoted address list).
fn prefix_groups<'a>(mut b: &'a [u8], groups: &mut [&'a [u8]; 8]) -> usize {
    let mut n = 0;
    loop {
        b = skip_spaces(b);
        if b.is_empty() || n == groups.len() {
            return n;
        }
        if b[0] == b'"' {
            match quoted(b) {
                Some((inner, rest)) => {
                    groups[n] = inner;
                    n += 1;
                    b = rest;
                    continue;
                }
                None => {
                    groups[n] = b;
                    return n + 1;
                }
            }
        }
        let start = b;
        let mut len = 0;
        loop {
            let (tok, rest) = token(&start[len..]);
            let consumed = start.len() - rest.len();
            len = consumed;
            if !tok.ends_with(b",") || rest.is_empty() {
                break;
            }
        }
        groups[n] = text::trim(&start[..len]);
        n += 1;
        b = &start[len..];
    }
}

fn parse_prefix(b: &[u8]) -> Option<Prefix<'_>> {
    // Fast path for the usual `remote ident user ` (single spaces, no quotes, no lists).
    let mut sp = [0usize; 3];
    let mut n = 0;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b' ' => {
                if n == 3 {
                    n = 4;
                    break;
                }
                sp[n] = i;
                n += 1;
            }
            b'"' | b',' | b'\t' => {
                n = 4;
                break;
            }
            _ => {}
        }
    }
    if n == 3 && sp[2] == b.len() - 1 && sp[0] > 0 && sp[1] > sp[0] + 1 && sp[2] > sp[1] + 1 {
        let user = &b[sp[1] + 1..sp[2]];
        return Some(Prefix {
            remote: &b[..sp[0]],
            xff: None,
            host: None,
            user: (user != b"-").then_some(user),
        });
    }
    let mut g: [&[u8]; 8] = [&[]; 8];
    let n = prefix_groups(b, &mut g);
    if n == 0 {
        return None;
    }
    // ident and user are the last two groups when there are at least three.
    let (addrs, user) = if n >= 3 {
        (&g[..n - 2], Some(g[n - 1]))
    } else {
        (&g[..n], None)
    };
    let mut p = Prefix {
        remote: b"",
        xff: None,
        host: None,
        user: user.filter(|u| !u.is_empty() && *u != b"-"),
    };
    let is_list = |x: &[u8]| find(x, b',').is_some();
    match addrs.len() {
        1 => p.remote = addrs[0],
        2 if is_list(addrs[0]) => {
            p.xff = Some(addrs[0]);
            p.remote = addrs[1];
        }
        2 => {
            p.host = Some(addrs[0]);
            p.remote = addrs[1];
        }
        _ => {
            let k = addrs.len();
            p.host = Some(addrs[0]);
            p.xff = Some(addrs[k - 2]);
            p.remote = addrs[k - 1];
        }
    }
    // An address list in the remote position: the first entry is the original client.
    if is_list(p.remote) {
        if p.xff.is_none() {
            p.xff = Some(p.remote);
        }
        let first = &p.remote[..find(p.remote, b',').unwrap_or(p.remote.len())];
        p.remote = text::trim(first);
    }
    Some(p)
}

/// Reads the fields appended after the user agent.
fn parse_extras<'a>(mut b: &'a [u8], out: &mut Request<'a>) {
    let mut float_seen = false;
    let mut ints = 0;
    let mut lone_int: Option<u64> = None;
    loop {
        b = skip_spaces(b);
        if b.is_empty() {
            break;
        }
        if b[0] == b'"' {
            let Some((inner, plain, rest)) = quoted_plain(b) else {
                break;
            };
            b = rest;
            quoted_extra(inner, plain, out);
            continue;
        }
        let (tok, rest) = token(b);
        // Extras are short: plain loops beat memchr's setup (here and below).
        if let Some(eq) = tok.iter().position(|&c| c == b'=') {
            let key = &tok[..eq];
            // `tok` starts at b[0], so a quoted value may run past the token's space.
            let after_eq = &b[eq + 1..];
            if let Some((inner, r2)) = quoted(after_eq) {
                keyed_extra(key, inner, out);
                b = r2;
                continue;
            }
            keyed_extra(key, &tok[eq + 1..], out);
            b = rest;
            continue;
        }
        b = rest;
        if text::has_byte(tok, b'.') {
            // The first dotted value that is no address is the duration, if it is one. A
            // decimal has one dot and no colon, so it is never an address: asked first, the
            // usual `0.074` is read once, not walked for an address first.
            let seconds = text::seconds_to_micros(tok);
            if seconds.is_some() || !looks_like_ip(tok) {
                if !std::mem::replace(&mut float_seen, true) {
                    out.duration_us = seconds.or(out.duration_us);
                }
                continue;
            }
        }
        if let Some(v) = text::uint(tok) {
            ints += 1;
            lone_int = Some(v);
            continue;
        }
        if text::is_hex_of_len(tok, 32) && out.request_id.is_none() {
            out.request_id = Some(text::text(tok));
        }
    }
    // Apache `%D`: one bare integer, microseconds, when no seconds value was logged.
    if !float_seen && ints == 1 {
        out.duration_us = lone_int;
    }
}

/// A quoted appended field by what it looks like; `plain` is its text when the scan found
/// it plain.
fn quoted_extra<'a>(inner: &'a [u8], plain: Option<&'a str>, out: &mut Request<'a>) {
    let v = text::trim(inner);
    if v.is_empty() || v == b"-" {
        return;
    }
    let text_of = |v: &'a [u8]| match plain {
        // All ASCII, so any byte offset is a character boundary.
        Some(s) => {
            let at = v.as_ptr() as usize - inner.as_ptr() as usize;
            Text::Borrowed(&s[at..at + v.len()])
        }
        None => text::text(v),
    };
    // A request id has no dot or colon, so it never looks like an address: asking first
    // what most quoted extras are changes nothing.
    if is_request_id(v) {
        if out.request_id.is_none() {
            out.request_id = Some(text_of(v));
        }
        return;
    }
    let token_like = (4..=128).contains(&v.len()) && crate::bytes::all_within_any(v, KEY_BYTES);
    // A token holds no comma or space, so it is its own first entry: only other values
    // need the list cut (a key's first byte ends the address look).
    let address = if token_like {
        looks_like_ip(v)
    } else {
        looks_like_ip(first_of_list(v))
    };
    if address {
        if out.xff.is_none() {
            out.xff = Some(text_of(v));
        }
        return;
    }
    if token_like && out.api_key.is_none() {
        out.api_key = Some(text_of(v));
    }
}

/// The bytes of an API key or similar token: letters, digits and `_-.:@`, as ranges for
/// `bytes::all_within_any` (`-.`, `0-9:`, `@A-Z`, `_`, `a-z`).
const KEY_BYTES: [(u8, u8); 5] = [
    (b'-', b'.'),
    (b'0', b':'),
    (b'@', b'Z'),
    (b'_', b'_'),
    (b'a', b'z'),
];

fn first_of_list(v: &[u8]) -> &[u8] {
    text::trim(&v[..v.iter().position(|&c| c == b',').unwrap_or(v.len())])
}

fn is_request_id(v: &[u8]) -> bool {
    text::is_hex_of_len(v, 32) || crate::bytes::is_uuid(v)
}

fn keyed_extra<'a>(key: &[u8], val: &'a [u8], out: &mut Request<'a>) {
    match key {
        b"rt" | b"request_time" | b"rtime" => {
            if let Some(us) = text::seconds_to_micros(val) {
                out.duration_us = Some(us);
            }
        }
        b"D" | b"us" | b"duration_us" => {
            if let Some(us) = text::uint(val) {
                out.duration_us = Some(us);
            }
        }
        b"ms" | b"duration_ms" => {
            if let Some(us) = text::millis_to_micros(val) {
                out.duration_us = Some(us);
            }
        }
        b"rid" | b"request_id" | b"req_id" | b"reqid" => out.request_id = optional(val),
        b"key" | b"api_key" | b"apikey" | b"api-key" => out.api_key = optional(val),
        b"consumer" => out.consumer = optional(val),
        b"host" | b"vhost" => out.host = optional(val),
        b"xff" | b"forwarded_for" => out.xff = optional(val),
        b"ust" | b"upstream_status" => {
            let last = val
                .rsplit(|&c| c == b' ' || c == b',')
                .find(|s| !s.is_empty())
                .unwrap_or(b"");
            out.upstream_status = text::status(last);
        }
        _ => {}
    }
}

impl Format for Clf {
    fn reads_lite(&self) -> bool {
        true
    }

    /// The user stands in the prefix, before the timestamp: both reads take it.
    fn lite_reads_user(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        match self.variant {
            Variant::Combined => "combined",
            Variant::Common => "common",
        }
    }

    fn about(&self) -> &'static str {
        match self.variant {
            Variant::Combined => {
                "nginx/Apache combined, with appended fields ($request_time, %D, request id, API key, X-Forwarded-For, key=value)"
            }
            Variant::Common => "nginx/Apache common log format (CLF), no referer or user agent",
        }
    }

    fn sample(&self) -> &'static str {
        match self.variant {
            Variant::Combined => {
                r#"203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] "PUT /api/v1/orders/1042 HTTP/1.1" 409 87 "-" "okhttp/4.9.3" 0.042 "5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7" "key_live_7Hq2""#
            }
            Variant::Common => {
                r#"::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#
            }
        }
    }

    fn detect(&self, line: &[u8]) -> bool {
        let Some(lb) = time_open(line) else {
            return false;
        };
        let after = &line[lb..];
        let Some(rb) = memchr::memchr(b']', after) else {
            return false;
        };
        if parse_clf(&after[1..rb]).is_none() {
            return false;
        }
        let rest = skip_spaces(&after[rb + 1..]);
        let rest = match quoted(rest) {
            Some((_, r)) => r,
            None => return false,
        };
        let (st, rest) = token(rest);
        if text::status(st).is_none() && st != b"-" {
            return false;
        }
        let (_bytes, rest) = token(rest);
        let rest = skip_spaces(rest);
        match self.variant {
            Variant::Combined => rest.first() == Some(&b'"'),
            Variant::Common => text::trim(rest).is_empty(),
        }
    }

    fn parse<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        if let Some(h) = usual(line)
            && let Some(time) = cx
                .time_cache
                .get_or_seconds(h.time, CLF_SECONDS_AT, parse_clf)
        {
            out.time = time;
            out.anchor = TimeAnchor::End;
            out.method = h.method;
            out.target = h.target;
            out.status = h.status;
            out.remote = Cow::Borrowed(h.remote);
            out.user = h.user.map(text::text);
            // Nothing a lite parse serves reads the bytes sent.
            if cx.lite {
                out.unread = h.sent;
            } else {
                from_bytes(h.sent, out);
            }
            return Ok(());
        }
        general(line, cx, out)
    }

    fn complete<'a>(
        &self,
        _line: &'a [u8],
        _cx: &mut LineContext<'a>,
        out: &mut Request<'a>,
    ) -> Result<(), Skip> {
        // Both reads stop just before the bytes sent, and nothing after them can make a
        // line a skip: what is left is read as a full read reads it.
        from_bytes(std::mem::take(&mut out.unread), out);
        Ok(())
    }
}

/// The bytes sent and everything after them (a full read's last step).
fn from_bytes<'a>(rest: &'a [u8], out: &mut Request<'a>) {
    let (bytes, rest) = token(rest);
    out.bytes_sent = text::uint(bytes);
    after_bytes(rest, out);
}

/// Any line of the family: vhosts, address lists, ports, escapes, junk request lines.
fn general<'a>(
    line: &'a [u8],
    cx: &mut LineContext<'a>,
    out: &mut Request<'a>,
) -> Result<(), Skip> {
    let (lb, time, after) = bracketed_time(line).ok_or(Skip::MALFORMED)?;
    let prefix = parse_prefix(&line[..lb]).ok_or(Skip::MALFORMED)?;
    out.time = cx
        .time_cache
        .get_or_seconds(time, CLF_SECONDS_AT, parse_clf)
        .ok_or(Skip::BAD_TIME)?;
    out.anchor = TimeAnchor::End;

    let rest = skip_spaces(after);
    let (req, rest) = quoted(rest).ok_or(Skip::MALFORMED)?;
    let (method, target) = text::request_line(req);
    out.method = method;
    out.target = unescape(target);

    let (st, rest) = token(rest);
    out.status = text::status(st).ok_or(Skip::BAD_STATUS)?;

    out.remote = host_text(strip_port_if_ip(prefix.remote));
    out.xff = prefix.xff.map(text::text);
    out.host = prefix.host.map(|h| text::text(strip_port(h)));
    out.user = prefix.user.map(unescape);
    if cx.lite {
        // From the bytes sent, as the usual shape's read notes it.
        out.unread = skip_spaces(rest);
    } else {
        from_bytes(rest, out);
    }
    Ok(())
}

/// Referer, user agent and appended fields: everything after the bytes sent.
fn after_bytes<'a>(rest: &'a [u8], out: &mut Request<'a>) {
    let rest = skip_spaces(rest);
    if rest.first() == Some(&b'"') {
        // Referer and agent come after everything a lite parse needs; a line cut off inside
        // them (a truncated last line, a write torn by rotation) still counts as the
        // request it logged, the same in full and lite parsing.
        let Some((_referer, rest)) = quoted(rest) else {
            return;
        };
        let rest = skip_spaces(rest);
        if rest.first() == Some(&b'"') {
            let Some((ua, plain, rest)) = quoted_plain(rest) else {
                out.user_agent = text::logged(&rest[1..]).map(unescape);
                return;
            };
            out.user_agent = text::logged(ua).map(|ua| match plain {
                Some(s) => Text::Borrowed(s),
                None => unescape(ua),
            });
            parse_extras(rest, out);
        } else {
            parse_extras(rest, out);
        }
    } else if !rest.is_empty() {
        parse_extras(rest, out);
    }
}

/// The start of a line in its usual shape, up to the bytes sent.
pub(super) struct Head<'a> {
    pub remote: &'a str,
    pub user: Option<&'a [u8]>,
    pub time: &'a [u8],
    pub method: Method,
    pub target: Text<'a>,
    pub status: u16,
    /// From the bytes sent (not empty) to the end of the line.
    pub sent: &'a [u8],
}

/// Bytes that may appear in a logged IPv4 or IPv6 address: 1 for hex digits and `.`,
/// 2 for `:`.
static ADDRESS_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_hexdigit() || b == b'.' {
            t[c] = 1;
        } else if b == b':' {
            t[c] = 2;
        }
        c += 1;
    }
    t
};

/// The length of the address bytes (`ADDRESS_BYTE`) that `head` starts with, and whether
/// exactly one of them is a colon (`ip:port`, not an address).
#[inline(always)]
fn address(head: &[u8]) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if head.len() >= 16 {
        // Sixteen bytes classified at once: nearly every address ends within them.
        let (is_address, is_colon) = address_bytes16(head);
        let n = (!is_address).trailing_zeros();
        if n < 16 {
            // One colon is one bit set: cleared by clearing its lowest. Not
            // `is_power_of_two`, a bit count, which x86-64 lacks as one step: compiled as
            // the count, shared with the count below, it took 14 instructions a line.
            let colons = is_colon & ((1 << n) - 1);
            return (n as usize, colons != 0 && colons & (colons - 1) == 0);
        }
        let (more, colons) = address_scalar(&head[16..]);
        return (16 + more, is_colon.count_ones() + colons == 1);
    }
    let (n, colons) = address_scalar(head);
    (n, colons == 1)
}

/// `address` a byte at a time.
#[inline(always)]
fn address_scalar(head: &[u8]) -> (usize, u32) {
    let mut colons = 0;
    let mut i = 0;
    while i < head.len() {
        let class = ADDRESS_BYTE[head[i] as usize];
        if class == 0 {
            break;
        }
        colons += (class >> 1) as u32;
        i += 1;
    }
    (i, colons)
}

/// Bit masks over `head[..16]`: address bytes (hex digits, `.`, `:`) and colons. The upper
/// sixteen bits of the first are set, so that `!mask` always has a bit below 32.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn address_bytes16(head: &[u8]) -> (u32, u32) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    assert!(head.len() >= 16);
    // SAFETY: SSE2 is part of x86-64, the assertion bounds the load, and an unaligned load
    // has no alignment requirement.
    unsafe {
        let w = _mm_loadu_si128(head.as_ptr().cast::<__m128i>());
        let (digit, hex) = crate::bytes::digits_and_hex_letters(w);
        let dot = _mm_cmpeq_epi8(w, _mm_set1_epi8(b'.' as i8));
        let colon = _mm_cmpeq_epi8(w, _mm_set1_epi8(b':' as i8));
        let any = _mm_or_si128(_mm_or_si128(digit, hex), _mm_or_si128(dot, colon));
        (
            _mm_movemask_epi8(any) as u32 | 0xFFFF_0000,
            _mm_movemask_epi8(colon) as u32,
        )
    }
}

/// Eight bytes as one word, so that comparing them with an eight-byte text is one step.
#[inline(always)]
fn word(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("eight bytes"))
}

/// Four bytes as one word (`word` for a method's start).
#[inline(always)]
fn quad(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().expect("four bytes"))
}

/// The methods `usual` takes, by their first four bytes as `quad`s.
const GET_: u32 = u32::from_le_bytes(*b"GET ");
const PUT_: u32 = u32::from_le_bytes(*b"PUT ");
const POST: u32 = u32::from_le_bytes(*b"POST");
const PATC: u32 = u32::from_le_bytes(*b"PATC");
const DELE: u32 = u32::from_le_bytes(*b"DELE");
const HEAD: u32 = u32::from_le_bytes(*b"HEAD");

/// The versions `usual` takes, as `word`s: ` HTTP/1.` and so on; the `SHORT` ones are
/// ` HTTP/2"` and ` HTTP/3"`, quote included.
const HTTP_1: u64 = u64::from_le_bytes(*b" HTTP/1.");
const HTTP_2: u64 = u64::from_le_bytes(*b" HTTP/2.");
const HTTP_3: u64 = u64::from_le_bytes(*b" HTTP/3.");
const HTTP_2_SHORT: u64 = u64::from_le_bytes(*b" HTTP/2\"");
const HTTP_3_SHORT: u64 = u64::from_le_bytes(*b" HTTP/3\"");

/// Reads the shape nearly every line has, with one vector search for the target and plain
/// checks elsewhere:
/// `IP - USER [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD TARGET HTTP/x.y" STATUS BYTES`.
/// Anything else (host names, ports, address lists, escapes, junk request lines, a bad
/// status) gives `None` and the general parser takes the line, so both agree on every line
/// this one accepts (the tests compare them). A `--log-format` layout that starts the same
/// way reads its lines' start with it too (`layout.rs`).
// Always inlined: with two callers it was left out of line, and the combined reader's call
// and the `memcmp` calls it then made cost 5 % of the detected pass.
#[inline(always)]
pub(super) fn usual(line: &[u8]) -> Option<Head<'_>> {
    // An IPv4 or IPv6 address without a port (one colon would be `ip:port`).
    let (i, one_colon) = address(&line[..line.len().min(48)]);
    if i == 0 || one_colon {
        return None;
    }
    // SAFETY: every byte up to `i` is an address byte, all of which are ASCII.
    let remote = unsafe { std::str::from_utf8_unchecked(&line[..i]) };
    // ` - USER [`, nearly always ` - - [`.
    let (user, t) = if line.get(i..i + 6)? == b" - - [" {
        (None, i + 5)
    } else {
        if line.get(i..i + 3)? != b" - " {
            return None;
        }
        let user_at = i + 3;
        let len = line[user_at..]
            .iter()
            .take(256)
            .position(|&c| !c.is_ascii_graphic() || matches!(c, b'"' | b',' | b'\\' | b'['))?;
        if len == 0 || line[user_at + len] != b' ' {
            return None;
        }
        let user = &line[user_at..user_at + len];
        (Some(user).filter(|u| *u != b"-"), user_at + len + 1)
    };
    // `[` + 26 bytes of time + `] "`
    let tb = line.get(t..t + 30)?;
    if tb[0] != b'['
        || !tb[1].is_ascii_digit()
        || !tb[2].is_ascii_digit()
        || tb[3] != b'/'
        || &tb[27..30] != b"] \""
    {
        return None;
    }
    let time = &tb[1..27];
    // The method's first four bytes compared as one word, like the version below.
    let m = line.get(t + 30..t + 34)?;
    let after = |rest: &[u8]| line.get(t + 34..t + 34 + rest.len()) == Some(rest);
    let (method, target_at) = match quad(m) {
        GET_ => (Method::Get, t + 34),
        PUT_ => (Method::Put, t + 34),
        POST if after(b" ") => (Method::Post, t + 35),
        PATC if after(b"H ") => (Method::Patch, t + 36),
        DELE if after(b"TE ") => (Method::Delete, t + 37),
        HEAD if after(b" ") => (Method::Head, t + 35),
        _ => return None,
    };
    // TARGET up to a space; a quote or backslash first means the general parser's case.
    let stop = text::plain_end(line, target_at)?;
    let (e, target) = match line[stop] {
        // SAFETY: `plain_end` stops at the first byte that is not ASCII, so the target,
        // which ends before it, is ASCII.
        b' ' => (
            stop,
            Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(&line[target_at..stop]) }),
        ),
        0x80.. => {
            let e = stop + memchr::memchr3(b' ', b'"', b'\\', &line[stop..])?;
            if line[e] != b' ' {
                return None;
            }
            (e, text::text(&line[target_at..e]))
        }
        _ => return None,
    };
    // ` HTTP/x.y" STATUS BYTES`: the first eight bytes compared as one word (a match on the
    // bytes compiled to a compare per byte).
    let v = line.get(e..e + 10)?;
    let q = match (word(&v[..8]), &v[8..]) {
        (HTTP_1, b"1\"" | b"0\"") | (HTTP_2 | HTTP_3, b"0\"") => e + 10,
        (HTTP_2_SHORT | HTTP_3_SHORT, _) => e + 8,
        _ => return None,
    };
    let s = line.get(q..q + 5)?;
    if s[0] != b' ' || s[4] != b' ' {
        return None;
    }
    let status = text::status(&s[1..4])?;
    // The bytes sent must not be empty (two spaces are the general parser's); where they
    // end is looked for only by a full parse.
    let sent = &line[q + 5..];
    if sent.first().is_none_or(|&c| c == b' ') {
        return None;
    }
    Some(Head {
        remote,
        user,
        time,
        method,
        target,
        status,
        sent,
    })
}

fn strip_port_if_ip(b: &[u8]) -> &[u8] {
    if b.first() == Some(&b'[')
        || (looks_like_ip(b) && b.iter().filter(|&&c| c == b':').count() == 1)
    {
        strip_port(b)
    } else {
        b
    }
}

fn host_text(b: &[u8]) -> Text<'_> {
    text::text(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Method;

    fn parse(line: &str) -> Result<Request<'_>, Skip> {
        crate::format::testing::parse(&Clf::combined(), line)
    }

    /// `parse` (which takes the usual shape without searching) and the general parser
    /// give the same request and the same skip reason, in full and lite mode.
    fn assert_same_as_general(line: &[u8]) {
        for lite in [false, true] {
            let mut cx = LineContext {
                lite,
                ..Default::default()
            };
            let mut fast = Request::default();
            let a = Clf::combined().parse(line, &mut cx, &mut fast);
            let mut cx = LineContext {
                lite,
                ..Default::default()
            };
            let mut slow = Request::default();
            let b = general(line, &mut cx, &mut slow);
            assert_eq!(a, b, "{}", String::from_utf8_lossy(line));
            if a.is_ok() {
                assert_eq!(
                    format!("{fast:?}"),
                    format!("{slow:?}"),
                    "{}",
                    String::from_utf8_lossy(line)
                );
            }
        }
    }

    use crate::format::testing::COMBINED_SHAPES as SHAPES;

    /// A forward proxy's `CONNECT` names its target in authority form: that is its
    /// resource, not "(no request line)".
    #[test]
    fn connect_keeps_its_authority_target() {
        let r = parse(r#"10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "CONNECT example.com:443 HTTP/1.1" 409 0 "-" "curl/8""#).unwrap();
        assert_eq!(
            (r.method, r.target.as_ref(), r.status),
            (Method::Other, "example.com:443", 409)
        );
        let r = parse(r#"10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "\x16\x03\x01 x:1 HTTP/1.1" 400 0 "-" "-""#).unwrap();
        assert_eq!(r.target.as_ref(), "");
    }

    proptest::proptest! {
        /// The sixteen-byte address classification agrees with the byte loop.
        #[test]
        fn address_agrees_with_the_byte_loop(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::sample::select(b"0123456789abcdefABCDEF.:".to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                0..48,
            ),
        ) {
            let (n, colons) = address_scalar(&b);
            proptest::prop_assert_eq!(address(&b), (n, colons == 1));
        }
    }

    #[test]
    fn usual_shape_agrees_with_the_general_parser() {
        for line in SHAPES {
            assert_same_as_general(line.as_bytes());
        }
        // The usual path does take the usual line.
        assert!(usual(SHAPES[0].as_bytes()).is_some());
        assert!(usual(SHAPES[1].as_bytes()).is_some());
        assert!(usual(SHAPES[2].as_bytes()).is_none());
        // Text that is not ASCII stays on it.
        let h = usual(SHAPES[21].as_bytes()).unwrap();
        assert_eq!(h.target, "/caf\u{e9}/r\u{e9}sum\u{e9}s/a-longer-path");
        assert!(usual(SHAPES[22].as_bytes()).is_none());
        // Escapes leave the usual path and are decoded by the general one.
        assert!(usual(SHAPES[19].as_bytes()).is_none());
        let r = parse(SHAPES[19]).unwrap();
        assert_eq!(r.target, "/a\"b");
        assert_eq!(r.user_agent.as_deref(), Some("a \"q\" b"));
    }

    proptest::proptest! {
        /// Any byte changed, inserted or cut anywhere in real-shaped lines: both paths agree.
        #[test]
        fn usual_shape_agrees_on_mutations(
            k in 0usize..SHAPES.len(),
            at in 0usize..200,
            byte in crate::format::testing::mutation_byte(),
            op in 0u8..3,
        ) {
            let line = crate::format::testing::mutated(SHAPES[k], at, byte, op);
            assert_same_as_general(&line);
            // And a lite read completed is the full read.
            crate::format::testing::assert_lite_agrees(&Clf::combined(), &line);
        }
    }

    #[test]
    fn appended_fields_plain_or_not() {
        let r = parse("1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"Mozilla/5.0 (caf\u{e9})\" 0.042 \"5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7\" \"10.0.0.1, 10.0.0.2\" \"key_live_7Hq2\"").unwrap();
        assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0 (caf\u{e9})"));
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(
            r.request_id.as_deref(),
            Some("5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7")
        );
        assert_eq!(r.xff.as_deref(), Some("10.0.0.1, 10.0.0.2"));
        assert_eq!(r.api_key.as_deref(), Some("key_live_7Hq2"));
        // Escaped and non-ASCII extras: unescaped agent, no key from a non-token.
        let r = parse(r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 200 1 "-" "a \"q\" \x22b" " k\u{e9}y_live ""#).unwrap();
        assert_eq!(r.user_agent.as_deref(), Some("a \"q\" \"b"));
        assert_eq!(r.api_key, None);
        let r = parse("1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"-\" \"k\u{e9}y_live\"").unwrap();
        assert_eq!(r.api_key, None);
        let r = parse(r#"1.2.3.4 - - [02/Mar/2026:09:14:05 +0000] "GET /a HTTP/1.1" 200 1 "-" "-" " key_live_7Hq2 ""#).unwrap();
        assert_eq!(r.api_key.as_deref(), Some("key_live_7Hq2"));
    }

    /// `quoted_extra` as first written, a byte at a time: the reference for the word-wise
    /// checks and the reordered address look.
    fn quoted_extra_by_bytes(inner: &str) -> (Option<String>, Option<String>, Option<String>) {
        let v = text::trim(inner.as_bytes());
        let s = |v: &[u8]| Some(String::from_utf8_lossy(v).into_owned());
        if v.is_empty() || v == b"-" {
            return (None, None, None);
        }
        let hex = |v: &[u8]| v.iter().all(u8::is_ascii_hexdigit);
        if (v.len() == 32 && hex(v)) || crate::bytes::uuid_by_bytes(v) {
            return (s(v), None, None);
        }
        if looks_like_ip(first_of_list(v)) {
            return (None, s(v), None);
        }
        let key_byte = |c: &u8| c.is_ascii_alphanumeric() || b"_-.:@".contains(c);
        if v.len() >= 4 && v.len() <= 128 && v.iter().all(key_byte) {
            return (None, None, s(v));
        }
        (None, None, None)
    }

    proptest::proptest! {
        /// A quoted appended field is a request id, an address list, an API key or nothing,
        /// exactly as the byte-at-a-time rules say: values from bytes at every class's edge,
        /// of lengths around the id, UUID and key bounds.
        #[test]
        fn quoted_extras_as_by_bytes(
            v in proptest::collection::vec(
                proptest::sample::select(b"0aFg.:,_-@/ k[]".to_vec()),
                0..40,
            ),
            shape in 0..5u8,
        ) {
            let mut v = String::from_utf8(v).unwrap();
            match shape {
                // Hex of a request id's length, UUID-shaped, or too long for a key.
                1 => v = format!("{:0<32}", v.replace(|c: char| !c.is_ascii_hexdigit(), "")),
                2 => {
                    let h: String = format!("{v:0<32}").chars().map(|c| if c.is_ascii_hexdigit() { c } else { 'e' }).collect();
                    v = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
                }
                3 => v = v.repeat(5),
                4 => v.push('\u{e9}'),
                _ => {}
            }
            let mut out = Request::default();
            let plain = v.is_ascii().then_some(v.as_str());
            quoted_extra(v.as_bytes(), plain, &mut out);
            let got = (
                out.request_id.map(|t| t.into_owned()),
                out.xff.map(|t| t.into_owned()),
                out.api_key.map(|t| t.into_owned()),
            );
            proptest::prop_assert_eq!(got, quoted_extra_by_bytes(&v), "{:?}", v);
        }
    }

    #[test]
    fn quoted_extras_by_shape() {
        let of = |v: &str| {
            let mut out = Request::default();
            quoted_extra(v.as_bytes(), None, &mut out);
            let t = |x: Option<Text<'_>>| x.map(|t| t.into_owned());
            (t(out.request_id), t(out.xff), t(out.api_key))
        };
        let id = |v: &str| (Some(v.to_string()), None, None);
        let xff = |v: &str| (None, Some(v.to_string()), None);
        let key = |v: &str| (None, None, Some(v.to_string()));
        let none = (None, None, None);
        assert_eq!(
            of("5F2B8C0E9A1D4E7FB3C6A2D1E0F9B8A7"),
            id("5F2B8C0E9A1D4E7FB3C6A2D1E0F9B8A7")
        );
        assert_eq!(
            of("b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b"),
            id("b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b")
        );
        // 31 and 33 hex digits are no request id, but they are a token.
        assert_eq!(
            of("5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a"),
            key("5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a")
        );
        assert_eq!(
            of("5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a70"),
            key("5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a70")
        );
        assert_eq!(of("10.0.0.1"), xff("10.0.0.1"));
        assert_eq!(of("2001:db8::1"), xff("2001:db8::1"));
        assert_eq!(of("10.0.0.2, 10.0.0.1"), xff("10.0.0.2, 10.0.0.1"));
        assert_eq!(of("sk-live.a:b@c_D9"), key("sk-live.a:b@c_D9"));
        assert_eq!(of("abcd"), key("abcd"));
        assert_eq!(of("abc"), none);
        assert_eq!(of(&"k".repeat(128)), key(&"k".repeat(128)));
        assert_eq!(of(&"k".repeat(129)), none);
        for bad in [
            "key/live",
            "key live",
            "key+live",
            "key~1",
            "key[1]",
            "key\u{7f}",
        ] {
            assert_eq!(of(bad), none, "{bad}");
        }
    }

    #[test]
    fn combined_with_extensions() {
        let r = parse(Clf::combined().sample()).unwrap();
        assert_eq!(r.remote, "203.0.113.7");
        assert_eq!(r.method, Method::Put);
        assert_eq!(r.target, "/api/v1/orders/1042");
        assert_eq!(r.status, 409);
        assert_eq!(r.duration_us, Some(42_000));
        assert_eq!(
            r.request_id.as_deref(),
            Some("5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7")
        );
        assert_eq!(r.api_key.as_deref(), Some("key_live_7Hq2"));
        assert_eq!(crate::timestamp::rfc3339(r.time), "2026-03-02T09:14:05Z");
    }

    #[test]
    fn common_ipv6_and_offset() {
        let r = parse(Clf::common().sample()).unwrap();
        assert_eq!(r.remote, "::1");
        assert_eq!(r.user.as_deref(), Some("frank"));
        assert_eq!(crate::timestamp::rfc3339(r.time), "2000-10-10T20:55:36Z");
        assert!(Clf::common().detect(Clf::common().sample().as_bytes()));
        assert!(!Clf::combined().detect(Clf::common().sample().as_bytes()));
    }

    #[test]
    fn xff_list_and_vhost_prefixes() {
        // From elastic/beats nginx test logs (realdata/nginx).
        let r = parse(r#"10.0.0.2, 10.0.0.1, 127.0.0.1 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1" 200 571 "-" "Mozilla/5.0""#).unwrap();
        assert_eq!(r.remote, "10.0.0.2");
        assert_eq!(r.xff.as_deref(), Some("10.0.0.2, 10.0.0.1, 127.0.0.1"));
        let r = parse(r#"example.com:80 "10.5.102.222, 175.16.199.1, 204.246.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /assets/xxxx?q=100 HTTP/1.1" 200 25507 "-" "Amazon CloudFront""#).unwrap();
        assert_eq!(r.remote, "10.2.1.185");
        assert_eq!(r.host.as_deref(), Some("example.com"));
        assert_eq!(
            r.xff.as_deref(),
            Some("10.5.102.222, 175.16.199.1, 204.246.1.1")
        );
        let r = parse(
            r#"example.com:80 unix: - - [26/Feb/2019:15:39:42 +0100] "hello" 400 173 "-" "-""#,
        )
        .unwrap();
        assert_eq!(r.remote, "unix:");
        assert_eq!(r.method, Method::Other);
        assert_eq!(r.target, "");
    }

    #[test]
    fn malformed_request_lines_are_requests() {
        let r = parse(r#"127.0.0.1 - - [12/Apr/2018:09:48:40 +0200] "" 400 0 "-" "-""#).unwrap();
        assert_eq!((r.method, r.status), (Method::Other, 400));
        let r = parse(r#"::1 - - [26/Dec/2016:16:16:48 +0200] "-" 408 -"#).unwrap();
        assert_eq!(
            (r.method, r.status, r.bytes_sent),
            (Method::Other, 408, None)
        );
        let r = parse(r#"1.2.3.4 - - [12/Apr/2018:09:48:40 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-""#).unwrap();
        assert_eq!((r.method, r.target.as_ref()), (Method::Other, ""));
    }

    #[test]
    fn escapes_in_quoted_fields() {
        let r = parse(r#"1.2.3.4 - - [12/Apr/2018:09:48:40 +0000] "GET /a?q=\x22x\x22 HTTP/1.1" 200 1 "-" "Mozilla \"quoted\" agent""#).unwrap();
        assert_eq!(r.target, "/a?q=\"x\"");
        assert_eq!(r.user_agent.as_deref(), Some("Mozilla \"quoted\" agent"));
    }

    #[test]
    fn apache_percent_d_and_missing_ident() {
        let r = parse(r#"192.168.202.254 [20/Jul/2009:22:59:29 +0000] "DELETE /vmw/x HTTP/1.0" 204 0 "-" "gPXE/0.9.7" 1534"#).unwrap();
        assert_eq!(r.remote, "192.168.202.254");
        assert_eq!(r.duration_us, Some(1534));
        assert_eq!(r.method, Method::Delete);
    }

    proptest::proptest! {
        /// Bare appended values give the duration the address-first rule gives: the first
        /// dotted value that is no address counts (its seconds, if it is a decimal), a
        /// lone integer is microseconds, `rt=` before them is overridden only by a decimal.
        #[test]
        fn bare_extras_as_the_address_first_rule(
            tokens in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Strategy::prop_map(
                        proptest::sample::select(vec![
                            "0.074", "1.2.3.4", "10.0.0.1:80", "::1", "12", ".5", "5.", "1.5.",
                            "a.b", "0..1", "1.2", "rt=0.5", "-", "fe80::1.2",
                        ]),
                        |s: &str| s.to_string(),
                    ),
                    "[0-9.:a]{1,8}",
                ],
                0..5,
            ),
        ) {
            let line = tokens.join(" ");
            let mut got = Request::default();
            parse_extras(line.as_bytes(), &mut got);
            // The rule before the decimal was asked first.
            let mut want = Request::default();
            let (mut float_seen, mut ints, mut lone) = (false, 0, None);
            for tok in line.split(' ').filter(|t| !t.is_empty()).map(str::as_bytes) {
                if let Some(eq) = tok.iter().position(|&c| c == b'=') {
                    keyed_extra(&tok[..eq], &tok[eq + 1..], &mut want);
                    continue;
                }
                if text::has_byte(tok, b'.') && !looks_like_ip(tok) {
                    if !float_seen {
                        float_seen = true;
                        if let Some(us) = text::seconds_to_micros(tok) {
                            want.duration_us = Some(us);
                        }
                    }
                    continue;
                }
                if let Some(v) = text::uint(tok) {
                    ints += 1;
                    lone = Some(v);
                }
            }
            if !float_seen && ints == 1 {
                want.duration_us = lone;
            }
            proptest::prop_assert_eq!(got.duration_us, want.duration_us, "{}", line);
        }
    }

    #[test]
    fn key_value_extras() {
        let r = parse(r#"10.1.1.1 - - [02/Mar/2026:09:00:00 +0000] "PATCH /x/1 HTTP/1.1" 412 0 "-" "curl/8" rt=0.250 urt=0.248 rid=abc key="k 1" ust=200"#).unwrap();
        assert_eq!(r.duration_us, Some(250_000));
        assert_eq!(r.request_id.as_deref(), Some("abc"));
        assert_eq!(r.api_key.as_deref(), Some("k 1"));
        assert_eq!(r.upstream_status, Some(200));
    }

    #[test]
    fn lite_parse_skips_the_agent() {
        let mut cx = LineContext {
            lite: true,
            ..Default::default()
        };
        let mut r = Request::default();
        Clf::combined()
            .parse(Clf::combined().sample().as_bytes(), &mut cx, &mut r)
            .unwrap();
        assert_eq!((r.status, r.user_agent, r.duration_us), (409, None, None));
    }

    #[test]
    fn bad_lines_are_skips_not_panics() {
        assert_eq!(parse("").unwrap_err(), Skip::MALFORMED);
        assert_eq!(parse("garbage [ ]").unwrap_err(), Skip::MALFORMED);
        assert_eq!(
            parse(r#"1.2.3.4 - - [99/Foo/2018:09:48:40 +0000] "GET / HTTP/1.1" 200 1"#)
                .unwrap_err(),
            Skip::BAD_TIME
        );
        assert_eq!(
            parse(r#"1.2.3.4 - - [12/Apr/2018:09:48:40 +0000] "OPTIONS / HTTP/1.1" - 7908"#)
                .unwrap_err(),
            Skip::BAD_STATUS
        );
        assert_eq!(
            parse(r#"1.2.3.4 - - [12/Apr/2018:09:48:40 +0000] "GET / HTTP/1.1"#).unwrap_err(),
            Skip::MALFORMED
        );
        // Cut inside the user agent: still the request it logged.
        let r =
            parse(r#"1.2.3.4 - - [12/Apr/2018:09:48:40 +0000] "PUT /a/1 HTTP/1.1" 409 0 "-" "cut"#)
                .unwrap();
        assert_eq!((r.status, r.user_agent.as_deref()), (409, Some("cut")));
    }
}
