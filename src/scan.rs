//! The conflict scan: finds the lines that may hold a conflict status by searching the raw
//! bytes for the statuses' digits, so that only those lines are parsed before the main pass.
//!
//! Every format reads its status from three digits as they stand in the line (`409` in
//! `" 409 87`, `"status":409`, `"status":"409"`), so a line whose parsed status is 409
//! always contains the bytes `409`. Searching for them finds every conflict line plus some
//! others (`/orders/74091`, `"bytes":1409`), which the parse then rejects: a superset, never
//! a miss. Formats for which this does not hold (an envelope that unescapes the line) say
//! so with `Format::status_in_raw_line`, and their lines are all parsed. A layout declared
//! by earlier lines (W3C `#Fields`) is looked up by the found line's offset among the
//! input's directives, which are all found first.
//!
//! The search runs over the whole chunk. Statuses are three digits, and up to eight of
//! them are searched for by `Triples`: a table lookup per byte position, 32 bytes at a time
//! with AVX2, each of the three digit positions telling which statuses could start there.
//! Other status sets, or CPUs without AVX2, use aho-corasick's Teddy (a general SIMD
//! multi-substring search) or its automaton. On the generated 1 GiB log the triple search
//! costs about a quarter of Teddy's instructions (Teddy alone was 9 % of a run's).

use aho_corasick::AhoCorasick;
use aho_corasick::packed;

/// The digits of the conflict statuses, ready to search for.
pub enum StatusDigits {
    /// The three-digit search, with AVX2 (x86-64).
    #[cfg(target_arch = "x86_64")]
    Triples(triples::Triples),
    /// Teddy, when the CPU has it (x86-64 with SSSE3/AVX2, aarch64 NEON).
    Teddy(packed::Searcher),
    /// The portable automaton otherwise.
    Automaton(AhoCorasick),
}

/// The statuses as decimal text, each once; empty when there are none.
fn needles(statuses: &[u16]) -> Vec<String> {
    let mut needles: Vec<String> = statuses.iter().map(u16::to_string).collect();
    needles.sort();
    needles.dedup();
    needles
}

impl StatusDigits {
    /// `None` when there is nothing to search for.
    pub fn new(statuses: &[u16]) -> Option<StatusDigits> {
        let needles = needles(statuses);
        if needles.is_empty() {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = triples::Triples::new(&needles) {
            return Some(StatusDigits::Triples(t));
        }
        Self::general(&needles)
    }

    /// Teddy when the CPU has it, else the automaton: any status set.
    fn general(needles: &[String]) -> Option<StatusDigits> {
        match packed::Searcher::new(needles) {
            Some(teddy) => Some(StatusDigits::Teddy(teddy)),
            None => Self::portable(needles),
        }
    }

    fn portable(needles: &[String]) -> Option<StatusDigits> {
        AhoCorasick::new(needles).ok().map(StatusDigits::Automaton)
    }

    /// The start of the first match in `hay[from..]`, as an index into `hay`.
    fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            StatusDigits::Triples(t) => return t.find(hay, from),
            StatusDigits::Teddy(t) => t.find_in(hay, aho_corasick::Span::from(from..hay.len())),
            StatusDigits::Automaton(a) => {
                a.find(aho_corasick::Input::new(hay).range(from..hay.len()))
            }
        }
        .map(|m| m.start())
    }

    /// The lines of `chunk` that contain one of the statuses' digits, each once and in
    /// order, without their terminators.
    pub fn lines<'h>(&self, chunk: &'h [u8]) -> impl Iterator<Item = &'h [u8]> {
        let mut from = 0;
        std::iter::from_fn(move || {
            let at = self.find(chunk, from)?;
            let start = memchr::memrchr(b'\n', &chunk[from..at]).map_or(from, |p| from + p + 1);
            let end = memchr::memchr(b'\n', &chunk[at..]).map_or(chunk.len(), |p| at + p);
            from = (end + 1).min(chunk.len());
            let line = &chunk[start..end];
            Some(line.strip_suffix(b"\r").unwrap_or(line))
        })
    }
}

