//! Byte-level helpers shared by the format parsers: quoted fields, escapes, numbers.
//!
//! Everything here works on `&[u8]` and borrows; only unescaping a field that really has
//! escapes allocates.

use crate::bytes::{find, rfind};
use crate::record::Text;
use std::borrow::Cow;

/// What `trim` takes off: ASCII spaces, tabs and `\r`.
#[inline]
fn is_space(c: &u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// Trims ASCII spaces, tabs and a trailing `\r`.
#[inline]
pub fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |p| p + 1);
    &b[start..end]
}

/// Whether `trim` leaves nothing of `b`: told from the front alone (a line's first byte
/// nearly always settles it, where a trim scans from both ends).
#[inline]
pub fn is_blank(b: &[u8]) -> bool {
    b.iter().all(is_space)
}

/// Splits a quoted field off the front of `b` (which must start with `"`), honouring
/// backslash escapes (Apache writes `\"` inside quoted fields). Returns the raw inside of the
/// quotes and the rest after the closing quote.
#[inline]
pub fn quoted(b: &[u8]) -> Option<(&[u8], &[u8])> {
    if b.first() != Some(&b'"') {
        return None;
    }
    let p = quote_end(b, 1)?;
    Some((&b[1..p], &b[p + 1..]))
}

/// `quoted`, with the inside also as text when it is plain (ASCII, no escape): the same
/// scan that finds the closing quote tells, so a plain field needs no second look.
#[inline]
pub fn quoted_plain(b: &[u8]) -> Option<(&[u8], Option<&str>, &[u8])> {
    if b.first() != Some(&b'"') {
        return None;
    }
    let (p, plain) = string_end(b, 1)?;
    let inner = &b[1..p];
    // SAFETY: `string_end` says plain only when every byte of the inside is ASCII.
    let text = plain.then(|| unsafe { std::str::from_utf8_unchecked(inner) });
    Some((inner, text, &b[p + 1..]))
}

/// Index of the closing quote of a quoted field (a JSON string, a CLF quoted field) whose
/// content starts at `i`, stepping over backslash escapes; `None` when it never closes.
///
/// Sixteen bytes at a time, inline: log strings are short (keys, addresses, paths), where a
/// library search costs more to call than it saves.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn quote_end(b: &[u8], mut i: usize) -> Option<usize> {
    while i + 16 <= b.len() {
        let m = crate::bytes::mask(b, i, b'"', b'\\');
        if m == 0 {
            i += 16;
            continue;
        }
        let p = i + m.trailing_zeros() as usize;
        if b[p] == b'"' {
            return Some(p);
        }
        i = p + 2;
    }
    quote_end_words(b, i)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn quote_end(b: &[u8], i: usize) -> Option<usize> {
    quote_end_words(b, i)
}

/// `quote_end` eight bytes at a time (the tail of a line, and CPUs without SSE2).
#[inline(always)]
fn quote_end_words(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = 0x2222_2222_2222_2222;
    const SLASHES: u64 = 0x5c5c_5c5c_5c5c_5c5c;
    while let Some(w) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        let (q, s) = (w ^ QUOTES, w ^ SLASHES);
        // The lowest flagged byte is exact (false positives only sit above a true match).
        let m = ((q.wrapping_sub(ONES) & !q) | (s.wrapping_sub(ONES) & !s)) & HI;
        if m == 0 {
            i += 8;
            continue;
        }
        let p = i + (m.trailing_zeros() / 8) as usize;
        if b[p] == b'"' {
            return Some(p);
        }
        i = p + 2;
    }
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Index of the first byte at or after `i` that ends a plain unquoted token: a space, a
/// quote, a backslash, or a byte that is not ASCII; `None` when there is none. Everything
/// before it is ASCII, so a token it ends needs no UTF-8 check.
#[inline(always)]
pub fn plain_end(b: &[u8], i: usize) -> Option<usize> {
    first_stop::<true>(b, i)
}

/// Index of the closing quote of a string whose content starts at `i` (like `quote_end`),
/// and whether the content is plain: all ASCII, no escapes, so usable as text as it stands.
#[inline(always)]
pub fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let p = first_stop::<false>(b, i)?;
    if b[p] == b'"' {
        Some((p, true))
    } else {
        // An escape or a byte that is not ASCII: not plain, and an escaped quote is no end.
        quote_end(b, p).map(|e| (e, false))
    }
}

