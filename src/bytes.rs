//! Byte searches and comparisons in short fields (paths, targets): sixteen or eight bytes at
//! a time, inline.
//!
//! memchr is the right tool for long haystacks, but on the 20 to 60 bytes of a request path
//! its dispatch and setup cost more than the search: one SSE2 step usually finds the byte.
//! Likewise `memcmp` for the path keys of hash maps (`Key`).

/// Index of the last `byte` in `b`.
#[inline]
pub fn rfind(b: &[u8], byte: u8) -> Option<usize> {
    if b.len() < 16 {
        return b.iter().rposition(|&c| c == byte);
    }
    let mut end = b.len();
    while end >= 16 {
        let m = mask(b, end - 16, byte, byte);
        if m != 0 {
            return Some(end - 16 + (31 - m.leading_zeros() as usize));
        }
        end -= 16;
    }
    // The first `end` bytes are left: the first 16, of which the rest were looked at.
    let m = mask(b, 0, byte, byte) & ((1u32 << end) - 1);
    (m != 0).then(|| 31 - m.leading_zeros() as usize)
}

/// Index of the first `byte` in `b`.
#[inline]
pub fn find(b: &[u8], byte: u8) -> Option<usize> {
    find2(b, byte, byte)
}

/// Index of the first `x` or `y` in `b`.
#[inline]
pub fn find2(b: &[u8], x: u8, y: u8) -> Option<usize> {
    if b.len() < 16 {
        return b.iter().position(|&c| c == x || c == y);
    }
    let mut i = 0;
    while i + 16 <= b.len() {
        let m = mask(b, i, x, y);
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
    // The last 16 bytes, less those already looked at.
    let last = b.len() - 16;
    let m = mask(b, last, x, y) & (!0u32 << (i - last));
    (m != 0).then(|| last + m.trailing_zeros() as usize)
}

/// The places of `x` in `b`, in order, sixteen bytes a step: for the separators of a line
/// of many short fields (CloudFront's 33 TAB-separated ones), where a memchr call per field
/// costs more than the field.
#[inline]
pub fn places(b: &[u8], x: u8) -> Places<'_> {
    places2(b, x, x)
}

/// The places of `x` or `y` in `b`, in order, sixteen bytes a step (see `places`).
#[inline]
pub fn places2(b: &[u8], x: u8, y: u8) -> Places<'_> {
    Places {
        b,
        x,
        y,
        base: 0,
        next: 0,
        found: 0,
    }
}

/// See `places`.
pub struct Places<'a> {
    b: &'a [u8],
    x: u8,
    y: u8,
    /// Bit `k` of `found` is `b[base + k]`, for the places not yet given.
    base: usize,
    found: u32,
    /// The first byte not yet looked at.
    next: usize,
}

impl Iterator for Places<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.found != 0 {
                let k = self.found.trailing_zeros() as usize;
                self.found &= self.found - 1;
                return Some(self.base + k);
            }
            let (len, next) = (self.b.len(), self.next);
            if next + 16 <= len {
                self.found = mask(self.b, next, self.x, self.y);
                self.base = next;
                self.next = next + 16;
            } else if next < len && len >= 16 {
                // The last 16 bytes, less those already looked at.
                let last = len - 16;
                self.found = mask(self.b, last, self.x, self.y) >> (next - last);
                self.base = next;
                self.next = len;
            } else if next < len {
                self.found = (self.b[next..].iter().enumerate()).fold(0, |m, (k, &c)| {
                    m | (u32::from(c == self.x || c == self.y) << k)
                });
                self.base = next;
                self.next = len;
            } else {
                return None;
            }
        }
    }
}

/// A text key of the maps asked on every line (path prefixes, instances), compared in line:
/// a hash lookup that finds its key compares it, and the library `memcmp` call that `str`
/// equality makes costs more in time than the compare of a short path (profiles put it at
/// several percent of the pass).
///
/// Maps hold `Box<Key>` and are asked with `Key::of(text)`.
#[repr(transparent)]
#[derive(Debug)]
pub struct Key(str);

impl Key {
    pub fn of(s: &str) -> &Key {
        // SAFETY: `Key` is a transparent wrapper of `str`.
        unsafe { &*(s as *const str as *const Key) }
    }