/// The three-digit search (see the module doc).
#[cfg(target_arch = "x86_64")]
mod triples {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm_loadu_si128, _mm256_and_si256, _mm256_broadcastsi128_si256,
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
        _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_testz_si256,
    };

    /// Up to eight three-digit needles. `tables[p][n]` has bit `k` set when needle `k`'s
    /// byte at position `p` has `n` as its low four bits. A byte below 0x80 indexes a table
    /// by its low four bits (`pshufb`) and a byte above gives 0, so a position whose three
    /// lookups share a bit holds that needle or a look-alike (`T` has a `4`'s low bits):
    /// each such position is checked against the needles themselves.
    pub struct Triples {
        tables: [[u8; 16]; 3],
        needles: Vec<[u8; 3]>,
    }

    impl Triples {
        /// `None` unless the CPU has AVX2 and the needles are at most eight three-digit
        /// texts.
        pub fn new(needles: &[String]) -> Option<Triples> {
            let fits = |n: &String| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit());
            if needles.len() > 8 || !needles.iter().all(fits) || !is_x86_feature_detected!("avx2") {
                return None;
            }
            let mut tables = [[0u8; 16]; 3];
            let mut triples = Vec::with_capacity(needles.len());
            for (k, n) in needles.iter().enumerate() {
                let b = n.as_bytes();
                for (p, table) in tables.iter_mut().enumerate() {
                    table[usize::from(b[p] & 0x0f)] |= 1 << k;
                }
                triples.push([b[0], b[1], b[2]]);
            }
            Some(Triples {
                tables,
                needles: triples,
            })
        }

        fn is_needle(&self, at: &[u8]) -> bool {
            self.needles.iter().any(|n| at.starts_with(n))
        }

        /// The first of the positions `i + k`, for each bit `k` set in `maybe`, where a
        /// needle starts.
        fn first_needle(&self, hay: &[u8], i: usize, mut maybe: u64) -> Option<usize> {
            while maybe != 0 {
                let at = i + maybe.trailing_zeros() as usize;
                if self.is_needle(&hay[at..]) {
                    return Some(at);
                }
                maybe &= maybe - 1;
            }
            None
        }

        /// The start of the first needle in `hay[from..]`, as an index into `hay`.
        pub fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
            // SAFETY: `new` made a `Triples` only where the CPU has AVX2.
            unsafe { self.find_avx2(hay, from) }
        }

        #[target_feature(enable = "avx2")]
        fn find_avx2(&self, hay: &[u8], from: usize) -> Option<usize> {
            // SAFETY: each table is 16 bytes; the unaligned load has no alignment need.
            let table = |p: usize| unsafe {
                _mm256_broadcastsi128_si256(_mm_loadu_si128(
                    self.tables[p].as_ptr().cast::<__m128i>(),
                ))
            };
            let (t0, t1, t2) = (table(0), table(1), table(2));
            // Which needles could start at each of the 32 positions from `at`: three
            // unaligned loads, at `at`, `at + 1` and `at + 2`.
            let shared = |at: usize| {
                debug_assert!(at + 34 <= hay.len());
                // SAFETY: callers keep `at + 2 + 32 <= hay.len()`, which bounds all three
                // loads; unaligned loads have no alignment need.
                let (a, b, c) = unsafe {
                    let p = hay.as_ptr().add(at);
                    (
                        _mm256_loadu_si256(p.cast::<__m256i>()),
                        _mm256_loadu_si256(p.add(1).cast::<__m256i>()),
                        _mm256_loadu_si256(p.add(2).cast::<__m256i>()),
                    )
                };
                _mm256_and_si256(
                    _mm256_and_si256(_mm256_shuffle_epi8(t0, a), _mm256_shuffle_epi8(t1, b)),
                    _mm256_shuffle_epi8(t2, c),
                )
            };
            let zero = _mm256_setzero_si256();
            let positions = |s: __m256i| !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(s, zero)) as u32);
            let mut i = from;
            // 64 bytes a step, with one test for both halves: look-alikes are rare, so most
            // steps end at the test.
            while i + 66 <= hay.len() {
                let (low, high) = (shared(i), shared(i + 32));
                let either = _mm256_or_si256(low, high);
                if _mm256_testz_si256(either, either) == 0 {
                    let maybe = u64::from(positions(low)) | u64::from(positions(high)) << 32;
                    if let Some(at) = self.first_needle(hay, i, maybe) {
                        return Some(at);
                    }
                }
                i += 64;
            }
            if i + 34 <= hay.len() {
                if let Some(at) = self.first_needle(hay, i, positions(shared(i)).into()) {
                    return Some(at);
                }
                i += 32;
            }
            (i..hay.len()).find(|&at| self.is_needle(&hay[at..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'h>(lines: impl Iterator<Item = &'h [u8]>) -> Vec<String> {
        lines
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect()
    }

    fn found(statuses: &[u16], chunk: &str) -> Vec<String> {
        texts(StatusDigits::new(statuses).unwrap().lines(chunk.as_bytes()))
    }

    #[test]
    fn finds_each_line_with_the_digits_once() {
        let chunk = "a 200 b\nx 409 409 412\r\n\nc 4090\n409";
        assert_eq!(
            found(&[409, 412], chunk),
            ["x 409 409 412", "c 4090", "409"]
        );
        assert!(found(&[423], chunk).is_empty());
        assert!(StatusDigits::new(&[]).is_none());
    }

    #[test]
    fn the_portable_search_finds_the_same_lines() {
        let chunk = "a 200 b\nx 409 409 412\r\n\nc 4090\n409\n";
        let portable = StatusDigits::portable(&needles(&[409, 412])).unwrap();
        assert!(matches!(portable, StatusDigits::Automaton(_)));
        assert_eq!(
            texts(portable.lines(chunk.as_bytes())),
            found(&[409, 412], chunk)
        );
        assert_eq!(found(&[409, 412], chunk).len(), 3);
    }

    #[test]
    fn lines_agree_with_a_plain_search() {
        // Every line holding the digits, and no other, on a larger mixed chunk.
        let mut chunk = String::new();
        for i in 0..5000u32 {
            chunk.push_str(&format!(
                "{} - [{}] \"PUT /o/{} HTTP/1.1\" {}\n",
                i,
                i * 7,
                i * 13,
                200 + i % 300
            ));
        }
        let want: Vec<String> = chunk
            .lines()
            .filter(|l| l.contains("409") || l.contains("428"))
            .map(str::to_string)
            .collect();
        assert_eq!(found(&[409, 428], &chunk), want);
        assert!(!want.is_empty());
    }

    /// Every match `d` finds in `hay`, overlapping ones included.
    #[cfg(target_arch = "x86_64")]
    fn starts(d: &StatusDigits, hay: &[u8]) -> Vec<usize> {
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = d.find(hay, from) {
            found.push(at);
            from = at + 1;
        }
        found
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_triple_search_finds_a_needle_at_every_offset_among_look_alikes() {
        // `DPY` has the low four bits of `409`'s digits: every position is a candidate,
        // and only the real needle may be found, wherever it falls in the 64- and 32-byte
        // steps and the byte-at-a-time tail.
        let Some(t) = triples::Triples::new(&needles(&[409, 412])) else {
            return; // no AVX2 here: `new` chose Teddy, which other tests cover
        };
        let d = StatusDigits::Triples(t);
        for len in 3..=200 {
            let filler: Vec<u8> = b"DPY".iter().copied().cycle().take(len).collect();
            assert_eq!(starts(&d, &filler), Vec::<usize>::new(), "len {len}");
            for at in 0..=len - 3 {
                let mut hay = filler.clone();
                hay[at..at + 3].copy_from_slice(b"412");
                assert_eq!(starts(&d, &hay), vec![at], "len {len}, at {at}");
            }
        }
    }

    #[test]
    fn more_than_eight_statuses_or_other_lengths_use_the_general_search() {
        let nine: Vec<u16> = (400..409).collect();
        #[cfg(target_arch = "x86_64")]
        {
            assert!(!matches!(
                StatusDigits::new(&nine),
                Some(StatusDigits::Triples(_))
            ));
            assert!(triples::Triples::new(&needles(&nine)).is_none());
            assert!(triples::Triples::new(&needles(&[42])).is_none());
            assert!(triples::Triples::new(&needles(&[1000])).is_none());
        }
        let chunk = "a 405 b\nc 408\nd 409\n";
        assert_eq!(found(&nine, chunk), ["a 405 b", "c 408"]);
    }

    #[cfg(target_arch = "x86_64")]
    proptest::proptest! {
        /// The triple search finds exactly what Teddy (or the automaton) finds, on text
        /// made of digits, look-alikes (`T`, `D`, `t`, `d` share `4`'s low bits), bytes
        /// above 0x80 and separators.
        #[test]
        fn the_triple_search_finds_what_the_general_one_finds(
            statuses in proptest::collection::vec(100u16..600, 1..9),
            hay in proptest::collection::vec(
                proptest::sample::select(b"0123456789 TtDdPpY\"\xff\x89:".to_vec()),
                0..400,
            ),
        ) {
            let needles = needles(&statuses);
            if let Some(t) = triples::Triples::new(&needles) {
                let general = StatusDigits::general(&needles).unwrap();
                proptest::prop_assert_eq!(
                    starts(&StatusDigits::Triples(t), &hay),
                    starts(&general, &hay)
                );
            }
        }
    }
}