/// The first quote, backslash or byte that is not ASCII at or after `i`, and with `SPACE`
/// the first space too. Sixteen bytes at a time, like `quote_end`: the fields it serves
/// (request targets, JSON strings) are one or two steps.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn first_stop<const SPACE: bool>(b: &[u8], mut i: usize) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    while i + 16 <= b.len() {
        // SAFETY: SSE2 is part of x86-64, `i + 16 <= b.len()` bounds the load, and an
        // unaligned load has no alignment requirement.
        let m = unsafe {
            let w = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
            let mut stops = _mm_or_si128(
                _mm_cmpeq_epi8(w, _mm_set1_epi8(b'"' as i8)),
                _mm_cmpeq_epi8(w, _mm_set1_epi8(b'\\' as i8)),
            );
            if SPACE {
                stops = _mm_or_si128(stops, _mm_cmpeq_epi8(w, _mm_set1_epi8(b' ' as i8)));
            }
            // The high bit of every byte is set exactly for the non-ASCII ones.
            _mm_movemask_epi8(_mm_or_si128(stops, w))
        };
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
    first_stop_bytes::<SPACE>(b, i)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn first_stop<const SPACE: bool>(b: &[u8], i: usize) -> Option<usize> {
    first_stop_bytes::<SPACE>(b, i)
}

/// `first_stop` eight bytes at a time, then a byte at a time (the tail of a line, and CPUs
/// without SSE2): the last field of a line (an API key, a request id) ends in its tail,
/// where a byte loop's exit was a branch mispredicted on most lines.
#[inline(always)]
fn first_stop_bytes<const SPACE: bool>(b: &[u8], i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = ONES << 7;
    let mut p = i;
    while let Some(w) = b.get(p..p + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        // A zero byte in `w ^ x` is an `x`; the lowest flagged byte is exact (false
        // positives only sit above a true one), and a byte from 0x80 flags itself.
        let zero = |x: u64| x.wrapping_sub(ONES) & !x;
        let mut m = zero(w ^ (ONES * b'"' as u64)) | zero(w ^ (ONES * b'\\' as u64)) | w;
        if SPACE {
            m |= zero(w ^ (ONES * b' ' as u64));
        }
        let m = m & HI;
        if m != 0 {
            return Some(p + (m.trailing_zeros() / 8) as usize);
        }
        p += 8;
    }
    while p < b.len() {
        match b[p] {
            b'"' | b'\\' | 0x80.. => return Some(p),
            b' ' if SPACE => return Some(p),
            _ => p += 1,
        }
    }
    None
}

/// Does the short field `b` hold `byte`? A plain loop: `contains` calls memchr, whose setup
/// costs more than these few bytes.
#[inline]
pub fn has_byte(b: &[u8], byte: u8) -> bool {
    for &c in b {
        if c == byte {
            return true;
        }
    }
    false
}

/// Splits the next space-separated token off `b` (leading spaces skipped).
#[inline]
pub fn token(b: &[u8]) -> (&[u8], &[u8]) {
    let b = skip_spaces(b);
    // Tokens are short: memchr's setup would cost more than the search; sixteen bytes a
    // step (`bytes::find`) find most tokens' end in one.
    match find(b, b' ') {
        Some(p) => (&b[..p], &b[p..]),
        None => (b, &b""[..]),
    }
}

#[inline]
pub fn skip_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().position(|&c| c != b' ').unwrap_or(b.len());
    &b[n..]
}

/// UTF-8 text, borrowed when valid, replaced lossily otherwise.
#[inline]
pub fn text(b: &[u8]) -> Text<'_> {
    if let Some(s) = ascii_str(b) {
        return Cow::Borrowed(s);
    }
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(String::from_utf8_lossy(b).into_owned()),
    }
}

/// `b` as text when it is all ASCII: a word-at-a-time check that is cheaper than full UTF-8
/// validation for the short fields of a log line.
#[inline]
pub fn ascii_str(b: &[u8]) -> Option<&str> {
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        acc |= u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
    }
    for &c in chunks.remainder() {
        acc |= c as u64;
    }
    if acc & HI != 0 {
        return None;
    }
    // SAFETY: every byte is below 0x80, so `b` is ASCII and therefore valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