    /// A key owning its text (a `String` moves in without a copy when it has no spare room).
    pub fn boxed(s: impl Into<Box<str>>) -> Box<Key> {
        let b: Box<str> = s.into();
        // SAFETY: `Key` is a transparent wrapper of `str`, so the layouts agree.
        unsafe { Box::from_raw(Box::into_raw(b) as *mut Key) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned, without a copy.
    pub fn into_boxed_str(self: Box<Key>) -> Box<str> {
        // SAFETY: as in `boxed`, the other way.
        unsafe { Box::from_raw(Box::into_raw(self) as *mut str) }
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        same(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write(self.0.as_bytes());
    }
}

/// `a == b`, eight bytes at a time with the last word overlapping (no library call).
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
    let half = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap());
    match n {
        0..4 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                if word(a, i) != word(b, i) {
                    return false;
                }
                i += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
    }
}

/// Whether every byte of `b` is in `lo..=hi` (ASCII bounds), eight bytes at a time with the
/// last word overlapping: the path segments `classify` looks at are mostly 2 to 12 bytes,
/// where a loop per byte was most of their cost.
#[inline(always)]
pub fn all_within(b: &[u8], lo: u8, hi: u8) -> bool {
    debug_assert!(lo <= hi && hi < 0x80);
    const ONES: u64 = 0x0101_0101_0101_0101;
    // A byte below `lo` wraps to a set top bit in the first term, one above `hi` reaches it
    // in the second, and one of 0x80 or more has it already. A carry or borrow crosses
    // into the next byte only from a byte that is out of range, which is caught itself.
    let ok = |w: u64| {
        (w.wrapping_sub(ONES * lo as u64) | w.wrapping_add(ONES * (0x7F - hi) as u64) | w)
            & (ONES << 7)
            == 0
    };
    every_word(b, ok, |c| (lo..=hi).contains(&c))
}

/// Whether `ok` holds for every eight bytes of `b` as a little-endian word, the last word
/// overlapping the one before (four to seven bytes: two overlapping halves as one word), and
/// `byte` for each byte of a shorter `b`. `ok` must judge each byte of a word alone, so that
/// bytes seen twice or duplicated change nothing.
#[inline(always)]
fn every_word(b: &[u8], ok: impl Fn(u64) -> bool, byte: impl Fn(u8) -> bool) -> bool {
    let n = b.len();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let half = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as u64;
    match n {
        0..4 => b.iter().all(|&c| byte(c)),
        4..8 => ok(half(0) | half(n - 4) << 32),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                if !ok(word(i)) {
                    return false;
                }
                i += 8;
            }
            ok(word(n - 8))
        }
    }
}

/// Whether every byte of `b` is in one of `ranges` (inclusive ASCII bounds): `all_within` for
/// a set of ranges, eight bytes at a time with the last word overlapping. Each range is
/// tested on the low seven bits of every byte, where no subtraction borrows and no addition
/// carries into the next byte; a byte of 0x80 or more fails on its own.
#[inline(always)]
pub fn all_within_any<const N: usize>(b: &[u8], ranges: [(u8, u8); N]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = ONES << 7;
    let ok = |w: u64| {
        let low = w & !HI;
        let mut inside = 0;
        for (lo, hi) in ranges {
            debug_assert!(lo <= hi && hi < 0x80);
            // The top bit of each byte: set in `from` when the byte is `lo` or more (0x80
            // lent to every byte first), in `past` when it is above `hi`.
            let from = (low | HI).wrapping_sub(ONES * lo as u64);
            let past = low.wrapping_add(ONES * (0x7F - hi) as u64);
            inside |= from & !past;
        }
        (inside & !w) & HI == HI
    };
    every_word(b, ok, |c| {
        ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
    })
}

/// Whether every byte of `b` is below 0x80: from sixteen bytes on, the blocks' bytes
/// gathered with one OR each and their top bits tested once at the end (the last block
/// overlapping), where a search for the first such byte stops to test every block.
#[inline]
pub fn is_ascii(b: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if b.len() >= 16 {
        use std::arch::x86_64::{
            __m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_setzero_si128,
        };
        let n = b.len();
        // SAFETY: SSE2 is part of x86-64; every load reads 16 bytes at `i` or `n - 16`,
        // with `i + 16 <= n`; unaligned loads have no alignment requirement.
        return unsafe {
            let load = |i: usize| _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
            let mut acc = _mm_setzero_si128();
            let mut i = 0;
            while i + 16 < n {
                acc = _mm_or_si128(acc, load(i));
                i += 16;
            }
            _mm_movemask_epi8(_mm_or_si128(acc, load(n - 16))) == 0
        };
    }
    b.is_ascii()
}

/// The hex digits, either case, as ranges for `all_within_any`.
pub const HEX_DIGITS: [(u8, u8); 3] = [(b'0', b'9'), (b'A', b'F'), (b'a', b'f')];

/// Whether `b` is all hex digits, either case: sixteen bytes a look (the last one
/// overlapping) from sixteen on, as request ids and hashes are; eight below.
#[inline]
pub fn is_hex(b: &[u8]) -> bool {
    let n = b.len();
    if n < 16 {
        return all_within_any(b, HEX_DIGITS);
    }
    let mut i = 0;
    while i + 16 < n {
        if classes(b, i).hex != 0xFFFF {
            return false;
        }
        i += 16;
    }
    classes(b, n - 16).hex == 0xFFFF
}

/// Whether `b` is a UUID: 36 bytes, hex digits with dashes at 8, 13, 18 and 23, told by
/// three 16-byte looks (the last one overlapping).
#[inline]
pub fn is_uuid(b: &[u8]) -> bool {
    if b.len() != 36 {
        return false;
    }
    let (x, y, z) = (classes(b, 0), classes(b, 16), classes(b, 20));
    let join =
        |m: fn(&Classes) -> u32| u64::from(m(&x)) | u64::from(m(&y)) << 16 | u64::from(m(&z)) << 20;
    const DASHES: u64 = 1 << 8 | 1 << 13 | 1 << 18 | 1 << 23;
    join(|c| c.dash) == DASHES && join(|c| c.hex) == (1 << 36) - 1 - DASHES
}

/// Whether `needle` is in `hay`, ASCII letters in either case (for a whole line, unlike the
/// rest of this module). The places where the needle's first and last bytes both match
/// (bytes compared with the case bit set, a superset) are found sixteen at a time, and only
/// those compared: a line holds few such pairs, where memchr on one letter of the needle
/// stopped at every one of its many occurrences (JSON keys spell `bytes`, `key`, `type`).
pub fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    if n == 0 {
        return true;
    }
    if hay.len() < n {
        return false;
    }
    let here = |i: usize| hay[i..i + n].eq_ignore_ascii_case(needle);
    // The last place the needle can start.
    let last = hay.len() - n;
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    if last >= 15 {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY (the two blocks below): SSE2 is part of x86-64.
        let (case, first, end) = unsafe {
            (
                _mm_set1_epi8(0x20),
                _mm_set1_epi8((needle[0] | 0x20) as i8),
                _mm_set1_epi8((needle[n - 1] | 0x20) as i8),
            )
        };
        // Bit `k` set when the first and last bytes match for the place `at + k`; `at <= last - 15`
        // keeps both unaligned loads inside `hay` (`at + n - 1 + 16 <= hay.len()`).
        let block = |at: usize| -> u32 {
            debug_assert!(at + 15 <= last);
            // SAFETY: as above.
            unsafe {
                let a = _mm_loadu_si128(hay.as_ptr().add(at).cast::<__m128i>());
                let b = _mm_loadu_si128(hay.as_ptr().add(at + n - 1).cast::<__m128i>());
                _mm_movemask_epi8(_mm_and_si128(
                    _mm_cmpeq_epi8(_mm_or_si128(a, case), first),
                    _mm_cmpeq_epi8(_mm_or_si128(b, case), end),
                )) as u32
            }
        };
        let found = |at: usize, mut m: u32| {
            while m != 0 {
                if here(at + m.trailing_zeros() as usize) {
                    return true;
                }
                m &= m - 1;
            }
            false
        };
        while i + 15 <= last {
            if found(i, block(i)) {
                return true;
            }
            i += 16;
        }
        // The places left, in a last block that overlaps the one before.
        let at = last - 15;
        return i <= last && found(at, block(at) & (!0u32 << (i - at)));
    }
    (i..=last).any(here)
}