/// `b` as text when it is all ASCII and has no backslash, i.e. a JSON string body that needs
/// neither unescaping nor UTF-8 validation.
#[inline]
pub fn plain_ascii_str(b: &[u8]) -> Option<&str> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const BS: u64 = 0x5c5c_5c5c_5c5c_5c5c;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0x80; 8]));
        let x = w ^ BS;
        // `x` has a zero byte exactly where `w` has a backslash.
        if (w & HI) | (x.wrapping_sub(ONES) & !x & HI) != 0 {
            return None;
        }
    }
    if chunks.remainder().iter().any(|&c| c >= 0x80 || c == b'\\') {
        return None;
    }
    // SAFETY: every byte is below 0x80, so `b` is ASCII and therefore valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

/// `None` for the missing markers gateways write (`-`, empty), else the text.
#[inline]
pub fn optional(b: &[u8]) -> Option<Text<'_>> {
    logged(b).map(text)
}

/// `None` for the missing markers gateways write (`-`, empty), else the bytes: for fields
/// read some other way than `text` (unescaped, unquoted), which need no text made first.
#[inline]
pub fn logged(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty() && b != b"-").then_some(b)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Undoes the escapes nginx (`\xHH`) and Apache (`\"`, `\\`, `\n`, `\t`, `\xhh`) write inside
/// quoted fields; bytes that were escaped are restored and the result decoded lossily.
pub fn unescape(b: &[u8]) -> Text<'_> {
    // Most values are ASCII without a backslash: one inlined pass tells both, where a
    // memchr call and then the ASCII check cost more than the short value.
    if let Some(s) = plain_ascii_str(b) {
        return Cow::Borrowed(s);
    }
    if memchr::memchr(b'\\', b).is_none() {
        return text(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'x' if i + 3 < b.len() => {
                    if let (Some(h), Some(l)) = (hex_val(b[i + 2]), hex_val(b[i + 3])) {
                        out.push(h << 4 | l);
                        i += 4;
                        continue;
                    }
                    out.push(c);
                    i += 1;
                }
                b'"' => {
                    out.push(b'"');
                    i += 2;
                }
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                }
                b'n' => {
                    out.push(b'\n');
                    i += 2;
                }
                b't' => {
                    out.push(b'\t');
                    i += 2;
                }
                b'r' => {
                    out.push(b'\r');
                    i += 2;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Parses an unsigned decimal integer; `None` for anything else (including empty).
#[inline]
pub fn uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    Some(v)
}

/// Parses a 3-digit HTTP status.
#[inline(always)]
pub fn status(b: &[u8]) -> Option<u16> {
    // Three digits, the first not 0, read without `uint`'s loop: small enough to inline
    // into the line parsers, where a call cost as much as the parse.
    let &[h, t, u] = b else {
        return None;
    };
    let (h, t, u) = (
        h.wrapping_sub(b'0'),
        t.wrapping_sub(b'0'),
        u.wrapping_sub(b'0'),
    );
    (matches!(h, 1..=9) && t <= 9 && u <= 9)
        .then(|| u16::from(h) * 100 + u16::from(t) * 10 + u16::from(u))
}

/// Parses a non-negative decimal number of seconds (`0.042`, `12`, `1.5`) into microseconds.
#[inline]
pub fn seconds_to_micros(b: &[u8]) -> Option<u64> {
    scaled_decimal(b, 1_000_000)
}

/// Parses a non-negative decimal number of milliseconds (`12`, `0.5`) into microseconds.
#[inline]
pub fn millis_to_micros(b: &[u8]) -> Option<u64> {
    scaled_decimal(b, 1_000)
}

/// Parses `int[.frac]` and multiplies by `scale` without going through floats; `None` past
/// 64 bits.
fn scaled_decimal(b: &[u8], scale: u64) -> Option<u64> {
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b""[..]),
    };
    let whole = if int.is_empty() && !frac.is_empty() {
        0
    } else {
        uint(int)?
    };
    let mut v = whole.checked_mul(scale)?;
    let mut unit = scale;
    for &c in frac {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        unit /= 10;
        v = v.checked_add(d as u64 * unit)?;
    }
    Some(v)
}

/// Is this a plausible IPv4 or IPv6 address (optionally with port or brackets)?
pub fn looks_like_ip(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > 47 {
        return false;
    }
    // One pass, leaving at the first byte no address has (most values that are not
    // addresses have one early).
    let (mut dots, mut colons) = (0, 0);
    for &c in b {
        match IP_BYTE[c as usize] {
            0 => return false,
            DOT => dots += 1,
            COLON => colons += 1,
            _ => {}
        }
    }
    dots == 3 || colons >= 2
}