/// Bit `k` set when `b[at + k]` is `x` or `y`, for `k` in `0..16`; `at + 16 <= b.len()`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn mask(b: &[u8], at: usize, x: u8, y: u8) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    assert!(at + 16 <= b.len());
    // SAFETY: SSE2 is part of x86-64, the assertion bounds the load, and an unaligned load
    // has no alignment requirement.
    unsafe {
        let w = _mm_loadu_si128(b.as_ptr().add(at).cast::<__m128i>());
        _mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(w, _mm_set1_epi8(x as i8)),
            _mm_cmpeq_epi8(w, _mm_set1_epi8(y as i8)),
        )) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn mask(b: &[u8], at: usize, x: u8, y: u8) -> u32 {
    let mut m = 0;
    for (k, &c) in b[at..at + 16].iter().enumerate() {
        m |= ((c == x || c == y) as u32) << k;
    }
    m
}

/// Which of `b[at..at + 16]` are digits, hex digits (either case), capitals and `-`: bit `k`
/// of each mask for `b[at + k]`; `at + 16 <= b.len()`.
#[derive(Clone, Copy)]
pub struct Classes {
    pub digit: u32,
    pub hex: u32,
    pub upper: u32,
    pub dash: u32,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn classes(b: &[u8], at: usize) -> Classes {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    assert!(at + 16 <= b.len());
    // SAFETY: SSE2 is part of x86-64, the assertion bounds the load, and an unaligned load
    // has no alignment requirement.
    unsafe {
        let w = _mm_loadu_si128(b.as_ptr().add(at).cast::<__m128i>());
        let (digit, hex_letter) = digits_and_hex_letters(w);
        Classes {
            digit: _mm_movemask_epi8(digit) as u32,
            hex: _mm_movemask_epi8(_mm_or_si128(digit, hex_letter)) as u32,
            upper: _mm_movemask_epi8(ascii_within(w, b'A', b'Z')) as u32,
            dash: _mm_movemask_epi8(_mm_cmpeq_epi8(w, _mm_set1_epi8(b'-' as i8))) as u32,
        }
    }
}

/// The bytes of `v` within `lo..=hi`, an ASCII range, as a mask (0xFF each). The compares
/// are signed: bytes from 0x80 are negative, so never within.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn ascii_within(v: std::arch::x86_64::__m128i, lo: u8, hi: u8) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::{_mm_and_si128, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_set1_epi8};
    // SAFETY: SSE2 is part of x86-64; these read and write registers only.
    unsafe {
        _mm_and_si128(
            _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
            _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
        )
    }
}