const DOT: u8 = 2;
const COLON: u8 = 3;

/// What a byte is in an address: 0 not part of one, 1 a hex digit or bracket, `DOT`, `COLON`.
static IP_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = match b {
            b'.' => DOT,
            b':' => COLON,
            b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' | b'[' | b']' => 1,
            _ => 0,
        };
        c += 1;
    }
    t
};

/// The address without port or brackets: `[2001:db8::1]:443` → `2001:db8::1`,
/// `10.0.0.1:5000` → `10.0.0.1`; a bare IPv6 address is left alone.
pub fn strip_port(b: &[u8]) -> &[u8] {
    if b.first() == Some(&b'[') {
        if let Some(p) = find(b, b']') {
            return &b[1..p];
        }
        return b;
    }
    // Exactly one colon is a port; none or several (IPv6) are not. Addresses are short: one
    // plain loop beats counting and then searching.
    let mut colon = None;
    for (i, &c) in b.iter().enumerate() {
        if c == b':' {
            if colon.is_some() {
                return b;
            }
            colon = Some(i);
        }
    }
    colon.map_or(b, |p| &b[..p])
}

/// Is `b` all lowercase/uppercase hex of exactly `n` characters? (Eight bytes a step: the
/// 32 of a request id, asked on every line that logs one, took ~170 instructions a byte
/// at a time.)
#[inline]
pub fn is_hex_of_len(b: &[u8], n: usize) -> bool {
    b.len() == n && crate::bytes::is_hex(b)
}

/// Splits a request line `METHOD target PROTO` into the method and the target (the target
/// may contain spaces only in junk lines). Junk (`hello`, `-`, `- - -`, TLS bytes) gives
/// `(Other, "")`.
pub fn request_line(r: &[u8]) -> (crate::record::Method, &[u8]) {
    use crate::record::Method;
    // The method and protocol are short: plain loops beat memchr's setup here.
    let Some(sp) = r.iter().position(|&c| c == b' ') else {
        return (Method::Other, b"");
    };
    let method = Method::parse(&r[..sp]);
    let rest = &r[sp + 1..];
    let target = match rest.iter().rposition(|&c| c == b' ') {
        Some(p) if rest[p + 1..].starts_with(b"HTTP/") => &rest[..p],
        _ => rest,
    };
    if method == Method::Other && !target.starts_with(b"/") {
        // A forward proxy's tunnel names its target in authority form (`CONNECT
        // example.com:443`); any other verb before such a target is junk (`<BADREQ>`, TLS
        // bytes sent to a plain-text port).
        if &r[..sp] == b"CONNECT" && !target.is_empty() && target.iter().all(u8::is_ascii_graphic) {
            return (Method::Other, target);
        }
        return (Method::Other, b"");
    }
    (method, target)
}

/// The address without its port where a port is always present (`ip:port` as ALB, ELB and
/// HAProxy write it): `[2001:db8::1]:443` and `2001:db8::1:443` → `2001:db8::1`,
/// `10.0.0.1:5000` → `10.0.0.1`. Without a numeric suffix the address is returned as is.
pub fn strip_last_port(b: &[u8]) -> &[u8] {
    if b.first() == Some(&b'[') {
        return strip_port(b);
    }
    match rfind(b, b':') {
        Some(p) if p + 1 < b.len() && b[p + 1..].iter().all(u8::is_ascii_digit) => &b[..p],
        _ => b,
    }
}

/// Parses a non-negative integer or decimal number of nanoseconds into microseconds.
#[inline]
pub fn nanos_to_micros(b: &[u8]) -> Option<u64> {
    let int = &b[..find(b, b'.').unwrap_or(b.len())];
    uint(int).map(|n| n / 1000)
}

/// Parses a duration with a unit suffix, as Go and protobuf print them: `0.052817s`,
/// `12ms`, `250us`, `250µs`, `900ns`, `1m2.5s`. Bare numbers are rejected.
pub fn unit_duration(b: &[u8]) -> Option<u64> {
    let mut rest = b;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .iter()
            .position(|c| !(c.is_ascii_digit() || *c == b'.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(n);
        let u = after
            .iter()
            .position(|c| c.is_ascii_digit() || *c == b'.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(u);
        let us = match unit {
            b"s" => seconds_to_micros(num)?,
            b"ms" => millis_to_micros(num)?,
            b"us" | b"\xC2\xB5s" | b"\xCE\xBCs" => scaled_decimal(num, 1)?,
            b"ns" => nanos_to_micros(num)?,
            b"m" => scaled_decimal(num, 60_000_000)?,
            b"h" => scaled_decimal(num, 3_600_000_000)?,
            _ => return None,
        };
        total = total.checked_add(us)?;
        rest = next;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fast_paths() {
        for n in 0..20 {
            let a = "a".repeat(n);
            assert_eq!(ascii_str(a.as_bytes()), Some(a.as_str()));
            assert_eq!(plain_ascii_str(a.as_bytes()), Some(a.as_str()));
            for i in 0..n {
                let mut b = a.clone().into_bytes();
                b[i] = b'\\';
                assert!(plain_ascii_str(&b).is_none());
                assert!(ascii_str(&b).is_some());
                b[i] = 0xC3;
                assert!(plain_ascii_str(&b).is_none() && ascii_str(&b).is_none());
            }
        }
        assert_eq!(text("caf\u{e9}".as_bytes()), "caf\u{e9}");
    }

    #[test]
    fn plain_tokens_end_at_a_space_quote_backslash_or_non_ascii() {
        let line = b"/api/v1/orders/9310442?expand=items&page=2 HTTP/1.1";
        assert_eq!(plain_end(line, 0), Some(42));
        assert_eq!(plain_end(b"/caf\xc3\xa9 x", 0), Some(4));
        assert_eq!(plain_end("/caf\u{e9} x".as_bytes(), 0), Some(4));
        assert_eq!(plain_end(b"/a\"b", 0), Some(2));
        assert_eq!(plain_end(b"no stop at all, no", 16), None);
        assert_eq!(plain_end(b"", 0), None);
    }

    proptest::proptest! {
        /// The vector searches and byte loops agree at every start, on any bytes, with the
        /// stop anywhere relative to the 16-byte steps.
        #[test]
        fn stop_searches_agree_with_byte_loops(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(b"/abz09.-_?=&".to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                0..80,
            ),
            from in 0usize..80,
        ) {
            let from = from.min(b.len());
            let want = b[from..]
                .iter()
                .position(|&c| c == b' ' || c == b'"' || c == b'\\' || c >= 0x80)
                .map(|p| from + p);
            proptest::prop_assert_eq!(plain_end(&b, from), want);
            // The word steps alone (the tail after the SSE2 steps, and other CPUs).
            proptest::prop_assert_eq!(first_stop_bytes::<true>(&b, from), want);
            let stop = b[from..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c >= 0x80)
                .map(|p| from + p);
            proptest::prop_assert_eq!(first_stop_bytes::<false>(&b, from), stop);
            // A string's end and plainness, against `quote_end` and a byte check.
            let got = string_end(&b, from);
            let end = quote_end(&b, from);
            proptest::prop_assert_eq!(got.map(|g| g.0), end);
            if let (Some((e, plain)), Some(_)) = (got, end) {
                let body = &b[from..e];
                proptest::prop_assert_eq!(plain, body.iter().all(|&c| c < 0x80 && c != b'\\'));
            }
        }
    }

    proptest::proptest! {
        /// A line read token by token gives the words a split at spaces gives, whatever
        /// their lengths against the 16-byte steps.
        #[test]
        fn tokens_are_the_words_between_spaces(
            b in proptest::collection::vec(
                proptest::prop_oneof![4 => proptest::num::u8::ANY, 1 => proptest::strategy::Just(b' ')],
                0..90,
            ),
        ) {
            let want: Vec<&[u8]> = b.split(|&c| c == b' ').filter(|w| !w.is_empty()).collect();
            let mut got = Vec::new();
            let mut rest = &b[..];
            loop {
                let (word, r) = token(rest);
                if word.is_empty() {
                    proptest::prop_assert!(r.is_empty());
                    break;
                }
                proptest::prop_assert!(r.is_empty() || r[0] == b' ');
                got.push(word);
                rest = r;
            }
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn decimals_at_their_edges() {
        for (b, want) in [
            ("0.074", Some(74_000)),
            ("12", Some(12_000_000)),
            ("5.", Some(5_000_000)),
            (".5", Some(500_000)),
            ("0.0000019", Some(1)),
            (".", None),
            ("", None),
            ("1.2.3", None),
            ("-1", None),
            ("1e3", None),
            // Nineteen digits read; twenty do not, nor a product past 64 bits.
            ("18446744073709.551615", Some(u64::MAX)),
            ("18446744073709.551616", None),
            ("18446744073710", None),
        ] {
            assert_eq!(seconds_to_micros(b.as_bytes()), want, "{b}");
        }
        assert_eq!(
            scaled_decimal(b"9999999999999999999", 1),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(scaled_decimal(b"10000000000000000000", 1), None);
    }

    #[test]
    fn quoted_fields_honour_escapes() {
        let (f, rest) = quoted(br#""GET /a\"b HTTP/1.1" 200"#).unwrap();
        assert_eq!(f, br#"GET /a\"b HTTP/1.1"#);
        assert_eq!(rest, b" 200");
        assert!(quoted(br#""never closed"#).is_none());
        assert!(quoted(br#""ends in backslash\"#).is_none());
        assert_eq!(quoted(br#""""#).unwrap().0, b"");
    }

    #[test]
    fn unescape_nginx_and_apache() {
        assert_eq!(unescape(br"Mozilla \x22quoted\x22"), "Mozilla \"quoted\"");
        assert_eq!(unescape(br#"say \"hi\" \\ ok"#), r#"say "hi" \ ok"#);
        assert_eq!(unescape(br"\xD0\x9F"), "П");
        assert_eq!(unescape(br"\x16\x03\x01"), "\u{16}\u{3}\u{1}");
        assert!(matches!(unescape(b"plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn numbers() {
        assert_eq!(seconds_to_micros(b"0.042"), Some(42_000));
        assert_eq!(seconds_to_micros(b"12"), Some(12_000_000));
        assert_eq!(millis_to_micros(b"0.5"), Some(500));
        assert_eq!(seconds_to_micros(b"-"), None);
        assert_eq!(status(b"409"), Some(409));
        assert_eq!(status(b"40"), None);
        assert_eq!(status(b"-"), None);
    }

    #[test]
    fn addresses() {
        assert!(looks_like_ip(b"10.0.0.1"));
        assert!(looks_like_ip(b"2a02:cf40::4e36"));
        assert!(!looks_like_ip(b"example.com"));
        assert_eq!(strip_port(b"[2001:db8::1]:443"), b"2001:db8::1");
        assert_eq!(strip_port(b"10.0.0.1:5000"), b"10.0.0.1");
        assert_eq!(strip_port(b"::1"), b"::1");
        assert_eq!(strip_last_port(b"2001:db8::1:443"), b"2001:db8::1");
        assert_eq!(strip_last_port(b"[::1]:56348"), b"::1");
        assert_eq!(strip_last_port(b"-"), b"-");
    }

    #[test]
    fn unit_durations() {
        assert_eq!(unit_duration(b"0.052817s"), Some(52_817));
        assert_eq!(unit_duration(b"12ms"), Some(12_000));
        assert_eq!(unit_duration("250\u{b5}s".as_bytes()), Some(250));
        assert_eq!(unit_duration(b"1m2.5s"), Some(62_500_000));
        assert_eq!(unit_duration(b"900ns"), Some(0));
        assert_eq!(unit_duration(b"12"), None);
        assert_eq!(nanos_to_micros(b"2155389"), Some(2155));
    }

    #[test]
    fn request_lines() {
        use crate::record::Method;
        let cases: &[(&[u8], Method, &[u8])] = &[
            (b"PUT /a/1 HTTP/1.1", Method::Put, b"/a/1"),
            (b"GET http://h:80/x HTTP/2.0", Method::Get, b"http://h:80/x"),
            (b"- - -", Method::Other, b""),
            // A forward proxy's tunnel keeps its authority-form target; junk does not.
            (
                b"CONNECT example.com:443 HTTP/1.1",
                Method::Other,
                b"example.com:443",
            ),
            (b"CONNECT  HTTP/1.1", Method::Other, b""),
            (b"FOO example.com:443 HTTP/1.1", Method::Other, b""),
            (b"<BADREQ>", Method::Other, b""),
        ];
        for &(line, method, target) in cases {
            assert_eq!(request_line(line), (method, target), "{line:?}");
        }
    }
}