/// The digits of `v`, and its hex letters in either case, as masks.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn digits_and_hex_letters(
    v: std::arch::x86_64::__m128i,
) -> (std::arch::x86_64::__m128i, std::arch::x86_64::__m128i) {
    use std::arch::x86_64::{_mm_or_si128, _mm_set1_epi8};
    // `| 0x20` lowers `A`-`F` and keeps `a`-`f`; no other byte lands in `a`-`f`.
    // SAFETY: SSE2 is part of x86-64; these read and write registers only.
    let lowered = unsafe { _mm_or_si128(v, _mm_set1_epi8(0x20)) };
    (
        ascii_within(v, b'0', b'9'),
        ascii_within(lowered, b'a', b'f'),
    )
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn classes(b: &[u8], at: usize) -> Classes {
    let mut m = Classes {
        digit: 0,
        hex: 0,
        upper: 0,
        dash: 0,
    };
    for (k, &c) in b[at..at + 16].iter().enumerate() {
        m.digit |= (c.is_ascii_digit() as u32) << k;
        m.hex |= (c.is_ascii_hexdigit() as u32) << k;
        m.upper |= (c.is_ascii_uppercase() as u32) << k;
        m.dash |= ((c == b'-') as u32) << k;
    }
    m
}

/// `is_uuid` a byte at a time: the rule its tests, and those of the classifications built
/// on it, compare with.
#[cfg(test)]
pub(crate) fn uuid_by_bytes(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The places found sixteen bytes a step are those a byte-by-byte look finds, for
        /// lengths around the block size.
        #[test]
        fn places_are_every_place(b in proptest::collection::vec(proptest::sample::select(&b"\tab"[..]), 0..70)) {
            let want: Vec<usize> = (0..b.len()).filter(|&k| b[k] == b'\t').collect();
            proptest::prop_assert_eq!(places(&b, b'\t').collect::<Vec<_>>(), want);
            let want2: Vec<usize> = (0..b.len()).filter(|&k| b[k] == b'\t' || b[k] == b'b').collect();
            proptest::prop_assert_eq!(places2(&b, b'\t', b'b').collect::<Vec<_>>(), want2);
        }
    }

    proptest::proptest! {
        /// The search by first and last bytes finds what lowercasing both and looking at
        /// every window finds: needles of any letters, digits and separators, in any case.
        #[test]
        fn ignoring_case_is_lowercasing_both(
            hay in "[a-dA-D_\\-\"{}:0-9]{0,90}",
            needle in "[a-dA-D0-9_\\-]{0,20}",
            insert in proptest::option::of(0usize..80),
            upper in proptest::collection::vec(proptest::bool::ANY, 20),
        ) {
            let mut hay = hay.into_bytes();
            if let Some(at) = insert {
                // The needle itself, in a mixed case, somewhere in the haystack.
                let cased: Vec<u8> = (needle.bytes().zip(&upper))
                    .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                    .collect();
                let at = at.min(hay.len());
                hay.splice(at..at, cased);
            }
            let lower = |b: &[u8]| b.to_ascii_lowercase();
            let want = needle.is_empty()
                || lower(&hay).windows(needle.len()).any(|w| w == lower(needle.as_bytes()));
            proptest::prop_assert_eq!(contains_ignore_ascii_case(&hay, needle.as_bytes()), want);
            if insert.is_some() {
                proptest::prop_assert!(want);
            }
        }
    }

    #[test]
    fn finds_in_short_and_long_fields() {
        assert_eq!(rfind(b"/api/v1/orders/9310442", b'/'), Some(14));
        assert_eq!(rfind(b"/a", b'/'), Some(0));
        assert_eq!(rfind(b"abc", b'/'), None);
        assert_eq!(rfind(b"", b'/'), None);
        assert_eq!(
            rfind(b"/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b", b'/'),
            Some(12)
        );
        assert_eq!(find2(b"/orders/1?expand=items#x", b'?', b'#'), Some(9));
        assert_eq!(
            find2(b"/a/very/long/path/without/any#frag", b'?', b'#'),
            Some(29)
        );
        assert_eq!(find2(b"/plain", b'?', b'#'), None);
    }

    #[test]
    fn classes_of_sixteen_bytes() {
        let b = b"xx09afAFgG-Z@/`:[{";
        let c = classes(b, 2);
        for (k, &x) in b[2..18].iter().enumerate() {
            let bit = |m: u32| m >> k & 1 == 1;
            assert_eq!(bit(c.digit), x.is_ascii_digit(), "{k}");
            assert_eq!(bit(c.hex), x.is_ascii_hexdigit(), "{k}");
            assert_eq!(bit(c.upper), x.is_ascii_uppercase(), "{k}");
            assert_eq!(bit(c.dash), x == b'-', "{k}");
        }
    }

    #[test]
    fn keys_compare_whole() {
        use std::collections::HashMap;
        let mut m: HashMap<Box<Key>, u32> = HashMap::new();
        m.insert(Key::boxed("/api/v1/orders"), 1);
        m.insert(Key::boxed("/a"), 2);
        m.insert(Key::boxed(""), 3);
        assert_eq!(m.get(Key::of("/api/v1/orders")), Some(&1));
        assert_eq!(m.get(Key::of("/api/v1/orderz")), None);
        assert_eq!(m.get(Key::of("/api/v1/order")), None);
        assert_eq!(m.get(Key::of("/a")), Some(&2));
        assert_eq!(m.get(Key::of("")), Some(&3));
        assert_eq!(Key::boxed("/x").as_str(), "/x");
    }

    proptest::proptest! {
        /// Eight bytes at a time, every byte is looked at: any bytes (above 0x7F too), any
        /// length around the word size, any bounds.
        #[test]
        fn all_within_is_every_byte_within(
            b in proptest::collection::vec(proptest::sample::select(b"/09:a`z{A\x7f\x80\xff".to_vec()), 0..30),
            lo in 0u8..0x80,
            span in 0u8..0x80,
        ) {
            let hi = lo.saturating_add(span).min(0x7F);
            let want = b.iter().all(|c| (lo..=hi).contains(c));
            proptest::prop_assert_eq!(all_within(&b, lo, hi), want);
            proptest::prop_assert_eq!(all_within(&b, b'0', b'9'), b.iter().all(u8::is_ascii_digit));
            proptest::prop_assert_eq!(all_within(&b, b'a', b'z'), b.iter().all(u8::is_ascii_lowercase));
        }
    }

    proptest::proptest! {
        /// Ranges tested together on seven bits are each byte tested against each range:
        /// bytes at and beside every bound (and above 0x7F), any length around the word
        /// size, one to three ranges of any bounds.
        #[test]
        fn all_within_any_is_every_byte_in_a_range(
            b in proptest::collection::vec(
                proptest::sample::select(b"\x00,-./09:;?@AFGZ[^_`afgz{\x7f\x80\xad\xff".to_vec()),
                0..30,
            ),
            bounds in proptest::collection::vec((0u8..0x80, 0u8..0x80), 1..4),
        ) {
            let ranges: Vec<(u8, u8)> = bounds.iter().map(|&(x, y)| (x.min(y), x.max(y))).collect();
            let within = |c: &u8| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(c));
            let want = b.iter().all(within);
            let got = match ranges[..] {
                [r] => all_within_any(&b, [r]),
                [r, s] => all_within_any(&b, [r, s]),
                [r, s, t] => all_within_any(&b, [r, s, t]),
                _ => unreachable!(),
            };
            proptest::prop_assert_eq!(got, want);
            let hex = b.iter().all(u8::is_ascii_hexdigit);
            proptest::prop_assert_eq!(all_within_any(&b, HEX_DIGITS), hex);
            // And the same bytes repeated past sixteen, for the looks of sixteen.
            let long = b.repeat(3);
            proptest::prop_assert_eq!(is_hex(&b), hex);
            proptest::prop_assert_eq!(is_hex(&long), hex);
        }
    }

    proptest::proptest! {
        /// ASCII is every byte below 0x80, wherever a byte above falls and whatever the
        /// length around the blocks.
        #[test]
        fn ascii_is_every_byte_below_0x80(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    30 => proptest::sample::select(b"a\"\\\x7f\x00".to_vec()),
                    1 => proptest::sample::select(b"\x80\xc3\xff".to_vec()),
                ],
                0..70,
            ),
        ) {
            proptest::prop_assert_eq!(is_ascii(&b), b.iter().all(|&c| c < 0x80));
        }
    }

    proptest::proptest! {
        /// The UUID look is the byte-by-byte rule: 36 bytes, dashes at 8, 13, 18 and 23,
        /// hex digits elsewhere, whichever byte is changed.
        #[test]
        fn uuid_is_dashes_and_hex_digits(
            at in 0usize..37,
            byte in proptest::sample::select(b"-0aAfFgG/:@`{\x80".to_vec()),
        ) {
            let mut b = b"b7e2d9c4-1f3a-4E6B-8c5d-9a0f1e2d3c4b".to_vec();
            if at < 36 {
                b[at] = byte;
            } else {
                b.push(b'0');
            }
            proptest::prop_assert_eq!(is_uuid(&b), uuid_by_bytes(&b));
            proptest::prop_assert!(!is_uuid(&b[..b.len() - 1]) || b.len() == 37);
        }
    }

    proptest::proptest! {
        /// Word-wise equality is equality, at every length and wherever two texts differ.
        #[test]
        fn same_is_equality(
            a in proptest::collection::vec(proptest::sample::select(b"/a0".to_vec()), 0..40),
            at in 0usize..40,
            byte in proptest::num::u8::ANY,
            cut in proptest::bool::ANY,
        ) {
            let mut b = a.clone();
            if cut {
                b.truncate(at);
            } else if at < b.len() {
                b[at] = byte;
            }
            proptest::prop_assert_eq!(same(&a, &b), a == b);
            proptest::prop_assert!(same(&a, &a));
        }
    }

    proptest::proptest! {
        /// The vector steps agree with plain searches, wherever the byte falls.
        #[test]
        fn agrees_with_plain_searches(
            b in proptest::collection::vec(
                proptest::sample::select(b"/a?#0".to_vec()),
                0..70,
            ),
        ) {
            proptest::prop_assert_eq!(rfind(&b, b'/'), b.iter().rposition(|&c| c == b'/'));
            proptest::prop_assert_eq!(
                find2(&b, b'?', b'#'),
                b.iter().position(|&c| c == b'?' || c == b'#')
            );
        }
    }
}
